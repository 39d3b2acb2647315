#include "qscribe/piano_roll.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "qscribe/error.hpp"

namespace qs {
namespace {

// score.py's tolerance: a time a hair below a frame time (float noise) still counts as on it.
constexpr double kFrameEps = 1e-9;

void check_frame_rate(double frame_rate) {
  if (!(frame_rate > 0) || !std::isfinite(frame_rate)) throw Error("piano roll: frame rate must be a positive number");
}

PianoRoll empty_roll(std::size_t n_frames, double frame_rate, const RollLayout& layout) {
  check_frame_rate(frame_rate);
  PianoRoll roll;
  roll.pitch_classes = layout.pitch_classes;
  roll.n_notes = layout.pitch_classes ? 12 : layout.n_notes;
  roll.lowest_pitch = layout.pitch_classes ? 60 : layout.lowest_pitch;
  if (roll.n_notes == 0 || roll.n_notes > 128) throw Error("piano roll: the number of notes must be 1..128");
  if (n_frames > std::numeric_limits<std::size_t>::max() / roll.n_notes / sizeof(float))
    throw Error("piano roll: " + std::to_string(n_frames) + " frames is too many");
  roll.n_frames = n_frames;
  roll.data.assign(n_frames * roll.n_notes, 0.0f);
  return roll;
}

// Column of `pitch` in the roll, or -1 when the roll does not hold it.
long column_of(const PianoRoll& roll, int pitch) {
  if (roll.pitch_classes) return ((pitch % 12) + 12) % 12;
  const long k = static_cast<long>(pitch) - roll.lowest_pitch;
  return k >= 0 && k < static_cast<long>(roll.n_notes) ? k : -1;
}

// First frame whose time is >= t (clamped to [0, n_frames]); frames in [ceil(a), ceil(b)) lie in [a, b).
std::size_t first_frame_at_or_after(double t, double frame_rate, std::size_t n_frames) {
  const double j = std::ceil(t * frame_rate - kFrameEps);
  if (!(j > 0)) return 0;
  return j >= static_cast<double>(n_frames) ? n_frames : static_cast<std::size_t>(j);
}

// Frame nearest time t, or -1 when outside the roll.
long nearest_frame(double t, double frame_rate, std::size_t n_frames) {
  const double j = std::floor(t * frame_rate + 0.5);
  return j >= 0 && j < static_cast<double>(n_frames) ? static_cast<long>(j) : -1;
}

bool valid_times(const Note& n) { return std::isfinite(n.onset) && std::isfinite(n.offset) && n.offset > n.onset; }

}  // namespace

std::size_t frames_for_duration(double seconds, double frame_rate) {
  check_frame_rate(frame_rate);
  return first_frame_at_or_after(seconds, frame_rate, std::numeric_limits<std::size_t>::max() / 2);
}

PianoRoll notes_to_frame_roll(const NoteList& notes, std::size_t n_frames, double frame_rate, const RollLayout& layout) {
  PianoRoll roll = empty_roll(n_frames, frame_rate, layout);
  for (const Note& n : notes) {
    const long k = column_of(roll, n.pitch);
    if (k < 0 || !valid_times(n)) continue;
    std::size_t a = first_frame_at_or_after(n.onset, frame_rate, n_frames);
    std::size_t b = first_frame_at_or_after(n.offset, frame_rate, n_frames);
    if (a >= b) {  // too short to contain a frame time: keep it on the frame nearest its onset
      const long j = nearest_frame(n.onset, frame_rate, n_frames);
      if (j < 0) continue;
      a = static_cast<std::size_t>(j);
      b = a + 1;
    }
    for (std::size_t j = a; j < b; ++j) roll.at(j, static_cast<std::size_t>(k)) = 1.0f;
  }
  return roll;
}

PianoRoll notes_to_frame_roll(const NoteList& notes, std::size_t n_frames, double frame_rate, int lowest_pitch,
                              std::size_t n_notes) {
  return notes_to_frame_roll(notes, n_frames, frame_rate, RollLayout{lowest_pitch, n_notes, false});
}

PianoRoll notes_to_onset_roll(const NoteList& notes, std::size_t n_frames, double frame_rate, const RollLayout& layout) {
  PianoRoll roll = empty_roll(n_frames, frame_rate, layout);
  for (const Note& n : notes) {
    const long k = column_of(roll, n.pitch);
    if (k < 0 || !valid_times(n)) continue;
    const long j = nearest_frame(n.onset, frame_rate, n_frames);
    if (j >= 0) roll.at(static_cast<std::size_t>(j), static_cast<std::size_t>(k)) = 1.0f;
  }
  return roll;
}

PianoRoll notes_to_onset_roll(const NoteList& notes, std::size_t n_frames, double frame_rate, int lowest_pitch,
                              std::size_t n_notes) {
  return notes_to_onset_roll(notes, n_frames, frame_rate, RollLayout{lowest_pitch, n_notes, false});
}

NoteList frame_roll_to_notes(const PianoRoll& frames, double frame_rate, float threshold, const PianoRoll* onsets,
                             int velocity) {
  check_frame_rate(frame_rate);
  if (frames.data.size() != frames.n_frames * frames.n_notes) throw Error("piano roll: data size does not match its shape");
  if (onsets && (onsets->n_frames != frames.n_frames || onsets->n_notes != frames.n_notes ||
                 onsets->data.size() != frames.data.size()))
    throw Error("piano roll: the onset roll's shape differs from the frame roll's");
  NoteList notes;
  auto emit = [&](std::size_t k, std::size_t start, std::size_t end) {
    notes.push_back(Note{start / frame_rate, end / frame_rate, frames.lowest_pitch + static_cast<int>(k), velocity});
  };
  for (std::size_t k = 0; k < frames.n_notes; ++k) {
    bool active = false;
    std::size_t start = 0;
    for (std::size_t j = 0; j < frames.n_frames; ++j) {
      const bool on = frames.at(j, k) >= threshold;
      const bool restrike = active && on && onsets && onsets->at(j, k) >= threshold;
      if (active && (!on || restrike)) {
        emit(k, start, j);
        active = false;
      }
      if (on && !active) {
        active = true;
        start = j;
      }
    }
    if (active) emit(k, start, frames.n_frames);
  }
  sort_notes(notes);
  return notes;
}

}  // namespace qs
