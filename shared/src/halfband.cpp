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
  const float* taps = odd_taps_.data();
  // One output; `interior` skips the bounds checks. Both paths add in the same order, so the
  // result never depends on how much of the signal the caller holds (streaming == batch).
  auto one = [&](std::size_t m, bool interior) {
    const std::ptrdiff_t c = 2 * static_cast<std::ptrdiff_t>(m);
    float acc;
    if (interior) {
      const float* xc = x + (c - x_offset);
      acc = 0.5f * xc[0];
      for (int t = 0; t < n_odd; ++t) acc += taps[t] * (xc[-(2 * t + 1)] + xc[2 * t + 1]);
    } else {
      auto sample = [&](std::ptrdiff_t i) -> float { return (i < 0 || i >= n) ? 0.0f : x[i - x_offset]; };
      acc = 0.5f * sample(c);
      for (int t = 0; t < n_odd; ++t) acc += taps[t] * (sample(c - (2 * t + 1)) + sample(c + (2 * t + 1)));
    }
    out[m - m_begin] = gain * acc;
  };
  // Interior outputs: every tap inside both the signal and the window held.
  const std::ptrdiff_t lo = std::max<std::ptrdiff_t>(0, lo_avail) + kHalfLength;
  const std::ptrdiff_t hi = std::min<std::ptrdiff_t>(n, hi_avail) - kHalfLength;  // c < hi
  const std::size_t first_in = static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, (lo + 1) / 2));
  const std::size_t end_in = hi > 0 ? static_cast<std::size_t>((hi + 1) / 2) : 0;
  std::size_t m = m_begin;
  for (; m < m_end && m < first_in; ++m) one(m, false);
  const std::size_t m_in = std::min(m_end, std::max(m, end_in));
  if (m_in > m) {
    // Interior block, vectorised across outputs: with even samples e[i] = x[2i] and odd samples
    // o[i] = x[2i+1], y[m] = 0.5 e[m] + sum_t h_t (o[m-t-1] + o[m+t]). Each output still adds its
    // terms in the order of `one`, so the values are identical.
    const std::size_t cnt = m_in - m;
    const std::ptrdiff_t reach = n_odd;  // odd taps t = 0..n_odd-1 reach o[m - n_odd] .. o[m + n_odd - 1]
    const std::ptrdiff_t n_odd_samples = static_cast<std::ptrdiff_t>(cnt) + 2 * reach - 1;  // o[m - reach .. m_in - 1 + reach - 1]
    scratch_.resize(cnt + static_cast<std::size_t>(n_odd_samples));
    float* acc = scratch_.data();
    float* odd = acc + cnt;  // odd[i] = o[m - reach + i]
    const float* xm = x + (2 * static_cast<std::ptrdiff_t>(m) - x_offset);
    for (std::size_t i = 0; i < cnt; ++i) acc[i] = 0.5f * xm[2 * i];
    for (std::ptrdiff_t i = 0; i < n_odd_samples; ++i) odd[i] = xm[2 * (i - reach) + 1];
    for (int t = 0; t < n_odd; ++t) {
      const float h = taps[t];
      const float* before = odd + (reach - t - 1);  // o[m' - t - 1]
      const float* after = odd + (reach + t);       // o[m' + t]
      for (std::size_t i = 0; i < cnt; ++i) acc[i] += h * (before[i] + after[i]);
    }
    for (std::size_t i = 0; i < cnt; ++i) out[m + i - m_begin] = gain * acc[i];
    m = m_in;
  }
  for (; m < m_end; ++m) one(m, false);
}

}  // namespace qs
