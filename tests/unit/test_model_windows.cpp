// The core's transcription pipeline (model_windows.hpp, transcription.hpp, live_window.hpp) with a
// stand-in network: windows, stitching, output handling and the live tail. Runs natively and in
// wasm; wasm.pipeline_identical_to_native checks that both builds give the same bits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "qscribe/cqt.hpp"
#include "qscribe/error.hpp"
#include "qscribe/live_window.hpp"
#include "qscribe/model_windows.hpp"
#include "qscribe/note_synth.hpp"
#include "qscribe/transcription.hpp"
#include "stand_in_network.hpp"

namespace {

constexpr int kBins = 352, kNotes = 88;

std::vector<float> random_cqt(std::size_t n, unsigned seed) {
  std::vector<float> cqt(n * kBins);
  std::mt19937 rng(seed);
  for (auto& v : cqt) v = std::uniform_real_distribution<float>(0.0f, 0.2f)(rng);
  return cqt;
}

// Runs `cqt` through ModelWindows, pushed in slices of `slice` frames, answered by the stand-in.
qs::NoteProbabilities run_windows(const qs::ModelConfig& model, const qs::WindowOptions& o, const std::vector<float>& cqt,
                                  std::size_t slice, bool frame_local) {
  qs::ModelWindows w(model, o);
  const auto run = [&](qs::ModelRequest& r) { qs::test::stand_in_network(r, frame_local); };
  const std::size_t n = cqt.size() / kBins;
  for (std::size_t i = 0; i < n; i += slice) {
    w.push(cqt.data() + i * kBins, std::min(slice, n - i));
    w.run_ready(run);
  }
  w.finish();
  w.run_ready(run);
  EXPECT_TRUE(w.done());
  return std::move(w.probabilities());
}

// The stand-in run on one window [start, start + W) of `cqt` alone (zero-padded), as probabilities.
qs::ModelRequest one_window(const std::vector<float>& cqt, std::size_t start, int W) {
  qs::ModelRequest r;
  r.prepare(1, W, kBins, kNotes, true);
  const std::size_t n = cqt.size() / kBins;
  const std::size_t avail = std::min<std::size_t>(W, n - std::min(n, start));
  std::copy_n(cqt.begin() + static_cast<std::ptrdiff_t>(start * kBins), avail * kBins, r.input.begin());
  qs::test::stand_in_network(r);
  qs::sigmoid_inplace(r.frame_out.data(), r.frame_out.size());
  qs::sigmoid_inplace(r.onset_out.data(), r.onset_out.size());
  return r;
}

}  // namespace

TEST(ModelWindows, EachFrameComesFromTheWindowThatOwnsIt) {
  const std::size_t n = 157;
  const std::vector<float> cqt = random_cqt(n, 1);
  qs::ModelConfig model;
  qs::WindowOptions o;
  o.window_frames = 20;
  o.overlap_frames = 3;
  o.batch_windows = 4;
  const qs::NoteProbabilities p = run_windows(model, o, cqt, 4096, false);
  ASSERT_EQ(p.n_frames, n);
  ASSERT_EQ(p.frames.size(), n * kNotes);
  ASSERT_EQ(p.onsets.size(), n * kNotes);
  const int W = 20, O = 3, S = W - 2 * O;
  std::vector<int> owners(n, 0);
  for (std::size_t start = 0;; start += S) {
    const qs::ModelRequest r = one_window(cqt, start, W);
    const std::size_t keep_start = start == 0 ? 0 : start + O;
    const bool last = start + W >= n;
    const std::size_t keep_end = last ? n : start + W - O;
    for (std::size_t t = keep_start; t < keep_end; ++t) {
      ++owners[t];
      for (int k = 0; k < kNotes; ++k) {
        ASSERT_EQ(p.frames[t * kNotes + k], r.frame_out[(t - start) * kNotes + k]) << "frame " << t;
        ASSERT_EQ(p.onsets[t * kNotes + k], r.onset_out[(t - start) * kNotes + k]) << "frame " << t;
      }
    }
    if (last) break;
  }
  for (std::size_t t = 0; t < n; ++t) ASSERT_EQ(owners[t], 1) << "frame " << t << " owned by " << owners[t] << " windows";
}

