// The one-pole low-pass y += a * (x - y) that the sound sources use for noise colour, pluck
// brightness and room tails, and the band-passed noise made of two of them.
#pragma once
#include <algorithm>
#include <cmath>

namespace qs::synth {

// Its coefficient `a` for a cutoff of `cutoff_hz` at `rate` Hz (the impulse-invariant pole). The
// cutoff is held at 0.45 of the rate, below Nyquist, where the filter stops being a low-pass.
inline double one_pole_coefficient(double cutoff_hz, double rate) {
  return 1.0 - std::exp(-2.0 * M_PI * std::min(cutoff_hz, 0.45 * rate) / rate);
}

// White noise band-passed by two one-pole low-passes (the difference of a `hi` and a `lo` Hz
// one): the singers' consonants and breath, the sustained tones' breath or bow noise.
class BandNoise {
 public:
  BandNoise(double lo, double hi, double rate)
      : a_hi_(one_pole_coefficient(hi, rate)), a_lo_(one_pole_coefficient(lo, rate)) {}
  // The next sample, from the next white sample in [-1, 1).
  double next(double white) {
    low_ += a_hi_ * (white - low_);
    lower_ += a_lo_ * (low_ - lower_);
    return low_ - lower_;
  }

 private:
  double a_hi_, a_lo_, low_ = 0.0, lower_ = 0.0;
};

}  // namespace qs::synth
