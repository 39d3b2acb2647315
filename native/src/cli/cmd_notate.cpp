// `qscribe notate IN -o OUT`: notes from a file (MIDI, TSV, JSON, MusicNet CSV) to sheet music,
// quantised MIDI or notes with their beats, meter and key: the musical half of `transcribe`.
#include <filesystem>
#include <memory>

#include "cli/command.hpp"
#include "inference/music_output.hpp"
#include "qscribe/error.hpp"
#include "qscribe/note_io.hpp"

namespace {

struct NotateArgs {
  std::string input, out;
  qs::MusicOutputOptions music;
};

void run(NotateArgs& a) {
  qs::check_music_output_options(a.music);
  if (!qs::is_note_file_extension(qs::lower_extension(a.out)))
    throw qs::Error("-o " + a.out + ": the output must end in .musicxml, .xml, .mid, .midi, .tsv or .json");
  const qs::NoteList notes = qs::read_notes(a.input);
  double duration = 0.0;
  for (const qs::Note& n : notes) duration = std::max(duration, n.offset);
  a.music.title = std::filesystem::path(a.input).stem().string();
  qs::write_music(a.out, notes, duration, a.music, {{"source", std::filesystem::path(a.input).filename().string()}});
}

QS_COMMAND("notate", "Turn a note file (MIDI, TSV, JSON) into sheet music (MusicXML) or quantised MIDI", 65, [](CLI::App& sub) {
  auto a = std::make_shared<NotateArgs>();
  sub.add_option("input", a->input, "Notes: .mid/.midi, .tsv (onset offset pitch [velocity]), .json or MusicNet .csv")
      ->required()->check(CLI::ExistingFile);
  sub.add_option("-o,--out", a->out,
                 "Output: .musicxml (sheet music), .mid (with --quantize: on the beat grid), .tsv or .json "
                 "(with the beats, tempo, meter, key and quantised notes)")
      ->required();
  qs::add_music_output_options(sub, a->music);
  sub.callback([a] { run(*a); });
});

}  // namespace
