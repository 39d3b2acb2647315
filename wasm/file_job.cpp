#include "file_job.hpp"

#include <emscripten.h>

#include <algorithm>

namespace qsweb {

FileJob::FileJob(const qs::ModelConfig& model, Document& doc, int windows_per_request)
    : doc_(doc), cqt_(model.features), stream_(cqt_),
      window_(std::max(1, model.segment_frames)), per_request_(std::max(1, windows_per_request)),
      bins_(model.features.n_bins), total_frames_(cqt_.n_frames(doc.audio.size())) {
  doc_.ensure_activations(total_frames_);
  doc_.spec.reserve(total_frames_ * bins_);
}

StepResult FileJob::step(double budget_ms) {
  const double t0 = emscripten_get_now();
  constexpr std::size_t kBlock = 16384;  // samples per push (~0.75 s)
  const std::size_t request_size = static_cast<std::size_t>(window_) * per_request_;
  while (true) {
    const std::size_t pending_frames = pending_.size() / bins_;
    if (pending_frames >= request_size || (cqt_done_ && pending_frames > 0)) {
      build_request();
      return StepResult::kNeedModel;
    }
    if (cqt_done_) {
      if (!decoded_) {
        doc_.redecode();
        decoded_ = true;
      }
      return StepResult::kDone;
    }
    if (emscripten_get_now() - t0 > budget_ms) return StepResult::kWorking;
    const std::size_t before = pending_.size();
    const std::size_t n = std::min(kBlock, doc_.audio.size() - pushed_);
    block_.clear();  // push() and finish() append
    if (n > 0) {
      stream_.push(doc_.audio.data() + pushed_, n, block_);
      pushed_ += n;
    } else {
      stream_.finish(block_);
      cqt_done_ = true;
    }
    if (!block_.empty()) {
      const std::size_t first = pending_start_ + before / bins_;
      doc_.set_spectrogram(first, block_.data(), block_.size() / bins_);
      pending_.insert(pending_.end(), block_.begin(), block_.end());
    }
  }
}

void FileJob::build_request() {
  const std::size_t pending_frames = pending_.size() / bins_;
  const std::size_t take = std::min(pending_frames, static_cast<std::size_t>(window_) * per_request_);
  const int batch = static_cast<int>((take + window_ - 1) / window_);
  request_.prepare(batch, window_, bins_, doc_.n_notes);
  std::copy(pending_.begin(), pending_.begin() + take * bins_, request_.input.begin());  // rest stays 0
  request_frames_ = take;
}

void FileJob::model_done() {
  // Windows are consecutive in the batch, so the logits of frame i sit at row i.
  const std::size_t n = request_frames_ * doc_.n_notes;
  std::copy_n(request_.frame_logits.begin(), n, doc_.frame_prob.begin() + pending_start_ * doc_.n_notes);
  std::copy_n(request_.onset_logits.begin(), n, doc_.onset_prob.begin() + pending_start_ * doc_.n_notes);
  qs::sigmoid_inplace(doc_.frame_prob.data() + pending_start_ * doc_.n_notes, n);
  qs::sigmoid_inplace(doc_.onset_prob.data() + pending_start_ * doc_.n_notes, n);
  pending_.erase(pending_.begin(), pending_.begin() + request_frames_ * bins_);
  pending_start_ += request_frames_;
  request_frames_ = 0;
}

double FileJob::progress() const {
  if (total_frames_ == 0) return 1.0;
  // The model dominates the cost: weight the CQT 20 % and the model 80 %.
  const double cqt = doc_.audio.empty() ? 1.0 : static_cast<double>(pushed_) / doc_.audio.size();
  const double model = static_cast<double>(pending_start_) / total_frames_;
  return std::min(1.0, 0.2 * cqt + 0.8 * model);
}

}  // namespace qsweb
