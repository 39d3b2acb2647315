// `qscribe evaluate`: metrics of a LibTorch model on a preprocessed split or on audio + reference pairs.
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "cli/blas_check.hpp"
#include "cli/cli_options.hpp"
#include "cli/command.hpp"
#include "inference/inference.hpp"
#include "qscribe/error.hpp"
#include "qscribe/metrics.hpp"
#include "qscribe/note_io.hpp"
#include "train/trainer.hpp"
#include "inference/tuning.hpp"

namespace {

struct EvaluateArgs {
  std::string model;
  std::vector<std::string> data, audio, refs;
  std::vector<int> allowed_errors{0, 1, 2};
  int threads = 0, overlap = 0, passes = 0;
  bool json = false, per_piece = false;
  // --tune
  bool tune = false;
  std::string tune_onset = "0.2:0.8:0.05", tune_frame = "0.1:0.6:0.05", tune_min_note_ms = "30,46,58,80,116";
  std::string tune_restrike = "0,0.5,0.6,0.7", tune_rise = "0,0.9";
  std::string tune_fallback = "both";
  double tune_margin = 0.0, tune_k0_gain = 0.0;
  qs::cli::DecoderOverrides decoding;
  int top = 10;
};

nlohmann::json prf(const qs::PRF& p) { return {{"precision", p.precision}, {"recall", p.recall}, {"f1", p.f1}}; }

nlohmann::json scores_json(const qs::PieceCounts& c, const std::vector<int>& ks) {
  const qs::Scores s = qs::scores_of(c);
  nlohmann::json acc = nlohmann::json::object();
  for (int k : ks) acc[std::to_string(k)] = c.exact.exact_accuracy(k);
  return {{"note", prf(s.note)}, {"note_with_offset", prf(s.note_offset)}, {"frame", prf(s.frame)},
          {"exact_accuracy", acc}, {"n_ref_notes", c.note.n_ref}, {"n_est_notes", c.note.n_est},
          {"duration_s", c.duration_s}};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A tuned decoding: the sidecar's fields plus min_note_ms, the unit of the --tune grid.
nlohmann::json decoding_json(const qs::DecoderParams& d) {
  nlohmann::json j = qs::decoder_params_to_json(d);
  j["min_note_ms"] = std::round(d.min_note_length_s * 1e9) / 1e6;
  return j;
}

// The --tune grid: an axis fixed by its option (--onset-threshold, ...) or searched.
qs::TuneGrid tune_grid(const EvaluateArgs& a) {
  qs::TuneGrid grid;
  if (a.decoding.onset_threshold >= 0) {
    grid.onset_thresholds = {a.decoding.onset_threshold};
  } else {
    for (double v : qs::parse_grid_axis(a.tune_onset, "--tune-onset")) grid.onset_thresholds.push_back(static_cast<float>(v));
  }
  if (a.decoding.frame_threshold >= 0) {
    grid.frame_thresholds = {a.decoding.frame_threshold};
  } else {
    for (double v : qs::parse_grid_axis(a.tune_frame, "--tune-frame")) grid.frame_thresholds.push_back(static_cast<float>(v));
  }
  grid.min_note_ms = a.decoding.min_note_length_s >= 0
                         ? std::vector<double>{a.decoding.min_note_length_s * 1000.0}
                         : qs::parse_grid_axis(a.tune_min_note_ms, "--tune-min-note-ms");
  if (a.decoding.restrike_threshold >= 0) {
    grid.restrike_thresholds = {a.decoding.restrike_threshold};
  } else {
    for (double v : qs::parse_grid_axis(a.tune_restrike, "--tune-restrike"))
      grid.restrike_thresholds.push_back(static_cast<float>(v));
  }
  if (a.decoding.rise_threshold >= 0) {
    grid.rise_thresholds = {a.decoding.rise_threshold};
  } else {
    for (double v : qs::parse_grid_axis(a.tune_rise, "--tune-rise")) grid.rise_thresholds.push_back(static_cast<float>(v));
  }
  return grid;
}

// The model's probabilities and the references of every --data piece and --audio file.
std::vector<qs::TunePiece> tune_pieces(const EvaluateArgs& a, qs::LoadedModel& m, const qs::DecoderParams& base) {
  const auto& info = m.checkpoint.info;
  qs::InferenceOptions inf;
  inf.overlap_frames = a.overlap;
  inf.passes = a.passes;
  std::vector<qs::TunePiece> pieces;
  for (const auto& dir : a.data) {
    qs::DatasetSource src(dir);
    for (auto& p : qs::predict_pieces(m.checkpoint.model, info, src, inf)) {
      p.name = dir + ":" + p.name;
      pieces.push_back(std::move(p));
    }
  }
  for (std::size_t i = 0; i < a.audio.size(); ++i) {
    qs::TranscribeResult t = qs::transcribe_file(a.audio[i], m.checkpoint.model, info, base, inf);
    qs::TunePiece p;
    p.name = a.audio[i];
    p.act = std::move(t.activations);
    p.ref = qs::fold_reference(qs::read_notes(a.refs[i]), info);
    p.duration_s = t.duration_s;
    pieces.push_back(std::move(p));
  }
  return pieces;
}

// Frame fallback (notes may also start at frame rises without an onset peak) is searched too:
// with reliable onsets, turning it off removes many false notes. The better search wins.
qs::TuneResult search_decoding(const EvaluateArgs& a, const std::vector<qs::TunePiece>& pieces,
                               const qs::CheckpointInfo& info, const qs::TuneGrid& grid, const qs::DecoderParams& base) {
  qs::TuneResult r;
  bool have = false;
  for (const bool fallback : {true, false}) {
    const std::string& only = a.decoding.frame_fallback.empty() ? a.tune_fallback : a.decoding.frame_fallback;
    if ((only == "on" && !fallback) || (only == "off" && fallback)) continue;
    qs::DecoderParams b = base;
    b.frame_fallback = fallback;
    qs::TuneResult t = qs::tune_decoder(pieces, info, grid, b, a.threads);
    if (!have || t.ranked.front().f1() > r.ranked.front().f1()) r = std::move(t);
    have = true;
  }
  return r;
}

// What --tune reports: the ranking, the full scores of the listed settings and of the model's own,
// and the setting written last.
struct TuneReport {
  std::size_t n_pieces = 0;
  double audio_s = 0;
  qs::TuneResult r;
  std::vector<qs::Scores> scores;  // of r.ranked[0 .. shown)
  qs::Scores base_scores;
  std::size_t chosen = 0;  // index in r.ranked
};

// The setting written last: the best note F1, or with --tune-margin, among the listed settings
// within the margin of it, the one with the highest exact-frame accuracy (k = 0); a setting
// replaces the one chosen so far only when its k = 0 is higher by more than `k0_gain` (so that
// a difference below the noise does not trade note F1 away).
std::size_t choose_setting(const std::vector<qs::Scores>& scores, double margin, double k0_gain) {
  std::size_t chosen = 0;
  for (std::size_t i = 1; i < scores.size(); ++i)
    if (scores[i].note.f1 >= scores.front().note.f1 - margin &&
        scores[i].exact_accuracy[0] > scores[chosen].exact_accuracy[0] + k0_gain)
      chosen = i;
  return chosen;
}

void print_tune_json(const EvaluateArgs& a, const std::string& model_path, const qs::TuneGrid& grid,
                     const qs::DecoderParams& base, const TuneReport& t) {
  auto entry = [&](const qs::DecoderParams& d, const qs::Scores& s, std::size_t rank) {
    nlohmann::json e = decoding_json(d);
    e["rank"] = rank + 1;
    e["note"] = prf(s.note);
    e["note_with_offset"] = prf(s.note_offset);
    e["frame"] = prf(s.frame);
    e["exact_accuracy"] = {{"0", s.exact_accuracy[0]}, {"1", s.exact_accuracy[1]}, {"2", s.exact_accuracy[2]}};
    return e;
  };
  const auto& ranked = t.r.ranked;
  nlohmann::json j = {{"model", model_path},
                      {"pieces", t.n_pieces},
                      {"duration_s", t.audio_s},
                      {"criterion", "pooled onset-only note F1 (50 ms)"},
                      {"grid",
                       {{"onset_threshold", grid.onset_thresholds},
                        {"frame_threshold", grid.frame_thresholds},
                        {"min_note_ms", grid.min_note_ms},
                        {"restrike_threshold", grid.restrike_thresholds},
                        {"rise_threshold", grid.rise_thresholds}}},
                      {"evaluated", ranked.size()},
                      {"best", entry(ranked.front().params, t.scores.front(), 0)},
                      {"chosen", entry(ranked[t.chosen].params, t.scores[t.chosen], t.chosen)},
                      {"margin", a.tune_margin},
                      {"model_decoding", entry(base, t.base_scores, t.r.base_rank)},
                      {"top", nlohmann::json::array()}};
  for (std::size_t i = 0; i < t.scores.size(); ++i) j["top"].push_back(entry(ranked[i].params, t.scores[i], i));
  std::printf("%s\n", j.dump(2).c_str());
}

// The table; its last line, ONSET FRAME MIN_NOTE_MS FALLBACK RESTRIKE RISE, is what scripts read.
void print_tune_table(const EvaluateArgs& a, const std::string& model_path, const qs::DecoderParams& base,
                      const TuneReport& t) {
  const auto& ranked = t.r.ranked;
  std::printf("model %s, %zu pieces, %.1f s of audio; %zu decoder settings by pooled onset-only note F1\n",
              model_path.c_str(), t.n_pieces, t.audio_s, ranked.size());
  std::printf("%4s %6s %6s %7s %8s %5s %8s %8s %8s %11s %8s %8s\n", "rank", "onset", "frame", "min ms", "restrike",
              "rise", "note P", "note R", "note F1", "note+off F1", "frame F1", "exact k0");
  auto line = [](const char* rank, const qs::DecoderParams& d, const qs::Scores& s) {
    std::printf("%4s %6.3g %6.3g %7.4g %8.3g %5.3g %8.4f %8.4f %8.4f %11.4f %8.4f %8.4f\n", rank, d.onset_threshold,
                d.frame_threshold, d.min_note_length_s * 1000.0, d.restrike_threshold, d.rise_threshold,
                s.note.precision, s.note.recall, s.note.f1, s.note_offset.f1, s.frame.f1, s.exact_accuracy[0]);
  };
  for (std::size_t i = 0; i < t.scores.size(); ++i) line(std::to_string(i + 1).c_str(), ranked[i].params, t.scores[i]);
  std::printf("model's decoding (rank %zu):\n", t.r.base_rank + 1);
  line("", base, t.base_scores);
  if (t.chosen > 0)
    std::printf("chosen: rank %zu, the highest exact-frame accuracy (k=0 %.4f against %.4f) within %.4g note F1 of "
                "rank 1\n", t.chosen + 1, t.scores[t.chosen].exact_accuracy[0], t.scores.front().exact_accuracy[0], a.tune_margin);
  const qs::DecoderParams& best = ranked[t.chosen].params;
  std::printf("frame fallback: %s; re-strike rise weight %.6g (not searched: --restrike-rise-weight or the model's)\n",
              best.frame_fallback ? "on" : "off", best.restrike_rise_weight);
  std::printf("%.6g %.6g %.6g %s %.6g %.6g\n", best.onset_threshold, best.frame_threshold,
              std::round(best.min_note_length_s * 1e9) / 1e6, best.frame_fallback ? "on" : "off",
              best.restrike_threshold, best.rise_threshold);
}

// --tune: the model runs once over the data; the decoder is re-run on the kept probabilities for
// every grid point; the best by pooled onset-only note F1 wins.
void run_tune(const EvaluateArgs& a, qs::LoadedModel& m, const std::string& model_path, const qs::DecoderParams& base) {
  const auto& info = m.checkpoint.info;
  const qs::TuneGrid grid = tune_grid(a);
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<qs::TunePiece> pieces = tune_pieces(a, m, base);
  TuneReport t;
  t.n_pieces = pieces.size();
  for (const auto& p : pieces) t.audio_s += p.duration_s;
  const double predict_s = seconds_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  t.r = search_decoding(a, pieces, info, grid, base);
  const double search_s = seconds_since(t1);
  std::fprintf(stderr, "tune: %zu pieces (%.1f min of audio) through the model in %.1f s; %zu decoder settings scored in %.1f s\n",
               pieces.size(), t.audio_s / 60.0, predict_s, t.r.ranked.size(), search_s);

  const std::size_t shown = std::min<std::size_t>(static_cast<std::size_t>(std::max(1, a.top)), t.r.ranked.size());
  for (std::size_t i = 0; i < shown; ++i)
    t.scores.push_back(qs::scores_of(qs::evaluate_decoding(pieces, info, t.r.ranked[i].params)));
  t.base_scores = qs::scores_of(qs::evaluate_decoding(pieces, info, base));
  t.chosen = choose_setting(t.scores, a.tune_margin, a.tune_k0_gain);
  if (a.json) print_tune_json(a, model_path, grid, base, t);
  else print_tune_table(a, model_path, base, t);
}

void run(EvaluateArgs& a) {
  qs::ensure_omp_passive();
  qs::warn_if_slow_blas();
  torch::set_num_threads(a.threads > 0 ? a.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  if (a.data.empty() && a.audio.empty()) throw qs::Error("evaluate: give a preprocessed split (--data) or --audio/--ref pairs");
  if (a.audio.size() != a.refs.size())
    throw qs::Error("evaluate: --audio and --ref need the same number of files (" + std::to_string(a.audio.size()) +
                    " vs " + std::to_string(a.refs.size()) + ")");
  for (int k : a.allowed_errors)
    if (k < 0 || k > 128) throw qs::Error("evaluate: --allowed-errors values must be 0..128");
  const std::string model_path = a.model.empty() ? qs::default_model_path() : a.model;
  qs::LoadedModel m = qs::load_model_for_inference(model_path);
  const auto& info = m.checkpoint.info;
  qs::DecoderParams dec = qs::cli::with_overrides(info.decoding, a.decoding);
  if (a.tune) {
    run_tune(a, m, model_path, dec);
    return;
  }
  qs::InferenceOptions inf;
  inf.overlap_frames = a.overlap;
  inf.passes = a.passes;

  std::vector<qs::PieceCounts> pieces;
  std::vector<std::string> names;
  double loss_sum = 0;
  std::size_t loss_frames = 0;
  for (const auto& dir : a.data) {
    qs::DatasetSource src(dir);
    qs::EvalResult r = qs::evaluate_source(m.checkpoint.model, info, src, dec, inf);
    for (std::size_t i = 0; i < r.pieces.size(); ++i) {
      pieces.push_back(r.pieces[i]);
      names.push_back(dir + ":" + r.names[i]);
    }
    if (r.loss >= 0) {
      loss_sum += r.loss * r.frames;
      loss_frames += r.frames;
    }
  }
  for (std::size_t i = 0; i < a.audio.size(); ++i) {
    qs::TranscribeResult t = qs::transcribe_file(a.audio[i], m.checkpoint.model, info, dec, inf);
    const qs::NoteList ref = qs::fold_reference(qs::read_notes(a.refs[i]), info);
    pieces.push_back(qs::evaluate_piece(ref, t.notes, t.duration_s));
    names.push_back(a.audio[i]);
  }
  qs::PieceCounts pooled;
  for (const auto& p : pieces) pooled += p;
  const qs::Scores s = qs::scores_of(pooled);

  if (a.json) {
    nlohmann::json j = {{"model", model_path}, {"pieces", pieces.size()}, {"pooled", scores_json(pooled, a.allowed_errors)},
                        {"decoding", qs::decoder_params_to_json(dec)}};
    if (loss_frames) j["loss"] = loss_sum / loss_frames;
    if (a.per_piece) {
      j["per_piece"] = nlohmann::json::array();
      for (std::size_t i = 0; i < pieces.size(); ++i) {
        auto e = scores_json(pieces[i], a.allowed_errors);
        e["name"] = names[i];
        j["per_piece"].push_back(e);
      }
    }
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("model %s, %zu pieces, %.1f s of audio (pooled)\n", model_path.c_str(), pieces.size(), pooled.duration_s);
  std::printf("%-28s %9s %9s %9s\n", "metric", "precision", "recall", "F1");
  auto row = [](const char* n, const qs::PRF& p) { std::printf("%-28s %9.4f %9.4f %9.4f\n", n, p.precision, p.recall, p.f1); };
  row("note (onset 50 ms)", s.note);
  row("note with offset", s.note_offset);
  row("frame (10 ms)", s.frame);
  for (int k : a.allowed_errors) {
    char label[48];
    std::snprintf(label, sizeof label, "exact-frame accuracy k=%d", k);
    std::printf("%-28s %29.4f\n", label, pooled.exact.exact_accuracy(k));
  }
  if (loss_frames) std::printf("%-28s %29.4f\n", "loss (data set)", loss_sum / loss_frames);
  if (a.per_piece) {
    std::printf("\n%-40s %8s %8s %8s\n", "piece", "note F1", "frame F1", "acc k=0");
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      const qs::Scores ps = qs::scores_of(pieces[i]);
      std::printf("%-40s %8.4f %8.4f %8.4f\n", names[i].c_str(), ps.note.f1, ps.frame.f1, pieces[i].exact.exact_accuracy(0));
    }
  }
}

QS_COMMAND("evaluate", "Score a model on a preprocessed split or on audio + reference notes", 50, [](CLI::App& sub) {
  auto a = std::make_shared<EvaluateArgs>();
  sub.add_option("-m,--model", a->model, "Model: a training checkpoint (.pt) or an exported model (.onnx + .json) (default: " + qs::default_model_path() + ")");
  sub.add_option("-d,--data", a->data, "Preprocessed split directory (repeatable)")->check(CLI::ExistingDirectory);
  sub.add_option("--audio", a->audio, "Audio files to transcribe and score (pair each with a --ref)")
      ->check(CLI::ExistingFile);
  sub.add_option("--ref", a->refs, "Reference notes for each --audio, in the same order: .mid, .tsv, .json or "
                                   "MusicNet .csv")->check(CLI::ExistingFile);
  sub.add_option("--allowed-errors", a->allowed_errors, "k values of the exact-frame accuracy")->capture_default_str();
  sub.add_option("--onset-threshold", a->decoding.onset_threshold, "Decoder onset threshold (default: the model's)")
      ->check(CLI::Range(0.0, 1.0));
  sub.add_option("--frame-threshold", a->decoding.frame_threshold, "Decoder frame threshold (default: the model's)")
      ->check(CLI::Range(0.0, 1.0));
  qs::cli::add_frame_fallback(
      sub, a->decoding.frame_fallback,
      "on: notes also start at frame rises without an onset peak; off: only at onset peaks (default: the model's)");
  qs::cli::add_min_note_length(sub, a->decoding.min_note_length_s,
                               "Shortest decoded note, seconds (default: the model's)");
  qs::cli::add_note_start_options(sub, a->decoding);
  sub.add_option("--overlap", a->overlap,
                 "Frames of context discarded at each side of a model window, at least the model's "
                 "segment.context_frames (0: the model's own; -1: window/8), as in transcribe")
      ->capture_default_str();
  qs::cli::add_passes(sub, a->passes);
  sub.add_option("--threads", a->threads, "LibTorch threads, and --tune's grid-search threads (0: all cores)")
      ->capture_default_str();
  sub.add_flag("--json", a->json, "Print the metrics as JSON instead of a table");
  sub.add_flag("--per-piece", a->per_piece, "Also list every piece's scores");
  sub.add_flag("--tune", a->tune,
               "Tune the decoding thresholds: run the model once, then score every point of the grid below by "
               "pooled onset-only note F1; print the best few and, as the last line, ONSET FRAME MIN_NOTE_MS FALLBACK "
               "(--json: one JSON object). A fixed --onset-threshold, --frame-threshold or --min-note-length "
               "keeps that value out of the search; the model's own setting is always scored");
  sub.add_option("--tune-onset", a->tune_onset, "Onset thresholds to try: LO:HI:STEP or a comma-separated list")
      ->capture_default_str();
  sub.add_option("--tune-frame", a->tune_frame, "Frame thresholds to try: LO:HI:STEP or a comma-separated list")
      ->capture_default_str();
  sub.add_option("--tune-min-note-ms", a->tune_min_note_ms,
                 "Shortest-note lengths to try, milliseconds: LO:HI:STEP or a comma-separated list")
      ->capture_default_str();
  sub.add_option("--tune-restrike", a->tune_restrike,
                 "Re-strike thresholds to try (0: the onset threshold's), with --min-restrike-gap fixed: LO:HI:STEP "
                 "or a comma-separated list")
      ->capture_default_str();
  sub.add_option("--tune-rise", a->tune_rise,
                 "Rise thresholds to try with the frame fallback off (0: only onset peaks start notes; P: a frame "
                 "probability above P without a peak starts one too): LO:HI:STEP or a comma-separated list")
      ->capture_default_str();
  sub.add_option("--tune-fallback", a->tune_fallback,
                 "Frame fallback (notes also start at frame rises without an onset peak) to try: both, on or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"both", "on", "off"}));
  sub.add_option("--tune-margin", a->tune_margin,
                 "Among the listed (--top) settings within this much pooled note F1 of the best, write the one with "
                 "the highest exact-frame accuracy k=0 last (0: the best note F1)")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  sub.add_option("--tune-k0-gain", a->tune_k0_gain,
                 "With --tune-margin: a setting of lower note F1 is preferred only when its exact-frame accuracy k=0 is "
                 "higher by more than this")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  sub.add_option("--top", a->top, "Grid points listed by --tune")->capture_default_str()->check(CLI::PositiveNumber);
  sub.callback([a] { run(*a); });
});

}  // namespace
