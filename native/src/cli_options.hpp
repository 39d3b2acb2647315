// Command-line options shared by several subcommands.
#pragma once
#include <CLI/CLI.hpp>

namespace qs::cli {

// The CQT feature options of `preprocess` (and `features`, which must describe the same
// features): --bins-per-note, --sr, --hop-length, --fmin, --filter-scale.
void add_cqt_options(CLI::App& sub, int& bins_per_note, double& sample_rate, int& hop_length, double& fmin,
                     double& filter_scale);

}  // namespace qs::cli
