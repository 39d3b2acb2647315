#include "cli_options.hpp"

namespace qs::cli {

void add_cqt_options(CLI::App& sub, int& bins_per_note, double& sample_rate, int& hop_length, double& fmin,
                     double& filter_scale) {
  sub.add_option("--bins-per-note", bins_per_note, "CQT bins per semitone (n_bins = 88 * this)")
      ->check(CLI::Range(1, 8))
      ->capture_default_str();
  sub.add_option("--sr", sample_rate, "Sample rate in Hz the audio is resampled to before the CQT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub.add_option("--hop-length", hop_length, "CQT hop in samples (frame rate = sr / hop)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  sub.add_option("--fmin", fmin, "Frequency of CQT bin 0 in Hz (27.5 = A0)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub.add_option("--filter-scale", filter_scale, "CQT kernel length factor (<1: shorter kernels, less latency)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

}  // namespace qs::cli
