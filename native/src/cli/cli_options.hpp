// Command-line options shared by several subcommands.
#pragma once
#include <CLI/CLI.hpp>

namespace qs::cli {

// The CQT feature options of `preprocess` (and `features`, which must describe the same
// features): --bins-per-note, --sr, --hop-length, --fmin, --filter-scale.
void add_cqt_options(CLI::App& sub, int& bins_per_note, double& sample_rate, int& hop_length, double& fmin,
                     double& filter_scale);

// The decoder options every command spells alike. Each also accepts an older spelling, hidden from
// --help (deprecated, kept so existing scripts keep working).
//
// --min-note-length SECONDS (0..60) into `seconds`; the hidden --min-note-ms MS (export's old
// spelling) stores MS / 1000. Returns the visible option.
CLI::Option* add_min_note_length(CLI::App& sub, double& seconds, const std::string& help);
// --frame-fallback on|off into `on_off` (left as it is when not given); the hidden
// --no-frame-fallback flag (transcribe's old spelling) stores "off".
CLI::Option* add_frame_fallback(CLI::App& sub, std::string& on_off, const std::string& help);

// Re-striking a sounding note (qs::DecoderParams::restrike_threshold, min_restrike_gap_s); a
// negative value keeps the model's.
struct RestrikeOverrides {
  float threshold = -1;
  double min_gap_s = -1;
};
// --restrike-threshold P (0..1) and --min-restrike-gap SECONDS (0..60).
void add_restrike_options(CLI::App& sub, RestrikeOverrides& r);

}  // namespace qs::cli
