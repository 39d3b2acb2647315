// The downbeat phase where the accents cannot tell two phases apart: it leans to a bar line at the
// first onset (MeterOptions::first_onset_prior), and clear evidence still outvotes the lean.
#include <gtest/gtest.h>

#include <vector>

#include "qscribe/meter.hpp"

namespace {

using qs::Note;
using qs::NoteList;

std::vector<double> steady_beats(int n, double ibi) {
  std::vector<double> b;
  for (int i = 0; i < n; ++i) b.push_back(0.5 + i * ibi);
  return b;
}

// From beat `start` on: a bass note every other beat and the same chord on every beat, so phases p
// and p + 2 of a 4/4 bar carry nearly the same evidence. With `bar_bass`, beats start + 4k also
// get a long low note (a clear bar line).
NoteList two_beat_pattern(const std::vector<double>& beats, std::size_t start, bool bar_bass) {
  NoteList notes;
  for (std::size_t i = start; i + 1 < beats.size(); ++i) {
    const double t = beats[i], ibi = beats[i + 1] - beats[i];
    for (int p : {60, 64, 67}) notes.push_back({t, t + 0.8 * ibi, p, 70});
    // The bass two beats after the first is a little longer: a near tie, leaning away from the start.
    if ((i - start) % 2 == 0) notes.push_back({t, t + ((i - start) % 4 == 2 ? 1.0 : 0.8) * ibi, 48, 80});
    if (bar_bass && (i - start) % 4 == 2) notes.push_back({t, t + 3.5 * ibi, 36, 100});
  }
  qs::sort_notes(notes);
  return notes;
}

TEST(MeterDownbeat, TiedPhasesLeanToTheFirstOnset) {
  const auto beats = steady_beats(64, 0.5);
  // Bass on beats 3, 5, 7, ...: in 4/4 phases 1 and 3 are nearly the same (1 a little stronger);
  // the music starts on 3.
  const NoteList notes = two_beat_pattern(beats, 3, false);
  qs::MeterOptions o;
  o.time_signature = "4/4";
  EXPECT_EQ(qs::estimate_meter(notes, beats, o).first_downbeat, 3);
  o.first_onset_prior = 0.0;  // without the lean the slightly stronger phase wins
  EXPECT_EQ(qs::estimate_meter(notes, beats, o).first_downbeat, 1);
  // Unforced, a bass on every other beat under one chord is 4/4 (the common meter) with its bar
  // at the first onset: 2/4 must be clearly better.
  const qs::Meter free = qs::estimate_meter(notes, beats);
  EXPECT_EQ(free.beats_per_bar, 4);
  EXPECT_EQ(free.first_downbeat, 3);
}

TEST(MeterDownbeat, ClearBarLinesOutvoteTheLean) {
  const auto beats = steady_beats(64, 0.5);
  // The same, with a long low note on beats 5, 9, 13, ...: the bar starts two beats after the
  // first onset (a two-beat pickup), at index 5 % 4 = 1.
  const qs::Meter m = qs::estimate_meter(two_beat_pattern(beats, 3, true), beats);
  EXPECT_EQ(m.beats_per_bar, 4);
  EXPECT_EQ(m.first_downbeat, 1);
}

}  // namespace
