// Notes <-> piano rolls: frame convention, onset frames, pitch classes, round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "qscribe/error.hpp"
#include "qscribe/piano_roll.hpp"

namespace {

// Frames of column k that are set.
std::vector<std::size_t> active_frames(const qs::PianoRoll& roll, std::size_t k) {
  std::vector<std::size_t> out;
  for (std::size_t j = 0; j < roll.n_frames; ++j)
    if (roll.at(j, k) != 0.0f) out.push_back(j);
  return out;
}

using Frames = std::vector<std::size_t>;

TEST(PianoRoll, FrameConventionOnsetInclusiveOffsetExclusive) {
  const double fr = 10.0;  // frame j at j / 10 s
  const qs::NoteList notes = {{0.1, 0.3, 21, 64},      // frames 1, 2 (0.3 excluded)
                              {0.15, 0.25, 22, 64},    // only t = 0.2
                              {0.11, 0.14, 23, 64},    // no frame time inside: nearest to onset (1)
                              {0.16, 0.19, 24, 64},    // nearest to onset is 2
                              {0.95, 5.0, 25, 64},     // clipped at the end of the roll
                              {-1.0, 0.05, 26, 64},    // started before the roll
                              {1.3, 1.35, 27, 64}};    // entirely after the roll
  const qs::PianoRoll roll = qs::notes_to_frame_roll(notes, 12, fr);
  EXPECT_EQ(roll.n_frames, 12u);
  EXPECT_EQ(roll.n_notes, 88u);
  EXPECT_EQ(roll.lowest_pitch, 21);
  EXPECT_EQ(roll.data.size(), 12u * 88u);
  EXPECT_EQ(active_frames(roll, 0), (Frames{1, 2}));
  EXPECT_EQ(active_frames(roll, 1), (Frames{2}));
  EXPECT_EQ(active_frames(roll, 2), (Frames{1}));
  EXPECT_EQ(active_frames(roll, 3), (Frames{2}));
  EXPECT_EQ(active_frames(roll, 4), (Frames{10, 11}));
  EXPECT_EQ(active_frames(roll, 5), (Frames{0}));
  EXPECT_EQ(active_frames(roll, 6), (Frames{}));
}

TEST(PianoRoll, MatchesScorePyRollOnRandomNotes) {
  // score.py: frames ceil(on/hop - 1e-9) .. ceil(off/hop - 1e-9) - 1, for notes spanning a frame time.
  const double fr = 22050.0 / 512.0;
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> t(0.0, 10.0), len(0.05, 2.0);
  qs::NoteList notes;
  for (int i = 0; i < 300; ++i) {
    const double on = t(rng);
    notes.push_back({on, on + len(rng), 21 + static_cast<int>(rng() % 88), 64});
  }
  const std::size_t n = 431;
  const qs::PianoRoll roll = qs::notes_to_frame_roll(notes, n, fr);
  std::vector<float> expect(n * 88, 0.0f);
  for (const auto& note : notes) {
    const double a = std::max(0.0, std::ceil(note.onset * fr - 1e-9));
    const double b = std::min(static_cast<double>(n), std::ceil(note.offset * fr - 1e-9));
    for (auto j = static_cast<std::size_t>(a); j < static_cast<std::size_t>(b); ++j) expect[j * 88 + (note.pitch - 21)] = 1.0f;
  }
  EXPECT_EQ(roll.data, expect);
}

TEST(PianoRoll, ExactFrameTimesCountAsActive) {
  const double fr = 22050.0 / 512.0;
  const qs::NoteList notes = {{3 * 512 / 22050.0, 5 * 512 / 22050.0, 60, 64}};
  EXPECT_EQ(active_frames(qs::notes_to_frame_roll(notes, 10, fr), 60 - 21), (Frames{3, 4}));
  EXPECT_EQ(active_frames(qs::notes_to_onset_roll(notes, 10, fr), 60 - 21), (Frames{3}));
}

TEST(PianoRoll, OnsetRollMarksNearestFrame) {
  const qs::NoteList notes = {{0.14, 0.5, 60, 64}, {0.16, 0.5, 61, 64}, {-0.2, 0.5, 62, 64}, {0.96, 2.0, 63, 64}};
  const qs::PianoRoll roll = qs::notes_to_onset_roll(notes, 10, 10.0);
  EXPECT_EQ(active_frames(roll, 60 - 21), (Frames{1}));
  EXPECT_EQ(active_frames(roll, 61 - 21), (Frames{2}));
  EXPECT_EQ(active_frames(roll, 62 - 21), (Frames{}));  // began before the roll
  EXPECT_EQ(active_frames(roll, 63 - 21), (Frames{}));  // nearest frame 10 is past the end
}

TEST(PianoRoll, CustomRangeIgnoresOtherPitches) {
  const qs::NoteList notes = {{0.0, 0.2, 47, 64}, {0.0, 0.2, 48, 64}, {0.0, 0.2, 59, 64}, {0.0, 0.2, 60, 64}};
  const qs::PianoRoll roll = qs::notes_to_frame_roll(notes, 4, 10.0, 48, 12);
  EXPECT_EQ(roll.n_notes, 12u);
  EXPECT_EQ(roll.lowest_pitch, 48);
  EXPECT_EQ(active_frames(roll, 0), (Frames{0, 1}));
  EXPECT_EQ(active_frames(roll, 11), (Frames{0, 1}));
  float total = 0;
  for (float v : roll.data) total += v;
  EXPECT_EQ(total, 4.0f);
}

TEST(PianoRoll, PitchClassFolding) {
  const qs::NoteList notes = {{0.0, 0.2, 21, 64}, {0.3, 0.5, 60, 64}, {0.3, 0.4, 72, 64}, {0.0, 0.1, 108, 64}};
  const qs::PianoRoll roll = qs::notes_to_frame_roll(notes, 6, 10.0, qs::RollLayout::note_names());
  EXPECT_EQ(roll.n_notes, 12u);
  EXPECT_TRUE(roll.pitch_classes);
  EXPECT_EQ(active_frames(roll, 9), (Frames{0, 1}));   // A0 -> A
  EXPECT_EQ(active_frames(roll, 0), (Frames{0, 3, 4}));  // C8, C4, C5 -> C
  const qs::PianoRoll onsets = qs::notes_to_onset_roll(notes, 6, 10.0, qs::RollLayout::note_names());
  EXPECT_EQ(active_frames(onsets, 0), (Frames{0, 3}));

  const qs::NoteList back = qs::frame_roll_to_notes(roll, 10.0);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].pitch, 60);  // C in the octave of middle C
  EXPECT_EQ(back[1].pitch, 69);  // A4
}

