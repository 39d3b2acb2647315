// The sum of a tone's harmonics at one instant, for the additive sound sources of our own (the
// singers, the sustained tones).
#pragma once
#include <cmath>
#include <vector>

namespace qs::synth {

// sum over k of weights[k] x sin((k + 1) x phase): sin(k phase) by the Chebyshev recurrence,
// two multiply-adds per harmonic instead of a sine each.
inline double harmonic_sum(double phase, const std::vector<double>& weights) {
  const double c2 = 2.0 * std::cos(phase);
  double s_prev = 0.0, s_k = std::sin(phase), sum = 0.0;
  for (double w : weights) {
    sum += w * s_k;
    const double next = c2 * s_k - s_prev;
    s_prev = s_k;
    s_k = next;
  }
  return sum;
}

}  // namespace qs::synth
