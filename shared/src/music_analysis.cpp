#include "qscribe/music_analysis.hpp"

#include <algorithm>
#include <cmath>

#include "qscribe/error.hpp"

namespace qs {

MusicAnalysis analyse_music(const NoteList& notes, double duration_s, const AnalysisOptions& o,
                            const BeatActivation* beats) {
  if (o.tempo_bpm < 0 || (o.tempo_bpm > 0 && (o.tempo_bpm < 20 || o.tempo_bpm > 400)))
    throw Error("tempo " + std::to_string(o.tempo_bpm) + " bpm: expected 20..400");
  MusicAnalysis a;
  // Validate the overrides before any work, so a typo fails fast.
  const Meter given_meter = o.time_signature.empty() ? Meter{} : parse_time_signature(o.time_signature);
  a.key = o.key.empty() ? estimate_key(notes) : parse_key(o.key);

  BeatTrackerOptions bo;
  bo.fixed_bpm = o.tempo_bpm;
  const bool learned = beats && !beats->beat.empty();
  const OnsetEnvelope env = learned ? beat_envelope(*beats) : onset_envelope(notes, duration_s);
  // The network has chosen the metrical level already (it marks beats, not onsets): the level
  // step's prior only second-guesses it (docs/score.md: level choice on or off with the network).
  if (learned) bo.choose_level = false;
  a.beats = track_beats(env, bo).beats;
  if (a.beats.size() < 2) {
    const double period = 60.0 / (o.tempo_bpm > 0 ? o.tempo_bpm : 120.0);
    double end = std::max(duration_s, period);
    for (const Note& n : notes) end = std::max(end, n.offset);
    a.beats.clear();
    for (double t = 0.0; t <= end + 1e-9; t += period) a.beats.push_back(t);
    if (a.beats.size() < 2) a.beats.push_back(period);
  }
  MeterOptions mo;
  mo.time_signature = o.time_signature;
  a.meter = estimate_meter(notes, a.beats, mo);
  if (!o.time_signature.empty()) {
    a.meter.numerator = given_meter.numerator;
    a.meter.denominator = given_meter.denominator;
  }
  const std::size_t m = static_cast<std::size_t>(std::max(1, a.meter.beats_per_bar));
  for (std::size_t i = static_cast<std::size_t>(a.meter.first_downbeat) % m; i < a.beats.size(); i += m)
    a.downbeats.push_back(a.beats[i]);
  a.tempo_bpm = median_tempo(a.beats);
  return a;
}

Score notate(const NoteList& notes, const MusicAnalysis& a, const AnalysisOptions& o) {
  return quantize(notes, a.beats, a.meter, a.key, o.quantize);
}

}  // namespace qs
