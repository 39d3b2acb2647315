// Loudness within held notes: the expression (MIDI CC11) curve of a part whose notes fade or
// swell (AugmentOptions::swell_prob, docs/synth.md). The soundfonts and TiMidity++'s patches
// hold a sustained note's level until its release; singers and players do not. Both renderers
// play the same curve: fluidsynth as controller events, TiMidity++ as a track of its MIDI file.
#pragma once
#include <cstddef>
#include <vector>

#include "qscribe/note.hpp"

namespace qs::synth {

enum SwellShape : int {
  kSteady = 0,  // no expression events
  kFade = 1,    // each note (or chord) falls linearly from 127 to the floor at its end
  kArch = 2,    // each note rises from the floor to 127 and falls back (a sine arch)
};

struct ExpressionPoint {
  double time_s;  // the value holds from here to the next point
  int value;      // CC11, 0..127
};

// The curve over `notes` (any order): from each onset (notes starting within 30 ms are one chord)
// to the next onset or the chord's end, a point every `step_s`; the next onset starts afresh.
// Empty for kSteady.
std::vector<ExpressionPoint> expression_curve(NoteList notes, int shape, int floor_value, double step_s = 0.01);

// The gain of `curve` at `time_s` for the sound sources of our own ((value / 127)^2; 1 where the
// curve is empty or has not begun). `at` is the caller's position in the curve, advanced as time
// goes on (times asked in increasing order).
double expression_gain(const std::vector<ExpressionPoint>& curve, double time_s, std::size_t& at);

}  // namespace qs::synth
