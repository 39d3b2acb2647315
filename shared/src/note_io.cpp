#include "qscribe/note_io.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "qscribe/atomic_file.hpp"
#include "qscribe/error.hpp"
#include "qscribe/midi_file.hpp"

namespace qs {
namespace {

constexpr int kDefaultVelocity = 64;

// ---- text helpers -------------------------------------------------------------------------------

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": cannot read file");
  return text;
}

void write_text_file(const std::string& path, const std::string& text) { write_file_atomically(path, text); }

// Runs `parse` on a file's text; errors gain the path as prefix.
template <typename Parse>
auto parse_file(const std::string& path, Parse parse) {
  const std::string text = read_text_file(path);
  try {
    return parse(text);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

// Lines without their terminators (LF or CRLF); a leading UTF-8 BOM is dropped.
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::size_t stop = end;
    if (stop > start && text[stop - 1] == '\r') --stop;
    lines.push_back(text.substr(start, stop - start));
    start = end + 1;
  }
  return lines;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string trim(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && is_space(s[a])) ++a;
  while (b > a && is_space(s[b - 1])) --b;
  return s.substr(a, b - a);
}

// A whole field as a finite number (strtod: the core runs in the "C" locale).
bool parse_number(const std::string& field, double& out) {
  const std::string s = trim(field);
  if (s.empty() || s.size() > 64) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

std::string line_error(std::size_t line, const std::string& why) { return "line " + std::to_string(line) + ": " + why; }

// Shortens user data quoted in messages.
std::string quote(const std::string& s) {
  std::string t = s.size() > 40 ? s.substr(0, 40) + "..." : s;
  for (char& c : t)
    if (static_cast<unsigned char>(c) < 32) c = ' ';
  return "'" + t + "'";
}

int to_pitch(double v, const std::string& where) {
  const double r = std::round(v);
  if (r < 0 || r > 127) throw Error(where + "pitch " + std::to_string(v) + " is outside MIDI 0..127");
  return static_cast<int>(r);
}

int to_velocity(double v) { return static_cast<int>(std::clamp(std::round(v), 1.0, 127.0)); }

// ---- CSV ----------------------------------------------------------------------------------------

// Comma-separated fields; double quotes protect commas ("" is a literal quote).
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c != '"') {
        fields.back() += c;
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

struct MusicNetColumns {
  int start_time = -1, end_time = -1, instrument = -1, note = -1, start_beat = -1, end_beat = -1, note_value = -1;
  int needed = 0;  // fields a row must have
};

MusicNetColumns musicnet_columns(const std::string& header) {
  const std::vector<std::string> names = split_csv(header);
  MusicNetColumns c;
  for (int i = 0; i < static_cast<int>(names.size()); ++i) {
    const std::string n = trim(names[i]);
    int* slot = n == "start_time" ? &c.start_time
                : n == "end_time" ? &c.end_time
                : n == "instrument" ? &c.instrument
                : n == "note" ? &c.note
                : n == "start_beat" ? &c.start_beat
                : n == "end_beat" ? &c.end_beat
                : n == "note_value" ? &c.note_value
                                    : nullptr;
    if (slot && *slot < 0) *slot = i;
  }
  if (c.start_time < 0 || c.end_time < 0 || c.instrument < 0 || c.note < 0) {
    throw Error(line_error(1, "not a MusicNet label header: expected "
                              "'start_time,end_time,instrument,note,start_beat,end_beat,note_value', got " +
                                  quote(header)));
  }
  c.needed = 1 + std::max({c.start_time, c.end_time, c.instrument, c.note});
  return c;
}

int integer_field(const std::vector<std::string>& f, int col, const char* name, std::size_t line) {
  double v = 0;
  if (!parse_number(f[col], v) || v != std::floor(v) || std::fabs(v) > 1e9)
    throw Error(line_error(line, std::string(name) + " must be an integer, got " + quote(f[col])));
  return static_cast<int>(v);
}

// Optional numeric column: absent or empty reads as 0.
double optional_number(const std::vector<std::string>& f, int col, const char* name, std::size_t line) {
  double v = 0;
  if (col < 0 || col >= static_cast<int>(f.size()) || trim(f[col]).empty()) return 0.0;
  if (!parse_number(f[col], v)) throw Error(line_error(line, std::string(name) + " must be a number, got " + quote(f[col])));
  return v;
}

// One data row; returns false for a zero-length label (skipped).
bool parse_musicnet_row(const std::vector<std::string>& f, const MusicNetColumns& c, std::size_t line,
                        MusicNetLabel& out) {
  if (static_cast<int>(f.size()) < c.needed)
    throw Error(line_error(line, "expected at least " + std::to_string(c.needed) + " comma-separated fields, got " +
                                     std::to_string(f.size())));
  if (!parse_number(f[c.start_time], out.start_time) || out.start_time < 0)
    throw Error(line_error(line, "start_time must be a sample index >= 0, got " + quote(f[c.start_time])));
  if (!parse_number(f[c.end_time], out.end_time) || out.end_time < 0)
    throw Error(line_error(line, "end_time must be a sample index >= 0, got " + quote(f[c.end_time])));
  if (out.end_time < out.start_time) throw Error(line_error(line, "end_time is before start_time"));
  out.instrument = integer_field(f, c.instrument, "instrument", line);
  out.note = integer_field(f, c.note, "note", line);
  if (out.note < 0 || out.note > 127) throw Error(line_error(line, "note must be a MIDI pitch 0..127"));
  out.start_beat = optional_number(f, c.start_beat, "start_beat", line);
  out.end_beat = optional_number(f, c.end_beat, "end_beat", line);
  out.note_value = c.note_value >= 0 && c.note_value < static_cast<int>(f.size()) ? trim(f[c.note_value]) : "";
  return out.end_time > out.start_time;
}

// ---- TSV ----------------------------------------------------------------------------------------

std::vector<std::string> split_tsv(const std::string& line) {
  std::vector<std::string> fields;
  std::string cur;
  for (char c : line) {
    if (is_space(c) || c == ',') {
      if (!cur.empty()) fields.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) fields.push_back(cur);
  return fields;
}

Note parse_tsv_row(const std::vector<std::string>& f, std::size_t line) {
  if (f.size() < 3) throw Error(line_error(line, "expected 'onset offset pitch [velocity]', got " + std::to_string(f.size()) + " fields"));
  double on = 0, off = 0, pitch = 0, vel = kDefaultVelocity;
  if (!parse_number(f[0], on)) throw Error(line_error(line, "onset must be a number of seconds, got " + quote(f[0])));
  if (!parse_number(f[1], off)) throw Error(line_error(line, "offset must be a number of seconds, got " + quote(f[1])));
  if (!parse_number(f[2], pitch)) throw Error(line_error(line, "pitch must be a MIDI number, got " + quote(f[2])));
  if (f.size() > 3 && !parse_number(f[3], vel)) throw Error(line_error(line, "velocity must be a number, got " + quote(f[3])));
  if (!(off > on)) throw Error(line_error(line, "offset must be after onset"));
  return Note{on, off, to_pitch(pitch, "line " + std::to_string(line) + ": "), to_velocity(vel)};
}

// ---- JSON ---------------------------------------------------------------------------------------

double json_number(const nlohmann::json& entry, const char* key, const std::string& where) {
  const auto it = entry.find(key);
  if (it == entry.end() || !it->is_number()) throw Error(where + ": '" + key + "' must be a number");
  const double v = it->get<double>();
  if (!std::isfinite(v)) throw Error(where + ": '" + key + "' must be finite");
  return v;
}

Note json_note(const nlohmann::json& entry, const std::string& where) {
  if (!entry.is_object()) throw Error(where + " must be an object with onset, offset, pitch");
  Note n;
  n.onset = json_number(entry, "onset", where);
  n.offset = json_number(entry, "offset", where);
  if (!(n.offset > n.onset)) throw Error(where + ": offset must be after onset");
  n.pitch = to_pitch(json_number(entry, "pitch", where), where + ": ");
  n.velocity = entry.contains("velocity") ? to_velocity(json_number(entry, "velocity", where)) : kDefaultVelocity;
  return n;
}

nlohmann::json notes_document(const NoteList& notes) {
  NoteList sorted = notes;
  sort_notes(sorted);
  nlohmann::json list = nlohmann::json::array();
  for (const Note& n : sorted)
    list.push_back({{"onset", n.onset}, {"offset", n.offset}, {"pitch", n.pitch}, {"velocity", n.velocity}});
  return nlohmann::json{{"notes", std::move(list)}};
}

std::string lowercase_extension(const std::string& path) {
  const std::size_t slash = path.find_last_of("/\\");
  const std::size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

[[noreturn]] void unknown_extension(const std::string& path) {
  throw Error(path + ": unknown note file type (use .mid, .midi, .csv, .tsv, .txt or .json)");
}

}  // namespace

// ---- MusicNet -----------------------------------------------------------------------------------

std::vector<MusicNetLabel> parse_musicnet_csv(const std::string& text) {
  const std::vector<std::string> lines = split_lines(text);
  if (lines.empty() || trim(lines[0]).empty()) throw Error(line_error(1, "missing MusicNet label header"));
  const MusicNetColumns columns = musicnet_columns(lines[0]);
  std::vector<MusicNetLabel> labels;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (trim(lines[i]).empty()) continue;
    MusicNetLabel label;
    if (parse_musicnet_row(split_csv(lines[i]), columns, i + 1, label)) labels.push_back(std::move(label));
  }
  return labels;
}

NoteList musicnet_to_notes(const std::vector<MusicNetLabel>& labels, double sample_rate) {
  if (!(sample_rate > 0) || !std::isfinite(sample_rate)) throw Error("MusicNet labels: sample rate must be positive");
  NoteList notes;
  notes.reserve(labels.size());
  for (const MusicNetLabel& l : labels) {
    if (l.end_time > l.start_time)
      notes.push_back(Note{l.start_time / sample_rate, l.end_time / sample_rate, l.note, kDefaultVelocity});
  }
  sort_notes(notes);
  return notes;
}

NoteList read_musicnet_csv(const std::string& path, double sample_rate) {
  return parse_file(path, [&](const std::string& text) { return musicnet_to_notes(parse_musicnet_csv(text), sample_rate); });
}

std::string format_musicnet_csv(const NoteList& notes, double sample_rate) {
  if (!(sample_rate > 0) || !std::isfinite(sample_rate)) throw Error("MusicNet labels: sample rate must be positive");
  NoteList sorted = notes;
  sort_notes(sorted);
  std::string out = "start_time,end_time,instrument,note,start_beat,end_beat,note_value\n";
  char buf[128];
  for (const Note& n : sorted) {
    std::snprintf(buf, sizeof buf, "%.0f,%.0f,1,%d,0,0,\n", std::round(n.onset * sample_rate),
                  std::round(n.offset * sample_rate), n.pitch);
    out += buf;
  }
  return out;
}

// ---- TSV ----------------------------------------------------------------------------------------

NoteList parse_notes_tsv(const std::string& text) {
  const std::vector<std::string> lines = split_lines(text);
  NoteList notes;
  bool first_row = true;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::vector<std::string> fields = split_tsv(lines[i].substr(0, lines[i].find('#')));
    if (fields.empty()) continue;
    // One header row is allowed before the data: it starts with a word, not a number.
    const bool header = first_row && !std::isdigit(static_cast<unsigned char>(fields[0][0])) &&
                        std::isalpha(static_cast<unsigned char>(fields[0][0])) &&
                        fields[0] != "inf" && fields[0] != "nan";
    first_row = false;
    if (!header) notes.push_back(parse_tsv_row(fields, i + 1));
  }
  return notes;
}

