// Native transcription: windowed prediction (streaming = whole), file streaming = in memory, and
// `qscribe transcribe` / `qscribe evaluate` end to end with a briefly trained model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "model/checkpoint.hpp"
#include "inference/inference.hpp"
#include "data/npy.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/cqt.hpp"
#include "qscribe/error.hpp"
#include "qscribe/metrics.hpp"
#include "qscribe/note_io.hpp"
#include "test_support.hpp"
#include "tone_pieces.hpp"
#include "tool_helpers.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;

namespace {

using Piece = qs::test::TonePiece;

// Piano-like tones, one or two at a time (MIDI 50..73).
Piece tones(std::uint64_t seed, double seconds, double sr) {
  qs::test::ToneStyle style;
  style.start = 0.15;
  style.dur_min = 0.3;
  style.dur_span = 0.3;
  style.lowest_pitch = 50;
  style.interval_a = style.interval_b = 5;
  style.decay = 2.5;
  style.harmonics = 3;
  style.gain = 0.2;
  style.gap_min = 0.1;
  return qs::test::make_tone_piece(seed, seconds, sr, style);
}

// A small model trained for a few seconds on tones, shared by the end-to-end tests.
const std::string& trained_model() {
  static const std::string path = [] {
    const std::string dir = qs::test::temp_dir("transcribe_model");
    qs::DatasetInfo info;
    info.segment_frames = 43;
    qs::MemorySource src(info);
    qs::Cqt cqt(info.features);
    for (int i = 0; i < 8; ++i) {
      Piece p = tones(100 + i, 8.0, 22050.0);
      auto s = cqt.transform(p.audio);
      src.add_piece("p" + std::to_string(i), std::move(s.data), s.n_frames, p.notes);
    }
    qs::TrainOptions o;
    o.out_dir = dir;
    o.hyper = qs::test::tiny_model_hyper();
    o.epochs = 12;
    o.lr = 3e-3;
    o.batch_size = 4;
    o.num_workers = 1;
    o.threads = 1;
    o.progress = o.verbose = false;
    qs::train_model(o, src, nullptr);
    return dir + "/checkpoint.pt";
  }();
  return path;
}

}  // namespace

// The LibTorch runtime answers the core's windows (qscribe/model_windows.hpp) exactly as a direct
// forward pass over each window would; the windowing itself is tested in tests/unit.
TEST(Inference, WindowsMatchDirectForwardForAnySlicing) {
  torch::manual_seed(3);
  qs::CheckpointInfo info;
  info.hyper = qs::test::tiny_model_hyper();
  qs::Transcriber model(info.hyper);
  model->eval();
  const qs::ModelConfig config = info.model_config();
  const std::size_t n = 157;
  std::vector<float> cqt(n * 352);
  std::mt19937 rng(1);
  for (auto& v : cqt) v = std::uniform_real_distribution<float>(0.0f, 0.1f)(rng);
  qs::InferenceOptions o;
  o.window_frames = 20;
  o.overlap_frames = 3;
  o.batch_windows = 4;
  qs::NoteProbabilities whole = qs::predict_cqt(model, cqt.data(), n, config, o);
  ASSERT_EQ(whole.n_frames, n);
  ASSERT_EQ(whole.frames.size(), n * 88);
  ASSERT_EQ(whole.onsets.size(), n * 88);
  // Reference: frame t comes from the window that owns it, run alone and zero-padded.
  const int W = 20, O = 3, S = W - 2 * O;
  for (int w = 0; w * S < static_cast<int>(n); ++w) {
    const int start = w * S;
    auto x = torch::zeros({1, W, 352});
    const int avail = std::min<int>(W, static_cast<int>(n) - start);
    std::memcpy(x.data_ptr<float>(), cqt.data() + static_cast<std::size_t>(start) * 352, avail * 352 * sizeof(float));
    torch::NoGradGuard ng;
    const auto out = model->forward(x);
    auto f = torch::sigmoid(out.frame_logits).contiguous();
    auto on = torch::sigmoid(out.onset_logits).contiguous();
    const int keep_start = w == 0 ? 0 : start + O;
    const bool last = start + W >= static_cast<int>(n);
    const int keep_end = last ? static_cast<int>(n) : start + W - O;
    for (int t = keep_start; t < keep_end; ++t)
      for (int k = 0; k < 88; k += 11) {
        ASSERT_NEAR(whole.frames[t * 88 + k], f.data_ptr<float>()[(t - start) * 88 + k], 1e-5) << "frame " << t;
        ASSERT_NEAR(whole.onsets[t * 88 + k], on.data_ptr<float>()[(t - start) * 88 + k], 1e-5) << "frame " << t;
      }
    if (last) break;
  }
  // Shorter than one window, and empty.
  EXPECT_EQ(qs::predict_cqt(model, cqt.data(), 5, config, o).n_frames, 5u);
  EXPECT_EQ(qs::predict_cqt(model, cqt.data(), 0, config, o).n_frames, 0u);
  o.overlap_frames = 10;
  EXPECT_THROW(qs::predict_cqt(model, cqt.data(), 5, config, o), qs::Error);
}

