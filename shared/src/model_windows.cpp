#include "qscribe/model_windows.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "qscribe/error.hpp"

namespace qs {

// ---- ModelRequest ------------------------------------------------------------------------------

void ModelRequest::prepare(int b, int f, int n_bins, int n_notes, bool with_onsets) {
  static std::atomic<int> last_serial{0};
  serial = ++last_serial;
  batch = b;
  frames = f;
  bins = n_bins;
  notes = n_notes;
  const std::size_t rows = static_cast<std::size_t>(b) * static_cast<std::size_t>(f);
  input.assign(rows * static_cast<std::size_t>(n_bins), 0.0f);
  frame_out.assign(rows * static_cast<std::size_t>(n_notes), 0.0f);
  onset_out.assign(with_onsets ? frame_out.size() : 0, 0.0f);
  window_start.assign(static_cast<std::size_t>(b), 0);
}

void read_model_outputs(const ModelConfig& model, ModelRequest& request) {
  if (!model.outputs_are_logits) return;
  sigmoid_inplace(request.frame_out.data(), request.frame_out.size());
  sigmoid_inplace(request.onset_out.data(), request.onset_out.size());
}

// ---- NoteProbabilities ------------------------------------------------------------------------

void NoteProbabilities::ensure_frames(std::size_t n) {
  if (n <= n_frames) return;
  frames.resize(n * static_cast<std::size_t>(n_notes), 0.0f);
  if (has_onsets) onsets.resize(frames.size(), 0.0f);
  n_frames = n;
}

void NoteProbabilities::write(std::size_t first, std::size_t n, const float* frame_rows, const float* onset_rows) {
  ensure_frames(first + n);
  const std::size_t N = static_cast<std::size_t>(n_notes);
  std::copy_n(frame_rows, n * N, frames.begin() + static_cast<std::ptrdiff_t>(first * N));
  if (has_onsets && onset_rows) std::copy_n(onset_rows, n * N, onsets.begin() + static_cast<std::ptrdiff_t>(first * N));
}

Activations NoteProbabilities::view(int lowest_pitch, double frame_rate) const {
  Activations a;
  a.frames = frames.data();
  a.onsets = has_onsets ? onsets.data() : nullptr;
  a.n_frames = n_frames;
  a.n_notes = n_notes;
  a.lowest_pitch = lowest_pitch;
  a.frame_rate = frame_rate;
  return a;
}

Activations activations_of(const NoteProbabilities& probs, const ModelConfig& model) {
  return probs.view(model.lowest_pitch, model.features.frame_rate());
}

NoteList decode_probabilities(const NoteProbabilities& probs, const ModelConfig& model, const DecoderParams& params) {
  if (probs.n_frames == 0) return {};
  return decode_notes(activations_of(probs, model), params);
}

// ---- ModelWindows -----------------------------------------------------------------------------

ModelWindows::ModelWindows(const ModelConfig& model, const WindowOptions& options) : model_(model) {
  window_ = options.window_frames > 0 ? options.window_frames : model.segment_frames;
  if (window_ < 1) throw Error("inference: window must be at least 1 frame");
  overlap_ = std::max(options.overlap_frames < 0 ? window_ / 8 : options.overlap_frames, model.context_frames);
  if (2 * overlap_ >= window_)
    throw Error("inference: overlap (" + std::to_string(overlap_) + " frames each side) must be less than half the window (" +
                std::to_string(window_) + " frames)");
  passes_ = options.passes > 0 ? options.passes : model.passes;
  if (passes_ < 1 || passes_ > ModelConfig::kMaxPasses)
    throw Error("inference: passes must be between 1 and " + std::to_string(ModelConfig::kMaxPasses) + ", got " +
                std::to_string(passes_));
  step_ = (window_ - 2 * overlap_) / passes_;
  if (step_ < 1)
    throw Error("inference: " + std::to_string(passes_) + " passes need a window of at least " +
                std::to_string(2 * overlap_ + passes_) + " frames");
  batch_ = std::max(1, options.batch_windows);
  probs_.n_notes = model.n_notes;
  probs_.has_onsets = model.has_onset_output;
}

void ModelWindows::push(const float* cqt, std::size_t n) {
  if (finished_) throw Error("inference: frames pushed after the end of the stream");
  buffer_.insert(buffer_.end(), cqt, cqt + n * static_cast<std::size_t>(model_.features.n_bins));
  total_ += n;
}

void ModelWindows::finish() { finished_ = true; }

// Windows to run next: complete ones, or (after finish) every window that still owns frames.
std::vector<std::size_t> ModelWindows::ready_windows() const {
  const std::size_t W = static_cast<std::size_t>(window_), S = static_cast<std::size_t>(step_),
                    O = static_cast<std::size_t>(overlap_);
  std::vector<std::size_t> ready;
  std::size_t planned = probs_.n_frames;  // frames covered once the ready windows have run
  for (std::size_t w = next_window_; ready.size() < static_cast<std::size_t>(batch_); ++w) {
    const std::size_t start = w * S;
    if (!finished_ && start + W > total_) break;  // not complete yet
    if (finished_ && planned >= total_) break;    // every frame is covered
    planned = (finished_ && start + W >= total_) ? total_ : start + W - O;
    ready.push_back(w);
  }
  if (!finished_ && ready.size() < static_cast<std::size_t>(batch_)) ready.clear();  // wait for a full batch
  return ready;
}

ModelRequest* ModelWindows::next_request() {
  if (pending_) return &request_;
  const std::vector<std::size_t> ready = ready_windows();
  if (ready.empty()) return nullptr;
  const std::size_t W = static_cast<std::size_t>(window_), F = static_cast<std::size_t>(model_.features.n_bins);
  request_.prepare(static_cast<int>(ready.size()), window_, model_.features.n_bins, model_.n_notes,
                   model_.has_onset_output);
  for (std::size_t b = 0; b < ready.size(); ++b) {
    const std::size_t start = ready[b] * static_cast<std::size_t>(step_);
    const std::size_t avail = std::min(W, total_ - std::min(total_, start));
    request_.window_start[b] = start;
    if (avail > 0)
      std::memcpy(request_.input.data() + b * W * F, buffer_.data() + (start - buffer_start_) * F, avail * F * sizeof(float));
  }
  pending_ = true;
  request_final_ = finished_;
  return &request_;
}

void ModelWindows::answer() {
  if (!pending_) throw Error("inference: answer() without a request");
  read_model_outputs(model_, request_);
  const std::size_t W = static_cast<std::size_t>(window_), O = static_cast<std::size_t>(overlap_),
                    N = static_cast<std::size_t>(model_.n_notes), S = static_cast<std::size_t>(step_);
  bool reached_end = false;
  for (std::size_t b = 0; b < request_.window_start.size(); ++b) {
    const std::size_t start = request_.window_start[b];
    const std::size_t keep_start = start == 0 ? 0 : start + O;
    const bool last = request_final_ && start + W >= total_;  // as planned, whenever answered
    reached_end = reached_end || last;
    const std::size_t keep_end = last ? total_ : std::min(total_, start + W - O);
    if (keep_end <= keep_start) continue;
    const std::size_t row = b * W + (keep_start - start);
    accumulate(keep_start, keep_end - keep_start, request_.frame_out.data() + row * N,
               request_.has_onsets() ? request_.onset_out.data() + row * N : nullptr);
  }
  next_window_ = request_.window_start.back() / S + 1;
  pending_ = false;
  // No later window adds to the frames before its kept centre: those are final.
  finalize_until(reached_end ? total_ : std::min(total_, next_window_ * S + O));
  // Drop buffered frames no later window needs.
  const std::size_t need_from = std::min(next_window_ * S, total_);
  if (need_from > buffer_start_) {
    const std::size_t F = static_cast<std::size_t>(model_.features.n_bins);
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>((need_from - buffer_start_) * F));
    buffer_start_ = need_from;
  }
}

