// One batch of model windows waiting for a network: the slot between the core's pipeline and a
// runtime. The pipeline (model_windows.hpp, live_window.hpp) fills `input` and says where each
// window lies in the stream; the runtime (LibTorch in `qscribe`, ONNX Runtime Web in the browser,
// a plain function in the tests) runs the network and writes its raw outputs; the pipeline then
// reads them as the model's sidecar says (read_model_outputs). The core never runs a network, so
// it stays free of LibTorch and JavaScript, and the browser's asynchronous runtime simply answers
// later.
#pragma once

#include <cstddef>
#include <vector>

namespace qs {

struct ModelConfig;

struct ModelRequest {
  std::vector<float> input;  // [batch x frames x bins] CQT magnitudes (padding is 0)
  int batch = 0, frames = 0, bins = 0, notes = 0;
  // Raw outputs, [batch x frames x notes], written by the runtime: logits or probabilities, as
  // the sidecar's io.outputs_are_logits says. `onset_out` is empty for a frame-only model.
  std::vector<float> frame_out, onset_out;
  // Frame index (in the stream) of each window's first row.
  std::vector<std::size_t> window_start;
  // Names this request among all ever prepared in this process (0: none yet). A runtime that
  // answers asynchronously reads it before a run and again before writing back: a run that
  // outlived its request (a cancelled job, a live session restarted) must not write into the next.
  int serial = 0;

  // Sizes every buffer for `b` windows of `f` frames (input zeroed) and takes a new serial.
  void prepare(int b, int f, int n_bins, int n_notes, bool with_onsets);
  bool has_onsets() const { return !onset_out.empty(); }
};

// Turns the request's raw outputs into probabilities in place, as `model` says (a sigmoid when
// its outputs are logits). Every pipeline stage calls this once per answered request.
void read_model_outputs(const ModelConfig& model, ModelRequest& request);

}  // namespace qs
