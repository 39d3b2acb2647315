// `qscribe transcribe IN... -o OUT`: audio files to notes (.mid, .tsv, .json) with a LibTorch model.
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "blas_check.hpp"
#include "npy.hpp"
#include "command.hpp"
#include "inference.hpp"
#include "qscribe/error.hpp"
#include "qscribe/midi_file.hpp"
#include "qscribe/music_analysis.hpp"
#include "qscribe/musicxml.hpp"
#include "qscribe/note_io.hpp"
#include "qscribe/score_midi.hpp"

namespace {

namespace fs = std::filesystem;

struct TranscribeArgs {
  std::vector<std::string> inputs;
  std::string out, model, format = "mid", activations_dir;
  float onset_threshold = -1, frame_threshold = -1;
  double min_note_length = -1;
  bool no_frame_fallback = false;
  int threads = 0, overlap = 0, batch_windows = 16;
  double window_seconds = 0;
  bool quiet = false;
  bool quantize = false;
  qs::AnalysisOptions analysis;  // --tempo, --time-signature, --key
};

std::string lower_ext(const std::string& p) {
  std::string e = fs::path(p).extension().string();
  for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

bool is_musicxml(const std::string& ext) { return ext == ".musicxml" || ext == ".xml"; }

// The musical reading of a transcription, as JSON metadata: beats, tempo, meter, key and the
// quantised notes in ticks (pitch, start, duration, staff, voice).
nlohmann::json analysis_json(const qs::MusicAnalysis& an, const qs::Score& score) {
  const auto ms = [](const std::vector<double>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (double t : v) a.push_back(std::round(t * 1e4) / 1e4);
    return a;
  };
  nlohmann::json notes = nlohmann::json::array();
  for (const qs::ScoreNote& n : score.notes) notes.push_back({n.pitch, n.start, n.duration, n.staff, n.voice});
  return {{"beats", ms(an.beats)},
          {"downbeats", ms(an.downbeats)},
          {"tempo_bpm", std::round(an.tempo_bpm * 100) / 100},
          {"meter", {{"numerator", an.meter.numerator}, {"denominator", an.meter.denominator}}},
          {"key", {{"tonic", an.key.tonic_name()}, {"mode", an.key.minor ? "minor" : "major"}, {"fifths", an.key.fifths}}},
          {"score", {{"divisions", score.divisions}, {"bar_ticks", score.bar_ticks}, {"bars", score.n_bars}, {"notes", notes}}}};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw qs::Error(path + ": cannot write file");
}

// Writes one transcription to dst in the format its extension names.
void write_result(const TranscribeArgs& a, const std::string& in, const std::string& dst, const qs::TranscribeResult& r,
                  const nlohmann::json& meta) {
  const std::string ext = lower_ext(dst);
  const bool musical = a.quantize || ext == ".json" || is_musicxml(ext);
  if (!musical) return qs::write_notes(dst, r.notes);
  const qs::MusicAnalysis an = qs::analyse_music(r.notes, r.duration_s, a.analysis);
  const qs::Score score = qs::notate(r.notes, an, a.analysis);
  if (is_musicxml(ext)) {
    qs::MusicXmlOptions xo;
    xo.title = fs::path(in).stem().string();
    return write_bytes(dst, qs::write_musicxml(score, xo));
  }
  if (a.quantize && (ext == ".mid" || ext == ".midi")) {
    const std::vector<std::uint8_t> midi = qs::score_to_midi(score);
    return write_bytes(dst, std::string(midi.begin(), midi.end()));
  }
  const qs::NoteList notes = a.quantize ? qs::score_notes_in_seconds(score) : r.notes;
  if (ext != ".json") return qs::write_notes(dst, notes);
  nlohmann::json m = meta;
  m.update(analysis_json(an, score));
  m["quantized"] = a.quantize;
  qs::write_notes_json(dst, notes, m);
}

void run(TranscribeArgs& a) {
  // Overrides are checked before the model loads, so a typo fails at once.
  if (!a.analysis.time_signature.empty()) qs::parse_time_signature(a.analysis.time_signature);
  if (!a.analysis.key.empty()) qs::parse_key(a.analysis.key);
  qs::ensure_omp_passive();
  qs::warn_if_slow_blas();
  torch::set_num_threads(a.threads > 0 ? a.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  const std::string model_path = a.model.empty() ? qs::default_model_path() : a.model;
  qs::LoadedModel m = qs::load_model_for_inference(model_path);
  const auto& info = m.checkpoint.info;
  qs::DecoderParams dec =
      qs::decoder_with_overrides(info.decoding, a.onset_threshold, a.frame_threshold, a.min_note_length);
  if (a.no_frame_fallback) dec.frame_fallback = false;
  dec.validate();
  qs::InferenceOptions inf;
  if (a.window_seconds > 0)
    inf.window_frames = std::max(1, static_cast<int>(std::lround(a.window_seconds * info.features.frame_rate())));
  inf.overlap_frames = a.overlap;
  inf.batch_windows = a.batch_windows;

  // Output: a file when one input and OUT has a note extension, else a directory.
  const std::string out_ext = lower_ext(a.out);
  const bool out_is_file =
      out_ext == ".mid" || out_ext == ".midi" || out_ext == ".tsv" || out_ext == ".json" || is_musicxml(out_ext);
  if (out_is_file && a.inputs.size() > 1)
    throw qs::Error("-o " + a.out + ": several inputs need an output directory (use --format to pick the file type)");
  if (!out_is_file) fs::create_directories(a.out);
  if (!a.activations_dir.empty()) fs::create_directories(a.activations_dir);
  for (const auto& in : a.inputs) {
    const auto t0 = std::chrono::steady_clock::now();
    qs::TranscribeResult r = qs::transcribe_file(in, m.checkpoint.model, info, dec, inf);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string dst =
        out_is_file ? a.out : (fs::path(a.out) / (fs::path(in).stem().string() + "." + a.format)).string();
    const nlohmann::json meta = {{"source", fs::path(in).filename().string()},
                                 {"duration_s", r.duration_s},
                                 {"model", fs::path(model_path).filename().string()},
                                 {"decoding",
                                  {{"onset_threshold", std::round(dec.onset_threshold * 1e6) / 1e6},
                                   {"frame_threshold", std::round(dec.frame_threshold * 1e6) / 1e6},
                                   {"min_note_length_s", dec.min_note_length_s},
                                   {"frame_fallback", dec.frame_fallback}}}};
    write_result(a, in, dst, r, meta);
    if (!a.activations_dir.empty()) {
      // The model's probabilities, [frames x notes] float32, for studying or re-decoding offline.
      const auto& act = r.activations;
      const std::string stem = (fs::path(a.activations_dir) / fs::path(in).stem()).string();
      qs::write_npy(stem + ".frames.npy", act.frames.data(), act.n_frames, static_cast<std::size_t>(act.n_notes));
      if (!act.onsets.empty())
        qs::write_npy(stem + ".onsets.npy", act.onsets.data(), act.n_frames, static_cast<std::size_t>(act.n_notes));
    }
    if (!a.quiet)
      std::fprintf(stderr, "%s: %zu notes, %.1f s of audio in %.2f s (%.0fx real time) -> %s\n", in.c_str(),
                   r.notes.size(), r.duration_s, s, s > 0 ? r.duration_s / s : 0.0, dst.c_str());
  }
}

QS_COMMAND("transcribe", "Transcribe audio files to MIDI, TSV or JSON notes", 60, [](CLI::App& sub) {
  auto a = std::make_shared<TranscribeArgs>();
  sub.add_option("inputs", a->inputs, "Audio files (WAV, FLAC, OGG, Opus, MP3), any length")->required()
      ->check(CLI::ExistingFile);
  sub.add_option("-o,--out", a->out,
                 "Output file (.mid, .tsv, .json or .musicxml; one input) or directory (one NAME.FORMAT per input). "
                 ".musicxml is sheet music (bars, key, time signature, voices) for MuseScore, LilyPond or a browser; "
                 ".json also carries the beats, tempo, meter, key and quantised notes")
      ->required();
  sub.add_option("-f,--format", a->format, "File type written into an output directory")->capture_default_str()
      ->check(CLI::IsMember({"mid", "tsv", "json", "musicxml"}));
  sub.add_flag("--quantize", a->quantize,
               "Snap notes to the beat grid: .mid gets bars, a tempo map and time and key signatures (for a DAW); "
               ".tsv and .json get the snapped times");
  sub.add_option("--tempo", a->analysis.tempo_bpm, "Steady tempo in beats per minute instead of tracking the beat")
      ->check(CLI::Range(20.0, 400.0));
  sub.add_option("--time-signature", a->analysis.time_signature, "Time signature instead of estimating it: 4/4, 3/4, 6/8, ...");
  sub.add_option("--key", a->analysis.key, "Key instead of estimating it: \"Eb major\", \"F# minor\", \"Am\", ... (sets the spelling)");
  sub.add_option("-m,--model", a->model,
                 "Model: a training checkpoint (.pt) or an exported model (.onnx); its sidecar NAME.json "
                 "(required for .onnx) gives the decoding defaults (default: " + qs::default_model_path() + ")");
  sub.add_option("--onset-threshold", a->onset_threshold,
                 "Onset probability a peak must exceed to start a note (default: the model's, 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  sub.add_option("--frame-threshold", a->frame_threshold,
                 "Frame probability a note must exceed to keep sounding (default: the model's, 0.3)")
      ->check(CLI::Range(0.0, 1.0));
  sub.add_option("--min-note-length", a->min_note_length, "Shortest note kept, seconds (default: the model's, 0.058)")
      ->check(CLI::Range(0.0, 60.0));
  sub.add_flag("--no-frame-fallback", a->no_frame_fallback, "Start notes only at onset peaks, not at frame rises");
  sub.add_option("--threads", a->threads, "LibTorch threads (0: all cores)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--window-seconds", a->window_seconds,
                 "Model window length (0: the training context of the model)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--overlap", a->overlap,
                 "Frames of context discarded at each side of a window (0: windows tile the audio as in training; -1: window/8, ~30 % slower)")->capture_default_str();
  sub.add_option("--batch-windows", a->batch_windows, "Windows per forward pass")->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option("--save-activations", a->activations_dir,
                 "Also write the model's probabilities to DIR/NAME.frames.npy and NAME.onsets.npy "
                 "(float32 [frames x notes], frame j at j * hop / sample rate, note 0 = the model's lowest pitch)");
  sub.add_flag("-q,--quiet", a->quiet, "No per-file summary on stderr");
  sub.callback([a] { run(*a); });
});

}  // namespace
