// From a transcription to music: beats, tempo, meter, key and a notated score, in one call.
// The native tool and the browser both go through here, so they agree on every choice.
#pragma once
#include <string>
#include <vector>

#include "qscribe/beat_activation.hpp"
#include "qscribe/beat_tracker.hpp"
#include "qscribe/key_finder.hpp"
#include "qscribe/meter.hpp"
#include "qscribe/note.hpp"
#include "qscribe/quantizer.hpp"
#include "qscribe/score.hpp"

namespace qs {

// What the user may fix instead of letting the analysis guess (empty / 0: estimate).
struct AnalysisOptions {
  double tempo_bpm = 0.0;      // > 0: a steady tempo in beats per minute (beats of the meter)
  std::string time_signature;  // "3/4", "6/8", ...
  std::string key;             // "Eb major", "F# minor", ...
  QuantizeOptions quantize;
};

struct MusicAnalysis {
  std::vector<double> beats;      // s
  std::vector<double> downbeats;  // s, the beats that start a bar
  double tempo_bpm = 0.0;         // median beats per minute
  Meter meter;
  Key key;
};

// Throws qs::Error for malformed overrides. With fewer than two tracked beats (a lone note,
// silence) the beats are a steady grid at the given tempo or 120 bpm from time 0.
// `beats`: the beat network's activation of the same audio (beat_activation.hpp); the tracker
// reads it in place of the note-onset envelope. Null or empty: the envelope of `notes`.
MusicAnalysis analyse_music(const NoteList& notes, double duration_s, const AnalysisOptions& options = {},
                            const BeatActivation* beats = nullptr);

// The notated score of `notes` on the analysis' beats.
Score notate(const NoteList& notes, const MusicAnalysis& analysis, const AnalysisOptions& options = {});

}  // namespace qs