TEST(ModelWindows, PassesAverageEveryWindowThatCoversAFrame) {
  const std::size_t n = 157;
  const std::vector<float> cqt = random_cqt(n, 7);
  qs::ModelConfig model;
  qs::WindowOptions o;
  o.window_frames = 20;
  o.overlap_frames = 3;
  o.batch_windows = 3;
  o.passes = 2;
  const qs::NoteProbabilities p = run_windows(model, o, cqt, 11, false);
  ASSERT_EQ(p.n_frames, n);
  // The same windows by hand: every (W - 2 O) / P frames, each keeping its centre (the first its
  // start, the first to reach the end its end), summed in order and scaled by 1 / count.
  const int W = 20, O = 3, S = (W - 2 * O) / 2;
  std::vector<float> sum_f(n * kNotes, 0.0f), sum_o(n * kNotes, 0.0f);
  std::vector<int> count(n, 0);
  for (std::size_t start = 0;; start += S) {
    const qs::ModelRequest r = one_window(cqt, start, W);
    const bool last = start + W >= n;
    for (std::size_t t = start == 0 ? 0 : start + O; t < (last ? n : start + W - O); ++t) {
      ++count[t];
      for (int k = 0; k < kNotes; ++k) {
        sum_f[t * kNotes + k] += r.frame_out[(t - start) * kNotes + k];
        sum_o[t * kNotes + k] += r.onset_out[(t - start) * kNotes + k];
      }
    }
    if (last) break;
  }
  for (std::size_t t = 0; t < n; ++t) {
    ASSERT_GE(count[t], 1) << "frame " << t;
    if (t >= static_cast<std::size_t>(S + O) && t + W < n) ASSERT_EQ(count[t], 2) << "frame " << t;
    const float inv = count[t] > 1 ? 1.0f / static_cast<float>(count[t]) : 1.0f;
    for (int k = 0; k < kNotes; ++k) {
      ASSERT_EQ(p.frames[t * kNotes + k], sum_f[t * kNotes + k] * inv) << "frame " << t;
      ASSERT_EQ(p.onsets[t * kNotes + k], sum_o[t * kNotes + k] * inv) << "frame " << t;
    }
  }
  // Context matters to the stand-in, so two passes differ from one.
  o.passes = 1;
  EXPECT_NE(run_windows(model, o, cqt, 11, false).frames, p.frames);
}

TEST(ModelWindows, PassesComeFromTheModelUnlessTheOptionsSayOtherwise) {
  qs::ModelConfig model;
  model.segment_frames = 43;
  model.passes = 2;
  EXPECT_EQ(qs::ModelWindows(model).passes(), 2);
  qs::WindowOptions o;
  o.passes = 1;
  EXPECT_EQ(qs::ModelWindows(model, o).passes(), 1);
  o.passes = qs::ModelConfig::kMaxPasses + 1;
  EXPECT_THROW(qs::ModelWindows(model, o), qs::Error);
  o.passes = 3;
  o.window_frames = 20;
  o.overlap_frames = 9;  // 2 frames kept per window: too few for 3 passes
  EXPECT_THROW(qs::ModelWindows(model, o), qs::Error);
  // A network that reads each frame alone gives the same two predictions of every frame.
  const std::vector<float> cqt = random_cqt(150, 8);
  qs::WindowOptions one, two;
  one.window_frames = two.window_frames = 30;
  two.passes = 2;
  model.passes = 1;
  EXPECT_EQ(run_windows(model, one, cqt, 17, true).frames, run_windows(model, two, cqt, 17, true).frames);
}

TEST(ModelWindows, SlicingAndBatchingDoNotChangeTheResult) {
  const std::vector<float> cqt = random_cqt(301, 2);
  qs::ModelConfig model;
  for (int overlap : {0, 5})
  for (int passes : {1, 3}) {
    qs::WindowOptions o;
    o.window_frames = 43;
    o.overlap_frames = overlap;
    o.passes = passes;
    o.batch_windows = 16;
    const qs::NoteProbabilities ref = run_windows(model, o, cqt, 4096, false);
    for (std::size_t slice : {1u, 7u, 43u, 100u})
      for (int batch : {1, 3, 16}) {
        o.batch_windows = batch;
        const qs::NoteProbabilities p = run_windows(model, o, cqt, slice, false);
        ASSERT_EQ(p.frames, ref.frames) << "overlap " << overlap << " passes " << passes << " slice " << slice
                                        << " batch " << batch;
        ASSERT_EQ(p.onsets, ref.onsets);
      }
  }
}

