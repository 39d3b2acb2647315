// Beat tracking of a whole piece from its notes.
//
// 1. Onset strength: every note onset adds a bump (a 20 ms Gaussian) to an envelope sampled at
//    100 frames/s, weighted by loudness, length and register (bass and long notes mark the beat
//    more often than short off-beat chords).
//    Working from the transcription, not from the audio, means the tracker sees what the model
//    heard and follows the decoding sliders; the whole tracker costs about 60 ms per minute of music
//    natively (half of it the tempo path, half the five levels of step 5).
// 2. Local tempo: the autocorrelation of the envelope in 8 s windows (hop 1 s), enhanced with its
//    2x, 3x and 4x lags (weights 0.5, 0.2, 0.5: a pulse whose multiples, the bar above all, are
//    also pulses is a metrical level) and weighted by a log-normal tempo prior around 110 bpm. Each window's salience is divided by its
//    variance, so a window with clear periodicity votes strongly and a vague one (slow attacks)
//    hardly at all. A Viterbi path over windows picks one period per window, penalising changes
//    by (log period ratio)^2, so the tempo can drift, ramp and change but does not jump between
//    metrical levels on a whim (docs/score.md).
// 3. Beats: Ellis's dynamic programme (2007, "Beat tracking by dynamic programming") with the
//    local period: score(t) = strength(t) + max over tau of [score(tau) - tightness *
//    log((t - tau) / period(t))^2], traced back from the best frame of the last period. This
//    follows rubato because every beat may land anywhere within the penalty's reach.
// 4. Beats more than half a period before the first onset or after the last one are dropped;
//    each beat moves to the centroid of the onset strength within 60 ms of it (sub-frame timing).
// 5. The metrical level: steps 3-4 run again with the path's periods times 1/2, 2, 2/3 and 3/2
//    (the 3:2 levels are a dotted beat taken for a plain one, and back), and the level with the
//    highest mean onset strength at its beats wins, less a log-normal prior on its tempo
//    (160 bpm, 0.9 octave: strength alone favours the slowest level, which keeps only the
//    strongest beats). Chosen on MIDI files read symbolically, half of them held out
//    (docs/score.md): most of the tracker's errors were a level off by 2 or 3/2.
// 6. Swing tracked on its off-beat (step 5's beats carry onsets at 1/3 of the beat, short-long,
//    and hardly any at 1/2 or 2/3): swung eighths (long-short) that outnumber the notes on the beat
//    pull the DP onto them, so the beats move a third of a beat later, onto the long note. A 6/8
//    jig with eighth-quarter figures looks the same and is moved too (coleraine, docs/score.md).
#pragma once
#include <vector>

#include "qscribe/note.hpp"

namespace qs {

struct OnsetEnvelope {
  std::vector<float> strength;  // per frame, >= 0
  double frame_rate = 100.0;    // frames per second; frame j is at t = j / frame_rate
};

// The note-onset envelope of `notes` over [0, duration_s] (duration_s <= 0: the last offset + 1 s).
OnsetEnvelope onset_envelope(const NoteList& notes, double duration_s = 0.0, double frame_rate = 100.0);

struct BeatTrackerOptions {
  double min_bpm = 40.0, max_bpm = 240.0;  // range of beat periods considered
  double prior_bpm = 110.0;                // centre of the log-normal tempo prior
  double prior_octaves = 0.9;              // its standard deviation, in octaves
  double window_s = 8.0, hop_s = 1.0;      // local tempo analysis
  double tempo_change_penalty = 6.0;       // Viterbi cost per (log period ratio)^2
  double tightness = 150.0;                // DP penalty on beat intervals off the local period (docs/score.md)
  double fixed_bpm = 0.0;                  // > 0: a strictly steady grid at this tempo (only its phase is found)
  bool choose_level = true;                // compare the path's level with 2x, 1/2x, 3/2x, 2/3x (BeatLevel)
  double level_prior_bpm = 160.0;          // their tempo prior: centre ...
  double level_prior_octaves = 0.9;        // ... and standard deviation in octaves
  double swing_ratio = 1.6;                // beats with this much more onset strength at 1/3 of the beat than
                                           // at 1/2 and 2/3 are swing tracked on its off-beat: they move by
                                           // a third of a beat (0: never; docs/score.md)
};

// One metrical level considered by track_beats.
struct BeatLevel {
  double factor = 1.0;        // beat period / the tempo path's
  std::vector<double> beats;  // s
  double bpm = 0.0;           // median tempo
  double strength = 0.0;      // mean onset strength at the beats, in standard deviations of the envelope
  double score = 0.0;         // strength - 0.5 * (log2(bpm / level_prior_bpm) / level_prior_octaves)^2
};

struct BeatTrack {
  std::vector<double> beats;      // s, increasing
  std::vector<double> local_bpm;  // the tempo path, one value per hop_s window
  double hop_s = 1.0;
  double tempo_bpm = 0.0;         // median of 60 / beat interval (0 when fewer than 2 beats)
  std::vector<BeatLevel> levels;  // the metrical levels considered (the best score won)
  bool swing_shifted = false;     // the beats were moved a third of a beat onto the swing's long notes
};

BeatTrack track_beats(const OnsetEnvelope& envelope, const BeatTrackerOptions& options = {});


// Median tempo of a beat list, bpm (0 when fewer than 2 beats).
double median_tempo(const std::vector<double>& beats);

}  // namespace qs
