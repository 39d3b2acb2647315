#include "inference/music_output.hpp"

#include <cmath>
#include <filesystem>

#include "qscribe/atomic_file.hpp"
#include "qscribe/error.hpp"
#include "qscribe/musicxml.hpp"
#include "qscribe/note_io.hpp"
#include "qscribe/score_midi.hpp"

namespace qs {

namespace fs = std::filesystem;

std::string lower_extension(const std::string& p) {
  std::string e = fs::path(p).extension().string();
  for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

namespace {
bool is_musicxml(const std::string& ext) { return ext == ".musicxml" || ext == ".xml"; }

// The musical reading as JSON: beats, tempo, meter, key and the quantised notes in ticks
// ([pitch, start, duration, staff, voice]; `divisions` ticks per quarter note).
nlohmann::json analysis_json(const MusicAnalysis& an, const Score& score) {
  const auto rounded = [](const std::vector<double>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (double t : v) a.push_back(std::round(t * 1e4) / 1e4);
    return a;
  };
  nlohmann::json notes = nlohmann::json::array();
  for (const ScoreNote& n : score.notes) notes.push_back({n.pitch, n.start, n.duration, n.staff, n.voice});
  return {{"beats", rounded(an.beats)},
          {"downbeats", rounded(an.downbeats)},
          {"tempo_bpm", std::round(an.tempo_bpm * 100) / 100},
          {"meter", {{"numerator", an.meter.numerator}, {"denominator", an.meter.denominator}}},
          {"key", {{"tonic", an.key.tonic_name()}, {"mode", an.key.minor ? "minor" : "major"}, {"fifths", an.key.fifths}}},
          {"score", {{"divisions", score.divisions}, {"bar_ticks", score.bar_ticks}, {"bars", score.n_bars}, {"notes", notes}}}};
}

}  // namespace

bool is_note_file_extension(const std::string& e) {
  return e == ".mid" || e == ".midi" || e == ".tsv" || e == ".json" || is_musicxml(e);
}

void add_music_output_options(CLI::App& sub, MusicOutputOptions& o) {
  sub.add_flag("--quantize", o.quantize,
               "Snap notes to the beat grid: .mid gets bars, a tempo map and time and key signatures (for a DAW); "
               ".tsv and .json get the snapped times");
  sub.add_option("--tempo", o.analysis.tempo_bpm, "Steady tempo in beats per minute instead of tracking the beat")
      ->check(CLI::Range(20.0, 400.0));
  sub.add_option("--time-signature", o.analysis.time_signature, "Time signature instead of estimating it: 4/4, 3/4, 6/8, ...");
  sub.add_option("--key", o.analysis.key, "Key instead of estimating it: \"Eb major\", \"F# minor\", \"Am\", ... (sets the spelling)");
}

void check_music_output_options(const MusicOutputOptions& o) {
  if (!o.analysis.time_signature.empty()) parse_time_signature(o.analysis.time_signature);
  if (!o.analysis.key.empty()) parse_key(o.analysis.key);
}

bool analyses_music(const std::string& dst, const MusicOutputOptions& o) {
  const std::string ext = lower_extension(dst);
  return o.quantize || ext == ".json" || is_musicxml(ext);
}

void write_music(const std::string& dst, const NoteList& notes, double duration_s, const MusicOutputOptions& o,
                 const nlohmann::json& meta, const BeatActivation* beats) {
  const std::string ext = lower_extension(dst);
  if (!analyses_music(dst, o)) return write_notes(dst, notes);  // atomic, like every writer below
  const MusicAnalysis an = analyse_music(notes, duration_s, o.analysis, beats);
  const Score score = notate(notes, an, o.analysis);
  if (is_musicxml(ext)) {
    MusicXmlOptions xo;
    if (!o.title.empty()) xo.title = o.title;
    return write_file_atomically(dst, write_musicxml(score, xo));
  }
  if (o.quantize && (ext == ".mid" || ext == ".midi")) {
    const std::vector<std::uint8_t> midi = score_to_midi(score);
    return write_file_atomically(dst, std::string(midi.begin(), midi.end()));
  }
  const NoteList out = o.quantize ? score_notes_in_seconds(score) : notes;
  if (ext != ".json") return write_notes(dst, out);
  nlohmann::json m = meta;
  m.update(analysis_json(an, score));
  m["quantized"] = o.quantize;
  write_notes_json(dst, out, m);
}

}  // namespace qs