TEST(ModelWindows, FrameLocalNetworkGivesTheSameAsOneWholeWindow) {
  // When each row depends on its own input only, windows must not show at all.
  const std::size_t n = 200;
  const std::vector<float> cqt = random_cqt(n, 3);
  qs::ModelConfig model;
  qs::ModelRequest whole;
  whole.prepare(1, static_cast<int>(n), kBins, kNotes, true);
  whole.input = cqt;
  qs::test::stand_in_network(whole, true);
  qs::read_model_outputs(model, whole);
  qs::WindowOptions o;
  o.window_frames = 30;
  const qs::NoteProbabilities p = run_windows(model, o, cqt, 17, true);
  EXPECT_EQ(p.frames, whole.frame_out);
  EXPECT_EQ(p.onsets, whole.onset_out);
}

TEST(ModelWindows, AnsweringAfterTheEndGivesTheSameAsAnsweringBefore) {
  // A request planned before finish() and answered after it (the browser's order when the last
  // push ends a batch) must stitch like one answered at once.
  const std::vector<float> cqt = random_cqt(43 * 4, 4);  // exactly 4 windows
  qs::ModelConfig model;
  for (int passes : {1, 2}) {
    qs::WindowOptions o;
    o.overlap_frames = 4;
    o.batch_windows = 2;
    o.passes = passes;
    const qs::NoteProbabilities ref = run_windows(model, o, cqt, 1000, false);
    qs::ModelWindows w(model, o);
    w.push(cqt.data(), cqt.size() / kBins);
    qs::ModelRequest* r = w.next_request();
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(w.next_request(), r) << "an unanswered request is handed out again";
    w.finish();
    qs::test::stand_in_network(*r);
    w.answer();
    w.run_ready([](qs::ModelRequest& q) { qs::test::stand_in_network(q); });
    ASSERT_TRUE(w.done());
    EXPECT_EQ(w.probabilities().frames, ref.frames) << passes << " passes";
  }
}

TEST(ModelWindows, ShortEmptyAndInvalid) {
  qs::ModelConfig model;
  EXPECT_EQ(run_windows(model, {}, random_cqt(5, 5), 100, false).n_frames, 5u);
  EXPECT_EQ(run_windows(model, {}, {}, 100, false).n_frames, 0u);
  qs::WindowOptions o;
  o.window_frames = 20;
  o.overlap_frames = 10;
  EXPECT_THROW(qs::ModelWindows(model, o), qs::Error);
  model.context_frames = 12;  // the sidecar's context raises the overlap
  o.overlap_frames = 0;
  EXPECT_THROW(qs::ModelWindows(model, o), qs::Error);
  o.window_frames = 43;
  EXPECT_EQ(qs::ModelWindows(model, o).overlap(), 12);
  qs::ModelWindows w(model, o);
  EXPECT_THROW(w.answer(), qs::Error);
  w.finish();
  const float frame[kBins] = {};
  EXPECT_THROW(w.push(frame, 1), qs::Error);
}

TEST(ModelWindows, OutputsAreReadAsTheSidecarSays) {
  const std::vector<float> cqt = random_cqt(90, 6);
  qs::ModelConfig logits;
  const qs::NoteProbabilities with_sigmoid = run_windows(logits, {}, cqt, 90, false);
  qs::ModelConfig probabilities = logits;
  probabilities.outputs_are_logits = false;  // the runtime's numbers are taken as they are
  const qs::NoteProbabilities raw = run_windows(probabilities, {}, cqt, 90, false);
  ASSERT_EQ(raw.frames.size(), with_sigmoid.frames.size());
  for (std::size_t i = 0; i < raw.frames.size(); i += 97)
    ASSERT_FLOAT_EQ(with_sigmoid.frames[i], 1.0f / (1.0f + std::exp(-raw.frames[i])));
  qs::ModelConfig frame_only = logits;
  frame_only.has_onset_output = false;
  const qs::NoteProbabilities f = run_windows(frame_only, {}, cqt, 90, false);
  EXPECT_FALSE(f.has_onsets);
  EXPECT_TRUE(f.onsets.empty());
  EXPECT_EQ(f.frames, with_sigmoid.frames);
  EXPECT_EQ(f.view(21, 43.0).onsets, nullptr);
  EXPECT_NO_THROW(qs::decode_probabilities(f, frame_only, frame_only.decoding));
}

