// `qscribe evaluate`: metrics of a LibTorch model on a preprocessed split or on audio + reference pairs.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "blas_check.hpp"
#include "command.hpp"
#include "inference.hpp"
#include "qscribe/error.hpp"
#include "qscribe/metrics.hpp"
#include "qscribe/note_io.hpp"
#include "trainer.hpp"

namespace {

struct EvaluateArgs {
  std::string model;
  std::vector<std::string> data, audio, refs;
  std::vector<int> allowed_errors{0, 1, 2};
  float onset_threshold = -1, frame_threshold = -1;
  double min_note_length = -1;
  int threads = 0;
  bool json = false, per_piece = false;
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
  qs::DecoderParams dec =
      qs::decoder_with_overrides(info.decoding, a.onset_threshold, a.frame_threshold, a.min_note_length);
  qs::InferenceOptions inf;

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
    qs::NoteList ref = qs::read_notes(a.refs[i]);
    if (info.only_note_names) {
      for (auto& n : ref) n.pitch = 60 + n.pitch % 12;
      qs::sort_notes(ref);
    }
    pieces.push_back(qs::evaluate_piece(ref, t.notes, t.duration_s));
    names.push_back(a.audio[i]);
  }
  qs::PieceCounts pooled;
  for (const auto& p : pieces) pooled += p;
  const qs::Scores s = qs::scores_of(pooled);

  if (a.json) {
    nlohmann::json j = {{"model", model_path}, {"pieces", pieces.size()}, {"pooled", scores_json(pooled, a.allowed_errors)},
                        {"decoding",
                         {{"onset_threshold", std::round(dec.onset_threshold * 1e6) / 1e6},
                          {"frame_threshold", std::round(dec.frame_threshold * 1e6) / 1e6},
                          {"min_note_length_s", dec.min_note_length_s},
                          {"frame_fallback", dec.frame_fallback}}}};
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
  sub.add_option("-m,--model", a->model, "LibTorch checkpoint (.pt) (default: " + qs::default_model_path() + ")");
  sub.add_option("-d,--data", a->data, "Preprocessed split directory (repeatable)")->check(CLI::ExistingDirectory);
  sub.add_option("--audio", a->audio, "Audio files to transcribe and score (pair each with a --ref)")
      ->check(CLI::ExistingFile);
  sub.add_option("--ref", a->refs, "Reference notes for each --audio, in the same order: .mid, .tsv, .json or "
                                   "MusicNet .csv")->check(CLI::ExistingFile);
  sub.add_option("--allowed-errors", a->allowed_errors, "k values of the exact-frame accuracy")->capture_default_str();
  sub.add_option("--onset-threshold", a->onset_threshold, "Decoder onset threshold (default: the model's)")
      ->check(CLI::Range(0.0, 1.0));
  sub.add_option("--frame-threshold", a->frame_threshold, "Decoder frame threshold (default: the model's)")
      ->check(CLI::Range(0.0, 1.0));
  sub.add_option("--min-note-length", a->min_note_length, "Shortest decoded note, seconds (default: the model's)")
      ->check(CLI::Range(0.0, 60.0));
  sub.add_option("--threads", a->threads, "LibTorch threads (0: all cores)")->capture_default_str();
  sub.add_flag("--json", a->json, "Print the metrics as JSON instead of a table");
  sub.add_flag("--per-piece", a->per_piece, "Also list every piece's scores");
  sub.callback([a] { run(*a); });
});

}  // namespace
