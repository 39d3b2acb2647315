// CQT throughput: seconds of audio per second of wall time = items_per_second / 22050.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "bench_signal.hpp"
#include "qscribe/cqt.hpp"

namespace {

using qs::bench::test_signal;

// Batch transform of 60 s at the default features (sr 22050, hop 512, 352 bins).
void BM_CqtBatch(benchmark::State& state) {
  const qs::Cqt cqt;
  const auto x = test_signal(60.0, 22050.0);
  for (auto _ : state) benchmark::DoNotOptimize(cqt.transform(x).data.data());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * x.size()));
  state.counters["x_realtime"] = benchmark::Counter(static_cast<double>(state.iterations()) * 60.0,
                                                    benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CqtBatch)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The shipped model's features (filter_scale 0.25) against kernels twice as long with the same
// look-ahead (filter_scale 0.5, future_fraction 0.25): the cost of the finer frequency resolution.
void BM_CqtBatchModelFeatures(benchmark::State& state) {
  qs::CqtParams p;
  p.filter_scale = state.range(0) ? 0.5 : 0.25;
  p.future_fraction = state.range(0) ? 0.25 : 0.5;
  const qs::Cqt cqt(p);
  const auto x = test_signal(60.0, 22050.0);
  for (auto _ : state) benchmark::DoNotOptimize(cqt.transform(x).data.data());
  state.counters["x_realtime"] = benchmark::Counter(static_cast<double>(state.iterations()) * 60.0,
                                                    benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CqtBatchModelFeatures)->Arg(0)->Arg(1)->ArgNames({"long_past"})->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Streaming in 128-sample blocks (an AudioWorklet quantum), the live path.
void BM_CqtStreaming128(benchmark::State& state) {
  const qs::Cqt cqt;
  const auto x = test_signal(20.0, 22050.0);
  std::vector<float> frames;
  for (auto _ : state) {
    qs::StreamingCqt s(cqt);
    frames.clear();
    for (std::size_t i = 0; i < x.size(); i += 128) s.push(x.data() + i, std::min<std::size_t>(128, x.size() - i), frames);
    s.finish(frames);
    benchmark::DoNotOptimize(frames.data());
  }
  state.counters["x_realtime"] = benchmark::Counter(static_cast<double>(state.iterations()) * 20.0,
                                                    benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CqtStreaming128)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Kernel design cost (paid once per model load).
void BM_CqtSetup(benchmark::State& state) {
  for (auto _ : state) {
    qs::Cqt cqt;
    benchmark::DoNotOptimize(&cqt);
  }
}
BENCHMARK(BM_CqtSetup)->Unit(benchmark::kMillisecond);

}  // namespace
