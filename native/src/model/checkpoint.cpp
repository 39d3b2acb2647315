#include "model/checkpoint.hpp"

#include <algorithm>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "export/onnx_export.hpp"
#include "export/onnx_import.hpp"
#include "qscribe/atomic_file.hpp"
#include "qscribe/error.hpp"
#include "qscribe/json_fields.hpp"

namespace qs {

namespace fs = std::filesystem;


nlohmann::json CheckpointInfo::to_json() const {
  return {{"format", "qscribe-checkpoint"},
          {"format_version", kCheckpointFormatVersion},
          {"hyper", hyper.to_json()},
          {"features", cqt_params_to_json(features)},
          {"notes", {{"lowest_pitch", lowest_pitch}, {"n_notes", n_notes}, {"only_note_names", only_note_names}}},
          {"segment", {{"frames", segment_frames}, {"context_frames", context_frames}, {"passes", passes}}},
          {"decoding", decoder_params_to_json(decoding)},
          {"training", training}};
}

CheckpointInfo CheckpointInfo::from_json(const nlohmann::json& j) {
  CheckpointInfo c;
  try {
    const JsonFields f(j, "", "checkpoint");
    std::string format;
    f.string("format", format, false);
    if (format != "qscribe-checkpoint") throw Error("not a qscribe checkpoint");
    int version = 0;
    f.integer("format_version", version, false, 0, 1 << 20, "a version number");
    if (version > kCheckpointFormatVersion)
      throw Error("checkpoint format " + std::to_string(version) + " was written by a newer qscribe (this one reads " +
                  std::to_string(kCheckpointFormatVersion) + ")");
    c.hyper = ModelHyper::from_json(*f.object("hyper", true));
    c.features = cqt_params_from_json(*f.object("features", true), "checkpoint");
    const JsonFields n = f.nested(*f.object("notes", true), "notes");
    n.integer("lowest_pitch", c.lowest_pitch, false, 0, 127, "a MIDI pitch (0 to 127)");
    n.integer("n_notes", c.n_notes, false, 1, 128, "an integer from 1 to 128");
    n.boolean("only_note_names", c.only_note_names);
    if (const nlohmann::json* seg = f.object("segment", false)) {
      const JsonFields s = f.nested(*seg, "segment");
      s.integer("frames", c.segment_frames, false, 1, 1 << 24, "a positive integer");
      s.integer("context_frames", c.context_frames, false, 0, 1 << 24, "0 or more");
      s.integer("passes", c.passes, false, 1, ModelConfig::kMaxPasses, "an integer from 1 to 8");
    }
    if (const nlohmann::json* dec = f.object("decoding", false))
      c.decoding = decoder_params_from_json(*dec, c.decoding, "checkpoint");
    if (j.contains("training")) c.training = j["training"];
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("bad checkpoint metadata: ") + e.what());
  }
  if (c.hyper.n_notes != c.n_notes) throw Error("checkpoint: hyper.n_notes differs from notes.n_notes");
  if (c.hyper.n_bins != c.features.n_bins) throw Error("checkpoint: hyper.n_bins differs from features.n_bins");
  if (c.segment_frames < 1) throw Error("checkpoint: segment.frames must be >= 1");
  return c;
}

ModelConfig CheckpointInfo::model_config() const {
  ModelConfig m = *this;
  describe_network(hyper, m);
  return m;
}

CheckpointInfo CheckpointInfo::from_model_config(const ModelConfig& m) {
  CheckpointInfo info;
  try {
    info.hyper = ModelHyper::from_json(m.architecture);
  } catch (const std::exception& e) {
    throw Error(std::string("\"architecture\" does not describe a qscribe model: ") + e.what());
  }
  // A qscribe network always gives frame and onset logits: a sidecar that says otherwise does not
  // describe one (a frame-only or probability-output model runs in the browser, not here).
  if (!m.has_onset_output || !m.outputs_are_logits)
    throw Error(std::string("a qscribe network gives frame and onset logits, but the sidecar says ") +
                (m.has_onset_output ? "its outputs are probabilities (io.outputs_are_logits false)"
                                    : "it has no onset output (io.onset_output null)"));
  static_cast<ModelConfig&>(info) = m;
  if (info.hyper.n_notes != info.n_notes || info.hyper.n_bins != info.features.n_bins)
    throw Error("\"architecture\" disagrees with the note range or the feature bins");
  return info;
}

namespace {

std::map<std::string, std::vector<int64_t>> shapes_of(torch::nn::Module& m) {
  std::map<std::string, std::vector<int64_t>> s;
  for (const auto& p : m.named_parameters()) s[p.key()] = p.value().sizes().vec();
  for (const auto& b : m.named_buffers()) s[b.key()] = b.value().sizes().vec();
  return s;
}

}  // namespace

LoadedCheckpoint load_checkpoint(const std::string& path) {
  if (is_onnx_path(path)) return load_onnx_checkpoint(path);
  if (!fs::exists(path)) throw Error(path + ": no such checkpoint file");
  LoadedCheckpoint out;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, torch::Device(torch::kCPU));
    c10::IValue meta_value;
    if (!archive.try_read("meta", meta_value) || !meta_value.isString())
      throw Error("not a qscribe checkpoint (no metadata)");
    out.meta = nlohmann::json::parse(meta_value.toStringRef());
    out.info = CheckpointInfo::from_json(out.meta);
    out.model = Transcriber(out.info.hyper);
    const auto expected = shapes_of(*out.model);
    torch::serialize::InputArchive weights;
    if (!archive.try_read("model", weights)) throw Error("no model weights in the file");
    out.model->load(weights);
    if (shapes_of(*out.model) != expected) throw Error("weights do not match the hyper-parameters stored with them");
    out.model->eval();
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": bad checkpoint metadata: " + e.what());
  } catch (const c10::Error& e) {
    throw Error(path + ": not a readable qscribe checkpoint (" + e.what_without_backtrace() + ")");
  }
  return out;
}

