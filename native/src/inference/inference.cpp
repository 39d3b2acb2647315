#include "inference/inference.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>

#include "data/npy.hpp"
#include "export/onnx_import.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/cqt.hpp"
#include "qscribe/error.hpp"
#include "qscribe/model_config.hpp"

#ifndef QSCRIBE_MODELS_DIR
#define QSCRIBE_MODELS_DIR "models"
#endif

namespace qs {

namespace fs = std::filesystem;

// ---- the native runtime ---------------------------------------------------------------------

ModelOutput forward_request(Transcriber& model, const ModelRequest& r, torch::Device device) {
  c10::InferenceMode guard;
  auto input = torch::from_blob(const_cast<float*>(r.input.data()), {r.batch, r.frames, r.bins});
  return model->forward(input.to(device));
}

void write_outputs(const ModelOutput& out, ModelRequest& r) {
  const torch::Tensor frames = out.frame_logits.to(torch::kCPU).contiguous();
  const torch::Tensor onsets = out.onset_logits.to(torch::kCPU).contiguous();
  if (static_cast<std::size_t>(frames.numel()) != r.frame_out.size())
    throw Error("inference: the network gave " + std::to_string(frames.numel()) + " frame values, not " +
                std::to_string(r.frame_out.size()));
  std::memcpy(r.frame_out.data(), frames.data_ptr<float>(), r.frame_out.size() * sizeof(float));
  if (r.has_onsets()) std::memcpy(r.onset_out.data(), onsets.data_ptr<float>(), r.onset_out.size() * sizeof(float));
}

void run_network(Transcriber& model, ModelRequest& r, torch::Device device) {
  write_outputs(forward_request(model, r, device), r);
}

NoteProbabilities predict_cqt(Transcriber& model, const float* cqt, std::size_t n_frames, const ModelConfig& config,
                              const InferenceOptions& options) {
  ModelWindows windows(config, options);
  const auto run = [&](ModelRequest& r) { run_network(model, r, options.device); };
  // Push in slices so the window buffer stays small.
  const std::size_t slice = 4096, bins = static_cast<std::size_t>(config.features.n_bins);
  for (std::size_t i = 0; i < n_frames; i += slice) {
    windows.push(cqt + i * bins, std::min(slice, n_frames - i));
    windows.run_ready(run);
  }
  windows.finish();
  windows.run_ready(run);
  return std::move(windows.probabilities());
}

// ---- audio -> notes ------------------------------------------------------------------------

namespace {

// The core's pipeline with LibTorch answering; block by block.
struct NativeTranscription {
  NativeTranscription(Transcriber& model, const CheckpointInfo& info, const InferenceOptions& options)
      : model(model), device(options.device), pipe(info.model_config(), options) {}
  void push(const float* s, std::size_t n) {
    pipe.push_audio(s, n);
    pipe.run_ready([&](ModelRequest& r) { run_network(model, r, device); });
  }
  TranscribeResult finish(const DecoderParams& decoding) {
    pipe.finish_audio();
    pipe.run_ready([&](ModelRequest& r) { run_network(model, r, device); });
    TranscribeResult r;
    r.notes = pipe.decode(decoding);
    r.activations = std::move(pipe.probabilities());
    r.duration_s = static_cast<double>(pipe.samples_pushed()) / pipe.model().features.sample_rate;
    return r;
  }
  Transcriber& model;
  torch::Device device;
  Transcription pipe;
};

}  // namespace

TranscribeResult transcribe_samples(const float* samples, std::size_t n, Transcriber& model, const CheckpointInfo& info,
                                    const DecoderParams& decoding, const InferenceOptions& options) {
  NativeTranscription t(model, info, options);
  const std::size_t block = 1 << 16;
  for (std::size_t i = 0; i < n; i += block) t.push(samples + i, std::min(block, n - i));
  TranscribeResult r = t.finish(decoding);
  r.audio_seconds_decoded = r.duration_s;
  return r;
}

TranscribeResult transcribe_file(const std::string& path, Transcriber& model, const CheckpointInfo& info,
                                 const DecoderParams& decoding, const InferenceOptions& options) {
  // The core's streaming decoder (one decode path for every command): constant memory for hours
  // of audio, and the same errors as everywhere else.
  NativeTranscription t(model, info, options);
  const double decoded_s = stream_audio(path, info.features.sample_rate, [&](const float* x, std::size_t n) { t.push(x, n); });
  TranscribeResult r = t.finish(decoding);
  r.audio_seconds_decoded = decoded_s;
  return r;
}

std::string default_model_path() { return std::string(QSCRIBE_MODELS_DIR) + "/qscribe-default.onnx"; }
void write_probabilities_npy(const std::string& stem, const NoteProbabilities& p) {
  write_npy(stem + ".frames.npy", p.frames.data(), p.n_frames, static_cast<std::size_t>(p.n_notes));
  if (!p.onsets.empty())
    write_npy(stem + ".onsets.npy", p.onsets.data(), p.n_frames, static_cast<std::size_t>(p.n_notes));
}

NoteProbabilities read_probabilities_npy(const std::string& stem) {
  NpyArray f = read_npy(stem + ".frames.npy");
  NoteProbabilities p;
  p.n_notes = static_cast<int>(f.cols);
  p.n_frames = f.rows;
  p.frames = std::move(f.data);
  p.has_onsets = fs::exists(stem + ".onsets.npy");
  if (p.has_onsets) {
    NpyArray on = read_npy(stem + ".onsets.npy");
    if (on.rows != p.n_frames || on.cols != f.cols) throw Error(stem + ".onsets.npy: does not match " + stem + ".frames.npy");
    p.onsets = std::move(on.data);
  }
  return p;
}

std::string default_beat_net_path() { return std::string(QSCRIBE_MODELS_DIR) + "/beat_net.json"; }

BeatNet load_beat_net_file(const std::string& path, double frame_rate) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read the beat network");
  std::ostringstream text;
  text << in.rdbuf();
  BeatNet net = parse_beat_net(text.str(), path);
  check_beat_net_frame_rate(net, frame_rate, path);
  return net;
}

LoadedModel load_model_for_inference(const std::string& path) {
  LoadedModel m;
  m.path = path;
  if (!fs::exists(path)) {
    if (path == default_model_path())
      throw Error(path + ": the default model is missing; train one (qscribe train) and pass it with --model");
    throw Error(path + ": no such model file");
  }
  m.checkpoint = load_checkpoint(path);  // a .pt checkpoint or an exported .onnx
  if (is_onnx_path(path)) {  // built from its sidecar already: decoding included
    m.has_sidecar = true;
    return m;
  }
  const std::string sidecar = model_config_path_for(path);
  if (fs::exists(sidecar)) {
    const ModelConfig cfg = load_model_config(sidecar);
    check_same_layout(m.checkpoint.info, cfg, "checkpoint", "sidecar", sidecar + ": does not describe " + path);
    m.checkpoint.info.decoding = cfg.decoding;
    m.has_sidecar = true;
  }
  return m;
}

}  // namespace qs
