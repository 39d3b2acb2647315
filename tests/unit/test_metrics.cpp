// Metrics: hand-computed cases (the mir_eval cross-check lives in tests/python).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "qscribe/error.hpp"
#include "qscribe/metrics.hpp"

namespace {

qs::Note N(double on, double off, int pitch) {
  qs::Note n;
  n.onset = on;
  n.offset = off;
  n.pitch = pitch;
  return n;
}

const qs::NoteMatchParams kOnset = qs::NoteMatchParams::onset_only();
const qs::NoteMatchParams kOffset = qs::NoteMatchParams::with_offset();

}  // namespace

TEST(Metrics, PerfectTranscription) {
  const qs::NoteList ref{N(0.0, 1.0, 60), N(0.5, 1.5, 64), N(1.0, 2.0, 67)};
  const qs::NoteCounts c = qs::note_counts(ref, ref, kOffset);
  EXPECT_EQ(c.n_matched, 3u);
  EXPECT_DOUBLE_EQ(c.precision(), 1.0);
  EXPECT_DOUBLE_EQ(c.recall(), 1.0);
  EXPECT_DOUBLE_EQ(c.f1(), 1.0);
  EXPECT_DOUBLE_EQ(c.average_overlap_ratio(), 1.0);
}

TEST(Metrics, OnsetToleranceIsInclusiveAt50ms) {
  const qs::NoteList ref{N(1.00, 2.0, 60)};
  // 1.05 - 1.00 is 0.050000000000000044 in doubles: rounding to 4 decimals makes it a hit.
  EXPECT_EQ(qs::note_counts(ref, {N(1.05, 2.0, 60)}, kOnset).n_matched, 1u);
  EXPECT_EQ(qs::note_counts(ref, {N(0.95, 2.0, 60)}, kOnset).n_matched, 1u);
  EXPECT_EQ(qs::note_counts(ref, {N(1.0501, 2.0, 60)}, kOnset).n_matched, 0u);
  qs::NoteMatchParams strict = kOnset;
  strict.strict = true;
  EXPECT_EQ(qs::note_counts(ref, {N(1.05, 2.0, 60)}, strict).n_matched, 0u);
}

TEST(Metrics, PitchMustAgreeWithin50Cents) {
  const qs::NoteList ref{N(1.0, 2.0, 60)};
  EXPECT_EQ(qs::note_counts(ref, {N(1.0, 2.0, 61)}, kOnset).n_matched, 0u);
  qs::NoteMatchParams wide = kOnset;
  wide.pitch_tolerance = 100.0;  // one semitone is 100 cents (up to rounding): inclusive
  wide.pitch_tolerance += 1e-9;
  EXPECT_EQ(qs::note_counts(ref, {N(1.0, 2.0, 61)}, wide).n_matched, 1u);
}

TEST(Metrics, OffsetToleranceRatioAndMinimum) {
  // Reference lasts 1 s: offset tolerance max(0.2 * 1, 0.05) = 0.2 s.
  const qs::NoteList ref{N(1.0, 2.0, 60)};
  EXPECT_EQ(qs::note_counts(ref, {N(1.0, 2.2, 60)}, kOffset).n_matched, 1u);
  EXPECT_EQ(qs::note_counts(ref, {N(1.0, 1.8, 60)}, kOffset).n_matched, 1u);
  EXPECT_EQ(qs::note_counts(ref, {N(1.0, 2.21, 60)}, kOffset).n_matched, 0u);
  EXPECT_EQ(qs::note_counts(ref, {N(1.0, 2.21, 60)}, kOnset).n_matched, 1u);
  // Reference lasts 0.1 s: the 50 ms minimum applies.
  const qs::NoteList shortref{N(1.0, 1.1, 60)};
  EXPECT_EQ(qs::note_counts(shortref, {N(1.0, 1.15, 60)}, kOffset).n_matched, 1u);
  EXPECT_EQ(qs::note_counts(shortref, {N(1.0, 1.16, 60)}, kOffset).n_matched, 0u);
}

