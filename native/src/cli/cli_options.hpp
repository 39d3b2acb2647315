// Command-line options shared by several subcommands.
#pragma once
#include <CLI/CLI.hpp>

#include <string>

#include "qscribe/note_decoder.hpp"

namespace qs::cli {

// The CQT feature options of `preprocess` (and `features`, which must describe the same
// features): --bins-per-note, --sr, --hop-length, --fmin, --filter-scale.
void add_cqt_options(CLI::App& sub, int& bins_per_note, double& sample_rate, int& hop_length, double& fmin,
                     double& filter_scale, double& future_fraction);

// The decoder options every command spells alike. Each also accepts an older spelling, hidden from
// --help (deprecated, kept so existing scripts keep working).
//
// --min-note-length SECONDS (0..60) into `seconds`; the hidden --min-note-ms MS (export's old
// spelling) stores MS / 1000. Returns the visible option.
CLI::Option* add_min_note_length(CLI::App& sub, double& seconds, const std::string& help);
// --frame-fallback on|off into `on_off` (left as it is when not given); the hidden
// --no-frame-fallback flag (transcribe's old spelling) stores "off".
CLI::Option* add_frame_fallback(CLI::App& sub, std::string& on_off, const std::string& help);

// --passes N (0..8; 0: the model's segment.passes) into `passes`: the averaged tilings of model
// windows of transcribe and evaluate (qs::WindowOptions::passes).
CLI::Option* add_passes(CLI::App& sub, int& passes);

// The decoding a command line asks for over the model's (qs::DecoderParams, field for field): a
// negative value, or an empty frame_fallback ("on" / "off"), keeps the model's. transcribe, evaluate
// and export fill one from their options and apply it with with_overrides.
struct DecoderOverrides {
  float onset_threshold = -1;
  float frame_threshold = -1;
  double min_note_length_s = -1;
  std::string frame_fallback;
  // Where notes start besides fresh onset peaks: re-striking a sounding note and confident rises
  // without a peak.
  float restrike_threshold = -1;
  double min_restrike_gap_s = -1;
  float rise_threshold = -1;
  float restrike_rise_weight = -1;
  float weak_onset_threshold = -1;
  float weak_onset_frame = -1;
};
// --restrike-threshold P (0..1), --min-restrike-gap SECONDS (0..60), --restrike-rise-weight W (0..10)
// --rise-threshold P (0..1), --weak-onset-threshold P (0..1) and --weak-onset-frame P (0..1).
void add_note_start_options(CLI::App& sub, DecoderOverrides& r);

// `model`'s decoding with the overrides applied; validated (qs::Error names a bad field).
qs::DecoderParams with_overrides(qs::DecoderParams model, const DecoderOverrides& o);

}  // namespace qs::cli
