#include "live_session.hpp"

#include <algorithm>
#include <cmath>

namespace qsweb {

constexpr double kLiveContextSeconds = 0.5;  // model context per live run

double LatencyStats::median() const {
  if (ms.empty()) return -1;
  std::vector<double> v(ms.end() - std::min<std::size_t>(ms.size(), 50), ms.end());  // recent notes
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Half a second of context (22 frames at 43 frames/s, at most the model's segment): the model
// runs after every hop of new audio, so its cost sets the CPU load (a 2 s window doubled it for no
// visible gain in live notes).
LiveSession::LiveSession(const qs::ModelConfig& model, Document& doc, qs::ModelRequest& request)
    : doc_(doc), window_(model, kLiveContextSeconds, request) {}

void LiveSession::push(const float* samples, std::size_t n, double arrival_ms) {
  if (n == 0) return;
  doc_.audio.insert(doc_.audio.end(), samples, samples + n);
  arrivals_.emplace_back(doc_.audio.size(), arrival_ms);
  while (arrivals_.size() > 4096) arrivals_.pop_front();  // ~90 s of 128-sample blocks
  double sum = 0;
  const std::size_t m = std::min<std::size_t>(doc_.audio.size(), doc_.sample_rate / 10);
  for (std::size_t i = doc_.audio.size() - m; i < doc_.audio.size(); ++i) sum += doc_.audio[i] * doc_.audio[i];
  level_db_ = 10 * std::log10(std::max(sum / m, 1e-12));
}

double LiveSession::capture_ms(std::size_t sample) const {
  for (const auto& [end, ms] : arrivals_)
    if (sample < end) return ms - (end - 1.0 - sample) * 1000.0 / doc_.sample_rate;
  return arrivals_.empty() ? 0 : arrivals_.back().second;
}

StepResult LiveSession::step() {
  const qs::ModelRequest* r = window_.next_request(doc_.audio.data(), doc_.audio.size());
  if (!r) return StepResult::kWorking;
  doc_.set_spectrogram(window_.first_frame(), r->input.data(), window_.n_frames());
  return StepResult::kNeedModel;
}

void LiveSession::model_done() {
  window_.answer(doc_.probs);
  doc_.redecode();
  for (const qs::Note& note : doc_.notes) {
    const long onset_frame = std::lround(note.onset * doc_.frame_rate);
    // A provisional onset may move by a frame or two as more audio arrives: same note.
    bool known = false;
    for (long d = -2; d <= 2 && !known; ++d) known = seen_.count({note.pitch, onset_frame + d}) > 0;
    seen_.emplace(note.pitch, onset_frame);
    if (known) continue;
    if (note.pitch <= 48) continue;  // the latency target is for notes above C3
    // A note whose onset is more than a second old when it first appears is a correction (a
    // held note split in two, a threshold crossed late), not a note just played: count it
    // apart instead of mixing it into the latency of played notes.
    if (doc_.duration() - note.onset > 1.0) {
      ++latency_.late_notes;
      continue;
    }
    undrawn_.push_back(capture_ms(static_cast<std::size_t>(note.onset * doc_.sample_rate)));
  }
}

void LiveSession::notes_drawn(double now_ms) {
  for (double t : undrawn_) latency_.ms.push_back(now_ms - t);
  undrawn_.clear();
}

}  // namespace qsweb
