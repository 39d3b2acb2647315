// Zero-phase 2:1 decimation with a half-band FIR: the rate step between CQT octaves.
//
// y[m] = sqrt(2) * sum_j h[j] x[2m - j], j = -K..K, x = 0 outside the signal. The filter is a
// Kaiser-windowed sinc at a quarter of the input rate. The CQT reads only the band below
// 0.41 x the output Nyquist (its octave's bins), so anything folding into 0.45..1 x Nyquist is
// harmless: the transition band is wide, the filter short (8 non-zero taps a side), and the
// stop band is below -110 dB. sqrt(2) keeps kernel responses comparable across rates, as
// librosa's resample(..., scale=True) does.
#pragma once
#include <cstddef>
#include <vector>

namespace qs {

class HalfbandDecimator {
 public:
  static constexpr int kHalfLength = 15;  // K: taps span x[2m-K .. 2m+K]

  HalfbandDecimator();

  // Output sample m of a whole signal x[0..n) (zero outside), for m in [m_begin, m_end).
  void decimate(const float* x, std::size_t n, std::size_t m_begin, std::size_t m_end, float* out) const;
  // Same, but x is a window of a longer signal: x[0] is sample x_offset of it, and the window
  // holds every sample the outputs need that exists (the caller guarantees it).
  void decimate_window(const float* x, std::ptrdiff_t x_offset, std::size_t x_len, std::size_t signal_len,
                       std::size_t m_begin, std::size_t m_end, float* out) const;

  // The odd-indexed taps h[1], h[3], ..., h[K] (even taps are 0 except h[0] = 0.5).
  const std::vector<float>& odd_taps() const { return odd_taps_; }

 private:
  std::vector<float> odd_taps_;
  mutable std::vector<float> scratch_;  // per-call work space: one decimator per stream/thread
};

}  // namespace qs
