// Plucked strings of our own: a sound source whose timbre comes from a physical model instead of
// a sample set, for training audio (`qscribe synth --plucked-strings`). Every other source plays
// recorded or designed samples; a string's own physics (each partial decaying at its own rate,
// the pick position's comb of missing harmonics, a resonant body, a finger muting the string at
// the note-off) is what a recorded guitar, harp or plucked bass sounds like, and what the
// sample-based sources render least like.
//
// The model is the extended Karplus-Strong string (Jaffe and Smith, Computer Music Journal 7(2),
// 1983): a delay line one period long, closed through
//   - a one-zero low-pass, (1 - S) + S z^-1: the upper partials lose more per round trip, so a
//     pluck starts bright and mellows (S = 0.5 darkest, smaller S brighter);
//   - a first-order all-pass that tunes the loop to the fractional period;
//   - a loss factor per round trip that sets the fundamental's decay time (shorter for higher
//     strings);
// excited by a burst of noise, low-passed by the velocity (a soft pluck is darker) and combed by
// the pick position (a pluck at 1/k of the string's length has no k-th harmonics). The strings'
// sum goes through a body of three resonances (the air and plate modes of a guitar-like box).
//
// The labels stay the MIDI notes: a note-off mutes its string (a decay of `damping_s` to -60 dB),
// a key struck again stops the string's previous note first, and the string rings while the note
// is held, decaying as a plucked string does. Units: seconds, Hz, cents; pitches 21..108.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "qscribe/note.hpp"

namespace qs::synth {

// The per-piece draws of a performance on the plucked strings (one instrument for every part).
struct PluckPerformance {
  double velocity_exponent = 1.6;  // amplitude = (velocity / 127) ^ exponent
  double loop_lowpass = 0.35;      // S of the loop's one-zero low-pass, 0..0.5 (bright .. dark; lowered on high strings)
  double decay_s = 5.0;            // the fundamental's decay to -60 dB on A2 (110 Hz); higher strings decay sooner (~f^-0.5)
  double pick_position = 0.15;     // where the string is plucked, as a fraction of its length from the bridge
  double damping_s = 0.15;         // decay to -60 dB after the note-off (a finger mutes the string)
  double body_mix = 0.4;           // level of the body's resonances against the strings' direct sound
  std::array<double, 3> body_hz{100.0, 210.0, 420.0};  // the body's resonances
  double body_q = 10.0;            // their quality factor
  double detune_cents = 0.0;       // whole-instrument tuning offset
  double detune_spread = 0.0;      // per-key random detune, cents (strings slightly out of tune)
  std::uint64_t seed = 0;          // the noise bursts and per-key detune
};

// Adds the notes (times in s; pitches outside 21..108 are ignored) played on plucked strings into
// `out`, a mono signal at `rate` Hz that the caller sizes; sound past its end is cut. The same
// notes and performance give the same samples (all randomness comes from `performance.seed`).
void render_plucked_strings(const NoteList& notes, const PluckPerformance& performance, double rate,
                            std::vector<float>& out);

}  // namespace qs::synth
