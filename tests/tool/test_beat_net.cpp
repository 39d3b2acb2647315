// The beat network's LibTorch half: the trained module and the core's forward pass agree, the
// trainer learns beats from a corpus, the corpus reader's checks, and `qscribe train-beats` and
// `transcribe --beat-net` end to end on rendered tones.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "beats/beat_corpus.hpp"
#include "beats/beat_trainer.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/error.hpp"
#include "qscribe/note_io.hpp"
#include "test_support.hpp"
#include "tool_helpers.hpp"

namespace {

namespace fs = std::filesystem;

TEST(BeatNetModule, CoreForwardMatchesLibTorch) {
  torch::manual_seed(3);
  qs::BeatNetModule m(6, 3, std::vector<int>{1, 4, 16});
  m->eval();
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const std::size_t T = 300;
  std::vector<float> features(T * qs::kBeatFeatures);
  for (float& v : features) v = std::abs(g(rng));
  std::vector<float> mean(qs::kBeatFeatures), std(qs::kBeatFeatures);
  for (int f = 0; f < qs::kBeatFeatures; ++f) mean[f] = 0.1f * f, std[f] = 0.5f + 0.05f * f;
  const qs::BeatNet net = qs::to_beat_net(m, mean, std, 43.0);
  const qs::BeatActivation core = qs::beat_activation(net, features, 43.0);

  torch::Tensor x = torch::from_blob(features.data(), {1, static_cast<long>(T), qs::kBeatFeatures}).clone();
  x = (x - torch::tensor(mean).view({1, 1, -1})) / torch::tensor(std).view({1, 1, -1});
  const torch::Tensor p = torch::sigmoid(m->forward(x.permute({0, 2, 1}).contiguous()));
  for (std::size_t t = 0; t < T; t += 7) {
    EXPECT_NEAR(core.beat[t], p[0][0][t].item<float>(), 1e-5) << t;
    EXPECT_NEAR(core.downbeat[t], p[0][1][t].item<float>(), 1e-5) << t;
  }
  // And back: weights loaded into a fresh module give the same outputs.
  qs::BeatNetModule m2(6, 3, std::vector<int>{1, 4, 16});
  qs::load_beat_net(m2, qs::parse_beat_net(qs::beat_net_to_json(net)));
  m2->eval();
  EXPECT_TRUE(torch::allclose(torch::sigmoid(m2->forward(x.permute({0, 2, 1}).contiguous())), p, 1e-6, 1e-6));
}

// Features at varied tempi where the beats are bass onsets and every off-beat has a louder chord:
// an onset detector would hear the off-beats first.
std::vector<qs::BeatPiece> pulse_corpus(int n) {
  std::vector<qs::BeatPiece> out;
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> bpm(80, 150), u(0, 1);
  const double rate = 43.07;
  for (int i = 0; i < n; ++i) {
    qs::BeatPiece p;
    p.name = "dir/piece" + std::to_string(i);
    p.n_frames = static_cast<std::size_t>(40 * rate);
    p.features.assign(p.n_frames * qs::kBeatFeatures, 0.0f);
    const double period = 60.0 / bpm(rng);
    int k = 0;
    for (double t = 0.3 + u(rng) * period; t * rate < p.n_frames - 1; t += period, ++k) {
      p.beats.push_back(t);
      if (k % 4 == 0) p.downbeats.push_back(t);
      p.features[static_cast<std::size_t>(std::lround(t * rate)) * qs::kBeatFeatures + 1] = 1.0f;  // the bass
      const std::size_t off = static_cast<std::size_t>(std::lround((t + period / 2) * rate));
      if (off < p.n_frames) p.features[off * qs::kBeatFeatures + 5] = 3.0f;  // off-beat chords
    }
    out.push_back(std::move(p));
  }
  return out;
}

TEST(BeatTrainer, LearnsWhereTheBeatsAre) {
  const std::vector<qs::BeatPiece> corpus = pulse_corpus(24);
  qs::BeatTrainOptions o;
  o.channels = 8;
  o.dilations = {1, 2, 4, 8, 16};
  o.epochs = 4;
  o.steps_per_epoch = 40;
  o.batch = 4;
  o.crop_frames = 512;
  o.val_share = 0.3;
  torch::set_num_threads(1);
  const qs::BeatTrainResult r = qs::train_beat_net(corpus, 43.07, o);
  EXPECT_GT(r.val_pieces, 3u);
  EXPECT_EQ(r.train_pieces + r.val_pieces, corpus.size());
  EXPECT_GT(r.val_f, 0.9);
  EXPECT_GT(qs::beat_net_f(r.net, corpus, o.tracker), 0.9);
  // The activation is high on the beats and low on the louder off-beats; an untrained one is not.
  auto beat_to_offbeat = [&](const qs::BeatNet& net) {
    double on = 0, off = 0;
    for (const auto& p : corpus) {
      const qs::BeatActivation a = qs::beat_activation(net, p.features, 43.07);
      for (std::size_t i = 0; i + 1 < p.beats.size(); ++i) {
        on += a.beat[static_cast<std::size_t>(std::lround(p.beats[i] * 43.07))];
        off += a.beat[static_cast<std::size_t>(std::lround((p.beats[i] + p.beats[i + 1]) / 2 * 43.07))];
      }
    }
    return on / off;
  };
  qs::BeatNetModule fresh(o.channels, o.kernel, o.dilations);
  EXPECT_GT(beat_to_offbeat(r.net), 3.0);
  EXPECT_LT(beat_to_offbeat(qs::to_beat_net(fresh, r.net.input_mean, r.net.input_std, 43.07)), 1.5);
}

TEST(BeatCorpus, GridFitAndBeatFiles) {
  std::vector<double> beats;
  for (int i = 0; i < 40; ++i) beats.push_back(0.5 * i);
  std::vector<double> on_grid, off_grid;
  for (int i = 0; i < 60; ++i) on_grid.push_back(0.25 * i);           // eighths: on the beats and halfway
  for (int i = 0; i < 60; ++i) off_grid.push_back(0.17 + 0.31 * i);  // free time
  EXPECT_TRUE(qs::grid_fits_notes(on_grid, beats));
  EXPECT_FALSE(qs::grid_fits_notes(off_grid, beats));
  EXPECT_TRUE(qs::grid_fits_notes({1.0}, beats));  // too little to tell

  const std::string dir = qs::test::temp_dir("beat_tsv");
  std::ofstream(dir + "/a.beats.tsv") << "# time_s\tbar\tbeat\n0.5\t1\t1\n1.0\t1\t2\n1.5\t2\t1\n";
  std::vector<double> b, d;
  qs::read_beats_tsv(dir + "/a.beats.tsv", b, d);
  EXPECT_EQ(b, (std::vector<double>{0.5, 1.0, 1.5}));
  EXPECT_EQ(d, (std::vector<double>{0.5, 1.5}));
  std::ofstream(dir + "/bad.beats.tsv") << "0.5\t1\t1\n0.2\t1\t2\n";
  EXPECT_THROW(qs::read_beats_tsv(dir + "/bad.beats.tsv", b, d), qs::Error);
  std::ofstream(dir + "/junk.beats.tsv") << "zero one two\n";
  try {
    qs::read_beats_tsv(dir + "/junk.beats.tsv", b, d);
    ADD_FAILURE();
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("junk.beats.tsv:1"), std::string::npos) << e.what();
  }
}

