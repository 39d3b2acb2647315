#include "qscribe/halfband.hpp"

#include <cmath>
#include <cstdint>

namespace qs {
namespace {

// Zeroth-order modified Bessel function of the first kind (series), for the Kaiser window.
double bessel_i0(double x) {
  double sum = 1.0, term = 1.0;
  for (int k = 1; k < 64; ++k) {
    term *= (x / (2.0 * k)) * (x / (2.0 * k));
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}

constexpr double kPi = 3.14159265358979323846;
constexpr double kKaiserBeta = 11.0;  // ≈ 110 dB stop band for this length

}  // namespace

HalfbandDecimator::HalfbandDecimator() {
  const int k_half = kHalfLength;
  std::vector<double> h(k_half + 1);
  double odd_sum = 0.0;
  for (int j = 0; j <= k_half; ++j) {
    const double sinc = j == 0 ? 0.5 : std::sin(kPi * j / 2.0) / (kPi * j);
    const double r = static_cast<double>(j) / (k_half + 1);
    const double w = bessel_i0(kKaiserBeta * std::sqrt(1.0 - r * r)) / bessel_i0(kKaiserBeta);
    h[j] = sinc * w;
    if (j % 2 == 1) odd_sum += 2.0 * h[j];
  }
  // The even taps of a half-band sinc vanish and the centre tap is exactly 1/2; scaling the odd
  // taps to sum to 1/2 as well gives unit DC gain. Only the odd taps are stored.
  for (int j = 1; j <= k_half; j += 2) odd_taps_.push_back(static_cast<float>(h[j] * 0.5 / odd_sum));
}

void HalfbandDecimator::decimate(const float* x, std::size_t n, std::size_t m_begin, std::size_t m_end,
                                 float* out) const {
  decimate_window(x, 0, n, n, m_begin, m_end, out);
}

void HalfbandDecimator::decimate_window(const float* x, std::ptrdiff_t x_offset, std::size_t x_len,
                                        std::size_t signal_len, std::size_t m_begin, std::size_t m_end,
                                        float* out) const {
  const float gain = static_cast<float>(std::sqrt(2.0));
  // signal_len may be "unknown yet" (SIZE_MAX) while streaming: clamp instead of wrapping.
  const std::ptrdiff_t n = signal_len > static_cast<std::size_t>(PTRDIFF_MAX) ? PTRDIFF_MAX
                                                                               : static_cast<std::ptrdiff_t>(signal_len);
  const std::ptrdiff_t lo_avail = x_offset, hi_avail = x_offset + static_cast<std::ptrdiff_t>(x_len);
  const int n_odd = static_cast<int>(odd_taps_.size());
  for (std::size_t m = m_begin; m < m_end; ++m) {
    const std::ptrdiff_t c = 2 * static_cast<std::ptrdiff_t>(m);
    const bool interior = c - kHalfLength >= 0 && c + kHalfLength < n && c - kHalfLength >= lo_avail &&
                          c + kHalfLength < hi_avail;
    const float* xc = x + (c - x_offset);
    float acc;
    if (interior) {
      acc = 0.5f * xc[0];
      for (int t = 0; t < n_odd; ++t) {
        const int j = 2 * t + 1;
        acc += odd_taps_[t] * (xc[-j] + xc[j]);
      }
    } else {
      // Near the signal's ends: samples outside [0, n) are zero.
      auto sample = [&](std::ptrdiff_t i) -> float {
        return (i < 0 || i >= n) ? 0.0f : x[i - x_offset];
      };
      acc = 0.5f * sample(c);
      for (int t = 0; t < n_odd; ++t) {
        const int j = 2 * t + 1;
        acc += odd_taps_[t] * (sample(c - j) + sample(c + j));
      }
    }
    out[m - m_begin] = gain * acc;
  }
}

}  // namespace qs
