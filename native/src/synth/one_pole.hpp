// The one-pole low-pass y += a * (x - y) that the sound sources use for noise colour, pluck
// brightness and room tails.
#pragma once
#include <algorithm>
#include <cmath>

namespace qs::synth {

// Its coefficient `a` for a cutoff of `cutoff_hz` at `rate` Hz (the impulse-invariant pole). The
// cutoff is held at 0.45 of the rate, below Nyquist, where the filter stops being a low-pass.
inline double one_pole_coefficient(double cutoff_hz, double rate) {
  return 1.0 - std::exp(-2.0 * M_PI * std::min(cutoff_hz, 0.45 * rate) / rate);
}

}  // namespace qs::synth
