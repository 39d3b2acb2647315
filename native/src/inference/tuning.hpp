// Decoding-threshold tuning (`qscribe evaluate --tune`): the model runs once over the data, its
// probabilities are kept, and the note decoder is re-run for every point of a grid of onset
// threshold x frame threshold x shortest note, scored by pooled onset-only note F1 (the core's
// mir_eval-compatible note metrics, 50 ms onset tolerance).
#pragma once
#include <string>
#include <vector>

#include "model/checkpoint.hpp"
#include "inference/inference.hpp"
#include "qscribe/metrics.hpp"
#include "qscribe/note.hpp"
#include "qscribe/note_decoder.hpp"
#include "train/trainer.hpp"

namespace qs {

// One piece to tune on: the model's probabilities and the reference notes (in the model's note
// layout, see fold_reference).
struct TunePiece {
  std::string name;
  NoteProbabilities act;
  NoteList ref;
  double duration_s = 0.0;  // the audio's duration: estimates are clipped to it, as score.py does
};

// Runs the model over every piece of a preprocessed split (windows as in evaluate_source).
std::vector<TunePiece> predict_pieces(Transcriber& model, const CheckpointInfo& info, const PieceSource& source,
                                      const InferenceOptions& inference);

struct TuneGrid {
  std::vector<float> onset_thresholds;
  std::vector<float> frame_thresholds;
  std::vector<double> min_note_ms;
  std::vector<float> restrike_thresholds;  // empty: the base's alone
  std::vector<float> rise_thresholds;      // empty: the base's alone
  // Onset 0.20..0.80 and frame 0.10..0.60 in steps of 0.05; shortest note 30, 46, 58, 80, 116 ms
  // (1.3, 2, 2.5, 3.4, 5 frames at 43 frames/s); re-strike threshold 0 (the onset threshold's),
  // 0.5, 0.6, 0.7; rise threshold 0 (off), 0.9.
  static TuneGrid defaults();
  std::size_t restrike_count() const { return restrike_thresholds.empty() ? 1 : restrike_thresholds.size(); }
  std::size_t rise_count() const { return rise_thresholds.empty() ? 1 : rise_thresholds.size(); }
  std::size_t size() const {
    return onset_thresholds.size() * frame_thresholds.size() * restrike_count() * rise_count() * min_note_ms.size();
  }
};

// Parses a grid axis: "LO:HI:STEP" (inclusive, values rounded to 6 decimals) or a comma-separated
// list of numbers. Throws qs::Error naming `what` on a malformed or empty axis.
std::vector<double> parse_grid_axis(const std::string& text, const std::string& what);

struct TuneCandidate {
  DecoderParams params;
  NoteCounts note;  // onset-only counts summed over the pieces (pooled)
  std::size_t grid_index = 0;
  double f1() const { return note.f1(); }
};

struct TuneResult {
  // Every grid point (plus `base` when it is not on the grid), best first: higher pooled note F1,
  // then nearer to `base` (onset, frame and length differences, in that order), then grid order.
  std::vector<TuneCandidate> ranked;
  std::size_t base_rank = 0;  // index of `base` in `ranked`
};

// Scores every grid point on the pieces. `base` gives frame_fallback and min_restrike_gap_s (and
// the re-strike and rise thresholds when the grid has none) for every candidate and is always
// scored, so the best candidate is never worse than `base` on these pieces. The decoder runs once
// per (onset, frame, re-strike, rise) setting; the shortest-note filter is applied to its output exactly as
// the decoder would (a note of L frames is kept when L >= min_note_length * frame_rate - 1e-9).
// `threads` worker threads (0: all cores). Throws qs::Error on an empty grid or invalid values.
TuneResult tune_decoder(const std::vector<TunePiece>& pieces, const CheckpointInfo& info, const TuneGrid& grid,
                        const DecoderParams& base, int threads = 0);

// Notes of every piece decoded with `params` and scored exactly as score.py's POOLED
// (evaluate_pooled): all of score.py's metrics, for reporting a candidate.
PieceCounts evaluate_decoding(const std::vector<TunePiece>& pieces, const CheckpointInfo& info,
                              const DecoderParams& params);

}  // namespace qs