TEST(Inference, FileStreamingEqualsInMemory) {
  torch::manual_seed(4);
  qs::CheckpointInfo info;
  info.hyper = qs::test::tiny_model_hyper();
  qs::Transcriber model(info.hyper);
  model->eval();
  Piece p = tones(7, 9.0, 22050.0);
  const std::string dir = qs::test::temp_dir("transcribe_stream");
  qs::AudioBuffer a{p.audio, 22050.0};
  qs::save_wav(dir + "/a.wav", a);
  qs::DecoderParams d;
  d.onset_threshold = 0.45f;
  d.frame_threshold = 0.45f;
  qs::TranscribeResult f = qs::transcribe_file(dir + "/a.wav", model, info, d, {});
  qs::TranscribeResult m = qs::transcribe_samples(p.audio.data(), p.audio.size(), model, info, d, {});
  EXPECT_EQ(f.activations.n_frames, 1 + p.audio.size() / 512);
  ASSERT_EQ(f.activations.frames.size(), m.activations.frames.size());
  for (std::size_t i = 0; i < f.activations.frames.size(); ++i)
    ASSERT_EQ(f.activations.frames[i], m.activations.frames[i]);
  EXPECT_EQ(f.notes, m.notes);
  EXPECT_NEAR(f.duration_s, 9.0, 1e-3);
}