void ModelWindows::accumulate(std::size_t first, std::size_t n, const float* frame_rows, const float* onset_rows) {
  const std::size_t N = static_cast<std::size_t>(model_.n_notes), base = probs_.n_frames;
  if (first < base) throw Error("inference: a window predicted frames already final");
  const std::size_t end = first + n - base;
  if (n_predictions_.size() < end) {
    n_predictions_.resize(end, 0);
    sum_frames_.resize(end * N, 0.0f);
    if (onset_rows) sum_onsets_.resize(end * N, 0.0f);
  }
  const std::size_t off = (first - base) * N;
  for (std::size_t i = 0; i < n * N; ++i) sum_frames_[off + i] += frame_rows[i];
  if (onset_rows)
    for (std::size_t i = 0; i < n * N; ++i) sum_onsets_[off + i] += onset_rows[i];
  for (std::size_t j = first - base; j < end; ++j) ++n_predictions_[j];
}

void ModelWindows::finalize_until(std::size_t frame) {
  const std::size_t base = probs_.n_frames;
  if (frame <= base) return;
  const std::size_t n = std::min(frame - base, n_predictions_.size()), N = static_cast<std::size_t>(model_.n_notes);
  for (std::size_t j = 0; j < n; ++j) {  // the mean of each frame's predictions
    if (n_predictions_[j] < 2) continue;  // one prediction is its own mean, bit for bit
    const float inv = 1.0f / static_cast<float>(n_predictions_[j]);
    for (std::size_t k = 0; k < N; ++k) sum_frames_[j * N + k] *= inv;
    if (!sum_onsets_.empty())
      for (std::size_t k = 0; k < N; ++k) sum_onsets_[j * N + k] *= inv;
  }
  probs_.write(base, n, sum_frames_.data(), sum_onsets_.empty() ? nullptr : sum_onsets_.data());
  n_predictions_.erase(n_predictions_.begin(), n_predictions_.begin() + static_cast<std::ptrdiff_t>(n));
  sum_frames_.erase(sum_frames_.begin(), sum_frames_.begin() + static_cast<std::ptrdiff_t>(n * N));
  if (!sum_onsets_.empty())
    sum_onsets_.erase(sum_onsets_.begin(), sum_onsets_.begin() + static_cast<std::ptrdiff_t>(n * N));
}

}  // namespace qs
