// Native audio file I/O: decode WAV/FLAC/OGG Vorbis/Opus/MP3 (libsndfile) to mono float32 at the
// analysis rate (libsoxr, HQ), and write WAV. Native only: the browser decodes with Web Audio.
//
// Every failure is a qs::Error whose message starts with the file name ("song.mp3: ...").
// Truncated files: when libsndfile itself reports the shorter length (a WAV whose data chunk is
// cut short: the header's length is clamped to the bytes present), the audio that is there is
// returned, in whole frames. When the decoder delivers fewer frames than it announced (a cut-off
// FLAC, a decode error mid-stream), loading fails with "truncated or corrupt" rather than
// returning a silently shortened or padded signal. Exception: MP3, whose announced length may be
// only an estimate (no Xing/Info header), returns what decodes cleanly; decode errors still fail.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "qscribe/audio.hpp"

namespace qs {

// Limits beyond which a file is reported as unsupported rather than decoded.
inline constexpr int kMaxAudioChannels = 64;
inline constexpr double kMinSampleRate = 1000.0;      // Hz
inline constexpr double kMaxSampleRate = 1000000.0;   // Hz

// Decodes a file, mixes it to mono (mean of channels) and resamples it to target_sr
// (0 keeps the file's own rate). Reads and resamples in blocks, so memory beyond the result
// stays bounded however long the file is.
AudioBuffer load_audio(const std::string& path, double target_sr = 22050.0);

// Receives decoded audio block by block: mono, at the target rate, n > 0 samples per call.
using AudioSink = std::function<void(const float* samples, std::size_t n)>;

// Same decoding, checks and errors as load_audio, but each block goes to `sink` as soon as it is
// decoded and resampled, so memory stays constant however long the file is (transcription of
// hours of audio). Returns the decoded input's duration in seconds.
double stream_audio(const std::string& path, double target_sr, const AudioSink& sink);

// Same, from an encoded file held in memory (libsndfile virtual I/O). `name` prefixes errors.
AudioBuffer load_audio_memory(const void* data, std::size_t size, double target_sr = 22050.0,
                              const std::string& name = "<memory>");

// Resamples mono audio with libsoxr (HQ). Returns a copy when the rates already match.
AudioBuffer resample(const AudioBuffer& audio, double target_sr);

// Mean of the channels of interleaved audio: frames × channels values in, frames values out.
std::vector<float> mix_to_mono(const float* interleaved, std::size_t frames, int channels);

enum class WavEncoding { Float32, Pcm16 };

// Writes a mono WAV file. Pcm16 clips samples outside [-1, 1] instead of wrapping them.
void save_wav(const std::string& path, const AudioBuffer& audio,
              WavEncoding encoding = WavEncoding::Float32);

enum class LossyCodec { Vorbis, Opus, Mp3 };

// Encodes mono audio into an in-memory Ogg Vorbis, Ogg Opus or MP3 file (libsndfile) at a
// compression level from 0 (best quality) to 1 (smallest). Opus takes 8, 12, 16, 24 or 48 kHz
// only. Decode it again with load_audio_memory. Throws qs::Error when the codec or rate is not
// available.
std::vector<unsigned char> encode_lossy(const AudioBuffer& audio, LossyCodec codec, double level);

}  // namespace qs
