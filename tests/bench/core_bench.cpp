// Benchmark of the core as the browser runs it (compiled with emcc, run under Node, one thread).
// Prints the CQT's seconds of audio per second and the note decoder's time for 5 minutes.
// Natively Google Benchmark measures the same (qscribe_bench); this program exists because
// Google Benchmark is not built for wasm.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "bench_signal.hpp"
#include "qscribe/beat_activation.hpp"
#include "qscribe/cqt.hpp"
#include "qscribe/note_decoder.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

using qs::bench::test_signal;

}  // namespace

int main() {
  const double audio_s = 60.0;
  const auto x = test_signal(audio_s, 22050.0);
  auto t0 = std::chrono::steady_clock::now();
  const qs::Cqt cqt;
  const double setup_s = seconds_since(t0);

  double best = 1e9;
  for (int rep = 0; rep < 5; ++rep) {
    t0 = std::chrono::steady_clock::now();
    const qs::Spectrogram c = cqt.transform(x);
    best = std::min(best, seconds_since(t0));
    if (c.n_frames == 0) return 1;
  }
  double best_stream = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    qs::StreamingCqt s(cqt);
    std::vector<float> frames;
    t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < x.size(); i += 128) s.push(x.data() + i, std::min<std::size_t>(128, x.size() - i), frames);
    s.finish(frames);
    best_stream = std::min(best_stream, seconds_since(t0));
  }

  // Note decoding of 5 minutes of activations (88 notes at 43 frames/s).
  const std::size_t n_frames = static_cast<std::size_t>(300.0 * 22050.0 / 512.0);
  std::vector<float> frames(n_frames * 88), onsets(n_frames * 88);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (std::size_t t = 0; t < n_frames; ++t)
    for (int p = 0; p < 88; ++p) {
      const bool on = ((t / 20 + p * 7) % 11) < 2;
      frames[t * 88 + p] = on ? 0.6f + 0.4f * u(rng) : 0.2f * u(rng);
      onsets[t * 88 + p] = (on && (t % 20) == 0) ? 0.9f : 0.1f * u(rng);
    }
  qs::Activations act;
  act.frames = frames.data();
  act.onsets = onsets.data();
  act.n_frames = n_frames;
  double best_decode = 1e9;
  std::size_t n_notes = 0;
  for (int rep = 0; rep < 10; ++rep) {
    t0 = std::chrono::steady_clock::now();
    n_notes = qs::decode_notes(act).size();
    best_decode = std::min(best_decode, seconds_since(t0));
  }

  // The beat network over the same 5 minutes (shipped size: 32 channels, dilations 1..128;
  // random weights: the cost does not depend on them).
  qs::NoteProbabilities probs;
  probs.ensure_frames(n_frames);
  probs.frames = frames;
  probs.onsets = onsets;
  qs::BeatNet net;
  net.frame_rate = 22050.0 / 512.0;
  net.channels = 32;
  net.dilations = {1, 2, 4, 8, 16, 32, 64, 128};
  net.input_mean.assign(qs::kBeatFeatures, 0.0f);
  net.input_std.assign(qs::kBeatFeatures, 1.0f);
  net.in_w.assign(32 * qs::kBeatFeatures, 0.01f);
  net.in_b.assign(32, 0.0f);
  for (int l = 0; l < 8; ++l) net.layers.push_back({std::vector<float>(32 * 32 * 3, 0.01f), std::vector<float>(32, 0.0f)});
  net.out_w.assign(2 * 32, 0.01f);
  net.out_b.assign(2, 0.0f);
  double best_beat = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    t0 = std::chrono::steady_clock::now();
    const qs::BeatActivation a = qs::beat_activation(net, qs::beat_features(probs), net.frame_rate);
    best_beat = std::min(best_beat, seconds_since(t0));
    if (a.beat.size() != n_frames) return 1;
  }

  std::printf("cqt_setup_ms %.1f\n", setup_s * 1e3);
  std::printf("cqt_batch_x_realtime %.0f\n", audio_s / best);
  std::printf("cqt_stream128_x_realtime %.0f\n", audio_s / best_stream);
  std::printf("decode_5min_ms %.2f (%zu notes)\n", best_decode * 1e3, n_notes);
  std::printf("beat_net_5min_ms %.1f\n", best_beat * 1e3);
  return 0;
}
