// `qscribe export`: a trained checkpoint (or random weights, for tests) -> PREFIX.onnx + PREFIX.json.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/cli_options.hpp"
#include "cli/command.hpp"
#include "export/onnx_export.hpp"
#include "inference/inference.hpp"
#include "model/ensemble.hpp"
#include "qscribe/error.hpp"

namespace {

std::string human_bytes(std::int64_t n) {
  char buf[64];
  if (n >= 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(n) / (1024.0 * 1024.0));
  else if (n >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(n));
  return buf;
}

struct ExportArgs {
  std::string checkpoint;
  bool random_init = false;
  std::uint64_t seed = 1;
  std::string hyper_json;
  std::string out;
  std::string name;
  std::string description;
  qs::cli::DecoderOverrides decoding;  // < 0: the checkpoint's
  std::string weights = "float32";
  int context_frames = -1;  // < 0: the checkpoint's
  int passes = 0;           // 0: the checkpoint's
  std::vector<std::string> members;     // --member: more networks, averaged with the checkpoint's
  std::vector<double> member_weights;   // --member-weight, one per member
  bool drop_members = false;            // --drop-members: the ensemble's first network alone
  int network = 0;                      // --network K: the ensemble's network K alone (1: the first)
  CLI::Option *name_opt = nullptr, *description_opt = nullptr;
};

// --member: the checkpoint's network and the members' as one ensemble (model/ensemble.hpp). The
// sidecar stays the checkpoint's (decoding, segment); it records the members' sources.
qs::Transcriber with_members(qs::Transcriber& first, qs::ModelConfig& config, const ExportArgs& a) {
  if (a.member_weights.size() != a.members.size())
    throw qs::Error("--member-weight: give one weight per --member (" + std::to_string(a.members.size()) +
                    " member(s), " + std::to_string(a.member_weights.size()) + " weight(s))");
  std::vector<qs::Transcriber> others;
  nlohmann::json sources = nlohmann::json::array();
  for (std::size_t i = 0; i < a.members.size(); ++i) {
    auto m = qs::load_model_for_export(a.members[i]);
    qs::check_same_layout(config, m.config, a.checkpoint, m.path,
                          "--member: " + m.path + " was trained on other features or notes than " + a.checkpoint);
    others.push_back(m.model);
    sources.push_back({{"path", m.path}, {"weight", a.member_weights[i]}, {"training", m.config.training}});
  }
  qs::Transcriber out = qs::make_ensemble(first, others, a.member_weights);
  if (!config.training.is_object()) config.training = nlohmann::json::object();
  config.training["ensemble_members"] = sources;
  return out;
}

void run_export(const ExportArgs& a) {
  namespace fs = std::filesystem;
  qs::Transcriber model{nullptr};
  qs::ModelConfig config;
  std::string source;
  if (a.random_init) {
    qs::ModelHyper hyper;
    if (!a.hyper_json.empty()) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(a.hyper_json);
      } catch (const nlohmann::json::exception& e) {
        throw qs::Error(std::string("--hyper: invalid JSON: ") + e.what());
      }
      if (!j.is_object()) throw qs::Error("--hyper: must be a JSON object, e.g. '{\"n_layers\": 2}'");
      nlohmann::json merged = hyper.to_json();
      merged.merge_patch(j);
      try {
        hyper = qs::ModelHyper::from_json(merged);
      } catch (const nlohmann::json::exception& e) {
        throw qs::Error(std::string("--hyper: ") + e.what());
      }
    }
    torch::manual_seed(a.seed);
    model = qs::Transcriber(hyper);
    model->eval();
    config = qs::default_model_config(hyper);
    config.training = {{"random_init", true}, {"seed", a.seed}, {"note", "untrained: random weights, for tests"}};
    source = "random weights (seed " + std::to_string(a.seed) + ")";
  } else {
    auto ck = qs::load_model_for_export(a.checkpoint);
    model = ck.model;
    config = ck.config;
    source = ck.path;
    if (a.drop_members || a.network > 0) {
      const char* opt = a.drop_members ? "--drop-members" : "--network";
      if (!model->is_ensemble()) throw qs::Error(std::string(opt) + ": " + ck.path + " is not an ensemble");
      const int k = a.drop_members ? 1 : a.network;
      model = qs::ensemble_network(model, static_cast<std::size_t>(k - 1));
      if (config.training.is_object()) config.training.erase("ensemble_members");
      source += ", its network " + std::to_string(k);
    }
    if (!a.members.empty()) {
      model = with_members(model, config, a);
      source += " with " + std::to_string(a.members.size()) + " member network(s)";
    }
  }

  std::string prefix = a.out;
  if (fs::path(prefix).extension() == ".onnx" || fs::path(prefix).extension() == ".json")
    prefix = fs::path(prefix).replace_extension().string();
  if (prefix.empty() || fs::path(prefix).filename().empty())
    throw qs::Error("--out: needs a file name prefix, e.g. models/base (writes models/base.onnx + models/base.json)");
  const std::string onnx_path = prefix + ".onnx";

  if (*a.name_opt) config.name = a.name;
  if (config.name.empty()) config.name = fs::path(prefix).filename().string();
  if (*a.description_opt) config.description = a.description;
  if (config.description.empty()) {
    const auto& h = model->hyper();
    config.description = "CNN over frequency + Transformer over time (" + std::to_string(h.n_layers) + " layers, d=" +
                         std::to_string(h.embed_dim) + "), " +
                         (h.n_notes == 12 ? std::string("12 pitch classes") : std::to_string(h.n_notes) + " keys");
  }
  // The same overrides as transcribe's and evaluate's, on the decoding the sidecar will carry.
  try {
    config.decoding = qs::cli::with_overrides(config.decoding, a.decoding);
  } catch (const qs::Error& e) {
    throw qs::Error(std::string("decoding thresholds: ") + e.what());
  }

  if (a.context_frames >= 0) {
    if (2 * a.context_frames >= config.segment_frames)
      throw qs::Error("--context-frames: " + std::to_string(a.context_frames) +
                      " frames on each side leave no frames of the model's " + std::to_string(config.segment_frames) +
                      "-frame window; use less than half of it");
    config.context_frames = a.context_frames;
  }
  if (a.passes > 0) {
    if (config.segment_frames - 2 * config.context_frames < a.passes)
      throw qs::Error("--passes: " + std::to_string(a.passes) + " passes need windows of at least " +
                      std::to_string(2 * config.context_frames + a.passes) + " frames");
    config.passes = a.passes;
  }

  const auto r = qs::export_onnx(*model, config, onnx_path,
                                 a.weights == "float16" ? qs::WeightType::float16 : qs::WeightType::float32);
  std::printf("exported %s\n", source.c_str());
  std::printf("  %s  %s (%d nodes, IR %d, opset %d, %s weights, checked)\n", r.onnx_path.c_str(),
              human_bytes(r.onnx_bytes).c_str(), r.node_count, qs::kOnnxIrVersion, qs::kOnnxOpset, a.weights.c_str());
  std::printf("  %s  %s\n", r.json_path.c_str(), human_bytes(r.json_bytes).c_str());
  std::printf("  parameters: %lld; input %s [batch, frames, %d] -> %s, %s [batch, frames, %d]\n",
              static_cast<long long>(r.parameter_count), r.config.input.name.c_str(), r.config.features.n_bins,
              r.config.frame_output.name.c_str(), r.config.onset_output.name.c_str(), r.config.n_notes);
  if (r.config.context_frames > 0)
    std::printf("  windows of %d frames, %d discarded at each side (overlapping by %d)\n", r.config.segment_frames,
                r.config.context_frames, 2 * r.config.context_frames);
  if (r.config.passes > 1)
    std::printf("  %d staggered passes of windows over each file, their probabilities averaged\n", r.config.passes);
  std::printf("  decoding defaults: onset %.3g, frame %.3g, min note %.0f ms, frame fallback %s, re-strike above %.3g "
              "after %.0f ms, rise threshold %.3g\n",
              r.config.decoding.onset_threshold, r.config.decoding.frame_threshold,
              r.config.decoding.min_note_length_s * 1000.0, r.config.decoding.frame_fallback ? "on" : "off",
              std::max(r.config.decoding.onset_threshold, r.config.decoding.restrike_threshold),
              r.config.decoding.min_restrike_gap_s * 1000.0, r.config.decoding.rise_threshold);
}

}  // namespace

