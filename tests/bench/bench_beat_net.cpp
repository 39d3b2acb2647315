// The beat network's cost: features and forward pass over 5 minutes of note probabilities, with
// the shipped size (32 channels, kernel 3, dilations 1..128) and random weights (the cost does
// not depend on them). It runs once per transcription, before the tracker.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "qscribe/beat_activation.hpp"

namespace {

qs::NoteProbabilities five_minutes() {
  qs::NoteProbabilities p;
  p.ensure_frames(static_cast<std::size_t>(300.0 * 22050.0 / 512.0));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (std::size_t i = 0; i < p.frames.size(); ++i) p.frames[i] = u(rng) < 0.05f ? u(rng) : 0.01f * u(rng);
  for (std::size_t i = 0; i < p.onsets.size(); ++i) p.onsets[i] = u(rng) < 0.01f ? u(rng) : 0.01f * u(rng);
  return p;
}

qs::BeatNet random_net(int channels) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 0.1f);
  auto fill = [&](std::size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = g(rng);
    return v;
  };
  qs::BeatNet n;
  n.frame_rate = 22050.0 / 512.0;
  n.channels = channels;
  n.dilations = {1, 2, 4, 8, 16, 32, 64, 128};
  n.input_mean.assign(qs::kBeatFeatures, 0.0f);
  n.input_std.assign(qs::kBeatFeatures, 1.0f);
  const std::size_t C = static_cast<std::size_t>(channels);
  n.in_w = fill(C * qs::kBeatFeatures);
  n.in_b = fill(C);
  for (std::size_t l = 0; l < n.dilations.size(); ++l) n.layers.push_back({fill(C * C * 3), fill(C)});
  n.out_w = fill(qs::kBeatOutputs * C);
  n.out_b = fill(qs::kBeatOutputs);
  return n;
}

void BM_BeatFeaturesFiveMinutes(benchmark::State& state) {
  const qs::NoteProbabilities p = five_minutes();
  for (auto _ : state) benchmark::DoNotOptimize(qs::beat_features(p).data());
}
BENCHMARK(BM_BeatFeaturesFiveMinutes)->Unit(benchmark::kMillisecond);

void BM_BeatNetFiveMinutes(benchmark::State& state) {
  const qs::NoteProbabilities p = five_minutes();
  const std::vector<float> f = qs::beat_features(p);
  const qs::BeatNet net = random_net(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(qs::beat_activation(net, f, net.frame_rate).beat.data());
}
BENCHMARK(BM_BeatNetFiveMinutes)->Arg(32)->ArgNames({"channels"})->Unit(benchmark::kMillisecond);

}  // namespace
