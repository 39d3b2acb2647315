#pragma once
// Random spectral equalisation of training windows: the CQT magnitudes of a window are multiplied
// by a smooth random gain curve over frequency (constant in time), as if the piece had been played
// on an instrument with another spectral envelope, through another room or microphone, or EQ'd.
// The training soundfonts (FluidR3 and its mono version) share most samples, so without it the
// model learns their envelopes; the unseen soundfont and real recordings have other ones.
//
// The curve, in dB over log-frequency: a tilt (uniform in +-max_db from the lowest to the highest
// bin, pivoting at the centre) plus two Gaussian bumps (centres uniform over the range, widths
// (sigma) uniform in 1/3..1.5 octaves, gains uniform in +-max_db). |curve| <= 3 * max_db.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace qs {

// Linear magnitude gains for `bins` CQT bins at `bins_per_octave`; all 1 when max_db <= 0.
// The same (max_db, seed) always gives the same curve.
inline std::vector<float> random_eq_gains(int bins, int bins_per_octave, double max_db, std::uint64_t seed) {
  std::vector<float> gains(static_cast<std::size_t>(bins > 0 ? bins : 0), 1.0f);
  if (max_db <= 0.0 || bins <= 0) return gains;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  auto sym = [&] { return (2.0 * u(rng) - 1.0) * max_db; };
  const double octaves = static_cast<double>(bins) / bins_per_octave;
  const double tilt = sym();
  struct Bump { double centre, sigma, db; };
  Bump bumps[2];
  for (auto& b : bumps) b = {u(rng) * octaves, 1.0 / 3.0 + u(rng) * (1.5 - 1.0 / 3.0), sym()};
  for (int i = 0; i < bins; ++i) {
    const double oct = static_cast<double>(i) / bins_per_octave;  // octaves above the lowest bin
    double db = tilt * (oct / octaves - 0.5);
    for (const auto& b : bumps) {
      const double z = (oct - b.centre) / b.sigma;
      db += b.db * std::exp(-0.5 * z * z);
    }
    gains[static_cast<std::size_t>(i)] = static_cast<float>(std::pow(10.0, db / 20.0));
  }
  return gains;
}

}  // namespace qs
