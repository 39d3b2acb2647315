// The learned beat activation's core half: features of note probabilities, the network's forward
// pass checked against hand-computed values, its JSON, and the tracker following an activation.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "qscribe/beat_activation.hpp"
#include "qscribe/error.hpp"
#include "qscribe/metrics.hpp"
#include "qscribe/music_analysis.hpp"

namespace {

qs::NoteProbabilities probabilities(std::size_t frames, int notes = 88) {
  qs::NoteProbabilities p;
  p.n_notes = notes;
  p.ensure_frames(frames);
  return p;
}

float& at(std::vector<float>& v, std::size_t t, int n, int notes = 88) { return v[t * notes + n]; }

TEST(BeatFeatures, BandsOnsetsRisesAndSoundingNotes) {
  qs::NoteProbabilities p = probabilities(10);
  at(p.onsets, 3, 0) = 1.0f;   // band 0
  at(p.onsets, 3, 87) = 0.5f;  // band 7
  for (std::size_t t = 3; t < 10; ++t) at(p.frames, t, 44) = 0.75f;  // band 4 from frame 3
  const std::vector<float> f = qs::beat_features(p);
  ASSERT_EQ(f.size(), 10u * qs::kBeatFeatures);
  auto F = [&](std::size_t t, int k) { return f[t * qs::kBeatFeatures + k]; };
  EXPECT_NEAR(F(3, 0), std::log1p(4.0), 1e-6);
  EXPECT_NEAR(F(3, 7), std::log1p(2.0), 1e-6);
  EXPECT_FLOAT_EQ(F(2, 0), 0.0f);
  EXPECT_NEAR(F(3, 8 + 4), std::log1p(3.0), 1e-6);  // the rise 0 -> 0.75
  EXPECT_FLOAT_EQ(F(4, 8 + 4), 0.0f);                // held: no rise
  EXPECT_NEAR(F(6, 16 + 4), std::log1p(0.75), 1e-6); // sounding
  // The harmony changes where the note starts (silence before, a note after), not later.
  EXPECT_NEAR(F(3, 24), 1.0f, 1e-6);
  EXPECT_NEAR(F(8, 24), 0.0f, 1e-6);
}

TEST(BeatFeatures, FrameOnlyModelsUseTheRiseAsOnset) {
  qs::NoteProbabilities p;
  p.n_notes = 88;
  p.has_onsets = false;
  p.ensure_frames(4);
  at(p.frames, 2, 10) = 0.5f;
  const std::vector<float> f = qs::beat_features(p);
  EXPECT_NEAR(f[2 * qs::kBeatFeatures + 0], std::log1p(2.0), 1e-6);
  EXPECT_TRUE(qs::beat_features(probabilities(0)).empty());
}

// One channel, one layer: every value can be computed by hand.
qs::BeatNet tiny_net() {
  qs::BeatNet n;
  n.frame_rate = 10.0;
  n.channels = 1;
  n.kernel = 3;
  n.dilations = {2};
  n.input_mean.assign(qs::kBeatFeatures, 0.0f);
  n.input_std.assign(qs::kBeatFeatures, 1.0f);
  n.input_std[0] = 2.0f;
  n.in_w.assign(qs::kBeatFeatures, 0.0f);
  n.in_w[0] = 1.0f;
  n.in_b = {0.0f};
  n.layers = {{{0.5f, 1.0f, -1.0f}, {0.25f}}};
  n.out_w = {1.0f, -1.0f};
  n.out_b = {0.0f, 1.0f};
  return n;
}

TEST(BeatNetForward, MatchesAHandComputation) {
  const qs::BeatNet n = tiny_net();
  std::vector<float> features(5 * qs::kBeatFeatures, 0.0f);
  const float x0[5] = {2.0f, -2.0f, 4.0f, 0.0f, 6.0f};  // feature 0 per frame; normalised: /2
  for (int t = 0; t < 5; ++t) features[t * qs::kBeatFeatures] = x0[t];
  const qs::BeatActivation a = qs::beat_activation(n, features, 10.0);
  ASSERT_EQ(a.beat.size(), 5u);
  auto elu = [](double v) { return v > 0 ? v : std::expm1(v); };
  std::vector<double> h(5);
  for (int t = 0; t < 5; ++t) h[t] = elu(x0[t] / 2.0);
  for (int t = 0; t < 5; ++t) {
    // kernel taps at t - 2, t, t + 2 (dilation 2), zero outside
    const double left = t >= 2 ? h[t - 2] : 0.0, right = t + 2 < 5 ? h[t + 2] : 0.0;
    const double y = h[t] + elu(0.25 + 0.5 * left + 1.0 * h[t] - 1.0 * right);
    EXPECT_NEAR(a.beat[t], 1.0 / (1.0 + std::exp(-y)), 1e-6) << t;
    EXPECT_NEAR(a.downbeat[t], 1.0 / (1.0 + std::exp(-(1.0 - y))), 1e-6) << t;
  }
}

TEST(BeatNetJson, RoundTripsAndNamesBadFields) {
  const qs::BeatNet n = tiny_net();
  const qs::BeatNet back = qs::parse_beat_net(qs::beat_net_to_json(n));
  EXPECT_EQ(back.dilations, n.dilations);
  EXPECT_EQ(back.layers[0].w, n.layers[0].w);
  EXPECT_EQ(back.input_std, n.input_std);
  EXPECT_DOUBLE_EQ(back.frame_rate, 10.0);
  // Weights of any value read back bit for bit from their short decimal form.
  qs::BeatNet odd = n;
  odd.in_w[3] = 0.1f;
  odd.in_w[4] = -3.4028235e38f;
  odd.in_w[5] = 1.17549435e-38f;
  odd.in_w[6] = 0.22387416660785675f;
  EXPECT_EQ(qs::parse_beat_net(qs::beat_net_to_json(odd)).in_w, odd.in_w);

  auto fails_with = [](const std::string& text, const std::string& part) {
    try {
      qs::parse_beat_net(text, "net.json");
      ADD_FAILURE() << "accepted: " << text.substr(0, 80);
    } catch (const qs::Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  fails_with("{", "not JSON");
  fails_with("[]", "not a JSON object");
  std::string j = qs::beat_net_to_json(n);
  fails_with(std::string(j).replace(j.find("qscribe-beat-net"), 16, "something-else"), "format");
  fails_with(std::string(j).replace(j.find("\"features\":25"), 13, "\"features\":24"), "features");
  fails_with(std::string(j).replace(j.find("\"out_b\":[0.0,1.0]"), 17, "\"out_b\":[0.0]"), "out_b");
  fails_with(std::string(j).replace(j.find("\"dilations\":[2]"), 15, "\"dilations\":[2,4]"), "layers");
}

TEST(BeatEnvelope, InterpolatesToTheTrackersRate) {
  qs::BeatActivation a;
  a.frame_rate = 10.0;
  a.beat = {0.0f, 1.0f, 0.0f};
  const qs::OnsetEnvelope e = qs::beat_envelope(a, 100.0);
  ASSERT_EQ(e.strength.size(), 30u);
  EXPECT_FLOAT_EQ(e.strength[10], 1.0f);
  EXPECT_NEAR(e.strength[5], 0.5f, 1e-6);
  EXPECT_NEAR(e.strength[15], 0.5f, 1e-6);
}

// The analysis follows an activation that pulses at 90 bpm, whatever the notes say (here: none).
TEST(BeatEnvelope, AnalysisTracksTheActivationsBeats) {
  qs::BeatActivation a;
  a.frame_rate = 43.0;
  const double seconds = 30.0;
  a.beat.assign(static_cast<std::size_t>(seconds * a.frame_rate), 0.02f);
  a.downbeat = a.beat;
  std::vector<double> truth;
  for (double t = 0.5; t < seconds; t += 60.0 / 90.0) {
    truth.push_back(t);
    a.beat[static_cast<std::size_t>(std::lround(t * a.frame_rate))] = 0.9f;
  }
  const qs::MusicAnalysis m = qs::analyse_music({}, seconds, {}, &a);
  EXPECT_GT(qs::beat_f_measure(truth, m.beats), 0.95);
  EXPECT_NEAR(m.tempo_bpm, 90.0, 2.0);
  // Without it the same call has no notes to follow: a steady 120 bpm grid.
  EXPECT_NEAR(qs::analyse_music({}, seconds).tempo_bpm, 120.0, 1e-6);
}

TEST(BeatFMeasure, MatchesMirEvalsDefinition) {
  const std::vector<double> ref{1, 5.5, 6.0, 6.5, 7.0};
  EXPECT_DOUBLE_EQ(qs::beat_f_measure(ref, ref), 1.0);
  // Before 5 s is trimmed; 6.06 is within 70 ms, 6.58 is not; one extra beat.
  const double f = qs::beat_f_measure(ref, {5.5, 6.06, 6.58, 7.0, 7.3});
  const double p = 3.0 / 5, r = 3.0 / 4;
  EXPECT_NEAR(f, 2 * p * r / (p + r), 1e-12);
  EXPECT_EQ(qs::beat_f_measure(ref, {}), 0.0);
}

}  // namespace