TEST(Metrics, MaximumMatchingNotGreedy) {
  // est0 can match ref0 or ref1, est1 only ref0: greedy est0->ref0 would leave one unmatched.
  const qs::NoteList ref{N(1.00, 2.0, 60), N(1.08, 2.0, 60)};
  const qs::NoteList est{N(1.04, 2.0, 60), N(0.96, 2.0, 60)};
  const auto m = qs::match_notes(ref, est, kOnset);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], std::make_pair(std::size_t{0}, std::size_t{1}));
  EXPECT_EQ(m[1], std::make_pair(std::size_t{1}, std::size_t{0}));
}

TEST(Metrics, HandComputedPrecisionRecall) {
  const qs::NoteList ref{N(0.0, 1.0, 60), N(1.0, 2.0, 62), N(2.0, 3.0, 64), N(3.0, 4.0, 65)};
  const qs::NoteList est{N(0.01, 0.5, 60), N(1.0, 2.0, 62), N(2.2, 3.0, 64)};
  const qs::NoteCounts on = qs::note_counts(ref, est, kOnset);
  EXPECT_EQ(on.n_matched, 2u);
  EXPECT_DOUBLE_EQ(on.precision(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(on.recall(), 0.5);
  EXPECT_DOUBLE_EQ(on.f1(), 2 * (2.0 / 3.0) * 0.5 / (2.0 / 3.0 + 0.5));
  // overlaps: (0.5 - 0.01) / (1.0 - 0.0) and 1
  EXPECT_DOUBLE_EQ(on.average_overlap_ratio(), (0.49 + 1.0) / 2.0);
  const qs::NoteCounts off = qs::note_counts(ref, est, kOffset);
  EXPECT_EQ(off.n_matched, 1u);
}

TEST(Metrics, EmptyInputsScoreZero) {
  const qs::NoteList ref{N(0.0, 1.0, 60)};
  EXPECT_EQ(qs::note_counts(ref, {}, kOnset).n_matched, 0u);
  EXPECT_DOUBLE_EQ(qs::note_counts(ref, {}, kOnset).precision(), 0.0);
  EXPECT_DOUBLE_EQ(qs::note_counts({}, ref, kOnset).recall(), 0.0);
  EXPECT_DOUBLE_EQ(qs::note_counts({}, {}, kOnset).f1(), 0.0);
  EXPECT_DOUBLE_EQ(qs::note_counts({}, {}, kOnset).average_overlap_ratio(), 0.0);
}

TEST(Metrics, InvalidNotesAreRefused) {
  const qs::NoteList ok{N(0.0, 1.0, 60)};
  EXPECT_THROW(qs::note_counts({N(1.0, 1.0, 60)}, ok, kOnset), qs::Error);
  EXPECT_THROW(qs::note_counts(ok, {N(-0.1, 1.0, 60)}, kOnset), qs::Error);
  EXPECT_THROW(qs::note_counts(ok, {N(0.0, std::numeric_limits<double>::quiet_NaN(), 60)}, kOnset), qs::Error);
  try {
    qs::note_counts(ok, {N(0.0, 1.0, 60), N(2.0, 1.0, 60)}, kOnset);
    FAIL();
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("estimated note 1"), std::string::npos) << e.what();
  }
}

TEST(Metrics, FrameCountsOnTenMsRoll) {
  // ref: pitch 60 active on frames 0..9 (0.0 <= t < 0.1); est: frames 5..14, plus pitch 62 0..4.
  const qs::NoteList ref{N(0.0, 0.1, 60)};
  const qs::NoteList est{N(0.05, 0.15, 60), N(0.0, 0.05, 62)};
  const qs::FrameCounts c = qs::frame_counts(ref, est, 20, 0.01);
  EXPECT_EQ(c.n_ref_active, 10u);
  EXPECT_EQ(c.n_est_active, 15u);
  EXPECT_EQ(c.n_true_positive, 5u);
  EXPECT_DOUBLE_EQ(c.precision(), 5.0 / 15.0);
  EXPECT_DOUBLE_EQ(c.recall(), 0.5);
  // frames 0..4 differ by 2 (60 missing, 62 extra), 5..9 equal, 10..14 differ by 1, 15..19 silent
  EXPECT_EQ(c.diff_histogram[0], 10u);
  EXPECT_EQ(c.diff_histogram[1], 5u);
  EXPECT_EQ(c.diff_histogram[2], 5u);
  EXPECT_DOUBLE_EQ(c.exact_accuracy(0), 0.5);
  EXPECT_DOUBLE_EQ(c.exact_accuracy(1), 0.75);
  EXPECT_DOUBLE_EQ(c.exact_accuracy(2), 1.0);
}

TEST(Metrics, RollBoundariesFollowScorePy) {
  EXPECT_EQ(qs::roll_frame_count(1.0, 0.01), 100u);
  EXPECT_EQ(qs::roll_frame_count(1.001, 0.01), 101u);
  EXPECT_EQ(qs::roll_frame_count(0.0, 0.01), 0u);
  // A note from 0.301 to 0.309 contains no frame time; pitches outside MIDI are skipped.
  const qs::FrameCounts c = qs::frame_counts({N(0.301, 0.309, 60), N(0.0, 1.0, 200)}, {}, 100, 0.01);
  EXPECT_EQ(c.n_ref_active, 0u);
  EXPECT_THROW(qs::frame_counts({}, {}, 10, 0.0), qs::Error);
}

TEST(Metrics, EvaluatePieceClipsEstimates) {
  const qs::NoteList ref{N(0.0, 1.0, 60)};
  const qs::NoteList est{N(0.0, 5.0, 60), N(1.5, 2.0, 60)};
  const qs::PieceCounts c = qs::evaluate_piece(ref, est, 1.0);
  EXPECT_EQ(c.note.n_est, 1u);  // the note starting after the end is dropped
  EXPECT_EQ(c.note_offset.n_matched, 1u);  // clipped to end at 1.0
  EXPECT_EQ(c.frame.n_frames, 100u);
  EXPECT_EQ(c.exact.n_frames, 44u);  // ceil(22050 / 512)
  const qs::Scores s = qs::scores_of(c);
  EXPECT_DOUBLE_EQ(s.frame.f1, 1.0);
  EXPECT_DOUBLE_EQ(s.exact_accuracy[0], 1.0);
  // Without a duration, the latest offset of either list is used.
  EXPECT_DOUBLE_EQ(qs::evaluate_piece(ref, est).duration_s, 5.0);
}

TEST(Metrics, SilentPieceScoresZeroNotNan) {
  const qs::Scores s = qs::scores_of(qs::evaluate_piece({}, {}, 2.0));
  EXPECT_EQ(s.note.f1, 0.0);
  EXPECT_EQ(s.frame.precision, 0.0);
  EXPECT_DOUBLE_EQ(s.exact_accuracy[0], 1.0);  // silent frames count as correct
  const qs::Scores z = qs::scores_of(qs::evaluate_piece({}, {}, 0.0));
  EXPECT_EQ(z.exact_accuracy[0], 0.0);
}

TEST(Metrics, PooledSumsCountsMeanAveragesScores) {
  const qs::PieceCounts a = qs::evaluate_piece({N(0.0, 1.0, 60)}, {N(0.0, 1.0, 60)}, 1.0);
  const qs::PieceCounts b = qs::evaluate_piece({N(0.0, 1.0, 60), N(0.0, 1.0, 64), N(0.0, 1.0, 67)},
                                               {N(0.0, 1.0, 60)}, 1.0);
  const qs::Scores pooled = qs::pooled_scores({a, b});
  const qs::Scores mean = qs::mean_scores({a, b});
  EXPECT_DOUBLE_EQ(pooled.note.recall, 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(mean.note.recall, (1.0 + 1.0 / 3.0) / 2.0);
  EXPECT_DOUBLE_EQ(pooled.note.precision, 1.0);
  EXPECT_DOUBLE_EQ(pooled.frame.recall, 200.0 / 400.0);
  EXPECT_DOUBLE_EQ(pooled.exact_accuracy[1], 0.5);  // b's frames miss 2 pitches
  EXPECT_DOUBLE_EQ(mean.exact_accuracy[1], 0.5);
  EXPECT_DOUBLE_EQ(pooled.exact_accuracy[2], 1.0);
  EXPECT_EQ(qs::mean_scores({}).note.f1, 0.0);
}
