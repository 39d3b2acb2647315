// One pending run of the ONNX model, filled by a job and answered by JavaScript (ONNX Runtime
// Web is asynchronous, so C++ never waits: it leaves the request here, JS runs it, writes the
// logits into the output buffers and calls back).
#pragma once

#include <vector>

#include "bridge.hpp"

namespace qsweb {

struct ModelRequest {
  std::vector<float> input;  // [batch x frames x bins] CQT magnitudes
  int batch = 0, frames = 0, bins = 0, notes = 0;
  std::vector<float> frame_logits, onset_logits;  // [batch x frames x notes], written by JS
  // Names this request among all that were ever prepared (0: none yet). JS reads it before a run
  // and again before writing the logits back: a run that outlived its request (a cancelled job,
  // a live session stopped and started again) must not write into the next one.
  int serial = 0;

  void prepare(int b, int f, int n_bins, int n_notes) {
    static int last_serial = 0;
    serial = ++last_serial;
    batch = b; frames = f; bins = n_bins; notes = n_notes;
    input.assign(static_cast<std::size_t>(b) * f * n_bins, 0.0f);
    frame_logits.assign(static_cast<std::size_t>(b) * f * n_notes, 0.0f);
    onset_logits.assign(frame_logits.size(), 0.0f);
  }
};

}  // namespace qsweb
