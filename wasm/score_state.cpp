#include "score_state.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>

#include "qscribe/musicxml.hpp"
#include "qscribe/score_midi.hpp"

namespace qsweb {
namespace {

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

nlohmann::json rounded(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double t : v) a.push_back(std::round(t * 1e4) / 1e4);
  return a;
}

}  // namespace

void ScoreState::set_beat_net(const qs::BeatNet* net) {
  net_ = net;
  activation_doc_ = -1;
  notes_revision_ = ~0ull;  // analyse again
}

const qs::BeatActivation* ScoreState::activation_of(const Document& doc, int doc_id) {
  if (!net_) return nullptr;
  if (doc_id != activation_doc_ || doc.probs.n_frames != activation_frames_) {
    activation_ = qs::beat_activation(*net_, qs::beat_features(doc.probs), doc.frame_rate);
    activation_doc_ = doc_id;
    activation_frames_ = doc.probs.n_frames;
  }
  return &activation_;
}

void ScoreState::update(const Document& doc, int doc_id, bool enabled, bool force) {
  if (!enabled || doc.empty()) {
    if (valid_) ++revision_;
    valid_ = false;
    doc_id_ = -1;
    notes_revision_ = ~0ull;
    return;
  }
  const bool same_doc = doc_id == doc_id_;
  const bool stale = !same_doc || doc.notes_revision != notes_revision_ ||
                     overrides_revision_ != analysed_overrides_revision_;
  if (!stale) return;
  const double t0 = now_ms();
  // A slider being dragged re-decodes every frame: keep the last analysis a moment.
  if (!force && valid_ && same_doc && overrides_revision_ == analysed_overrides_revision_ &&
      t0 - analysed_at_ms_ < std::max(kMinIntervalMs, 4 * analysis_ms_))
    return;
  doc_id_ = doc_id;
  notes_revision_ = doc.notes_revision;
  analysed_overrides_revision_ = overrides_revision_;
  qs::AnalysisOptions o;
  o.tempo_bpm = overrides_.tempo_bpm;
  o.time_signature = overrides_.time_signature;
  o.key = overrides_.key;
  try {
    analysis_ = qs::analyse_music(doc.notes, doc.duration(), o, activation_of(doc, doc_id));
    score_ = qs::notate(doc.notes, analysis_, o);
    valid_ = true;
    error_.clear();
  } catch (const std::exception& e) {
    valid_ = false;
    error_ = e.what();
  }
  analysed_at_ms_ = now_ms();
  analysis_ms_ = analysed_at_ms_ - t0;
  ++revision_;
}

std::string ScoreState::set_overrides(const AnalysisOverrides& o) {
  if (!(o.tempo_bpm == 0 || (o.tempo_bpm >= 20 && o.tempo_bpm <= 400)))
    return "Tempo " + std::to_string(static_cast<int>(std::lround(o.tempo_bpm))) +
           " bpm: expected 20 to 400, or 0 to estimate it.";
  try {
    if (!o.time_signature.empty()) qs::parse_time_signature(o.time_signature);
  } catch (const std::exception& e) {
    return std::string("Time signature: ") + e.what();
  }
  try {
    if (!o.key.empty()) qs::parse_key(o.key);
  } catch (const std::exception& e) {
    return std::string("Key: ") + e.what();
  }
  if (!(o == overrides_)) {
    overrides_ = o;
    ++overrides_revision_;
  }
  return "";
}

int ScoreState::bar_at(double t) const {
  if (!valid_) return -1;
  const std::vector<double>& bt = score_.beat_times;
  if (bt.size() < 2 || t < bt.front() || t >= bt.back()) return -1;
  const long k = static_cast<long>(std::upper_bound(bt.begin(), bt.end(), t) - bt.begin()) - 1;
  const int bar = static_cast<int>(k / std::max(1, score_.meter.beats_per_bar));
  return std::min(bar, score_.n_bars - 1);
}

double ScoreState::bar_start(int b) const {
  if (!valid_ || score_.beat_times.empty()) return 0;
  const std::size_t i = static_cast<std::size_t>(std::max(0, b)) * static_cast<std::size_t>(std::max(1, score_.meter.beats_per_bar));
  return score_.beat_times[std::min(i, score_.beat_times.size() - 1)];
}

std::string ScoreState::musicxml(const std::string& title) const {
  if (!valid_) return "";
  qs::MusicXmlOptions o;
  if (!title.empty()) o.title = title;
  return qs::write_musicxml(score_, o);
}

std::vector<std::uint8_t> ScoreState::quantized_midi() const {
  if (!valid_) return {};
  return qs::score_to_midi(score_);
}

nlohmann::json ScoreState::to_json() const {
  if (!valid_) return nullptr;
  const qs::Meter& m = analysis_.meter;
  const qs::Key& k = analysis_.key;
  std::vector<double> bar_times;
  for (int b = 0; b <= score_.n_bars; ++b) bar_times.push_back(bar_start(b));
  return {{"beats", rounded(analysis_.beats)},
          {"downbeats", rounded(analysis_.downbeats)},
          {"tempo", std::round(analysis_.tempo_bpm * 100) / 100},
          {"quarterTempo", std::round(score_.tempo_bpm * 100) / 100},
          {"meter", {{"timeSignature", m.time_signature()}, {"numerator", m.numerator}, {"denominator", m.denominator},
                     {"beatsPerBar", m.beats_per_bar}, {"compound", m.compound}}},
          {"key", {{"name", k.name()}, {"tonic", k.tonic_name()}, {"mode", k.minor ? "minor" : "major"},
                   {"fifths", k.fifths}}},
          {"bars", score_.n_bars},
          {"barTimes", rounded(bar_times)},
          {"staves", score_.staves()},
          {"scoreNotes", score_.notes.size()},
          {"overrides", {{"tempo", overrides_.tempo_bpm}, {"timeSignature", overrides_.time_signature},
                         {"key", overrides_.key}}},
          {"revision", revision_},
          {"analysisMs", std::round(analysis_ms_ * 100) / 100}};
}

}  // namespace qsweb
