// A magnitude spectrogram: frames × bins, row-major, the layout the model consumes.
#pragma once
#include <cstddef>
#include <vector>

namespace qs {

struct Spectrogram {
  std::size_t n_frames = 0;
  std::size_t n_bins = 0;
  std::vector<float> data;  // [frame][bin], size n_frames * n_bins

  float at(std::size_t frame, std::size_t bin) const { return data[frame * n_bins + bin]; }
  const float* frame(std::size_t f) const { return data.data() + f * n_bins; }
};

}  // namespace qs
