#include "file_job.hpp"

#include <emscripten.h>

#include <algorithm>
#include <utility>

namespace qsweb {

namespace {
qs::WindowOptions per_request(int windows) {
  qs::WindowOptions o;
  o.batch_windows = windows;
  return o;
}
}  // namespace

FileJob::FileJob(const qs::ModelConfig& model, Document& doc, int windows_per_request)
    : doc_(doc), pipe_(model, per_request(windows_per_request)),
      total_frames_(pipe_.frames_for(doc.audio.size())) {
  doc_.spec.reserve(total_frames_ * static_cast<std::size_t>(model.features.n_bins));
}

StepResult FileJob::step(double budget_ms) {
  const double t0 = emscripten_get_now();
  constexpr std::size_t kBlock = 16384;  // samples per push (~0.75 s)
  while (true) {
    if (pipe_.next_request()) return StepResult::kNeedModel;
    if (pipe_.done()) {
      if (!decoded_) {
        doc_.probs = std::move(pipe_.probabilities());
        doc_.redecode();
        decoded_ = true;
      }
      return StepResult::kDone;
    }
    if (emscripten_get_now() - t0 > budget_ms) return StepResult::kWorking;
    const std::size_t first = pipe_.frames_made();
    const std::size_t pushed = pipe_.samples_pushed();
    const std::size_t n = std::min(kBlock, doc_.audio.size() - pushed);
    const std::vector<float>& frames = n > 0 ? pipe_.push_audio(doc_.audio.data() + pushed, n) : pipe_.finish_audio();
    if (!frames.empty()) doc_.set_spectrogram(first, frames.data(), frames.size() / doc_.n_bins);
  }
}

void FileJob::model_done() { pipe_.answer(); }

double FileJob::progress() const {
  if (total_frames_ == 0) return 1.0;
  // The model dominates the cost: weight the CQT 20 % and the model 80 %.
  const double cqt = doc_.audio.empty() ? 1.0 : static_cast<double>(pipe_.samples_pushed()) / doc_.audio.size();
  const double model = static_cast<double>(pipe_.frames_answered()) / total_frames_;
  return std::min(1.0, 0.2 * cqt + 0.8 * model);
}

}  // namespace qsweb
