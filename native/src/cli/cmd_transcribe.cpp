// `qscribe transcribe IN... -o OUT`: audio files to notes (.mid, .tsv, .json) with a LibTorch model.
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <thread>

#include "cli/blas_check.hpp"
#include "cli/cli_options.hpp"
#include "cli/command.hpp"
#include "inference/inference.hpp"
#include "qscribe/error.hpp"
#include "inference/music_output.hpp"
#include "qscribe/note_io.hpp"

namespace {

namespace fs = std::filesystem;

struct TranscribeArgs {
  std::vector<std::string> inputs;
  std::string out, model, format = "mid", activations_dir, beat_net;
  qs::cli::DecoderOverrides decoding;
  int threads = 0, overlap = 0, passes = 0, batch_windows = 16;
  double window_seconds = 0;
  bool quiet = false;
  qs::MusicOutputOptions music;
};

void transcribe_one(const std::string& in, const std::string& dst, const TranscribeArgs& a, qs::LoadedModel& m,
                    const std::string& model_path, const qs::DecoderParams& dec, const qs::InferenceOptions& inf,
                    const qs::BeatNet* beat_net) {
  const auto& info = m.checkpoint.info;
  const auto t0 = std::chrono::steady_clock::now();
  qs::TranscribeResult r = qs::transcribe_file(in, m.checkpoint.model, info, dec, inf);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const nlohmann::json meta = {{"source", fs::path(in).filename().string()},
                               {"duration_s", r.duration_s},
                               {"model", fs::path(model_path).filename().string()},
                               {"decoding", qs::decoder_params_to_json(dec)}};
  qs::MusicOutputOptions mo = a.music;
  mo.title = fs::path(in).stem().string();
  qs::BeatActivation beats;
  const bool follow_net = beat_net && qs::analyses_music(dst, mo);  // a plain .mid or .tsv needs no beats
  if (follow_net)
    beats = qs::beat_activation(*beat_net, qs::beat_features(r.activations), info.features.frame_rate());
  qs::write_music(dst, r.notes, r.duration_s, mo, meta, follow_net ? &beats : nullptr);
  if (!a.activations_dir.empty()) {
    // The model's probabilities, [frames x notes] float32, for studying or re-decoding offline.
    qs::write_probabilities_npy((fs::path(a.activations_dir) / fs::path(in).stem()).string(), r.activations);
  }
  if (!a.quiet)
    std::fprintf(stderr, "%s: %zu notes, %.1f s of audio in %.2f s (%.0fx real time) -> %s\n", in.c_str(),
                 r.notes.size(), r.duration_s, s, s > 0 ? r.duration_s / s : 0.0, dst.c_str());
}

// Refuses outputs that would surprise: an audio file name (it used to become a folder), one file
// for several inputs, and two inputs that would write the same NAME.FORMAT.
void check_output(const TranscribeArgs& a, const std::string& out_ext, bool out_is_file) {
  static const std::set<std::string> kAudio = {".wav", ".flac", ".ogg", ".opus", ".mp3", ".aif", ".aiff", ".m4a"};
  if (kAudio.count(out_ext))
    throw qs::Error("-o " + a.out +
                    ": an audio file cannot be the output; name a .mid, .tsv, .json or .musicxml file, or a folder");
  if (out_is_file && a.inputs.size() > 1)
    throw qs::Error("-o " + a.out + ": several inputs need an output directory (use --format to pick the file type)");
  if (out_is_file) return;
  std::map<std::string, std::string> seen;
  for (const auto& in : a.inputs) {
    const auto [it, fresh] = seen.emplace(fs::path(in).stem().string(), in);
    if (!fresh)
      throw qs::Error(in + " and " + it->second + " would both be written to " + it->first + "." + a.format + " in " +
                      a.out + "; transcribe them into different folders");
  }
}

void make_directory(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw qs::Error(dir + ": cannot create the output folder (" + ec.message() + ")");
}

void run(TranscribeArgs& a) {
  qs::check_music_output_options(a.music);  // before the model loads, so a typo fails at once
  // Output: a file when one input and OUT has a note extension, else a directory.
  const std::string out_ext = qs::lower_extension(a.out);
  const bool out_is_file = qs::is_note_file_extension(out_ext);
  check_output(a, out_ext, out_is_file);
  qs::ensure_omp_passive();
  qs::warn_if_slow_blas();
  torch::set_num_threads(a.threads > 0 ? a.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  const std::string model_path = a.model.empty() ? qs::default_model_path() : a.model;
  qs::LoadedModel m = qs::load_model_for_inference(model_path);
  const auto& info = m.checkpoint.info;
  qs::DecoderParams dec = qs::cli::with_overrides(info.decoding, a.decoding);
  qs::InferenceOptions inf;
  if (a.window_seconds > 0)
    inf.window_frames = std::max(1, static_cast<int>(std::lround(a.window_seconds * info.features.frame_rate())));
  inf.overlap_frames = a.overlap;
  inf.passes = a.passes;
  inf.batch_windows = a.batch_windows;

  // The beat network: the shipped one when it is there, unless --beat-net names another or "none".
  std::optional<qs::BeatNet> beat_net;
  if (!a.beat_net.empty() && a.beat_net != "none") {
    beat_net = qs::load_beat_net_file(a.beat_net, info.features.frame_rate());
  } else if (a.beat_net.empty() && fs::exists(qs::default_beat_net_path())) {
    // The shipped network suits the shipped model's frames; another model's beats follow its notes.
    try {
      beat_net = qs::load_beat_net_file(qs::default_beat_net_path(), info.features.frame_rate());
    } catch (const qs::Error& e) {
      if (!a.quiet) std::fprintf(stderr, "qscribe: warning: %s; the beats follow the notes\n", e.what());
    }
  }
  if (!out_is_file) make_directory(a.out);
  if (!a.activations_dir.empty()) make_directory(a.activations_dir);
  // One bad file does not stop a batch: the others are transcribed, the failures listed, exit 1.
  std::size_t failed = 0;
  for (const auto& in : a.inputs) {
    try {
      const std::string dst =
          out_is_file ? a.out : (fs::path(a.out) / (fs::path(in).stem().string() + "." + a.format)).string();
      transcribe_one(in, dst, a, m, model_path, dec, inf, beat_net ? &*beat_net : nullptr);
    } catch (const qs::Error& e) {
      if (a.inputs.size() == 1) throw;
      std::fprintf(stderr, "qscribe: error: %s\n", e.what());
      ++failed;
    }
  }
  if (failed > 0)
    throw qs::Error(std::to_string(failed) + " of " + std::to_string(a.inputs.size()) +
                    " files could not be transcribed (see above); the others were written");
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
  qs::add_music_output_options(sub, a->music);
  sub.add_option("-m,--model", a->model,
                 "Model: a training checkpoint (.pt) or an exported model (.onnx); its sidecar NAME.json "
                 "(required for .onnx) gives the decoding defaults (default: " + qs::default_model_path() + ")");
  sub.add_option("--onset-threshold", a->decoding.onset_threshold,
                 "Onset probability a peak must exceed to start a note (default: the model's, 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  sub.add_option("--frame-threshold", a->decoding.frame_threshold,
                 "Frame probability a note must exceed to keep sounding (default: the model's, 0.3)")
      ->check(CLI::Range(0.0, 1.0));
  qs::cli::add_min_note_length(sub, a->decoding.min_note_length_s,
                               "Shortest note kept, seconds (default: the model's, 0.058)");
  qs::cli::add_frame_fallback(sub, a->decoding.frame_fallback,
                              "on: notes also start at frame rises without an onset peak; off: only at onset peaks "
                              "(default: the model's, on)");
  qs::cli::add_note_start_options(sub, a->decoding);
  sub.add_option("--threads", a->threads, "LibTorch threads (0: all cores)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--window-seconds", a->window_seconds,
                 "Model window length (0: the training context of the model)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--overlap", a->overlap,
                 "Frames of context discarded at each side of a window, at least the model's segment.context_frames (0: the model's own; -1: window/8; each 10 frames of an 86-frame window cost ~30 % more model work)")->capture_default_str();
  qs::cli::add_passes(sub, a->passes);
  sub.add_option("--batch-windows", a->batch_windows, "Windows per forward pass")->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option("--beat-net", a->beat_net,
                 "Beat network whose activation the beat tracker follows (JSON from qscribe train-beats; default: " +
                     qs::default_beat_net_path() + " when present; none: the notes' onset envelope)");
  sub.add_option("--save-activations", a->activations_dir,
                 "Also write the model's probabilities to DIR/NAME.frames.npy and NAME.onsets.npy "
                 "(float32 [frames x notes], frame j at j * hop / sample rate, note 0 = the model's lowest pitch)");
  sub.add_flag("-q,--quiet", a->quiet, "No per-file summary on stderr");
  sub.callback([a] { run(*a); });
});

}  // namespace
