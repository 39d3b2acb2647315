// Transcription metrics, computed exactly as the outside referee (shared/eval/score.py, which
// calls mir_eval) computes them:
//  - note P/R/F1 (+ average overlap ratio): mir_eval.transcription.precision_recall_f1_overlap.
//    An estimate matches a reference when |onset difference| rounded to 4 decimals (np.around,
//    half to even) is <= onset_tolerance, the pitches are within pitch_tolerance cents, and (with
//    offsets) the rounded |offset difference| is <= max(offset_ratio * ref duration,
//    offset_min_tolerance). The match count is the size of a maximum bipartite matching, found
//    with the same Hopcroft-Karp procedure and visiting order as mir_eval, so the matched pairs
//    (and hence the overlap ratio) agree too.
//  - frame P/R/F1: 10 ms piano rolls fed to mir_eval.multipitch; F1 = 2PR / (P + R).
//  - exact-frame accuracy: the fraction of frames (hop 512 @ 22050 Hz, silent frames included)
//    whose active pitch sets differ in at most k pitches (|symmetric difference| <= k).
// Rolls: frame i sits at t = i * hop; a note is active there when onset <= t < offset; pitches
// outside MIDI 0..127 are left out of rolls.
//
// Counts are returned so pieces can be pooled (summed, = score.py's POOLED micro-average) or
// their scores averaged (= score.py's MEAN).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "qscribe/note.hpp"

namespace qs {

struct NoteMatchParams {
  double onset_tolerance = 0.05;       // s
  double pitch_tolerance = 50.0;       // cents
  bool with_offsets = false;           // false: onset-only (mir_eval offset_ratio=None)
  double offset_ratio = 0.2;           // fraction of the reference note's duration
  double offset_min_tolerance = 0.05;  // s
  bool strict = false;                 // true: `<` instead of `<=` (mir_eval strict=True)

  static NoteMatchParams onset_only() { return {}; }
  static NoteMatchParams with_offset() {
    NoteMatchParams p;
    p.with_offsets = true;
    return p;
  }
};

// Matched (reference index, estimate index) pairs, sorted by reference index. The matching is
// of maximum cardinality and identical to mir_eval.transcription.match_notes'. Throws qs::Error
// when a note has a negative or non-finite time or offset <= onset (mir_eval refuses those).
std::vector<std::pair<std::size_t, std::size_t>> match_notes(const NoteList& ref, const NoteList& est,
                                                             const NoteMatchParams& params);

// Note-level counts of one piece or of several pieces summed.
struct NoteCounts {
  std::size_t n_ref = 0;
  std::size_t n_est = 0;
  std::size_t n_matched = 0;
  double overlap_sum = 0.0;  // sum over matched pairs of the overlap ratio

  double precision() const;  // n_matched / n_est, 0 when there is no estimate
  double recall() const;     // n_matched / n_ref, 0 when there is no reference
  double f1() const;         // 2PR / (P + R), 0 when P + R = 0
  double average_overlap_ratio() const;  // overlap_sum / n_matched, 0 when nothing matched
  NoteCounts& operator+=(const NoteCounts& o);
};

NoteCounts note_counts(const NoteList& ref, const NoteList& est, const NoteMatchParams& params);

// Frame-level counts over a roll of n_frames frames.
struct FrameCounts {
  std::size_t n_frames = 0;
  std::uint64_t n_ref_active = 0;  // sum over frames of the reference's active pitches
  std::uint64_t n_est_active = 0;
  std::uint64_t n_true_positive = 0;  // sum over frames of |ref ∩ est|
  // diff_histogram[d]: frames whose ref and est pitch sets differ in exactly d pitches.
  std::array<std::uint64_t, 129> diff_histogram{};

  double precision() const;  // mir_eval.multipitch Precision (0 when nothing is estimated)
  double recall() const;     // mir_eval.multipitch Recall (0 when the reference is silent)
  double f1() const;
  // Fraction of frames with at most k differing pitches (0 when there are no frames).
  double exact_accuracy(int k) const;
  FrameCounts& operator+=(const FrameCounts& o);
};

constexpr double kFrameMetricHop = 0.01;              // s: score.py's FRAME_HOP
constexpr double kExactFrameHop = 512.0 / 22050.0;    // s: score.py's exact-frame grid

// Number of roll frames for a piece of `duration_s`: ceil(duration / hop - 1e-9), as score.py.
std::size_t roll_frame_count(double duration_s, double hop_s);
// Counts over a roll of `n_frames` frames at `hop_s` seconds.
FrameCounts frame_counts(const NoteList& ref, const NoteList& est, std::size_t n_frames, double hop_s);

// Everything score.py reports for one piece, as counts.
struct PieceCounts {
  double duration_s = 0.0;
  NoteCounts note;         // onset-only
  NoteCounts note_offset;  // with offsets
  FrameCounts frame;       // 10 ms rolls: P/R/F1
  FrameCounts exact;       // hop 512 @ 22050 Hz rolls: exact-frame accuracy

  PieceCounts& operator+=(const PieceCounts& o);
};

struct PRF {
  double precision = 0.0;
  double recall = 0.0;
  double f1 = 0.0;
};

struct Scores {
  PRF note;
  PRF note_offset;
  PRF frame;
  std::array<double, 3> exact_accuracy{};  // k = 0, 1, 2
  double note_overlap = 0.0;               // average overlap ratio, onset-only matching
  double note_offset_overlap = 0.0;
};

// Scores one piece like score.py: `duration_s` is the audio duration (< 0: the latest offset of
// ref and est, as score.py does without a WAV); estimates are clipped to [0, duration]
// (dropping those starting at or after it or ending at or before 0) before anything is scored.
PieceCounts evaluate_piece(const NoteList& ref, const NoteList& est, double duration_s = -1.0);
Scores scores_of(const PieceCounts& counts);
// POOLED from per-piece counts: counts summed, then scored once. Equals score.py's POOLED except
// in rare 4-decimal rounding ties, because score.py shifts note times onto one time line (see
// evaluate_pooled for the exact replica).
Scores pooled_scores(const std::vector<PieceCounts>& pieces);

// One piece's notes for evaluate_pooled (duration_s < 0: from the notes, as in evaluate_piece).
struct PieceNotes {
  NoteList ref;
  NoteList est;
  double duration_s = -1.0;
};
// score.py's POOLED exactly: clipped pieces concatenated on one time line with 10 s of silence
// between them (times shifted in the same floating-point order), note metrics computed once over
// the concatenation, frame counts summed over the per-piece rolls. Score it with scores_of.
PieceCounts evaluate_pooled(const std::vector<PieceNotes>& pieces);
// score.py's MEAN: unweighted mean of the per-piece scores (all zero for no pieces).
Scores mean_scores(const std::vector<PieceCounts>& pieces);

// mir_eval.beat.f_measure: beats within `tolerance_s` of a reference beat (one match each), after
// trim_beats drops the beats before `skip_s` on both sides. 0 when either is empty then.
double beat_f_measure(const std::vector<double>& reference, const std::vector<double>& estimate,
                      double tolerance_s = 0.07, double skip_s = 5.0);

}  // namespace qs
