// Live input's model windows: the provisional tail. After every hop of new audio the model runs
// on the newest `window` frames, whose CQT is computed with the future treated as silence: the
// newest frames are provisional (high bins, whose kernels are short, are already complete, low
// bins not yet), and each answer overwrites the probabilities of its frames, so the next run
// corrects them. Used by the browser's live mode; whole files use model_windows.hpp.
#pragma once

#include <cstddef>

#include "qscribe/cqt.hpp"
#include "qscribe/model_config.hpp"
#include "qscribe/model_request.hpp"
#include "qscribe/model_windows.hpp"

namespace qs {

class LiveWindow {
 public:
  // `context_seconds` of frames per run (at least 1 frame, at most the model's segment).
  // `request` belongs to the caller, so that a run still in flight when the window is destroyed
  // has somewhere to write.
  LiveWindow(const ModelConfig& model, double context_seconds, ModelRequest& request);

  // Plans a run over the newest frames of the recording audio[0, n) (at the model's sample rate):
  // the request, or nullptr while a run is in flight or less than one hop has arrived since the
  // last run.
  ModelRequest* next_request(const float* audio, std::size_t n);
  // The runtime has written the request's outputs: they replace frames
  // [first_frame(), first_frame() + n_frames()) of `probs`.
  void answer(NoteProbabilities& probs);

  bool busy() const { return in_flight_; }
  std::size_t first_frame() const { return first_; }  // of the last request
  std::size_t n_frames() const { return n_; }
  int window() const { return window_; }

 private:
  ModelConfig model_;
  Cqt cqt_;
  int window_;
  std::size_t past_samples_;  // audio before a window's first frame that its CQT needs
  std::size_t first_ = 0, n_ = 0;
  std::size_t last_end_ = 0;  // audio length at the last request
  bool in_flight_ = false;
  ModelRequest& request_;
};

}  // namespace qs
