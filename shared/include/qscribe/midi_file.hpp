// Standard MIDI File (SMF) reading and writing: MIDI <-> qs::Note lists.
//
// Reading follows the conventions of ../shared/eval/midinotes.py (the scorer's reader), so labels
// made here and scores computed there agree:
//   * formats 0 and 1 are read as one merged timeline: a tempo event in any track applies to all;
//     format 2 tracks are independent sequences, each starting at time 0 with its own tempo map;
//   * PPQ and SMPTE divisions; note-on with velocity 0 is a note-off;
//   * note-offs pair with note-ons first-in-first-out per (channel, pitch); a note-on of a pitch
//     that is still sounding (held, or sustained by the pedal) ends the earlier note;
//   * sustain pedal (CC64 >= 64 = down), per channel: a note released while the pedal is down
//     ends at the pedal release or at the next onset of its pitch on that channel, whichever first;
//   * channel 10 (index 9, General MIDI drums) is dropped; notes still sounding at the end end at
//     the end of the file (the last event of any track); zero-length notes are dropped.
// Any malformed input throws qs::Error ("not a MIDI file", "truncated track 2", ...); reading is
// bounds-checked and linear in the input size.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qscribe/note.hpp"

namespace qs {

struct MidiReadOptions {
  bool sustain_pedal = true;   // extend offsets with CC64
  bool include_drums = false;  // keep channel 10 (index 9)
};

// Everything the reader learns about a file besides its notes.
struct MidiContents {
  NoteList notes;         // sorted with sort_notes()
  double end_time = 0.0;  // s, time of the last event (usually the last end-of-track)
  int format = 0;         // SMF format 0, 1 or 2
  int n_tracks = 0;       // MTrk chunks read
  int ppq = 0;            // ticks per quarter note; 0 when the division is SMPTE
};

// Parses an SMF held in memory (a RIFF "RMID" wrapper is accepted too).
MidiContents parse_midi(const std::uint8_t* data, std::size_t size, const MidiReadOptions& options = {});
// Notes of an SMF held in memory.
NoteList read_midi(const std::vector<std::uint8_t>& bytes, const MidiReadOptions& options = {});
// Notes of an SMF on disk; errors name the file.
NoteList read_midi_file(const std::string& path, const MidiReadOptions& options = {});

struct MidiWriteOptions {
  int format = 1;       // 1: tempo track + note track; 0: a single track
  int ppq = 480;        // ticks per quarter note, 1..32767
  double bpm = 120.0;   // the one tempo written
  int program = -1;     // General MIDI program 0..127 written at time 0; -1 writes none
  int channel = 0;      // 0..15
};

// Writes notes as an SMF: sorted events, note-offs before note-ons at the same tick, end-of-track.
// Times are rounded to the nearest tick (a note keeps at least one tick); pitch must be 0..127,
// velocity is clamped to 1..127. Where two notes of one pitch overlap, the earlier one is cut at
// the later onset so readers pair note-ons and note-offs unambiguously.
std::vector<std::uint8_t> write_midi(const NoteList& notes, const MidiWriteOptions& options = {});
void write_midi_file(const std::string& path, const NoteList& notes, const MidiWriteOptions& options = {});

}  // namespace qs
