#include "qscribe/live_window.hpp"

#include <algorithm>
#include <cmath>

#include "qscribe/error.hpp"

namespace qs {

LiveWindow::LiveWindow(const ModelConfig& model, double context_seconds, ModelRequest& request)
    : model_(model), cqt_(model.features),
      window_(std::max(1, std::min(model.segment_frames,
                                   static_cast<int>(std::lround(context_seconds * model.features.frame_rate()))))),
      past_samples_(cqt_.frame_past_samples()), request_(request) {}

ModelRequest* LiveWindow::next_request(const float* audio, std::size_t end) {
  const std::size_t hop = static_cast<std::size_t>(model_.features.hop_length);
  if (in_flight_ || end < last_end_ + hop || end < hop) return nullptr;
  last_end_ = end;
  // Newest frame: the last whose centre has arrived. The window ends there.
  const std::size_t newest = end / hop;
  const std::size_t W = static_cast<std::size_t>(window_), bins = static_cast<std::size_t>(model_.features.n_bins);
  const std::size_t first = newest + 1 > W ? newest + 1 - W : 0;
  // CQT of [chunk_start, end) with silence after `end`; chunk_start is frame-aligned and early
  // enough that the window's first frame sees all the past its longest kernel needs.
  const std::size_t want = first * hop > past_samples_ ? first * hop - past_samples_ : 0;
  const std::size_t chunk_start = want / hop * hop;
  const Spectrogram spec = cqt_.transform(audio + chunk_start, end - chunk_start);
  const std::size_t offset = chunk_start / hop;  // frame index of spec row 0
  const std::size_t last = std::min<std::size_t>(newest, offset + spec.n_frames - 1);
  first_ = first;
  n_ = last + 1 - first;
  request_.prepare(1, static_cast<int>(n_), model_.features.n_bins, model_.n_notes, model_.has_onset_output);
  request_.window_start[0] = first;
  std::copy_n(spec.data.begin() + static_cast<std::ptrdiff_t>((first - offset) * bins), n_ * bins, request_.input.begin());
  in_flight_ = true;
  return &request_;
}

void LiveWindow::answer(NoteProbabilities& probs) {
  if (!in_flight_) throw Error("live: answer() without a request");
  in_flight_ = false;
  read_model_outputs(model_, request_);
  probs.write(first_, n_, request_.frame_out.data(), request_.has_onsets() ? request_.onset_out.data() : nullptr);
}

}  // namespace qs
