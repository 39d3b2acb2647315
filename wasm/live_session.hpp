// Live transcription of microphone input: the core's live window (qscribe/live_window.hpp: the
// model on the newest half second after every hop, the future treated as silence, a provisional
// tail corrected by the next run), then the whole recording decoded again. Latency is measured
// per note, from the moment its onset sample reached the page to the moment the note is first
// drawn.
#pragma once

#include <deque>
#include <set>
#include <utility>
#include <vector>

#include "document.hpp"
#include "bridge.hpp"
#include "qscribe/live_window.hpp"

namespace qsweb {

struct LatencyStats {
  std::vector<double> ms;   // per note above C3, in the order drawn
  std::size_t late_notes = 0;  // notes first drawn more than 1 s after their onset (corrections)
  double median() const;
  double last() const { return ms.empty() ? -1 : ms.back(); }
};

class LiveSession {
 public:
  // `request` is owned by the caller so that a run still in flight when the session ends has
  // somewhere to write.
  LiveSession(const qs::ModelConfig& model, Document& doc, qs::ModelRequest& request);
  // Appends microphone samples (at the model's rate) that reached the page at `arrival_ms`
  // (performance.now() of the last sample).
  void push(const float* samples, std::size_t n, double arrival_ms);
  // kNeedModel: a request was prepared; kWorking: nothing to do yet.
  StepResult step();
  void model_done();
  // Called after a frame was rendered: notes decoded since the last call are now on screen.
  void notes_drawn(double now_ms);
  bool has_undrawn_notes() const { return !undrawn_.empty(); }
  double level_db() const { return level_db_; }  // RMS of the last ~100 ms, dBFS
  const LatencyStats& latency() const { return latency_; }
  bool busy() const { return window_.busy(); }

 private:
  double capture_ms(std::size_t sample) const;

  Document& doc_;
  qs::LiveWindow window_;
  std::deque<std::pair<std::size_t, double>> arrivals_;  // (end sample, arrival ms) per push
  std::set<std::pair<int, long>> seen_;                  // (pitch, onset frame) of notes already drawn
  std::vector<double> undrawn_;                          // capture times of notes not drawn yet
  double level_db_ = -120;
  LatencyStats latency_;
};

}  // namespace qsweb
