#include "cli/cli_options.hpp"

#include <string>

#include "qscribe/model_config.hpp"

namespace qs::cli {

void add_cqt_options(CLI::App& sub, int& bins_per_note, double& sample_rate, int& hop_length, double& fmin,
                     double& filter_scale, double& future_fraction) {
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
  sub.add_option("--future-fraction", future_fraction,
                 "Part of each CQT kernel after its frame's centre (0.5: symmetric; less: the same look-ahead as a "
                 "kernel that much shorter, with a longer past for finer frequency resolution)")
      ->check(CLI::Range(0.01, 0.5))
      ->capture_default_str();
}

CLI::Option* add_min_note_length(CLI::App& sub, double& seconds, const std::string& help) {
  CLI::Option* opt = sub.add_option("--min-note-length", seconds, help)->check(CLI::Range(0.0, 60.0));
  // Callbacks run once the whole line is parsed, so opt->count() is known here. (excludes() would
  // print the hidden name in the visible option's help.)
  sub.add_option_function<double>(
         "--min-note-ms",
         [&seconds, opt](double ms) {
           if (opt->count() > 0) throw CLI::ExcludesError("--min-note-ms", "--min-note-length");
           seconds = ms / 1000.0;
         },
         "Deprecated spelling of --min-note-length, in milliseconds")
      ->check(CLI::Range(0.0, 60000.0))
      ->group("");
  return opt;
}

CLI::Option* add_passes(CLI::App& sub, int& passes) {
  return sub.add_option("--passes", passes,
                        "Staggered tilings of model windows whose probabilities are averaged, 1-8 (0: the model's "
                        "segment.passes; each pass costs one more run of the model over the audio)")
      ->capture_default_str()
      ->check(CLI::Range(0, qs::ModelConfig::kMaxPasses));
}

CLI::Option* add_frame_fallback(CLI::App& sub, std::string& on_off, const std::string& help) {
  CLI::Option* opt = sub.add_option("--frame-fallback", on_off, help)->check(CLI::IsMember({"on", "off"}));
  sub.add_flag_callback(
         "--no-frame-fallback",
         [&on_off, opt] {
           if (opt->count() > 0) throw CLI::ExcludesError("--no-frame-fallback", "--frame-fallback");
           on_off = "off";
         },
         "Deprecated spelling of --frame-fallback off")
      ->group("");
  return opt;
}

void add_note_start_options(CLI::App& sub, DecoderOverrides& r) {
  sub.add_option("--restrike-threshold", r.restrike_threshold,
                 "Onset probability a peak must exceed to re-strike a note that is still sounding; weaker peaks "
                 "(a held note's vibrato or swell) leave it sounding (0: the onset threshold alone; default: the model's)")
      ->check(CLI::Range(0.0, 1.0));
  sub.add_option("--min-restrike-gap", r.min_restrike_gap_s,
                 "Shortest time, seconds, from a note's start to a re-strike of it (default: the model's)")
      ->check(CLI::Range(0.0, 60.0));
  sub.add_option("--restrike-rise-weight", r.restrike_rise_weight,
                 "How much the frame probability's rise around a peak (a note struck again dips and comes back) "
                 "adds to its onset probability in the re-strike test: it re-strikes when onset + weight x rise "
                 "exceeds the re-strike threshold (0: the onset alone; default: the model's)")
      ->check(CLI::Range(0.0, 10.0));
  sub.add_option("--weak-onset-threshold", r.weak_onset_threshold,
                 "A peak at or below this onset probability on a silent pitch starts a note only when the frame "
                 "probability over its first three frames averages above --weak-onset-frame (0: every peak; "
                 "default: the model's)")
      ->check(CLI::Range(0.0, 1.0));
  sub.add_option("--weak-onset-frame", r.weak_onset_frame,
                 "The mean frame probability a weak onset's first three frames need (default: the model's)")
      ->check(CLI::Range(0.0, 1.0));
  sub.add_option("--rise-threshold", r.rise_threshold,
                 "With the frame fallback off: a frame probability rising above this without an onset peak (a slur, "
                 "a sung glide) starts a note, from the rise's first frame above the frame threshold (0: never; "
                 "default: the model's)")
      ->check(CLI::Range(0.0, 1.0));
}

qs::DecoderParams with_overrides(qs::DecoderParams d, const DecoderOverrides& o) {
  if (o.onset_threshold >= 0) d.onset_threshold = o.onset_threshold;
  if (o.frame_threshold >= 0) d.frame_threshold = o.frame_threshold;
  if (o.min_note_length_s >= 0) d.min_note_length_s = o.min_note_length_s;
  if (!o.frame_fallback.empty()) d.frame_fallback = o.frame_fallback == "on";
  if (o.restrike_threshold >= 0) d.restrike_threshold = o.restrike_threshold;
  if (o.min_restrike_gap_s >= 0) d.min_restrike_gap_s = o.min_restrike_gap_s;
  if (o.rise_threshold >= 0) d.rise_threshold = o.rise_threshold;
  if (o.restrike_rise_weight >= 0) d.restrike_rise_weight = o.restrike_rise_weight;
  if (o.weak_onset_threshold >= 0) d.weak_onset_threshold = o.weak_onset_threshold;
  if (o.weak_onset_frame >= 0) d.weak_onset_frame = o.weak_onset_frame;
  d.validate();
  return d;
}

}  // namespace qs::cli
