// Window planning and stitching: a stream of CQT frames -> batches of model windows
// (ModelRequest) -> one continuous track of note probabilities. Used for every whole-file
// transcription: `qscribe transcribe`, `evaluate` and training's validation, and the browser's
// file job; live input plans its windows with live_window.hpp instead.
//
// Windows are `window` frames long and, with one pass, start every `window - 2 * overlap` frames.
// Each window contributes its centre frames only (the first window also its start, the last one
// its end), so every frame is predicted with at least `overlap` frames of context on both sides
// where the audio has them. The last window is zero-padded, as training examples are. With overlap
// 0 the windows simply tile the stream, like the training windows.
//
// With P passes the windows start P times as often (every (window - 2 * overlap) / P frames): P
// staggered tilings, so that each frame is predicted P times, from windows that place it
// differently, and its probabilities are the mean of those predictions (fewer at the very start
// and end). A small ensemble of one model: each prediction errs in its own way where its context
// cuts the music differently (docs/benchmarks.md).
//
// Memory: only the frames some unrun window still needs are buffered; what grows with the audio
// is the probabilities (2 x n_notes float32 per frame: ~30 KB per second of audio).
#pragma once

#include <cstddef>
#include <vector>

#include "qscribe/model_config.hpp"
#include "qscribe/model_request.hpp"
#include "qscribe/note_decoder.hpp"

namespace qs {

// The model's probabilities over one piece, [n_frames x n_notes] row-major.
struct NoteProbabilities {
  int n_notes = 88;
  bool has_onsets = true;  // false: a frame-only model (`onsets` stays empty)
  std::size_t n_frames = 0;
  std::vector<float> frames, onsets;

  // Grows to at least `n` frames; new frames are 0.
  void ensure_frames(std::size_t n);
  // Copies rows [0, n) of a [.. x n_notes] output into frames [first, first + n).
  void write(std::size_t first, std::size_t n, const float* frame_rows, const float* onset_rows);
  // The decoder's view (pointers into this object).
  Activations view(int lowest_pitch, double frame_rate) const;
};

// The decoder's view of `probs` with `model`'s note layout and frame rate.
Activations activations_of(const NoteProbabilities& probs, const ModelConfig& model);
// Notes from probabilities with `model`'s note layout (no notes for no frames).
NoteList decode_probabilities(const NoteProbabilities& probs, const ModelConfig& model, const DecoderParams& params);

struct WindowOptions {
  int window_frames = 0;  // 0: the model's training context (segment.frames)
  // Frames of context discarded on each side; -1: window / 8. At least the model's
  // segment.context_frames, so 0 means the model's choice: windows tile the audio like the
  // training windows when that is 0. Edge frames see less context; for release 11, 10 frames
  // of context raised note F1 by 0.002-0.02 for 30 % more model work (docs/benchmarks.md).
  int overlap_frames = 0;
  int batch_windows = 16;  // windows per request
  int passes = 0;          // staggered tilings averaged (1..8); 0: the model's segment.passes
};

class ModelWindows {
 public:
  // Throws qs::Error for a window under 1 frame or an overlap of half the window or more.
  ModelWindows(const ModelConfig& model, const WindowOptions& options = {});

  // Appends n CQT frames ([n x bins]).
  void push(const float* cqt, std::size_t n);
  // Declares the end of the stream: the remaining windows become ready (zero-padded).
  void finish();
  // The next batch to run: full batches while frames arrive, the rest after finish(). nullptr
  // when nothing is ready (or the previous request is unanswered: then that one is returned).
  ModelRequest* next_request();
  // The runtime has written the request's outputs: stitches them into probabilities().
  void answer();
  // Runs every ready request through `run` (a synchronous runtime).
  template <class Run>
  void run_ready(Run&& run) {
    while (ModelRequest* r = next_request()) {
      run(*r);
      answer();
    }
  }

  bool done() const { return finished_ && probs_.n_frames >= total_; }
  std::size_t frames_pushed() const { return total_; }
  std::size_t frames_answered() const { return probs_.n_frames; }
  const NoteProbabilities& probabilities() const { return probs_; }
  NoteProbabilities& probabilities() { return probs_; }
  ModelRequest& request() { return request_; }
  int window() const { return window_; }
  int overlap() const { return overlap_; }
  int passes() const { return passes_; }

 private:
  std::vector<std::size_t> ready_windows() const;
  void accumulate(std::size_t first, std::size_t n, const float* frame_rows, const float* onset_rows);
  void finalize_until(std::size_t frame);

  ModelConfig model_;
  int window_, overlap_, passes_, step_, batch_;  // step_: between consecutive windows
  // Sums of the predictions of frames [probs_.n_frames, ...) that a later window may still add to.
  std::vector<float> sum_frames_, sum_onsets_;
  std::vector<int> n_predictions_;
  std::vector<float> buffer_;    // frames [buffer_start_, total_) of the stream
  std::size_t buffer_start_ = 0;
  std::size_t total_ = 0;        // frames pushed
  std::size_t next_window_ = 0;  // index of the next window to plan
  bool finished_ = false, pending_ = false;
  bool request_final_ = false;  // the pending request was planned after finish()
  ModelRequest request_;
  NoteProbabilities probs_;
};

}  // namespace qs