QS_COMMAND("export", "Export a model for the browser: NAME.onnx (ONNX opset 17) + NAME.json (sidecar)", 60,
           [](CLI::App& sub) {
             auto a = std::make_shared<ExportArgs>();
             sub.footer(
                 "Writes PREFIX.onnx (input \"cqt\" [batch, frames, bins] float32 CQT magnitudes; outputs "
                 "\"frame_logits\",\n\"onset_logits\" [batch, frames, notes]; IR 8, opset 17, standard ai.onnx ops only, "
                 "checked with the ONNX\nchecker) and PREFIX.json (features, note range, decoding defaults, tensor names, "
                 "architecture,\ntraining provenance: docs/model-format.md). See docs/export.md.\n"
                 "Examples:\n  qscribe export --checkpoint runs/base/best.pt --out models/base\n"
                 "  qscribe export --random-init --seed 7 --hyper '{\"n_layers\": 2}' --out /tmp/rnd");
             auto* ck = sub.add_option("--checkpoint", a->checkpoint,
                                       "Trained model to export: a checkpoint file written by `qscribe train` "
                                       "(e.g. runs/base/best.pt), its run directory (best.pt, else "
                                       "checkpoint.pt), or an exported .onnx (to re-export it, e.g. with other "
                                       "thresholds or --weights float16). Features, note range and decoding "
                                       "defaults come from it");
             auto* rnd = sub.add_flag("--random-init", a->random_init,
                                      "Export an untrained model with random weights instead of a checkpoint (for tests "
                                      "and for trying the browser pipeline)");
             ck->excludes(rnd);
             rnd->excludes(ck);
             sub.add_option("--seed", a->seed, "Random seed for --random-init")->capture_default_str();
             sub.add_option("--hyper", a->hyper_json,
                            "With --random-init: hyper-parameters as a JSON object over the defaults, e.g. "
                            "'{\"n_layers\": 2, \"n_notes\": 12, \"embed_dim\": 64}' (keys: bins_per_note, n_bins, "
                            "n_notes, c, embed_dim, n_layers, n_heads, head_dim, mlp_hidden, dropout, freq_layers, freq_dim, freq_heads)")
                 ->needs(rnd);
             sub.add_option("--out", a->out,
                            "Output path prefix: writes PREFIX.onnx and PREFIX.json (a trailing .onnx is dropped); "
                            "directories are created")
                 ->required();
             a->name_opt = sub.add_option("--name", a->name,
                                          "Model name stored in the JSON (default: the checkpoint's, else the file name "
                                          "of --out)");
             a->description_opt = sub.add_option("--description", a->description,
                                                 "One-line description stored in the JSON (default: the checkpoint's, "
                                                 "else a summary of the architecture)");
             sub.add_option("--onset-threshold", a->decoding.onset_threshold,
                            "Default onset probability threshold of the note decoder, in [0, 1] "
                            "(default: the checkpoint's, else 0.5)")
                 ->check(CLI::Range(0.0, 1.0));
             sub.add_option("--frame-threshold", a->decoding.frame_threshold,
                            "Default frame probability threshold (a note lasts while its frames exceed "
                            "it), in [0, 1] (default: the checkpoint's, else 0.3)")
                 ->check(CLI::Range(0.0, 1.0));
             qs::cli::add_min_note_length(sub, a->decoding.min_note_length_s,
                                          "Default shortest note kept by the decoder, in seconds (default: the "
                                          "checkpoint's, else 0.058 = 2.5 frames)");
             qs::cli::add_frame_fallback(sub, a->decoding.frame_fallback,
                                         "Default of the decoder's frame fallback: on = notes also start where a frame "
                                         "probability rises without an onset peak, off = only onset peaks start notes "
                                         "(default: the checkpoint's, else on)");
             qs::cli::add_note_start_options(sub, a->decoding);
             sub.add_option("--context-frames", a->context_frames,
                            "Frames at each side of every model window that inference runs for context only and "
                            "discards, so that windows overlap by twice this (stored as segment.context_frames; "
                            "transcribe, evaluate and the browser use it; 0: windows tile the audio as in training; "
                            "default: the checkpoint's). Frames near a window's edge see less context and come out "
                            "worse: docs/benchmarks.md")
                 ->check(CLI::NonNegativeNumber);
             sub.add_option("--passes", a->passes,
                            "Staggered tilings of windows that whole-file transcription runs and averages "
                            "(stored as segment.passes; transcribe, evaluate and the browser use it; each pass "
                            "costs one more run of the model: docs/benchmarks.md; default: the checkpoint's, else 1)")
                 ->check(CLI::Range(1, qs::ModelConfig::kMaxPasses));
             auto* member = sub.add_option("--member", a->members,
                            "Another trained network (checkpoint, run directory or .onnx; repeatable) to export "
                            "with --checkpoint's as one ensemble: the model outputs the weighted mean of their "
                            "note probabilities, and costs one run of each network (models/README.md). The "
                            "sidecar (decoding, windows) stays --checkpoint's")
                 ->needs(ck);
             sub.add_option("--member-weight", a->member_weights,
                            "The weight of each --member's probabilities, in (0, 1), one per --member in order; "
                            "--checkpoint's network weighs 1 minus their sum")
                 ->needs(member)
                 ->check(CLI::Range(0.0, 1.0));
             sub.add_flag("--drop-members", a->drop_members,
                          "Export only the first network of --checkpoint's ensemble (e.g. to fine-tune or "
                          "weight-average the shipped model's own network)")
                 ->needs(ck)
                 ->excludes(member);
             sub.add_option("--network", a->network,
                            "Export only network K of --checkpoint's ensemble: 1 its first network (as --drop-members), "
                            "2 and on its members in the order they were added (e.g. to fine-tune one of them)")
                 ->needs(ck)
                 ->excludes(member)
                 ->excludes("--drop-members")
                 ->check(CLI::Range(1, 64));
             sub.add_option("--weights", a->weights,
                            "How the weights are stored: float32, or float16 (half the file; each weight is cast to "
                            "float32 when the model loads, so inference stays float32 and only the weights are "
                            "rounded, by at most 1 part in 2048)")
                 ->check(CLI::IsMember({"float32", "float16"}))
                 ->capture_default_str();
             sub.callback([a] {
               if (a->checkpoint.empty() && !a->random_init)
                 throw CLI::RequiredError("--checkpoint or --random-init");
               run_export(*a);
             });
           });
