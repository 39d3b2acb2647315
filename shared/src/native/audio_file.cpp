// Audio file decoding and writing with libsndfile, resampling with libsoxr.
#include "qscribe/audio_file.hpp"
#include "qscribe/atomic_file.hpp"

#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>

#include "qscribe/error.hpp"

namespace qs {
namespace {

// Interleaved samples read per block: bounds the decode buffer whatever the channel count.
constexpr std::size_t kBlockSamples = 1 << 16;
// Resampler output chunk (samples).
constexpr std::size_t kResampleChunk = 1 << 14;
// Never pre-reserve more than this many output samples on the word of a header alone.
constexpr std::size_t kMaxReserve = std::size_t{1} << 26;

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw Error(name + ": " + what);
}

std::string format_hz(double hz) {
  std::ostringstream s;
  // Whole rates as plain integers ("8854820 Hz", not "8.85482e+06 Hz").
  if (std::isfinite(hz) && std::abs(hz) < 1e15 && hz == std::floor(hz)) s << static_cast<long long>(hz);
  else s << hz;
  s << " Hz";
  return s.str();
}

bool rate_in_range(double hz) { return std::isfinite(hz) && hz >= kMinSampleRate && hz <= kMaxSampleRate; }

void check_target_rate(double target_sr, const std::string& name) {
  if (target_sr == 0.0 || rate_in_range(target_sr)) return;
  fail(name, "invalid target sample rate " + format_hz(target_sr) + " (supported: " +
                 format_hz(kMinSampleRate) + " to " + format_hz(kMaxSampleRate) + ", or 0 for the file's own rate)");
}

void mix_into(const float* interleaved, std::size_t frames, int channels, float* out) {
  if (channels == 1) {
    std::copy(interleaved, interleaved + frames, out);
    return;
  }
  // Accumulate in double: exact enough, and huge float samples cannot overflow to infinity.
  const double scale = 1.0 / channels;
  for (std::size_t i = 0; i < frames; ++i) {
    const float* frame = interleaved + i * static_cast<std::size_t>(channels);
    double sum = 0.0;
    for (int c = 0; c < channels; ++c) sum += frame[c];
    out[i] = static_cast<float>(sum * scale);
  }
}

// Streaming mono resampler: push blocks, then finish() to flush the filter's tail.
class SoxrStream {
 public:
  SoxrStream(double in_rate, double out_rate, const std::string& name) : buf_(kResampleChunk) {
    soxr_error_t err = nullptr;
    const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
    soxr_ = soxr_create(in_rate, out_rate, 1, &err, &io, &quality, nullptr);
    if (!soxr_ || err) fail(name, std::string("cannot create resampler: ") + soxr_strerror(err));
    name_ = name;
  }
  ~SoxrStream() { soxr_delete(soxr_); }
  SoxrStream(const SoxrStream&) = delete;
  SoxrStream& operator=(const SoxrStream&) = delete;

  void push(const float* in, std::size_t n, std::vector<float>& out) {
    for (;;) {
      std::size_t idone = 0, odone = 0;
      check(soxr_process(soxr_, in, n, &idone, buf_.data(), buf_.size(), &odone));
      out.insert(out.end(), buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(odone));
      in += idone;
      n -= idone;
      // Done when all input is taken and the last call did not fill the output chunk.
      if (n == 0 && odone < buf_.size()) return;
      if (idone == 0 && odone == 0) return;  // no progress possible: never spin
    }
  }

  void finish(std::vector<float>& out) {
    std::size_t odone = 0;
    do {
      check(soxr_process(soxr_, nullptr, 0, nullptr, buf_.data(), buf_.size(), &odone));
      out.insert(out.end(), buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(odone));
    } while (odone > 0);
  }