std::string format_notes_tsv(const NoteList& notes, const TsvWriteOptions& options) {
  NoteList sorted = notes;
  sort_notes(sorted);
  std::string out = options.comment_header ? "# " : "";
  out += options.velocity ? "onset\toffset\tpitch\tvelocity\n" : "onset\toffset\tpitch\n";
  char buf[160];
  for (const Note& n : sorted) {
    if (options.velocity)
      std::snprintf(buf, sizeof buf, "%.6f\t%.6f\t%d\t%d\n", n.onset, n.offset, n.pitch, n.velocity);
    else
      std::snprintf(buf, sizeof buf, "%.6f\t%.6f\t%d\n", n.onset, n.offset, n.pitch);
    out += buf;
  }
  return out;
}

NoteList read_notes_tsv(const std::string& path) { return parse_file(path, parse_notes_tsv); }

void write_notes_tsv(const std::string& path, const NoteList& notes, const TsvWriteOptions& options) {
  write_text_file(path, format_notes_tsv(notes, options));
}

// ---- JSON ---------------------------------------------------------------------------------------

NoteList parse_notes_json(const std::string& text, nlohmann::json* metadata) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("not valid JSON: ") + e.what());
  }
  const nlohmann::json* list = &doc;  // a bare array of notes is accepted too
  if (doc.is_object()) {
    const auto it = doc.find("notes");
    if (it == doc.end()) throw Error("JSON notes: missing the \"notes\" array");
    list = &*it;
  }
  if (!list->is_array()) throw Error("JSON notes: \"notes\" must be an array");
  NoteList notes;
  notes.reserve(list->size());
  for (std::size_t i = 0; i < list->size(); ++i) notes.push_back(json_note((*list)[i], "notes[" + std::to_string(i) + "]"));
  if (metadata) {
    const auto it = doc.is_object() ? doc.find("metadata") : doc.end();
    *metadata = it != doc.end() ? *it : nlohmann::json::object();
  }
  return notes;
}

