#include "inference.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "onnx_import.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/cqt.hpp"
#include "qscribe/error.hpp"
#include "qscribe/model_config.hpp"

#ifndef QSCRIBE_MODELS_DIR
#define QSCRIBE_MODELS_DIR "models"
#endif

namespace qs {

namespace fs = std::filesystem;

// ---- windowed prediction -------------------------------------------------------------------

StreamingPredictor::StreamingPredictor(Transcriber model, int n_bins, int n_notes, const InferenceOptions& options)
    : model_(std::move(model)), n_bins_(n_bins), n_notes_(n_notes), device_(options.device) {
  window_ = options.window_frames;
  if (window_ < 1) throw Error("inference: window must be at least 1 frame");
  overlap_ = options.overlap_frames < 0 ? window_ / 8 : options.overlap_frames;
  if (2 * overlap_ >= window_)
    throw Error("inference: overlap (" + std::to_string(overlap_) + " frames each side) must be less than half the window (" +
                std::to_string(window_) + " frames)");
  step_ = window_ - 2 * overlap_;
  batch_ = std::max(1, options.batch_windows);
  out_.n_notes = n_notes;
}

void StreamingPredictor::push(const float* cqt, std::size_t n) {
  buffer_.insert(buffer_.end(), cqt, cqt + n * static_cast<std::size_t>(n_bins_));
  total_ += n;
  run_windows(false);
}

void StreamingPredictor::finish() { run_windows(true); }

void StreamingPredictor::run_windows(bool final) {
  const std::size_t W = static_cast<std::size_t>(window_), S = static_cast<std::size_t>(step_),
                    O = static_cast<std::size_t>(overlap_), F = static_cast<std::size_t>(n_bins_),
                    N = static_cast<std::size_t>(n_notes_);
  for (;;) {
    // Windows ready to run: complete ones, or (final) every window that still owns frames.
    std::vector<std::size_t> ready;
    std::size_t planned = out_.n_frames;  // frames covered once the ready windows have run
    for (std::size_t w = next_window_; ready.size() < static_cast<std::size_t>(batch_); ++w) {
      const std::size_t start = w * S;
      if (!final && start + W > total_) break;                        // not complete yet
      if (final && planned >= total_) break;                           // every frame is covered
      planned = (final && start + W >= total_) ? total_ : start + W - O;
      ready.push_back(w);
    }
    if (ready.empty()) break;
    if (!final && ready.size() < static_cast<std::size_t>(batch_)) break;  // wait for a full batch
    const int64_t B = static_cast<int64_t>(ready.size());
    auto input = torch::zeros({B, static_cast<int64_t>(W), static_cast<int64_t>(F)});
    float* dst = input.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b) {
      const std::size_t start = ready[static_cast<std::size_t>(b)] * S;
      const std::size_t avail = std::min(W, total_ - std::min(total_, start));
      if (avail > 0)
        std::memcpy(dst + static_cast<std::size_t>(b) * W * F, buffer_.data() + (start - buffer_start_) * F,
                    avail * F * sizeof(float));
    }
    torch::Tensor frames, onsets;
    {
      c10::InferenceMode guard;
      auto out = model_->forward(input.to(device_));
      frames = torch::sigmoid(out.frame_logits).to(torch::kCPU).contiguous();
      onsets = torch::sigmoid(out.onset_logits).to(torch::kCPU).contiguous();
    }
    const float* fp = frames.data_ptr<float>();
    const float* op = onsets.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b) {
      const std::size_t w = ready[static_cast<std::size_t>(b)], start = w * S;
      const std::size_t keep_start = w == 0 ? 0 : start + O;
      const bool last = start + W >= total_ && final;
      const std::size_t keep_end = last ? total_ : std::min(total_, start + W - O);
      if (keep_end <= keep_start) continue;
      const std::size_t off = static_cast<std::size_t>(b) * W * N;
      out_.frames.insert(out_.frames.end(), fp + off + (keep_start - start) * N, fp + off + (keep_end - start) * N);
      out_.onsets.insert(out_.onsets.end(), op + off + (keep_start - start) * N, op + off + (keep_end - start) * N);
      out_.n_frames = keep_end;
    }
    next_window_ = ready.back() + 1;
    // Drop buffered frames no later window needs.
    const std::size_t need_from = std::min(next_window_ * S, total_);
    if (need_from > buffer_start_) {
      buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>((need_from - buffer_start_) * F));
      buffer_start_ = need_from;
    }
    if (final && out_.n_frames >= total_) break;
  }
}

