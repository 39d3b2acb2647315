// Sung voices of our own: a sound source that sings every part (`qscribe synth --sung-voices`),
// for what users record most and the sample sets render least: a voice whose pitch moves
// (vibrato, scoops into notes, glides between slurred notes, jitter), whose vowel colours the
// sound and whose level breathes.
//
// Source-filter synthesis, additive: the glottal source's harmonics (amplitude 1/k^tilt, a tilt
// drawn per singer) up to 5 kHz, each weighted by the vocal tract's response at its frequency
// (a cascade of four formant resonances of one of five vowels, scaled for the singer's size),
// plus breath noise. Each note is one vowel; a note slurred from the previous one of its part
// (starting within 40 ms of that note's end) glides from its pitch and vowel. A note that repeats
// the pitch it follows is a new syllable: a consonant (20-70 ms of band-passed noise) ends at its
// onset, and the note before falls silent for it; half the other fresh notes start with one too.
//
// The labels stay the MIDI notes: a note sounds from its onset (after a short attack, its pitch
// scooping up from a little below) and fades out within `release_s` after its note-off. Within
// the note its level may fade or swell, on the expression curve the other sources play.
// Units: seconds, Hz, cents; pitches 21..108.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "qscribe/note.hpp"
#include "synth/expression.hpp"

namespace qs::synth {

// The per-piece draws of the singers (each part is one singer; a chord in a part is sung by as
// many voices of that singer).
struct SingPerformance {
  double velocity_exponent = 1.5;  // amplitude = (velocity / 127) ^ exponent
  double vibrato_hz = 5.5;         // vibrato rate
  double vibrato_cents = 40.0;     // vibrato depth (peak deviation); 0 = none
  double vibrato_delay_s = 0.25;   // vibrato fades in over this time after an onset
  double jitter_cents = 8.0;       // slow pitch wander: two sines of 0.7 and 1.9 Hz, each 0.7 x this deep
  double scoop_cents = 60.0;       // a fresh note starts this far below its pitch and rises to it
  double glide_s = 0.08;           // the scoop's and a slur's time to reach the pitch
  double tilt = 1.2;               // glottal harmonics fall as 1/k^tilt (0.8 pressed .. 1.8 breathy)
  double breath = 0.03;            // breath noise level against the voiced sound
  double formant_scale = 1.0;      // vocal tract size: formants times this (0.85 large .. 1.25 small)
  double attack_s = 0.04;          // level rise at an onset (at most a third of the note; not for a slurred note)
  double release_s = 0.06;         // fade after the note-off
  double detune_cents = 0.0;       // whole-choir tuning offset
  int swell = kSteady;             // every note fades, or swells and fades (expression.hpp), or neither
  int swell_floor = 127;           // the expression value (0..127) a fade reaches; gain (value / 127)^2
  std::uint64_t seed = 0;          // vowels, jitter, breath
};

// Formant frequencies (Hz) of the five vowels the singers use (a, e, i, o, u; adult averages).
const std::array<std::array<double, 4>, 5>& vowel_formants();

// Adds the parts' notes (times in s; pitches outside 21..108 are ignored) sung into `out`, a mono
// signal at `rate` Hz that the caller sizes; sound past its end is cut. The same parts and
// performance give the same samples (all randomness comes from `performance.seed`).
void render_sung_voices(const std::vector<NoteList>& parts, const SingPerformance& performance, double rate,
                        std::vector<float>& out);

}  // namespace qs::synth
