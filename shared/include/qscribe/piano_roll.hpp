// Notes <-> piano rolls on the feature frame grid (training targets and round-trip tests).
//
// Frame convention (the same as ../shared/eval/score.py): frame j is centred on time
// t_j = j / frame_rate seconds, i.e. j * hop_length / sample_rate for CQT frames
// (CqtParams::frame_rate()). A note is active in frame j when onset <= t_j < offset, so it covers
// frames ceil(onset * frame_rate) .. ceil(offset * frame_rate) - 1. A note too short to contain
// any t_j still marks the frame nearest its onset, so no note inside the roll is lost.
// An onset roll marks, per note, the single frame nearest its onset (round(onset * frame_rate)).
// Notes whose marked frames fall outside [0, n_frames) are clipped; pitches outside the roll's
// range are ignored.
#pragma once
#include <cstddef>
#include <vector>

#include "qscribe/note.hpp"

namespace qs {

// A [n_frames x n_notes] matrix of float32, row-major: data[frame * n_notes + note].
// Column k is MIDI pitch lowest_pitch + k; for a pitch-class roll (n_notes 12, pitch_classes)
// column k is pitch class k (C = 0, C# = 1, ... B = 11, any octave) and lowest_pitch is 60 so
// that frame_roll_to_notes() returns the classes as notes in the octave of middle C.
struct PianoRoll {
  std::size_t n_frames = 0;
  std::size_t n_notes = 0;
  int lowest_pitch = 21;
  bool pitch_classes = false;
  std::vector<float> data;  // row-major [frame][note], 0 or 1 as made by the functions below

  float at(std::size_t frame, std::size_t note) const { return data[frame * n_notes + note]; }
  float& at(std::size_t frame, std::size_t note) { return data[frame * n_notes + note]; }
};

// Which pitches the roll's columns hold.
struct RollLayout {
  int lowest_pitch = 21;       // MIDI pitch of column 0 (A0); ignored for pitch classes
  std::size_t n_notes = 88;    // columns; forced to 12 for pitch classes
  bool pitch_classes = false;  // fold every octave onto 12 pitch classes (`--only-note-names`)

  static RollLayout piano() { return {}; }
  static RollLayout note_names() { return {60, 12, true}; }
};

// frame_rate: frames per second (> 0). Throws qs::Error on an invalid frame rate or layout.
PianoRoll notes_to_frame_roll(const NoteList& notes, std::size_t n_frames, double frame_rate,
                              const RollLayout& layout = {});
PianoRoll notes_to_frame_roll(const NoteList& notes, std::size_t n_frames, double frame_rate, int lowest_pitch,
                              std::size_t n_notes = 88);
PianoRoll notes_to_onset_roll(const NoteList& notes, std::size_t n_frames, double frame_rate,
                              const RollLayout& layout = {});
PianoRoll notes_to_onset_roll(const NoteList& notes, std::size_t n_frames, double frame_rate, int lowest_pitch,
                              std::size_t n_notes = 88);

// Number of frames that cover `seconds` of audio: ceil(seconds * frame_rate).
std::size_t frames_for_duration(double seconds, double frame_rate);

// Inverse, for tests and simple decoding: each run of frames with value >= threshold becomes a
// note from t_start to t_end (the time of the first frame after the run). With an onset roll of
// the same shape, an active onset frame inside a run starts a new note (repeated notes).
// Velocity is `velocity` for every note. Notes are sorted.
NoteList frame_roll_to_notes(const PianoRoll& frames, double frame_rate, float threshold = 0.5f,
                             const PianoRoll* onsets = nullptr, int velocity = 64);

}  // namespace qs
