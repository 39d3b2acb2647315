// The musical reading of the document's notes (beats, tempo, meter, key) and their notated score,
// kept in step with the notes and with the user's overrides. Plain C++ on the core's
// analyse_music / notate (no GL, no JS): the UI draws bar lines from it, the Score view renders
// its MusicXML, the exports write it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "document.hpp"
#include "qscribe/beat_activation.hpp"
#include "qscribe/music_analysis.hpp"
#include "qscribe/score.hpp"

namespace qsweb {

// What the user fixed instead of letting the analysis estimate it (0 / "": estimate).
struct AnalysisOverrides {
  double tempo_bpm = 0;         // beats of the meter per minute, 20..400
  std::string time_signature;   // "3/4", "6/8", ...
  std::string key;              // "Eb major", "F# minor", ...
  bool operator==(const AnalysisOverrides& o) const {
    return tempo_bpm == o.tempo_bpm && time_signature == o.time_signature && key == o.key;
  }
};

class ScoreState {
 public:
  // Analyses the notes again when they or the overrides changed since the last analysis. While
  // the notes keep changing (a slider dragged), at most one analysis per kMinIntervalMs (and
  // per four times the cost of the last one) unless `force`. `enabled` false (live input, no
  // document) drops the analysis.
  void update(const Document& doc, int doc_id, bool enabled, bool force = false);
  // The beat network the tracker follows (qscribe/beat_activation.hpp); null: the notes' onset
  // envelope. Its activation is computed once per document (the probabilities do not change with
  // the sliders) and again when the document has grown.
  void set_beat_net(const qs::BeatNet* net);
  bool has_beat_net() const { return net_ != nullptr; }
  // Checks and applies overrides: "" when applied, else the reason (nothing changes then).
  std::string set_overrides(const AnalysisOverrides& o);
  const AnalysisOverrides& overrides() const { return overrides_; }

  bool valid() const { return valid_; }  // an analysis of the current notes exists
  const qs::MusicAnalysis& analysis() const { return analysis_; }
  const qs::Score& score() const { return score_; }
  std::uint64_t revision() const { return revision_; }  // bumps with every new analysis
  double analysis_ms() const { return analysis_ms_; }   // cost of the last analysis + notation
  const std::string& error() const { return error_; }   // why the last analysis failed, if it did

  // The score's bar (0-based) sounding at time t (s), or -1 before the first bar line or past
  // the last bar.
  int bar_at(double t) const;
  // Start time (s) of the score's bar b (0-based; b == n_bars gives the end of the last bar).
  double bar_start(int b) const;

  std::string musicxml(const std::string& title) const;
  std::vector<std::uint8_t> quantized_midi() const;
  // {beats, downbeats, tempo, meter, key, bars, barTimes, overrides, revision, analysisMs}, or
  // null without an analysis.
  nlohmann::json to_json() const;

  static constexpr double kMinIntervalMs = 120;

 private:
  AnalysisOverrides overrides_;
  std::uint64_t overrides_revision_ = 0, analysed_overrides_revision_ = ~0ull;
  int doc_id_ = -1;
  std::uint64_t notes_revision_ = ~0ull;
  bool valid_ = false;
  qs::MusicAnalysis analysis_;
  qs::Score score_;
  std::uint64_t revision_ = 0;
  double analysis_ms_ = 0, analysed_at_ms_ = -1e18;
  std::string error_;
  const qs::BeatNet* net_ = nullptr;
  qs::BeatActivation activation_;
  int activation_doc_ = -1;
  std::size_t activation_frames_ = 0;
  const qs::BeatActivation* activation_of(const Document& doc, int doc_id);
};

}  // namespace qsweb