TEST(Transcription, AudioInBlocksGivesTheBatchCqtsProbabilitiesAndNotes) {
  const qs::NoteList played = {{0.2, 0.9, 60, 100}, {0.5, 1.4, 64, 90}, {1.1, 2.0, 72, 80}};
  const std::vector<float> audio = qs::render_notes(played, 2.5);
  qs::ModelConfig model;
  const auto run = [](qs::ModelRequest& r) { qs::test::stand_in_network(r, true); };
  std::vector<qs::NoteProbabilities> results;
  for (std::size_t block : {512u, 4096u, 100000u}) {
    qs::Transcription t(model);
    std::size_t frames_seen = 0;
    for (std::size_t i = 0; i < audio.size(); i += block) {
      frames_seen += t.push_audio(audio.data() + i, std::min(block, audio.size() - i)).size() / kBins;
      t.run_ready(run);
    }
    frames_seen += t.finish_audio().size() / kBins;
    t.run_ready(run);
    ASSERT_TRUE(t.done());
    EXPECT_EQ(frames_seen, t.frames_made());
    EXPECT_EQ(t.samples_pushed(), audio.size());
    results.push_back(t.probabilities());
  }
  const qs::Spectrogram spec = qs::Cqt(model.features).transform(audio);
  ASSERT_EQ(results[0].n_frames, spec.n_frames);
  qs::ModelRequest whole;
  whole.prepare(1, static_cast<int>(spec.n_frames), kBins, kNotes, true);
  whole.input = spec.data;
  run(whole);
  qs::read_model_outputs(model, whole);
  for (const auto& r : results) {
    ASSERT_EQ(r.frames.size(), whole.frame_out.size());
    for (std::size_t i = 0; i < r.frames.size(); ++i) ASSERT_NEAR(r.frames[i], whole.frame_out[i], 1e-5) << i;
  }
  EXPECT_EQ(results[1].frames, results[2].frames) << "block size changed the probabilities";
}

// Live runs over a held G4 with `features`: every run's window ends at the newest frame, and each
// frame settles on what the batch CQT and the same network give.
void expect_live_runs_settle(const qs::CqtParams& features, int first_note) {
  const std::vector<float> audio = qs::render_notes({{0.3, 1.6, 67, 100}}, 2.0);
  qs::ModelConfig model;
  model.features = features;
  qs::ModelRequest request;
  qs::LiveWindow live(model, 0.5, request);
  EXPECT_EQ(live.window(), 22);
  EXPECT_EQ(live.next_request(audio.data(), 100), nullptr) << "less than one hop";
  qs::NoteProbabilities probs;
  const auto run = [](qs::ModelRequest& r) { qs::test::stand_in_network(r, true); };
  std::size_t runs = 0;
  for (std::size_t end = 0; end < audio.size();) {
    end = std::min(audio.size(), end + 700);
    if (qs::ModelRequest* r = live.next_request(audio.data(), end)) {
      EXPECT_TRUE(live.busy());
      EXPECT_EQ(live.next_request(audio.data(), end + 5000 < audio.size() ? end + 5000 : end), nullptr)
          << "a second run while one is in flight";
      EXPECT_LE(live.n_frames(), 22u);
      EXPECT_EQ(live.first_frame() + live.n_frames() - 1, end / 512) << "the window ends at the newest frame";
      run(*r);
      live.answer(probs);
      ++runs;
    }
  }
  EXPECT_GT(runs, 50u);
  // A frame's last run is the one whose window ends 21 frames after it. Notes from C4 up have
  // kernels shorter than that (~6 frames each side), so their frames settled on the batch CQT's
  // values; lower notes' kernels reach past the live window, so they stay provisional.
  const qs::Spectrogram spec = qs::Cqt(model.features).transform(audio);
  qs::ModelRequest whole;
  whole.prepare(1, static_cast<int>(spec.n_frames), kBins, kNotes, true);
  whole.input = spec.data;
  run(whole);
  qs::read_model_outputs(model, whole);
  ASSERT_EQ(probs.n_frames, audio.size() / 512 + 1);
  for (std::size_t t = 10; t + 22 < probs.n_frames; ++t)
    for (int k = first_note; k < kNotes; k += 3)
      ASSERT_NEAR(probs.frames[t * kNotes + k], whole.frame_out[t * kNotes + k], 2e-3) << "frame " << t << " note " << k;
  EXPECT_THROW(live.answer(probs), qs::Error) << "an answer without a request";
}

TEST(LiveWindow, TheProvisionalTailIsCorrectedByLaterRuns) { expect_live_runs_settle(qs::CqtParams{}, 39); }

TEST(LiveWindow, KernelsWithALongPastSettleToo) {
  // The window's first frames need the long past (Cqt::frame_past_samples), not just the look-ahead;
  // with 0.31 s of look-ahead at A0, every note's frames settle within the window.
  qs::CqtParams asym;
  asym.filter_scale = 0.5;
  asym.future_fraction = 0.25;
  expect_live_runs_settle(asym, 0);
}
