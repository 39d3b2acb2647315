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
// Tempo, time-signature and key-signature meta events are returned too (MidiContents), from the
// merged timeline of formats 0 and 1 and from track 1 alone in format 2; midi_beat_grid() turns
// them into the file's beats and bars.
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
  bool by_channel = false;     // also fill MidiContents::channels
};

// One MIDI channel's share of a file (MidiReadOptions::by_channel).
struct MidiChannelContents {
  // The channel's first program change (Cn pp) in file order (track by track, as stored), or -1.
  int program = -1;
  NoteList notes;  // the channel's notes, sorted with sort_notes(); all channels together are `notes`
};

// A tempo meta event (FF 51): from time_s on, a quarter note lasts 60 / bpm seconds.
struct MidiTempo {
  double time_s = 0.0;
  double bpm = 120.0;  // quarter notes per minute
};

// A time-signature meta event (FF 58), e.g. 6/8: numerator 6, denominator 8.
struct MidiTimeSignature {
  double time_s = 0.0;
  int numerator = 4;    // >= 1
  int denominator = 4;  // 1, 2, 4, ... 64
};

// A key-signature meta event (FF 59): fifths > 0 sharps, < 0 flats (-7..7); minor or major.
struct MidiKeySignature {
  double time_s = 0.0;
  int fifths = 0;
  bool minor = false;
};

// Everything the reader learns about a file besides its notes.
struct MidiContents {
  NoteList notes;         // sorted with sort_notes()
  double end_time = 0.0;  // s, time of the last event (usually the last end-of-track)
  int format = 0;         // SMF format 0, 1 or 2
  int n_tracks = 0;       // MTrk chunks read
  int ppq = 0;            // ticks per quarter note; 0 when the division is SMPTE
  // Meta events in time order (formats 0/1: all tracks merged; format 2: the first track's).
  // Events stated at the same instant keep the last one. Malformed ones (a time signature with
  // numerator 0 or denominator beyond 1/64, a key beyond 7 sharps or flats) are skipped.
  std::vector<MidiTempo> tempos;
  std::vector<MidiTimeSignature> time_signatures;
  std::vector<MidiKeySignature> key_signatures;
  // With MidiReadOptions::by_channel: 16 entries, indexed by channel (0..15); empty otherwise.
  std::vector<MidiChannelContents> channels;
};

// Parses an SMF held in memory (a RIFF "RMID" wrapper is accepted too).
MidiContents parse_midi(const std::uint8_t* data, std::size_t size, const MidiReadOptions& options = {});
// Notes of an SMF held in memory.
NoteList read_midi(const std::vector<std::uint8_t>& bytes, const MidiReadOptions& options = {});
// Notes of an SMF on disk; errors name the file.
NoteList read_midi_file(const std::string& path, const MidiReadOptions& options = {});

// The beats and bars a file states, from time 0 to end_time: the tempo map (120 bpm until the
// first tempo event) and the time signatures (4/4 until the first one). A beat is the
// denominator's note, except in the compound meters 6/8, 9/8, 12/8 (and any numerator divisible
// by 3 and above 3 over 8), whose beat is the dotted quarter: 6/8 has 2 beats a bar. A
// time-signature event starts a new bar (and restarts the beat count) where it stands. The grid
// stops after kMaxGridBeats beats.
struct MidiBeatGrid {
  std::vector<double> beats;      // s, increasing
  std::vector<double> downbeats;  // s, the beats that start a bar
  std::vector<int> bar;           // per beat: bar number, 1 = the bar starting at time 0
  std::vector<int> beat_in_bar;   // per beat: 1 = downbeat, 2, ...
};
constexpr std::size_t kMaxGridBeats = 1u << 20;
MidiBeatGrid midi_beat_grid(const MidiContents& contents);

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
// Appends `v` as an SMF variable-length quantity (a delta time; most significant 7 bits first).
void append_midi_vlq(std::vector<std::uint8_t>& out, std::uint32_t v);
void write_midi_file(const std::string& path, const NoteList& notes, const MidiWriteOptions& options = {});

// A MIDI file on a musical grid (quantised music): notes are placed in ticks, beat k starts at
// tick k * ticks_per_beat, and a tempo event wherever the beat length changes makes the ticks
// play at the performance's times. Time and key signatures are written, so a DAW's bars and
// beats line up with the music. Format 1: a meta track and a note track.
struct MidiGridNote {
  std::uint64_t tick = 0, duration = 1;  // ticks
  int pitch = 60, velocity = 64;
};
struct MidiGrid {
  int ppq = 480;                     // ticks per quarter note
  int ticks_per_beat = 480;          // 720 for the dotted-quarter beat of 6/8
  std::vector<double> beat_seconds;  // duration of each beat, s (the last one holds to the end)
  int numerator = 4, denominator = 4;
  int key_fifths = 0;
  bool key_minor = false;
  int program = 0;  // General MIDI program, -1 for none
  int channel = 0;
};
std::vector<std::uint8_t> write_midi_grid(const std::vector<MidiGridNote>& notes, const MidiGrid& grid);

}  // namespace qs
