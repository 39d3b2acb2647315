#include "qscribe/cqt_params.hpp"

#include <string>

#include "qscribe/error.hpp"

namespace qs {

void CqtParams::validate() const {
  auto fail = [](const std::string& field, const std::string& why) {
    throw Error("invalid CQT parameter '" + field + "': " + why);
  };
  if (!(sample_rate >= 1000.0 && sample_rate <= 384000.0)) fail("sample_rate", "must be between 1000 and 384000 Hz");
  if (hop_length < 1 || hop_length > 65536) fail("hop_length", "must be between 1 and 65536 samples");
  if (bins_per_semitone < 1 || bins_per_semitone > 8) fail("bins_per_semitone", "must be between 1 and 8");
  if (!(fmin > 0.0)) fail("fmin", "must be a positive frequency in Hz");
  if (n_bins < 1) fail("n_bins", "must be at least 1");
  if (!(filter_scale > 0.0 && filter_scale <= 4.0)) fail("filter_scale", "must be in (0, 4]");
  if (!(future_fraction > 0.0 && future_fraction <= 0.5)) fail("future_fraction", "must be in (0, 0.5]");
  if (!(sparsity >= 0.0 && sparsity < 1.0)) fail("sparsity", "must be in [0, 1)");
  // The top kernel's pass band (centre + half a Hann main lobe) must stay below Nyquist.
  const double alpha_r = std::pow(2.0, 2.0 / bins_per_octave());
  const double alpha = (alpha_r - 1.0) / (alpha_r + 1.0);
  const double q = filter_scale / alpha;
  const double cutoff = bin_frequency(n_bins - 1) * (1.0 + 0.5 * 1.50018310546875 / q);
  if (cutoff > sample_rate / 2.0)
    fail("n_bins", "the top bin (" + std::to_string(bin_frequency(n_bins - 1)) + " Hz) reaches past the Nyquist frequency");
}

}  // namespace qs
