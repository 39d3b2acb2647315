#include "qscribe/transcription.hpp"

namespace qs {

Transcription::Transcription(const ModelConfig& model, const WindowOptions& windows)
    : model_(model), cqt_(model.features), stream_(cqt_), windows_(model, windows) {}

const std::vector<float>& Transcription::push_audio(const float* samples, std::size_t n) {
  frames_.clear();  // push() appends
  const std::size_t got = stream_.push(samples, n, frames_);
  if (got) windows_.push(frames_.data(), got);
  samples_ += n;
  return frames_;
}

const std::vector<float>& Transcription::finish_audio() {
  frames_.clear();
  const std::size_t got = stream_.finish(frames_);
  if (got) windows_.push(frames_.data(), got);
  windows_.finish();
  return frames_;
}

}  // namespace qs
