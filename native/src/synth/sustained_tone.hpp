// Sustained tones of our own: a sound source that plays every part on an instrument whose
// spectrum is drawn at random (`qscribe synth --sustained-tones`), for the families the model
// hears worst on unseen timbres: organs, ensembles, brass, reeds and pipes. The sample sets each
// give such an instrument one fixed spectrum; here every part of every file gets its own, so that
// what the model learns is the harmonic series and not one bank's colour of it.
//
// Additive synthesis. Each part's instrument draws:
//   - a harmonic spectrum: harmonics 1..24 at 1/k^tilt, the even ones weakened for a reed-like
//     (clarinet) colour, a random ripple of a few dB per harmonic, sometimes a weak fundamental;
//   - organ ranks: an octave rank adds the series an octave up (onto the even harmonics), a
//     twelfth rank the series an octave and a fifth up (onto every third): pipes that sound above
//     the key, which the labels still name by the key;
//   - a resonance at a drawn frequency (a bore, a body or a formant), and brightness that grows
//     with the velocity (brass);
//   - the attack (5-350 ms, the upper harmonics later than the lower: bowed and blown notes
//     speak from the bottom up), the release, vibrato and tremolo, and breath or bow noise.
//
// The labels stay the MIDI notes: a note sounds from its onset and fades out within `release_s`
// of its note-off. Within the note its level may fade or swell on the expression curve the other
// sources play. Units: seconds, Hz, cents; pitches 21..108.
#pragma once
#include <cstdint>
#include <vector>

#include "qscribe/note.hpp"
#include "synth/expression.hpp"

namespace qs::synth {

// The per-piece draws of the sustained tones; each part's instrument is drawn from `seed`.
struct TonePerformance {
  double velocity_exponent = 1.5;  // amplitude = (velocity / 127) ^ exponent
  double detune_cents = 0.0;       // whole-ensemble tuning offset
  int swell = kSteady;             // every note fades, or swells and fades (expression.hpp), or neither
  int swell_floor = 127;           // the expression value (0..127) a fade reaches; gain (value / 127)^2
  std::uint64_t seed = 0;          // the parts' instruments, the phases and the noise
};

// Adds the parts' notes (times in s; pitches outside 21..108 are ignored) played as sustained
// tones into `out`, a mono signal at `rate` Hz that the caller sizes; sound past its end is cut.
// The same parts and performance give the same samples (all randomness comes from
// `performance.seed`).
void render_sustained_tones(const std::vector<NoteList>& parts, const TonePerformance& performance, double rate,
                            std::vector<float>& out);

}  // namespace qs::synth
