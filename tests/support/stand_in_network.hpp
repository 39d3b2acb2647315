// A fixed stand-in for the transcription network, for testing the core's pipeline without
// LibTorch or ONNX Runtime: it answers a qs::ModelRequest with logits computed from the input by
// +, -, * and sqrt only (IEEE-exact, so native and wasm builds give the same bits).
//
// Per window b, row t and note k, with a = 10 sqrt(mean of the note's CQT bins):
//   frame logit = 2 (a - 2) + 0.5 (a - mean of a over the window's rows)
//   onset logit = 3 (a - a at row t-1 of the same window) - 1
// The window mean and the previous row make the answer depend on where the windows lie, so a
// pipeline that plans or stitches windows differently gives different probabilities.
// `frame_local` drops both: each row then depends on its own input row only.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "qscribe/model_request.hpp"

namespace qs::test {

inline void stand_in_network(ModelRequest& r, bool frame_local = false) {
  const std::size_t F = static_cast<std::size_t>(r.frames), B = static_cast<std::size_t>(r.bins),
                    N = static_cast<std::size_t>(r.notes), per_note = B / N;
  std::vector<float> a(F * N);
  for (std::size_t b = 0; b < static_cast<std::size_t>(r.batch); ++b) {
    const float* in = r.input.data() + b * F * B;
    for (std::size_t t = 0; t < F; ++t)
      for (std::size_t k = 0; k < N; ++k) {
        float s = 0.0f;
        for (std::size_t i = 0; i < per_note; ++i) s += in[t * B + k * per_note + i];
        a[t * N + k] = 10.0f * std::sqrt(s / static_cast<float>(per_note));
      }
    for (std::size_t k = 0; k < N; ++k) {
      float mean = 0.0f;
      for (std::size_t t = 0; t < F; ++t) mean += a[t * N + k];
      mean /= static_cast<float>(F);
      for (std::size_t t = 0; t < F; ++t) {
        const float x = a[t * N + k];
        const float prev = frame_local ? 0.0f : (t > 0 ? a[(t - 1) * N + k] : 0.0f);
        const std::size_t o = (b * F + t) * N + k;
        r.frame_out[o] = 2.0f * (x - 2.0f) + (frame_local ? 0.0f : 0.5f * (x - mean));
        if (r.has_onsets()) r.onset_out[o] = 3.0f * (x - prev) - 1.0f;
      }
    }
  }
}

}  // namespace qs::test