TEST(Transcribe, EndToEndMidiTsvJson) {
  const std::string model = trained_model();
  const std::string dir = qs::test::temp_dir("transcribe_e2e");
  Piece p = tones(999, 12.0, 44100.0);  // 44.1 kHz: resampled on the way
  qs::save_wav(dir + "/song.wav", qs::AudioBuffer{p.audio, 44100.0});
  qs::save_wav(dir + "/second.wav", qs::AudioBuffer{tones(5, 3.0, 44100.0).audio, 44100.0});
  std::string out;
  ASSERT_EQ(qs::test::run_qscribe("transcribe " + dir + "/song.wav -o " + dir + "/song.tsv -m " + model + " --threads 1", &out), 0)
      << out;
  EXPECT_NE(out.find("real time"), std::string::npos) << out;
  qs::NoteList est = qs::read_notes(dir + "/song.tsv");
  const qs::Scores s = qs::scores_of(qs::evaluate_piece(p.notes, est, 12.0));
  EXPECT_GE(s.note.f1, 0.8) << "note F1 of a briefly trained model on held-out tones";
  // Several inputs into a directory, MIDI; and JSON with metadata.
  ASSERT_EQ(qs::test::run_qscribe("transcribe " + dir + "/song.wav " + dir + "/second.wav -o " + dir + "/mid -m " + model, &out), 0)
      << out;
  qs::NoteList mid = qs::read_notes(dir + "/mid/song.mid");
  ASSERT_EQ(mid.size(), est.size());
  for (std::size_t i = 0; i < est.size(); ++i) {
    EXPECT_EQ(mid[i].pitch, est[i].pitch);
    EXPECT_NEAR(mid[i].onset, est[i].onset, 2e-3);
  }
  EXPECT_TRUE(fs::exists(dir + "/mid/second.mid"));
  ASSERT_EQ(qs::test::run_qscribe("transcribe " + dir + "/second.wav -o " + dir + "/s.json -q --frame-threshold 0.9 -m " + model, &out),
            0)
      << out;
  nlohmann::json meta;
  qs::read_notes_json(dir + "/s.json", &meta);
  EXPECT_NEAR(meta["decoding"]["frame_threshold"].get<double>(), 0.9, 1e-6);
  EXPECT_NEAR(meta["duration_s"].get<double>(), 3.0, 1e-3);
  // evaluate on audio + reference pairs, JSON.
  qs::write_notes(dir + "/song.ref.tsv", p.notes);
  ASSERT_EQ(qs::test::run_qscribe("evaluate -m " + model + " --audio " + dir + "/song.wav --ref " + dir + "/song.ref.tsv --json", &out),
            0)
      << out;
  const auto j = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_NEAR(j["pooled"]["note"]["f1"].get<double>(), s.note.f1, 1e-9);
  EXPECT_TRUE(j["pooled"]["exact_accuracy"].contains("2"));
}

// --save-activations writes the probabilities the notes were decoded from: decoding them again
// with the model's thresholds gives the same notes.
TEST(Transcribe, SavedActivationsDecodeToTheSameNotes) {
  const std::string model = trained_model();
  const std::string dir = qs::test::temp_dir("transcribe_act");
  Piece p = tones(31, 5.0, 22050.0);
  qs::save_wav(dir + "/a.wav", qs::AudioBuffer{p.audio, 22050.0});
  std::string out;
  ASSERT_EQ(qs::test::run_qscribe("transcribe " + dir + "/a.wav -o " + dir + "/a.tsv -q --threads 1 --save-activations " +
                                      dir + "/act -m " + model, &out),
            0)
      << out;
  const qs::NpyArray frames = qs::read_npy(dir + "/act/a.frames.npy");
  const qs::NpyArray onsets = qs::read_npy(dir + "/act/a.onsets.npy");
  const qs::LoadedModel m = qs::load_model_for_inference(model);
  const auto& info = m.checkpoint.info;
  EXPECT_EQ(frames.cols, static_cast<std::size_t>(info.hyper.n_notes));
  EXPECT_NEAR(static_cast<double>(frames.rows), 5.0 * info.features.frame_rate(), 2.0);
  EXPECT_EQ(onsets.rows, frames.rows);
  EXPECT_EQ(onsets.cols, frames.cols);
  for (float v : frames.data) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << "frame probability " << v;
  for (float v : onsets.data) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << "onset probability " << v;
  qs::NoteProbabilities act;
  act.n_frames = frames.rows;
  act.n_notes = static_cast<int>(frames.cols);
  act.frames = frames.data;
  act.onsets = onsets.data;
  const qs::NoteList again = qs::decode_probabilities(act, info.model_config(), info.decoding);
  const qs::NoteList written = qs::read_notes(dir + "/a.tsv");
  ASSERT_FALSE(written.empty());
  ASSERT_EQ(again.size(), written.size());
  for (std::size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again[i].pitch, written[i].pitch);
    EXPECT_NEAR(again[i].onset, written[i].onset, 1e-4);
    EXPECT_NEAR(again[i].offset, written[i].offset, 1e-4);
  }
}

