// Meter of a piece from its beats and notes: the time signature and where the bars start.
//
// * Subdivision: where do onsets fall between beats? Onsets near 1/3 and 2/3 of the beat make it
//   compound (beats of three eighths: 6/8, 9/8, 12/8); onsets near 1/2 (and 1/4, 3/4) simple.
//   Onsets at 2/3 alone are swung eighths: simple meter.
// * Beats per bar (2, 3 or 4) and the downbeat phase: each beat gets an accent (onset strength
//   there, more for bass notes and for long notes, more where the harmony changes: the bar is
//   where chords and bass notes change); the grouping and phase whose first beats are the most
//   accented win, with a prior for 4 (2/4 and 4/4 are told apart only by how strong beat 3 is)
//   that is stronger against 3 in short pieces (3 must win by sqrt(3 / beats) more). The phase
//   also leans to a bar line at the first onset (first_onset_prior): pieces mostly start on one.
// Simple meters map 2, 3, 4 beats to 2/4, 3/4, 4/4; compound ones to 6/8, 9/8, 12/8.
#pragma once
#include <string>
#include <vector>

#include "qscribe/note.hpp"

namespace qs {

struct Meter {
  int numerator = 4, denominator = 4;
  int beats_per_bar = 4;     // tracked beats per bar (2 for 6/8)
  bool compound = false;     // beats divide into three (6/8, 9/8, 12/8)
  int first_downbeat = 0;    // index into the beat list of the first bar line, 0..beats_per_bar-1

  std::string time_signature() const { return std::to_string(numerator) + "/" + std::to_string(denominator); }
  // Quarter notes per beat: 1 in x/4, 1.5 in compound x/8, 0.5 in simple x/8, 2 in x/2.
  double quarters_per_beat() const { return (compound ? 3.0 : 1.0) * 4.0 / denominator; }
};

// Parses "3/4", "6/8", ...: numerator 1..32, denominator 1, 2, 4, 8, 16 or 32 (qs::Error otherwise).
// Compound when the denominator is 8 or 16 and the numerator a multiple of 3 above 3.
Meter parse_time_signature(const std::string& text);

struct MeterOptions {
  std::string time_signature;  // non-empty: use it (parse_time_signature) and find only the downbeat
  double first_onset_prior = 0.8;  // grouping-score bonus for the phase whose bar starts at the first onset's beat
};

Meter estimate_meter(const NoteList& notes, const std::vector<double>& beats, const MeterOptions& options = {});

}  // namespace qs