TEST(PianoRoll, RoundTripOnTheFrameGrid) {
  const double fr = 22050.0 / 512.0;
  std::mt19937 rng(9);
  qs::NoteList notes;
  for (int k = 0; k < 88; k += 3) {
    std::size_t j = rng() % 20;
    while (j < 400) {
      const std::size_t len = 1 + rng() % 30;
      notes.push_back({j / fr, (j + len) / fr, 21 + k, 64});
      j += len + 1 + rng() % 20;  // a gap of at least one frame
    }
  }
  qs::sort_notes(notes);
  const qs::PianoRoll roll = qs::notes_to_frame_roll(notes, 500, fr);
  EXPECT_EQ(qs::frame_roll_to_notes(roll, fr), notes);
}

TEST(PianoRoll, OnsetRollSplitsRepeatedNotes) {
  const qs::NoteList notes = {{0.0, 0.3, 60, 64}, {0.3, 0.5, 60, 64}};  // back to back: one run of frames
  const qs::PianoRoll frames = qs::notes_to_frame_roll(notes, 8, 10.0);
  const qs::PianoRoll onsets = qs::notes_to_onset_roll(notes, 8, 10.0);
  ASSERT_EQ(qs::frame_roll_to_notes(frames, 10.0).size(), 1u);
  EXPECT_EQ(qs::frame_roll_to_notes(frames, 10.0, 0.5f, &onsets), notes);
  const qs::NoteList soft = qs::frame_roll_to_notes(frames, 10.0, 0.5f, nullptr, 99);
  EXPECT_EQ(soft[0].velocity, 99);
}

TEST(PianoRoll, ThresholdAndValidation) {
  qs::PianoRoll roll;
  roll.n_frames = 3;
  roll.n_notes = 1;
  roll.lowest_pitch = 60;
  roll.data = {0.2f, 0.7f, 0.4f};
  EXPECT_EQ(qs::frame_roll_to_notes(roll, 10.0, 0.5f).size(), 1u);
  EXPECT_EQ(qs::frame_roll_to_notes(roll, 10.0, 0.3f)[0].onset, 0.1);
  EXPECT_EQ(qs::frame_roll_to_notes(roll, 10.0, 0.1f)[0].offset, 0.3);

  EXPECT_THROW(qs::notes_to_frame_roll({}, 10, 0.0), qs::Error);
  EXPECT_THROW(qs::notes_to_onset_roll({}, 10, std::nan("")), qs::Error);
  EXPECT_THROW(qs::notes_to_frame_roll({}, 10, 10.0, 21, 0), qs::Error);
  EXPECT_THROW(qs::notes_to_frame_roll({}, static_cast<std::size_t>(-1), 10.0), qs::Error);
  roll.data.pop_back();
  EXPECT_THROW(qs::frame_roll_to_notes(roll, 10.0), qs::Error);
  EXPECT_EQ(qs::frames_for_duration(1.0, 10.0), 10u);
  EXPECT_EQ(qs::frames_for_duration(1.01, 10.0), 11u);
  EXPECT_EQ(qs::notes_to_frame_roll({}, 0, 10.0).data.size(), 0u);
}

}  // namespace