// Tones on a 120 bpm grid (a low note on each beat, a softer high one between), 20 s.
void write_tone_render(const std::string& stem) {
  qs::AudioBuffer a;
  a.sample_rate = 22050;
  a.samples.assign(static_cast<std::size_t>(20 * a.sample_rate), 0.0f);
  std::ofstream tsv(stem + ".beats.tsv");
  tsv << "# time_s\tbar\tbeat_in_bar\n";
  for (int k = 0; k < 40; ++k) {
    const double t = 0.5 * k;
    tsv << t << "\t" << k / 4 + 1 << "\t" << k % 4 + 1 << "\n";
    for (int half = 0; half < 2; ++half) {
      const double f = half ? 659.25 : 130.81, amp = half ? 0.1 : 0.3, t0 = t + 0.25 * half;
      for (std::size_t i = static_cast<std::size_t>(t0 * a.sample_rate); i < a.samples.size(); ++i) {
        const double s = i / a.sample_rate - t0;
        if (s > 0.4) break;
        for (int h = 1; h <= 3; ++h) a.samples[i] += static_cast<float>(amp / h * std::exp(-6 * s) * std::sin(2 * M_PI * f * h * s));
      }
    }
  }
  qs::save_wav(stem + ".wav", a);
}

TEST(BeatNetCommand, TrainsFromRendersAndTranscribeFollowsIt) {
  const std::string dir = qs::test::temp_dir("train_beats");
  fs::create_directories(dir + "/renders");
  write_tone_render(dir + "/renders/tones");
  std::string out;
  ASSERT_EQ(qs::test::run_qscribe("train-beats " + dir + "/renders -o " + dir + "/net.json --epochs 2 --steps 3 "
                                  "--batch 2 --crop-frames 256 --val-share 0 --threads 1", &out), 0) << out;
  EXPECT_TRUE(fs::exists(dir + "/renders/tones.frames.npy")) << "the probabilities are cached beside the audio";
  const qs::BeatNet net = qs::parse_beat_net([&] {
    std::ifstream in(dir + "/net.json");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }());
  EXPECT_NEAR(net.frame_rate, 22050.0 / 512, 1e-6);
  EXPECT_NE(out.find("1 pieces"), std::string::npos) << out;

  ASSERT_EQ(qs::test::run_qscribe("transcribe " + dir + "/renders/tones.wav -o " + dir + "/t.json -q --beat-net " +
                                  dir + "/net.json", &out), 0) << out;
  std::ifstream j(dir + "/t.json");
  const nlohmann::json doc = nlohmann::json::parse(j);
  EXPECT_GE(doc["metadata"]["beats"].size(), 2u);

  // Bad input: a clear message, exit 1.
  std::ofstream(dir + "/broken.json") << "{\"format\": \"qscribe-beat-net\"";
  EXPECT_EQ(qs::test::run_qscribe("transcribe " + dir + "/renders/tones.wav -o " + dir + "/u.json -q --beat-net " +
                                  dir + "/broken.json", &out), 1);
  EXPECT_NE(out.find("broken.json: not JSON"), std::string::npos) << out;
  // A network of another frame rate: refused when named, with the reason.
  qs::BeatNet other = net;
  other.frame_rate = 100.0;
  std::ofstream(dir + "/other.json") << qs::beat_net_to_json(other);
  EXPECT_THROW(qs::load_beat_net_file(dir + "/other.json", net.frame_rate), qs::Error);
  EXPECT_EQ(qs::test::run_qscribe("transcribe " + dir + "/renders/tones.wav -o " + dir + "/v.json -q --beat-net " +
                                  dir + "/other.json", &out), 1);
  EXPECT_NE(out.find("trained at 100"), std::string::npos) << out;
  EXPECT_EQ(qs::test::run_qscribe("train-beats " + dir + " -o " + dir + "/n.txt", &out), 1);
  EXPECT_NE(out.find("NAME.json"), std::string::npos) << out;
  fs::create_directories(dir + "/empty");
  EXPECT_EQ(qs::test::run_qscribe("train-beats " + dir + "/empty -o " + dir + "/n.json", &out), 1);
  EXPECT_NE(out.find("no NAME.beats.tsv"), std::string::npos) << out;
}

}  // namespace