std::string format_notes_json(const NoteList& notes) { return notes_document(notes).dump(1) + "\n"; }

std::string format_notes_json(const NoteList& notes, const nlohmann::json& metadata) {
  nlohmann::json doc = notes_document(notes);
  if (!metadata.is_null() && !metadata.empty()) doc["metadata"] = metadata;
  return doc.dump(1) + "\n";
}

NoteList read_notes_json(const std::string& path, nlohmann::json* metadata) {
  return parse_file(path, [&](const std::string& text) { return parse_notes_json(text, metadata); });
}

void write_notes_json(const std::string& path, const NoteList& notes) {
  write_text_file(path, format_notes_json(notes));
}

void write_notes_json(const std::string& path, const NoteList& notes, const nlohmann::json& metadata) {
  write_text_file(path, format_notes_json(notes, metadata));
}

// ---- dispatch -----------------------------------------------------------------------------------

NoteList read_notes(const std::string& path) {
  const std::string ext = lowercase_extension(path);
  if (ext == ".mid" || ext == ".midi") return read_midi_file(path);
  if (ext == ".csv") return read_musicnet_csv(path);
  if (ext == ".tsv" || ext == ".txt") {
    NoteList notes = read_notes_tsv(path);
    sort_notes(notes);
    return notes;
  }
  if (ext == ".json") {
    NoteList notes = read_notes_json(path);
    sort_notes(notes);
    return notes;
  }
  unknown_extension(path);
}

void write_notes(const std::string& path, const NoteList& notes) {
  const std::string ext = lowercase_extension(path);
  if (ext == ".mid" || ext == ".midi") return write_midi_file(path, notes);
  if (ext == ".csv") return write_text_file(path, format_musicnet_csv(notes));
  if (ext == ".tsv" || ext == ".txt") return write_notes_tsv(path, notes);
  if (ext == ".json") return write_notes_json(path, notes);
  unknown_extension(path);
}

}  // namespace qs
