// Note decoding: per-frame note probabilities -> note events.
//
// The model emits, for every frame and note, the probability that the note is sounding
// (`frames`) and the probability that it starts there (`onsets`). The decoder turns those two
// [n_frames x n_notes] row-major matrices into a qs::NoteList. It allocates nothing but the
// output, so the browser can re-run it on every threshold slider move (5 minutes of audio,
// ~13000 x 88 frames, decode in about a millisecond).
//
// Semantics (all thresholds are strict: a value is "above" t when value > t):
//  - A note of pitch k starts at frame j when the onset probability has a peak there: a local
//    maximum over time above `onset_threshold` (o[j] > o[j-1] and o[j] >= o[j+1]; the first
//    frame of a plateau counts). With `frame_fallback` (or when no onsets are given), a note
//    also starts where the frame probability is above `frame_threshold` while no note of that
//    pitch is sounding (a rise without an onset peak). With `rise_threshold` > 0 (and no
//    frame_fallback), such a rise starts a note only once its frame probability exceeds
//    `rise_threshold`; the note then starts at the rise's first frame above `frame_threshold`.
//    A legato change of pitch (a slur, a sung glide) or a re-entry after a short dip often has
//    no onset peak, although the model is sure that the new pitch sounds (docs/training.md).
//  - The note lasts while the frame probability stays above `frame_threshold`; it ends at the
//    first frame at or below it. The onset frame itself always belongs to the note.
//  - An onset peak on a pitch that is already sounding re-strikes it (the old note ends at that
//    frame and a new one starts there) when the peak is also above `restrike_threshold` and the
//    sounding note has lasted at least `min_restrike_gap_s`; other peaks leave it sounding. A
//    held note's onset probability wavers (vibrato, bowing, a pad's swell) and would otherwise
//    chop it into a chain of short notes, where a fresh note needs less evidence (docs/training.md).
//    With `restrike_rise_weight` w > 0 the peak's evidence is its onset probability plus w times
//    the rise of the note's frame probability around it: the frame probability two frames after
//    the peak less its lowest value over the peak frame and the 6 frames before it (within the
//    note; 0 when it fell). A note struck again dips and comes back; a held note whose onset
//    probability wavers does not, so a weaker peak with a rise re-strikes and a strong peak on a
//    flat note may not (+0.003 to +0.004 note F1 on every dev set, docs/training.md).
//  - With `weak_onset_threshold` > 0, a weak peak (at or below it) on a silent pitch starts a note
//    only when the frame probability, averaged over the peak frame and the next two, exceeds
//    `weak_onset_frame`; otherwise it counts as no peak there. The model's weakest onsets with no
//    note sounding after them are mostly wrong (docs/training.md).
//  - Notes shorter than `min_note_length_s` are dropped.
//  - Times: frame j is centred at t = j / frame_rate. A note covering frames [s, e) has
//    onset = s / frame_rate and offset = e / frame_rate (so a 1-frame note lasts one hop).
//  - Velocity: the note's mean frame probability p over its frames, mapped linearly to
//    1 + round(126 * p) (p clamped to [0, 1]): 1 for p = 0, 64 for p = 0.5, 127 for p = 1.
//    It is a confidence proxy; the baseline model is not trained on loudness.
//  - NaN and negative probabilities are treated as 0.
#pragma once
#include <cstddef>

#include "qscribe/note.hpp"

namespace qs {

// User-adjustable decoding thresholds (also stored in the model's JSON sidecar, "decoding").
struct DecoderParams {
  float onset_threshold = 0.5f;     // probability an onset peak must exceed to start a note
  float frame_threshold = 0.3f;     // probability a note's frames must exceed to keep sounding
  // Shortest note kept, in seconds. 0.058 s = 2.5 frames at 43.07 frames/s: notes of 3 or more
  // frames are kept, 1- and 2-frame blips are dropped.
  double min_note_length_s = 0.058;
  // Start notes at frame rises that have no onset peak (ignored, i.e. always on, when the
  // activations carry no onsets).
  bool frame_fallback = true;
  // Onset probability a peak must exceed to re-strike a pitch that is still sounding (on top of
  // onset_threshold; 0: onset_threshold alone, every peak re-strikes).
  float restrike_threshold = 0.0f;
  // Shortest time from a sounding note's start to a re-strike of it, in seconds (0: any time).
  double min_restrike_gap_s = 0.0;
  // Weight of the frame probability's rise around a peak in the re-strike test (0: the onset
  // probability alone): the peak re-strikes when onset + weight * rise > the re-strike threshold.
  float restrike_rise_weight = 0.0f;
  // A peak at or below this onset probability on a silent pitch needs frames too (0: off) ...
  float weak_onset_threshold = 0.0f;
  // ... their mean frame probability over the peak frame and the next two must exceed this.
  float weak_onset_frame = 0.35f;
  // Frame probability a rise without an onset peak must exceed to start a note when
  // frame_fallback is off (0: such rises never start notes).
  float rise_threshold = 0.0f;

  // Throws qs::Error naming the field when a value is out of range (thresholds in [0, 1],
  // weak_onset_frame too; min_note_length_s and min_restrike_gap_s in [0, 60];
  // restrike_rise_weight in [0, 10]).
  void validate() const;
};

// A view of the model's output probabilities (not owned).
struct Activations {
  const float* frames = nullptr;  // [n_frames x n_notes] row-major, frame probabilities in [0, 1]
  const float* onsets = nullptr;  // same shape, onset probabilities; nullptr: frame-only model
  std::size_t n_frames = 0;
  int n_notes = 88;               // 88 piano keys, or 12 pitch classes
  int lowest_pitch = 21;          // MIDI pitch of note index 0 (21 = A0; 12-class models: e.g. 60)
  double frame_rate = 22050.0 / 512.0;  // frames per second (sample_rate / hop_length)
};

// Decodes notes, sorted by onset then pitch (qs::sort_notes). Throws qs::Error on an invalid
// shape (n_notes < 1, lowest_pitch + n_notes > 128, no frame data, frame_rate <= 0) or invalid
// parameters.
NoteList decode_notes(const Activations& act, const DecoderParams& params = {});
// The same, reusing `out`'s capacity (cleared first): no allocation once `out` is large enough.
void decode_notes(const Activations& act, const DecoderParams& params, NoteList& out);

// In-place logistic sigmoid: the model's `frame_logits` / `onset_logits` -> probabilities.
void sigmoid_inplace(float* values, std::size_t n);

}  // namespace qs