void save_checkpoint(const std::string& path, Transcriber& model, const CheckpointInfo& info,
                     torch::optim::Optimizer* optimizer, bool save_rng) {
  // Serialised in memory, then written atomically: LibTorch's file writer throws from its
  // destructor when the disk is full, which ends the process (std::terminate).
  std::ostringstream bytes;
  try {
    torch::serialize::OutputArchive archive;
    archive.write("meta", c10::IValue(info.to_json().dump()));
    torch::serialize::OutputArchive weights;
    model->save(weights);
    archive.write("model", weights);
    if (optimizer) {
      torch::serialize::OutputArchive opt;
      optimizer->save(opt);
      archive.write("optimizer", opt);
    }
    if (save_rng) {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      archive.write("rng_torch", gen.get_state());
    }
    archive.save_to(bytes);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot write checkpoint (" + e.what_without_backtrace() + ")");
  }
  write_file_atomically(path, bytes.str());
}

bool load_training_state(const std::string& path, torch::optim::Optimizer& optimizer, torch::Device device) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    torch::serialize::InputArchive opt;
    if (!archive.try_read("optimizer", opt)) return false;
    optimizer.load(opt);
    torch::Tensor state;
    if (archive.try_read("rng_torch", state)) {
      state = state.to(torch::kCPU);
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(state);
    }
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot restore the training state (" + e.what_without_backtrace() + ")");
  }
  return true;
}

void copy_by_name(Transcriber& dst, Transcriber& src, const std::set<std::string>& skip) {
  torch::NoGradGuard no_grad;
  auto sp = src->named_parameters();
  for (auto& p : dst->named_parameters())
    if (!skip.count(p.key())) p.value().copy_(sp[p.key()]);
  auto sb = src->named_buffers();
  for (auto& b : dst->named_buffers()) b.value().copy_(sb[b.key()]);
}

namespace {
// Whether dst and src have the same hyper-parameters but for `field`.
bool same_but(const Transcriber& dst, const Transcriber& src, const char* field) {
  nlohmann::json a = dst->hyper().to_json(), b = src->hyper().to_json();
  a.erase(field);
  b.erase(field);
  return a == b;
}
}  // namespace

void copy_weights(Transcriber& dst, Transcriber& src) {
  if (shapes_of(*dst) != shapes_of(*src)) throw Error("the weights to load have other hyper-parameters than the model");
  copy_by_name(dst, src);
}

bool copy_weights_adding_harmonics(Transcriber& dst, Transcriber& src) {
  const ModelHyper& to = dst->hyper();
  if (!src->hyper().harmonics.empty()) return false;
  const auto one = std::find(to.harmonics.begin(), to.harmonics.end(), 1.0);
  if (one == to.harmonics.end()) return false;
  if (!same_but(dst, src, "harmonics")) return false;
  copy_by_name(dst, src, {"conv1.weight"});
  torch::NoGradGuard no_grad;
  torch::Tensor conv1 = dst->conv1->weight;  // [c, harmonics, k]: the plain channel, zeros beside it
  conv1.zero_();
  conv1.narrow(1, one - to.harmonics.begin(), 1).copy_(src->conv1->weight);
  return true;
}

bool copy_weights_widening(Transcriber& dst, Transcriber& src) {
  const int64_t c = dst->hyper().c, c0 = src->hyper().c, f = dst->hyper().n_bins;
  if (c <= c0 || dst->hyper().freq_layers > 0 || !same_but(dst, src, "c")) return false;
  copy_by_name(dst, src, {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "freq_fc.weight"});
  torch::NoGradGuard no_grad;
  // The old channels compute what they did, from the old channels only; the new ones keep their
  // random initialisation (so they learn), and the embedding starts without them.
  dst->conv1->weight.narrow(0, 0, c0).copy_(src->conv1->weight);
  dst->conv1->bias.narrow(0, 0, c0).copy_(src->conv1->bias);
  dst->conv2->weight.narrow(0, 0, c0).zero_();
  dst->conv2->weight.narrow(0, 0, c0).narrow(1, 0, c0).copy_(src->conv2->weight);
  dst->conv2->bias.narrow(0, 0, c0).copy_(src->conv2->bias);
  dst->freq_fc->weight.zero_();  // its input is channel-major: [c x n_bins]
  dst->freq_fc->weight.narrow(1, 0, c0 * f).copy_(src->freq_fc->weight);
  return true;
}

bool copy_weights_deepening(Transcriber& dst, Transcriber& src) {
  const int n = dst->hyper().n_layers, n0 = src->hyper().n_layers;
  if (n <= n0 || !same_but(dst, src, "n_layers")) return false;
  std::set<std::string> fresh;  // the new blocks' parameters (their names do not exist in src)
  for (auto& p : dst->named_parameters())
    for (int i = n0; i < n; ++i)
      if (p.key().rfind("blocks." + std::to_string(i) + ".", 0) == 0) fresh.insert(p.key());
  copy_by_name(dst, src, fresh);
  torch::NoGradGuard no_grad;
  // A pre-norm block adds its attention and feed-forward outputs to its input: with both output
  // projections at zero it passes its input through, and the new blocks append after the old.
  for (int i = n0; i < n; ++i) {
    auto& block = *dst->blocks[static_cast<std::size_t>(i)]->as<TransformerBlockImpl>();
    for (auto* lin : {&block.proj, &block.ff2}) {
      (*lin)->weight.zero_();
      (*lin)->bias.zero_();
    }
  }
  return true;
}

}  // namespace qs
