// What happens to music between the instrument and the file a user uploads, simulated on rendered
// training audio: a room (a synthesised impulse response), a microphone and its EQ colour, and a
// lossy codec round trip. The synthesisers render dry, close and clean; real recordings are none
// of these, and the model should not learn that they are.
//
// Room: an impulse response made of the direct sound, a few early reflections (3-40 ms, random
// signs and levels) and a late tail of Gaussian noise decaying at the drawn reverberation time
// (RT60), darkening as it decays (air and wall absorption take the highs first). The
// direct-to-reverberant energy ratio stands for the microphone distance: +12 dB is close, -6 dB
// is the back of a hall. The direct sound is at time 0, so labels keep their times.
// Microphone: second-order high-pass, low and high shelves, one peak, and on some files a
// low-pass (a cheap microphone or a phone), RBJ biquads.
// Codec: Ogg Vorbis or MP3 through libsndfile at a drawn compression level, decoded back with the
// project's one decode path (qs::load_audio_memory); any codec delay is measured and removed.
#pragma once
#include <cstdint>
#include <string>

#include "synth/procedural.hpp"
#include "qscribe/audio.hpp"

namespace qs::synth {

struct RecordingOptions {
  double room_prob = 0.0;   // files in a synthesised room
  double eq_prob = 0.0;     // files with a microphone / EQ colour
  double codec_prob = 0.0;  // files through a lossy codec
};

enum class Codec { None, Vorbis, Mp3 };

// One file's draws (also written to the manifest, see describe()).
struct RecordingDraws {
  bool room = false;
  double rt60 = 0.5, drr_db = 6.0, predelay = 0.0;  // s, dB, s (of the reverberant part)
  std::uint64_t room_seed = 0;
  bool eq = false;
  double highpass_hz = 30.0, low_shelf_hz = 200.0, low_shelf_db = 0.0, high_shelf_hz = 4000.0,
         high_shelf_db = 0.0, peak_hz = 1000.0, peak_db = 0.0, peak_q = 1.0, lowpass_hz = 0.0;  // 0: none
  Codec codec = Codec::None;
  double codec_level = 0.5;  // libsndfile compression level, 0 (best) .. 1 (smallest)
};

// Draws every value in a fixed order whatever the options, so that changing one probability does
// not change the other draws.
RecordingDraws draw_recording(Rng& rng, const RecordingOptions& options);

// The steps, in the order a renderer applies them (noise and level go between the microphone and
// the codec): mono audio in, the same length out; each does nothing when its draw is off.
void apply_room(AudioBuffer& audio, const RecordingDraws& draws);
void apply_microphone(AudioBuffer& audio, const RecordingDraws& draws);
void codec_round_trip(AudioBuffer& audio, const RecordingDraws& draws);

// "room=RT60/DRR,mic=...,codec=..." or "-" (the manifest's `recording` column).
std::string describe(const RecordingDraws& draws);

}  // namespace qs::synth