 private:
  void check(soxr_error_t err) const {
    if (err) fail(name_, std::string("resampling failed: ") + soxr_strerror(err));
  }
  soxr_t soxr_ = nullptr;
  std::vector<float> buf_;
  std::string name_;
};

std::size_t estimated_output(double frames, double ratio) {
  const double est = std::ceil(frames * ratio) + 64.0;
  return est >= static_cast<double>(kMaxReserve) ? kMaxReserve : static_cast<std::size_t>(est);
}

// ---- libsndfile handles ------------------------------------------------------------------

struct SndfileCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// Turns libsndfile's open-time error (kept globally for a failed open) into a user message.
std::string open_error_message() {
  const int code = sf_error(nullptr);
  const std::string detail = sf_strerror(nullptr);
  switch (code) {
    case SF_ERR_UNRECOGNISED_FORMAT:
      return "not an audio file (format not recognised)";
    case SF_ERR_SYSTEM:
      return "cannot read file (" + detail + ")";
    case SF_ERR_UNSUPPORTED_ENCODING:
      return "unsupported audio encoding (" + detail + ")";
    case SF_ERR_MALFORMED_FILE:
    default:
      // Some decoders (mpg123 on a cut stream) report "file does not exist": we know it does.
      if (detail.find("does not exist") != std::string::npos) return "truncated or corrupt audio file";
      return "truncated or corrupt audio file (" + detail + ")";
  }
}

void check_info(const SF_INFO& info, const std::string& name) {
  if (info.channels < 1) fail(name, "truncated or corrupt audio file (no channels)");
  if (info.channels > kMaxAudioChannels)
    fail(name, "unsupported: " + std::to_string(info.channels) + " channels (at most " +
                   std::to_string(kMaxAudioChannels) + " are supported)");
  if (!rate_in_range(info.samplerate))
    fail(name, "unsupported sample rate " + format_hz(info.samplerate) + " (supported: " +
                   format_hz(kMinSampleRate) + " to " + format_hz(kMaxSampleRate) + ")");
  if (info.frames == 0) fail(name, "contains no audio samples");
}

void check_finite(const float* mono, std::size_t n, sf_count_t first_frame, int rate, const std::string& name) {
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isfinite(mono[i])) continue;
    std::ostringstream at;
    at << static_cast<double>(first_frame + static_cast<sf_count_t>(i)) / rate << " s";
    fail(name, "contains non-finite samples (NaN or infinity) at " + at.str());
  }
}

// Reads an opened file block by block: mix, check, resample, hand each block to `sink`.
// Returns the number of input frames decoded.
sf_count_t decode(SNDFILE* file, const SF_INFO& info, double target_sr, const std::string& name, const AudioSink& sink) {
  check_info(info, name);
  const double in_rate = info.samplerate;
  const double out_rate = target_sr > 0.0 ? target_sr : in_rate;
  // Streams without a known length (SF_COUNT_MAX or nonsense) are read to their end.
  const bool known_length = info.frames > 0 && info.frames < std::numeric_limits<sf_count_t>::max();
  // MP3 lengths come from mpg123: exact with a Xing/Info header, otherwise a guess from the file
  // size and first bitrate, so a shortfall alone does not prove damage (decode errors still do).
  const bool exact_length = known_length && (info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_MPEG;

  std::optional<SoxrStream> resampler;
  if (out_rate != in_rate) resampler.emplace(in_rate, out_rate, name);

  const std::size_t block_frames = kBlockSamples / static_cast<std::size_t>(info.channels);
  std::vector<float> block(block_frames * static_cast<std::size_t>(info.channels));
  std::vector<float> mono(block_frames), out;
  sf_count_t total = 0;
  for (;;) {
    const sf_count_t got = sf_readf_float(file, block.data(), static_cast<sf_count_t>(block_frames));
    if (got <= 0) break;
    const auto n = static_cast<std::size_t>(got);
    mix_into(block.data(), n, info.channels, mono.data());
    check_finite(mono.data(), n, total, info.samplerate, name);
    if (resampler) {
      out.clear();
      resampler->push(mono.data(), n, out);
      if (!out.empty()) sink(out.data(), out.size());
    } else {
      sink(mono.data(), n);
    }
    total += got;
  }

  if (sf_error(file) != SF_ERR_NO_ERROR)
    fail(name, std::string("truncated or corrupt audio file (") + sf_strerror(file) + ")");
  if (total == 0) fail(name, "contains no audio samples");
  if (exact_length && total < info.frames)
    fail(name, "truncated or corrupt audio file (only " + std::to_string(total) + " of " +
                   std::to_string(info.frames) + " announced frames could be decoded)");
  if (resampler) {
    out.clear();
    resampler->finish(out);
    if (!out.empty()) sink(out.data(), out.size());
  }
  return total;
}

// The whole signal in memory, reserved from the announced length.
AudioBuffer decode_all(SNDFILE* file, const SF_INFO& info, double target_sr, const std::string& name) {
  AudioBuffer result;
  result.sample_rate = target_sr > 0.0 ? target_sr : info.samplerate;
  const bool known_length = info.frames > 0 && info.frames < std::numeric_limits<sf_count_t>::max();
  if (known_length && info.samplerate > 0)
    result.samples.reserve(estimated_output(static_cast<double>(info.frames), result.sample_rate / info.samplerate));
  decode(file, info, target_sr, name,
         [&](const float* x, std::size_t n) { result.samples.insert(result.samples.end(), x, x + n); });
  return result;
}

// ---- in-memory virtual I/O ---------------------------------------------------------------

struct MemoryFile {
  const unsigned char* data;
  sf_count_t size;
  sf_count_t pos;
};

sf_count_t mem_length(void* user) { return static_cast<MemoryFile*>(user)->size; }

sf_count_t mem_seek(sf_count_t offset, int whence, void* user) {
  auto* m = static_cast<MemoryFile*>(user);
  sf_count_t base = 0;
  switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = m->pos; break;
    case SEEK_END: base = m->size; break;
    default: return -1;
  }
  // Refuse positions that overflow or fall before the start, as a real file would.
  if (offset > 0 && base > std::numeric_limits<sf_count_t>::max() - offset) return -1;
  const sf_count_t target = base + offset;
  if (target < 0) return -1;
  m->pos = target;
  return m->pos;
}

