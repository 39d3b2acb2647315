// Writing notes in the format a file's extension names (.mid, .tsv, .json, .musicxml), with the
// musical reading (beats, meter, key, quantisation) where the format or --quantize asks for it.
// Shared by `transcribe` (notes from audio) and `notate` (notes from a file).
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "qscribe/music_analysis.hpp"
#include "qscribe/note.hpp"

namespace qs {

struct MusicOutputOptions {
  bool quantize = false;
  AnalysisOptions analysis;  // --tempo, --time-signature, --key
  std::string title;         // MusicXML work title
};

// Adds --quantize, --tempo, --time-signature and --key to a subcommand.
void add_music_output_options(CLI::App& sub, MusicOutputOptions& o);
// Throws qs::Error for a malformed --time-signature or --key (call before slow work).
void check_music_output_options(const MusicOutputOptions& o);
bool is_note_file_extension(const std::string& lower_ext);
// Whether writing `dst` reads the music (beats, meter, key): --quantize, .json or .musicxml.
bool analyses_music(const std::string& dst, const MusicOutputOptions& o);  // .mid .midi .tsv .json .musicxml .xml
std::string lower_extension(const std::string& path);

// `meta` goes into the JSON "metadata" (with the analysis added). Written via a temporary file
// renamed into place, so a failure leaves an earlier file untouched.
// `beats`: the beat network's activation of the audio (analyse_music), or null.
void write_music(const std::string& dst, const NoteList& notes, double duration_s, const MusicOutputOptions& o,
                 const nlohmann::json& meta = nlohmann::json::object(), const BeatActivation* beats = nullptr);

}  // namespace qs