Activations2 predict_cqt(Transcriber& model, const float* cqt, std::size_t n_frames, int n_bins, int n_notes,
                         const InferenceOptions& options) {
  StreamingPredictor p(model, n_bins, n_notes, options);
  // Push in slices so the internal buffer stays small.
  const std::size_t slice = 4096;
  for (std::size_t i = 0; i < n_frames; i += slice)
    p.push(cqt + i * static_cast<std::size_t>(n_bins), std::min(slice, n_frames - i));
  p.finish();
  return std::move(p.output());
}

Activations activations_view(const Activations2& act, const CheckpointInfo& info) {
  Activations a;
  a.frames = act.frames.data();
  a.onsets = act.onsets.empty() ? nullptr : act.onsets.data();
  a.n_frames = act.n_frames;
  a.n_notes = act.n_notes;
  a.lowest_pitch = info.only_note_names ? 60 : info.lowest_pitch;
  a.frame_rate = info.features.frame_rate();
  return a;
}

NoteList decode_activations(const Activations2& act, const CheckpointInfo& info, const DecoderParams& params) {
  if (act.n_frames == 0) return {};
  return decode_notes(activations_view(act, info), params);
}

// ---- audio -> notes ------------------------------------------------------------------------

namespace {

// CQT + model over a stream of samples at the model's rate.
class SamplePipeline {
 public:
  SamplePipeline(Transcriber& model, const CheckpointInfo& info, const InferenceOptions& options)
      : cqt_(info.features), stream_(cqt_), predictor_(model, info.features.n_bins, info.n_notes, fill(options, info)) {}
  void push(const float* s, std::size_t n) {
    frames_.clear();
    const std::size_t got = stream_.push(s, n, frames_);
    if (got) predictor_.push(frames_.data(), got);
    samples_ += n;
  }
  Activations2 finish() {
    frames_.clear();
    const std::size_t got = stream_.finish(frames_);
    if (got) predictor_.push(frames_.data(), got);
    predictor_.finish();
    return std::move(predictor_.output());
  }
  std::size_t samples() const { return samples_; }

 private:
  static InferenceOptions fill(InferenceOptions o, const CheckpointInfo& info) {
    if (o.window_frames <= 0) o.window_frames = info.segment_frames;
    return o;
  }
  Cqt cqt_;
  StreamingCqt stream_;
  StreamingPredictor predictor_;
  std::vector<float> frames_;
  std::size_t samples_ = 0;
};

}  // namespace

TranscribeResult transcribe_samples(const float* samples, std::size_t n, Transcriber& model, const CheckpointInfo& info,
                                    const DecoderParams& decoding, const InferenceOptions& options) {
  SamplePipeline pipe(model, info, options);
  const std::size_t block = 1 << 16;
  for (std::size_t i = 0; i < n; i += block) pipe.push(samples + i, std::min(block, n - i));
  TranscribeResult r;
  r.activations = pipe.finish();
  r.duration_s = static_cast<double>(n) / info.features.sample_rate;
  r.audio_seconds_decoded = r.duration_s;
  r.notes = decode_activations(r.activations, info, decoding);
  return r;
}

TranscribeResult transcribe_file(const std::string& path, Transcriber& model, const CheckpointInfo& info,
                                 const DecoderParams& decoding, const InferenceOptions& options) {
  // The core's streaming decoder (one decode path for every command): constant memory for hours
  // of audio, and the same errors as everywhere else.
  SamplePipeline pipe(model, info, options);
  std::size_t produced = 0;
  const double decoded_s = stream_audio(path, info.features.sample_rate, [&](const float* x, std::size_t n) {
    pipe.push(x, n);
    produced += n;
  });
  TranscribeResult r;
  r.activations = pipe.finish();
  r.duration_s = static_cast<double>(produced) / info.features.sample_rate;
  r.audio_seconds_decoded = decoded_s;
  r.notes = decode_activations(r.activations, info, decoding);
  return r;
}

std::string default_model_path() { return std::string(QSCRIBE_MODELS_DIR) + "/qscribe-default.onnx"; }

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
    ModelConfig cfg = load_model_config(sidecar);
    try {
      cfg.check_compatible(m.checkpoint.features);
    } catch (const Error& e) {
      throw Error(sidecar + ": does not describe " + path + ": " + e.what());
    }
    if (cfg.n_notes != m.checkpoint.info.n_notes)
      throw Error(sidecar + ": does not describe " + path + " (n_notes differs)");
    m.checkpoint.info.decoding = cfg.decoding;
    m.has_sidecar = true;
  }
  return m;
}

DecoderParams decoder_with_overrides(DecoderParams d, float onset_threshold, float frame_threshold,
                                     double min_note_length_s) {
  if (onset_threshold >= 0) d.onset_threshold = onset_threshold;
  if (frame_threshold >= 0) d.frame_threshold = frame_threshold;
  if (min_note_length_s >= 0) d.min_note_length_s = min_note_length_s;
  d.validate();
  return d;
}

}  // namespace qs