sf_count_t mem_read(void* dst, sf_count_t count, void* user) {
  auto* m = static_cast<MemoryFile*>(user);
  if (count <= 0 || m->pos >= m->size) return 0;
  const sf_count_t n = std::min(count, m->size - m->pos);
  std::memcpy(dst, m->data + m->pos, static_cast<std::size_t>(n));
  m->pos += n;
  return n;
}

sf_count_t mem_write(const void*, sf_count_t, void*) { return 0; }  // read-only

sf_count_t mem_tell(void* user) { return static_cast<MemoryFile*>(user)->pos; }

// A growing in-memory file for encoding.
struct GrowingFile {
  std::vector<unsigned char> bytes;
  sf_count_t pos = 0;
};
sf_count_t grow_length(void* user) { return static_cast<sf_count_t>(static_cast<GrowingFile*>(user)->bytes.size()); }
sf_count_t grow_seek(sf_count_t offset, int whence, void* user) {
  auto* g = static_cast<GrowingFile*>(user);
  if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) return -1;
  const sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? g->pos : grow_length(user);
  if (base + offset < 0) return -1;
  g->pos = base + offset;
  return g->pos;
}
sf_count_t grow_read(void* dst, sf_count_t count, void* user) {
  auto* g = static_cast<GrowingFile*>(user);
  const sf_count_t size = grow_length(user);
  if (count <= 0 || g->pos >= size) return 0;
  const sf_count_t n = std::min(count, size - g->pos);
  std::memcpy(dst, g->bytes.data() + g->pos, static_cast<std::size_t>(n));
  g->pos += n;
  return n;
}
sf_count_t grow_write(const void* src, sf_count_t count, void* user) {
  auto* g = static_cast<GrowingFile*>(user);
  if (count <= 0) return 0;
  const auto end = static_cast<std::size_t>(g->pos + count);
  if (g->bytes.size() < end) g->bytes.resize(end);
  std::memcpy(g->bytes.data() + g->pos, src, static_cast<std::size_t>(count));
  g->pos += count;
  return count;
}
sf_count_t grow_tell(void* user) { return static_cast<GrowingFile*>(user)->pos; }

// Gives the user a specific reason before libsndfile's generic one.
void check_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) fail(path, "file not found");
  if (fs::is_directory(st)) fail(path, "is a directory, not an audio file");
  std::ifstream probe(path, std::ios::binary);
  if (!probe) fail(path, std::string("cannot open file (") + std::strerror(errno) + ")");
  if (fs::is_regular_file(st) && fs::file_size(path, ec) == 0 && !ec) fail(path, "file is empty (0 bytes)");
}

}  // namespace

std::vector<float> mix_to_mono(const float* interleaved, std::size_t frames, int channels) {
  if (channels < 1) throw Error("mix_to_mono: invalid channel count " + std::to_string(channels));
  std::vector<float> out(frames);
  if (frames > 0) mix_into(interleaved, frames, channels, out.data());
  return out;
}

AudioBuffer load_audio(const std::string& path, double target_sr) {
  check_target_rate(target_sr, path);
  check_path(path);
  SF_INFO info{};
  SndfilePtr file(sf_open(path.c_str(), SFM_READ, &info));
  if (!file) fail(path, open_error_message());
  return decode_all(file.get(), info, target_sr, path);
}

double stream_audio(const std::string& path, double target_sr, const AudioSink& sink) {
  check_target_rate(target_sr, path);
  check_path(path);
  SF_INFO info{};
  SndfilePtr file(sf_open(path.c_str(), SFM_READ, &info));
  if (!file) fail(path, open_error_message());
  return static_cast<double>(decode(file.get(), info, target_sr, path, sink)) / info.samplerate;
}

AudioBuffer load_audio_memory(const void* data, std::size_t size, double target_sr, const std::string& name) {
  check_target_rate(target_sr, name);
  if (size == 0) fail(name, "file is empty (0 bytes)");
  if (data == nullptr) fail(name, "no data");
  MemoryFile mem{static_cast<const unsigned char*>(data), static_cast<sf_count_t>(size), 0};
  SF_VIRTUAL_IO io{mem_length, mem_seek, mem_read, mem_write, mem_tell};
  SF_INFO info{};
  SndfilePtr file(sf_open_virtual(&io, SFM_READ, &info, &mem));
  if (!file) fail(name, open_error_message());
  return decode_all(file.get(), info, target_sr, name);
}

