// Note decoding speed: 5 minutes of activations (~12920 frames x 88 notes), re-decoded on every
// threshold slider move in the browser, so it must take well under 10 ms.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "qscribe/note_decoder.hpp"

namespace {

// Random-ish piano activations: sparse notes with onset bumps and decaying sustain, plus noise.
struct FiveMinutes {
  static constexpr int kNotes = 88;
  std::size_t n_frames = static_cast<std::size_t>(300.0 * 22050.0 / 512.0);
  std::vector<float> frames, onsets;

  FiveMinutes() : frames(n_frames * kNotes), onsets(n_frames * kNotes) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> noise(0.0f, 0.2f);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      frames[i] = noise(rng);
      onsets[i] = noise(rng) * 0.5f;
    }
    // ~8 notes per second, 4..60 frames long.
    std::uniform_int_distribution<std::size_t> start(0, n_frames - 1);
    std::uniform_int_distribution<int> pitch(0, kNotes - 1), len(4, 60);
    for (int n = 0; n < 2400; ++n) {
      const std::size_t s = start(rng);
      const int k = pitch(rng), l = len(rng);
      onsets[s * kNotes + k] = 0.9f;
      if (s > 0) onsets[(s - 1) * kNotes + k] = 0.4f;
      for (int j = 0; j < l && s + j < n_frames; ++j)
        frames[(s + j) * kNotes + k] = 0.95f * std::exp(-0.02f * static_cast<float>(j)) + 0.02f;
    }
  }
  qs::Activations act(bool with_onsets) const {
    qs::Activations a;
    a.frames = frames.data();
    a.onsets = with_onsets ? onsets.data() : nullptr;
    a.n_frames = n_frames;
    a.n_notes = kNotes;
    return a;
  }
};

const FiveMinutes& data() {
  static const FiveMinutes d;
  return d;
}

void BM_DecodeFiveMinutes(benchmark::State& state) {
  const qs::Activations a = data().act(state.range(0) != 0);
  qs::NoteList out;
  for (auto _ : state) {
    qs::decode_notes(a, qs::DecoderParams{}, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["notes"] = static_cast<double>(out.size());
  state.counters["frames"] = static_cast<double>(a.n_frames);
}
BENCHMARK(BM_DecodeFiveMinutes)->Arg(1)->Arg(0)->ArgNames({"onsets"})->Unit(benchmark::kMillisecond);

}  // namespace
