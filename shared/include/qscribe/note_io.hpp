// Note lists in text formats (MusicNet label CSV, TSV, JSON) and extension-dispatched file I/O.
//
// Every reader throws qs::Error naming the line (or JSON entry) at fault; "parse_*" functions take
// the text itself, "read_*" / "write_*" functions take a path and prefix errors with it.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "qscribe/note.hpp"

namespace qs {

// ---- MusicNet labels: start_time,end_time,instrument,note,start_beat,end_beat,note_value -------
// Times are in samples of the recording (44.1 kHz in MusicNet); `note` is a MIDI pitch.
// The header line is required; columns are found by name (start_time, end_time, instrument and
// note must be present). CRLF line ends and a UTF-8 BOM are tolerated; rows with
// end_time == start_time are skipped (zero-length), every other bad row is an error.
constexpr double kMusicNetSampleRate = 44100.0;

struct MusicNetLabel {
  double start_time = 0.0;  // samples
  double end_time = 0.0;    // samples
  int instrument = 0;       // MusicNet / General MIDI instrument number
  int note = 60;            // MIDI pitch
  double start_beat = 0.0;
  double end_beat = 0.0;    // MusicNet stores the duration in beats here
  std::string note_value;   // "Quarter", "Dotted Eighth", ...
};

std::vector<MusicNetLabel> parse_musicnet_csv(const std::string& text);
// Labels -> notes (seconds = samples / sample_rate), velocity 64 (MusicNet has none); sorted.
NoteList musicnet_to_notes(const std::vector<MusicNetLabel>& labels, double sample_rate = kMusicNetSampleRate);
NoteList read_musicnet_csv(const std::string& path, double sample_rate = kMusicNetSampleRate);
// Notes -> MusicNet CSV (instrument 1 = piano, beats 0, empty note_value): for tests and tools.
std::string format_musicnet_csv(const NoteList& notes, double sample_rate = kMusicNetSampleRate);

// ---- TSV note lists: onset offset pitch [velocity] ---------------------------------------------
// Seconds, MIDI pitch, velocity 1..127 (default 64 when absent; values are clamped). The reader
// splits on tabs, spaces or commas, ignores '#' comments, blank lines, extra columns and one
// optional header line (a first row that starts with a word, e.g. "onset offset pitch velocity").
// The writer emits "# onset\toffset\tpitch\tvelocity" as a comment (so ../shared/eval/score.py,
// which counts a bare header as a malformed row, reads it cleanly) and one note per row with
// microsecond precision, sorted.
struct TsvWriteOptions {
  bool comment_header = true;  // false: the header line without '#'
  bool velocity = true;        // false: three columns only
};

NoteList parse_notes_tsv(const std::string& text);
std::string format_notes_tsv(const NoteList& notes, const TsvWriteOptions& options = {});
NoteList read_notes_tsv(const std::string& path);
void write_notes_tsv(const std::string& path, const NoteList& notes, const TsvWriteOptions& options = {});

// ---- JSON: {"notes": [{"onset": s, "offset": s, "pitch": p, "velocity": v}, ...], "metadata": {...}}
// "velocity" is optional on reading (default 64); "metadata" is any JSON object, written when
// non-empty and returned through `metadata` when asked for.
NoteList parse_notes_json(const std::string& text, nlohmann::json* metadata = nullptr);
std::string format_notes_json(const NoteList& notes);
std::string format_notes_json(const NoteList& notes, const nlohmann::json& metadata);
NoteList read_notes_json(const std::string& path, nlohmann::json* metadata = nullptr);
void write_notes_json(const std::string& path, const NoteList& notes);
void write_notes_json(const std::string& path, const NoteList& notes, const nlohmann::json& metadata);

// ---- By file extension (case-insensitive) ------------------------------------------------------
// .mid/.midi: read_midi_file (pedal on, drums dropped) / write_midi_file (type 1, 480 PPQ, 120 bpm)
// .csv: MusicNet labels at 44.1 kHz   .tsv/.txt: TSV   .json: JSON
NoteList read_notes(const std::string& path);
void write_notes(const std::string& path, const NoteList& notes);

}  // namespace qs
