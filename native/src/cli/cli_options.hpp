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

// Where notes start besides fresh onset peaks: re-striking a sounding note
// (qs::DecoderParams::restrike_threshold, min_restrike_gap_s, restrike_rise_weight) and confident rises without a peak
// (rise_threshold); a negative value keeps the model's.
struct NoteStartOverrides {
  float restrike_threshold = -1;
  double min_restrike_gap_s = -1;
  float rise_threshold = -1;
  float restrike_rise_weight = -1;
  float weak_onset_threshold = -1;
  float weak_onset_frame = -1;
};
// --restrike-threshold P (0..1), --min-restrike-gap SECONDS (0..60), --restrike-rise-weight W (0..10)
// --rise-threshold P (0..1), --weak-onset-threshold P (0..1) and --weak-onset-frame P (0..1).
void add_note_start_options(CLI::App& sub, NoteStartOverrides& r);

}  // namespace qs::cli
