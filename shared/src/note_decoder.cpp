#include "qscribe/note_decoder.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "qscribe/error.hpp"

namespace qs {
namespace {

constexpr int kMaxNotes = 128;  // MIDI range: bounds the per-pitch state kept on the stack

// NaN and negative values count as 0 (NaN fails `x > 0`).
inline float clean(float x) { return x > 0.0f ? x : 0.0f; }

int velocity_from(double mean_prob) {
  const double p = std::min(1.0, std::max(0.0, mean_prob));
  return 1 + static_cast<int>(std::lround(126.0 * p));
}

void check_shape(const Activations& act) {
  if (act.n_notes < 1 || act.n_notes > kMaxNotes)
    throw Error("note decoder: n_notes must be between 1 and 128, got " + std::to_string(act.n_notes));
  if (act.lowest_pitch < 0 || act.lowest_pitch + act.n_notes > kMaxNotes)
    throw Error("note decoder: pitches " + std::to_string(act.lowest_pitch) + ".." +
                std::to_string(act.lowest_pitch + act.n_notes - 1) + " fall outside MIDI 0..127");
  if (!(act.frame_rate > 0.0 && std::isfinite(act.frame_rate)))
    throw Error("note decoder: frame_rate must be a positive number of frames per second");
  if (act.n_frames > 0 && act.frames == nullptr)
    throw Error("note decoder: no frame probabilities given");
}

// Per-pitch running state of the single pass over frames.
struct Voices {
  int start[kMaxNotes];     // first frame of the sounding note, -1 when silent
  double sum[kMaxNotes];    // sum of its frame probabilities (for the velocity)
  int rise[kMaxNotes];      // while silent: first frame of the current run above the frame threshold, -1: none
  double rise_sum[kMaxNotes];  // sum of that run's frame probabilities
};

// A re-strike's evidence at peak frame j of pitch k, sounding since frame `start`: the onset
// probability plus `weight` times the frame probability's rise around the peak (note_decoder.hpp).
float restrike_evidence(const Activations& act, std::size_t j, int k, int start, float weight) {
  const std::size_t notes = static_cast<std::size_t>(act.n_notes);
  const float onset = act.onsets[j * notes + k];
  if (!(weight > 0.0f)) return onset;
  constexpr std::size_t kLookBack = 6, kLookAhead = 2;
  const std::size_t from = std::max(static_cast<std::size_t>(start), j >= kLookBack ? j - kLookBack : 0);
  float dip = clean(act.frames[j * notes + k]);
  for (std::size_t i = from; i < j; ++i) dip = std::min(dip, clean(act.frames[i * notes + k]));
  const float ahead = clean(act.frames[std::min(act.n_frames - 1, j + kLookAhead) * notes + k]);
  return onset + weight * std::max(0.0f, ahead - dip);
}

// Whether a weak onset peak at frame j on a silent pitch k lacks the frames a note needs
// (note_decoder.hpp): the mean frame probability over frames j..j+2 is at or below `min_frame`.
bool weak_without_frames(const Activations& act, std::size_t j, int k, float min_frame) {
  const std::size_t notes = static_cast<std::size_t>(act.n_notes), end = std::min(act.n_frames, j + 3);
  float sum = 0.0f;
  for (std::size_t i = j; i < end; ++i) sum += clean(act.frames[i * notes + k]);
  return !(sum / static_cast<float>(end - j) > min_frame);
}

}  // namespace

void DecoderParams::validate() const {
  auto fail = [](const char* field, const std::string& why) {
    throw Error(std::string("invalid decoding parameter '") + field + "': " + why);
  };
  if (!(onset_threshold >= 0.0f && onset_threshold <= 1.0f)) fail("onset_threshold", "must be between 0 and 1");
  if (!(frame_threshold >= 0.0f && frame_threshold <= 1.0f)) fail("frame_threshold", "must be between 0 and 1");
  if (!(min_note_length_s >= 0.0 && min_note_length_s <= 60.0))
    fail("min_note_length_s", "must be between 0 and 60 seconds");
  if (!(restrike_threshold >= 0.0f && restrike_threshold <= 1.0f)) fail("restrike_threshold", "must be between 0 and 1");
  if (!(min_restrike_gap_s >= 0.0 && min_restrike_gap_s <= 60.0))
    fail("min_restrike_gap_s", "must be between 0 and 60 seconds");
  if (!(rise_threshold >= 0.0f && rise_threshold <= 1.0f)) fail("rise_threshold", "must be between 0 and 1");
  if (!(weak_onset_threshold >= 0.0f && weak_onset_threshold <= 1.0f))
    fail("weak_onset_threshold", "must be between 0 and 1");
  if (!(weak_onset_frame >= 0.0f && weak_onset_frame <= 1.0f)) fail("weak_onset_frame", "must be between 0 and 1");
  if (!(restrike_rise_weight >= 0.0f && restrike_rise_weight <= 10.0f))
    fail("restrike_rise_weight", "must be between 0 and 10");
}

void decode_notes(const Activations& act, const DecoderParams& params, NoteList& out) {
  check_shape(act);
  params.validate();
  out.clear();

  const std::size_t n = act.n_frames;
  const int notes = act.n_notes;
  const float on_thr = params.onset_threshold;
  const float fr_thr = params.frame_threshold;
  // A rise without an onset peak starts a note once above rise_thr (infinite: never).
  const bool any_rise = params.frame_fallback || act.onsets == nullptr;
  const float rise_thr = any_rise ? fr_thr
                         : params.rise_threshold > 0.0f ? std::max(fr_thr, params.rise_threshold)
                                                        : std::numeric_limits<float>::infinity();
  // Minimum length in frames; the epsilon keeps "exactly 2.5 frames" stable under rounding.
  const double min_frames = params.min_note_length_s * act.frame_rate - 1e-9;
  const float restrike_thr = std::max(on_thr, params.restrike_threshold);
  const double restrike_gap = params.min_restrike_gap_s * act.frame_rate - 1e-9;  // frames
  const double hop_s = 1.0 / act.frame_rate;

  Voices v;
  std::fill(v.start, v.start + notes, -1);
  std::fill(v.rise, v.rise + notes, -1);

  auto close = [&](int k, std::size_t end) {
    const int s = v.start[k];
    v.start[k] = -1;
    const std::size_t len = end - static_cast<std::size_t>(s);
    if (static_cast<double>(len) < min_frames) return;
    Note note;
    note.onset = static_cast<double>(s) * hop_s;
    note.offset = static_cast<double>(end) * hop_s;
    note.pitch = act.lowest_pitch + k;
    note.velocity = velocity_from(v.sum[k] / static_cast<double>(len));
    out.push_back(note);
  };

  for (std::size_t j = 0; j < n; ++j) {
    const float* f = act.frames + j * notes;
    const float* o = act.onsets ? act.onsets + j * notes : nullptr;
    const float* o_prev = (o && j > 0) ? o - notes : nullptr;
    const float* o_next = (o && j + 1 < n) ? o + notes : nullptr;
    for (int k = 0; k < notes; ++k) {
      // Comparisons with `>` already treat NaN as "not above"; clean() only where values mix.
      const float fv = f[k];
      bool peak = false;
      if (o) {
        const float ov = o[k];
        if (ov > on_thr) {
          // Local maximum over time; frames outside the signal count as 0.
          const float prev = o_prev ? clean(o_prev[k]) : 0.0f;
          const float next = o_next ? clean(o_next[k]) : 0.0f;
          peak = ov > prev && ov >= next;
          if (peak && v.start[k] < 0 && ov <= params.weak_onset_threshold)
            peak = !weak_without_frames(act, j, k, params.weak_onset_frame);
        }
      }
      if (v.start[k] >= 0) {
        const bool restrike =
            peak && static_cast<double>(j - static_cast<std::size_t>(v.start[k])) >= restrike_gap &&
            restrike_evidence(act, j, k, v.start[k], params.restrike_rise_weight) > restrike_thr;
        if (restrike) {
          close(k, j);
        } else if (fv > fr_thr) {
          v.sum[k] += fv;  // a peak too weak or too soon to re-strike: the note sounds on
          continue;
        } else {
          close(k, j);
          if (!peak) continue;  // a peak where the note ends starts the next one
        }
      } else if (!peak) {
        // Silent and no peak: follow the run above the frame threshold; it becomes a note,
        // from its first frame, once it exceeds the rise threshold.
        if (!(fv > fr_thr)) {
          v.rise[k] = -1;
          continue;
        }
        if (v.rise[k] < 0) {
          v.rise[k] = static_cast<int>(j);
          v.rise_sum[k] = 0.0;
        }
        v.rise_sum[k] += fv;
        if (fv > rise_thr) {
          v.start[k] = v.rise[k];
          v.sum[k] = v.rise_sum[k];
          v.rise[k] = -1;
        }
        continue;
      }
      v.start[k] = static_cast<int>(j);
      v.sum[k] = clean(fv);
      v.rise[k] = -1;
    }
  }
  for (int k = 0; k < notes; ++k)
    if (v.start[k] >= 0) close(k, n);
  // (onset, pitch) is unique among decoded notes, so an unstable in-place sort gives
  // qs::sort_notes' order without its temporary buffer.
  std::sort(out.begin(), out.end(), [](const Note& a, const Note& b) {
    return a.onset < b.onset || (a.onset == b.onset && a.pitch < b.pitch);
  });
}

NoteList decode_notes(const Activations& act, const DecoderParams& params) {
  NoteList out;
  decode_notes(act, params, out);
  return out;
}

void sigmoid_inplace(float* values, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) values[i] = 1.0f / (1.0f + std::exp(-values[i]));
}

}  // namespace qs
