// Mono float32 audio with its sample rate: the single audio type the core passes around.
#pragma once
#include <cstddef>
#include <vector>

namespace qs {

struct AudioBuffer {
  std::vector<float> samples;  // mono, nominally in [-1, 1]
  double sample_rate = 22050.0;  // Hz

  std::size_t size() const { return samples.size(); }
  bool empty() const { return samples.empty(); }
  double duration() const { return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0; }
};

}  // namespace qs
