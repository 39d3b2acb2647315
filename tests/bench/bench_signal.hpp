// The benchmarks' input: two sines (A3, C#4) plus white noise, deterministic. Shared by the
// Google Benchmark suite and the plain timing program so native and wasm numbers compare.
#pragma once
#include <cmath>
#include <random>
#include <vector>

namespace qs::bench {

inline std::vector<float> test_signal(double seconds, double sr) {
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  std::vector<float> x(static_cast<std::size_t>(seconds * sr));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double t = i / sr;
    x[i] = 0.2f * static_cast<float>(std::sin(2 * M_PI * 220.0 * t) + std::sin(2 * M_PI * 277.18 * t)) + noise(rng);
  }
  return x;
}

}  // namespace qs::bench