TEST(Transcribe, ClearErrors) {
  const std::string dir = qs::test::temp_dir("transcribe_err");
  qs::save_wav(dir + "/a.wav", qs::AudioBuffer{std::vector<float>(22050, 0.0f), 22050.0});
  std::string out;
  EXPECT_EQ(qs::test::run_qscribe("transcribe " + dir + "/a.wav -o " + dir + "/a.mid -m " + dir + "/nope.pt", &out), 1);
  EXPECT_NE(out.find("qscribe: error: " + dir + "/nope.pt: no such model file"), std::string::npos) << out;
  {
    std::ofstream(dir + "/bad.pt") << "garbage";
  }
  EXPECT_EQ(qs::test::run_qscribe("transcribe " + dir + "/a.wav -o " + dir + "/a.mid -m " + dir + "/bad.pt", &out), 1);
  EXPECT_NE(out.find("bad.pt: not a readable qscribe checkpoint"), std::string::npos) << out;
  {
    std::ofstream(dir + "/b.wav") << "RIFF....not audio";
  }
  EXPECT_EQ(qs::test::run_qscribe("transcribe " + dir + "/b.wav -o " + dir + "/b.mid -m " + trained_model(), &out), 1);
  EXPECT_NE(out.find("b.wav: "), std::string::npos) << out;
  EXPECT_EQ(qs::test::run_qscribe("transcribe " + dir + "/a.wav " + dir + "/a.wav -o " + dir + "/x.tsv -m " + trained_model(), &out), 1);
  EXPECT_NE(out.find("output directory"), std::string::npos) << out;
  EXPECT_EQ(qs::test::run_qscribe("transcribe " + dir + "/missing.wav -o x.mid", &out), 2);  // usage error
}

// The decoder options are spelled alike in every command (--min-note-length SECONDS,
// --frame-fallback on|off); the old spellings still work but are hidden from --help.
TEST(Transcribe, DecodingOptionsSpelledAlikeWithHiddenOldSpellings) {
  const std::string model = trained_model();
  const std::string dir = qs::test::temp_dir("transcribe_opts");
  qs::save_wav(dir + "/a.wav", qs::AudioBuffer{tones(7, 2.0, 22050.0).audio, 22050.0});
  auto decoding = [&](const std::string& options) {
    std::string out;
    EXPECT_EQ(qs::test::run_qscribe("transcribe " + dir + "/a.wav -o " + dir + "/a.json -q --threads 1 -m " + model +
                                        " " + options, &out),
              0)
        << options << ": " << out;
    nlohmann::json meta;
    qs::read_notes_json(dir + "/a.json", &meta);
    return meta["decoding"];
  };
  EXPECT_FALSE(decoding("--frame-fallback off")["frame_fallback"].get<bool>());
  EXPECT_FALSE(decoding("--no-frame-fallback")["frame_fallback"].get<bool>());
  EXPECT_TRUE(decoding("--frame-fallback on")["frame_fallback"].get<bool>());
  EXPECT_DOUBLE_EQ(decoding("--min-note-length 0.07")["min_note_length_s"].get<double>(), 0.07);
  EXPECT_DOUBLE_EQ(decoding("--min-note-ms 70")["min_note_length_s"].get<double>(), 0.07);
  std::string out;
  EXPECT_EQ(qs::test::run_qscribe("transcribe " + dir + "/a.wav -o " + dir + "/b.json --frame-fallback on --no-frame-fallback", &out), 2);
  EXPECT_EQ(qs::test::run_qscribe("transcribe " + dir + "/a.wav -o " + dir + "/b.json --min-note-length 0.1 --min-note-ms 70", &out), 2);
  for (const char* command : {"transcribe", "evaluate", "export"}) {
    ASSERT_EQ(qs::test::run_qscribe(std::string(command) + " --help", &out), 0);
    EXPECT_NE(out.find("--min-note-length"), std::string::npos) << command;
    EXPECT_NE(out.find("--frame-fallback"), std::string::npos) << command;
    EXPECT_EQ(out.find("--min-note-ms"), std::string::npos) << command;
    EXPECT_EQ(out.find("--no-frame-fallback"), std::string::npos) << command;
  }
}