AudioBuffer resample(const AudioBuffer& audio, double target_sr) {
  const std::string name = "resample";
  check_target_rate(target_sr, name);
  if (!rate_in_range(audio.sample_rate))
    fail(name, "unsupported input sample rate " + format_hz(audio.sample_rate));
  if (target_sr == 0.0 || target_sr == audio.sample_rate) return audio;

  AudioBuffer out;
  out.sample_rate = target_sr;
  out.samples.reserve(estimated_output(static_cast<double>(audio.size()), target_sr / audio.sample_rate));
  SoxrStream stream(audio.sample_rate, target_sr, name);
  // Fed in blocks so soxr's internal buffering stays small for long signals.
  for (std::size_t i = 0; i < audio.size(); i += kBlockSamples)
    stream.push(audio.samples.data() + i, std::min(kBlockSamples, audio.size() - i), out.samples);
  stream.finish(out.samples);
  return out;
}

void save_wav(const std::string& path, const AudioBuffer& audio, WavEncoding encoding) {
  const double rate = std::round(audio.sample_rate);
  if (!std::isfinite(audio.sample_rate) || rate < 1.0 || rate > kMaxSampleRate || std::abs(rate - audio.sample_rate) > 1e-6)
    fail(path, "cannot write WAV at sample rate " + format_hz(audio.sample_rate) + " (needs a whole number of Hz)");
  for (std::size_t i = 0; i < audio.size(); ++i)
    if (!std::isfinite(audio.samples[i])) fail(path, "cannot write non-finite samples (NaN or infinity)");

  SF_INFO info{};
  info.samplerate = static_cast<int>(rate);
  info.channels = 1;
  info.format = SF_FORMAT_WAV | (encoding == WavEncoding::Pcm16 ? SF_FORMAT_PCM_16 : SF_FORMAT_FLOAT);
  AtomicFile out(path);
  SndfilePtr file(sf_open(out.temp_path().c_str(), SFM_WRITE, &info));
  if (!file) fail(path, std::string("cannot write file (") + sf_strerror(nullptr) + ")");
  if (encoding == WavEncoding::Pcm16) sf_command(file.get(), SFC_SET_CLIPPING, nullptr, SF_TRUE);

  const auto frames = static_cast<sf_count_t>(audio.size());
  if (frames > 0 && sf_writef_float(file.get(), audio.samples.data(), frames) != frames)
    fail(path, std::string("cannot write file (") + sf_strerror(file.get()) + ")");
  if (sf_close(file.release()) != 0) fail(path, "cannot finish writing file");
  out.commit();
}

std::vector<unsigned char> encode_lossy(const AudioBuffer& audio, LossyCodec codec, double level) {
  const std::string name = codec == LossyCodec::Vorbis ? "Ogg Vorbis" : codec == LossyCodec::Opus ? "Opus" : "MP3";
  const double rate = std::round(audio.sample_rate);
  if (!rate_in_range(audio.sample_rate) || rate != audio.sample_rate)
    fail(name, "cannot encode at sample rate " + format_hz(audio.sample_rate));
  SF_INFO info{};
  info.samplerate = static_cast<int>(rate);
  info.channels = 1;
  info.format = codec == LossyCodec::Vorbis ? (SF_FORMAT_OGG | SF_FORMAT_VORBIS)
                : codec == LossyCodec::Opus ? (SF_FORMAT_OGG | SF_FORMAT_OPUS)
                                            : (SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III);
  if (!sf_format_check(&info)) fail(name, "this libsndfile cannot encode it at " + format_hz(rate));
  GrowingFile out;
  SF_VIRTUAL_IO io{grow_length, grow_seek, grow_read, grow_write, grow_tell};
  SndfilePtr file(sf_open_virtual(&io, SFM_WRITE, &info, &out));
  if (!file) fail(name, std::string("cannot start encoding (") + sf_strerror(nullptr) + ")");
  double l = std::clamp(level, 0.0, 1.0);
  sf_command(file.get(), SFC_SET_COMPRESSION_LEVEL, &l, sizeof l);
  // In blocks: libvorbis crashes when handed millions of frames in one analysis buffer.
  const auto frames = static_cast<sf_count_t>(audio.size());
  for (sf_count_t done = 0; done < frames;) {
    const sf_count_t n = std::min<sf_count_t>(frames - done, 8192);
    if (sf_writef_float(file.get(), audio.samples.data() + done, n) != n)
      fail(name, std::string("encoding failed (") + sf_strerror(file.get()) + ")");
    done += n;
  }
  if (sf_close(file.release()) != 0) fail(name, "cannot finish encoding");
  return std::move(out.bytes);
}

}  // namespace qs
