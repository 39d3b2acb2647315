// Decoding-threshold tuning (`qscribe evaluate --tune`, native/src/inference/tuning.hpp) with a briefly
// trained tiny model on synthetic tones: the search scores what the decoder really produces, never
// ends below the model's own thresholds, and the tool's answer beats the defaults when run
// through plain `qscribe evaluate`.
#include <gtest/gtest.h>

#include <cstdio>
#include <array>
#include <map>
#include <set>
#include <tuple>
#include <sstream>

#include "model/checkpoint.hpp"
#include "inference/inference.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/cqt.hpp"
#include "qscribe/error.hpp"
#include "qscribe/metrics.hpp"
#include "qscribe/note_io.hpp"
#include "test_support.hpp"
#include "tone_pieces.hpp"
#include "tool_helpers.hpp"
#include "train/trainer.hpp"
#include "inference/tuning.hpp"

namespace {

qs::test::TonePiece tones(std::uint64_t seed, double seconds) {
  qs::test::ToneStyle style;
  style.lowest_pitch = 50;
  style.dur_min = 0.12;  // short notes too, so the shortest-note length matters
  style.dur_span = 0.4;
  style.chord_prob = 0.4;
  style.gap_min = 0.05;
  return qs::test::make_tone_piece(seed, seconds, 22050.0, style);
}

// A tiny model trained for a few seconds (under-trained on purpose: its probabilities are not
// calibrated to the default thresholds), plus two held-out pieces as WAV + TSV.
struct Fixture {
  std::string dir, model;
  std::vector<qs::test::TonePiece> held_out;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture fx;
    fx.dir = qs::test::temp_dir("tune");
    qs::DatasetInfo info;
    info.segment_frames = 43;
    qs::MemorySource src(info);
    qs::Cqt cqt(info.features);
    for (int i = 0; i < 6; ++i) {
      auto p = tones(200 + i, 6.0);
      auto s = cqt.transform(p.audio);
      src.add_piece("p" + std::to_string(i), std::move(s.data), s.n_frames, p.notes);
    }
    qs::TrainOptions o;
    o.out_dir = fx.dir + "/run";
    o.hyper = qs::test::tiny_model_hyper();
    o.epochs = 5;
    o.lr = 3e-3;
    o.batch_size = 4;
    o.num_workers = 1;
    o.threads = 1;
    o.progress = o.verbose = false;
    qs::train_model(o, src, nullptr);
    fx.model = o.out_dir + "/checkpoint.pt";
    for (int i = 0; i < 2; ++i) {
      fx.held_out.push_back(tones(900 + i, 8.0));
      const std::string base = fx.dir + "/h" + std::to_string(i);
      qs::save_wav(base + ".wav", qs::AudioBuffer{fx.held_out.back().audio, 22050.0});
      qs::write_notes(base + ".tsv", fx.held_out.back().notes);
    }
    return fx;
  }();
  return f;
}

std::vector<qs::TunePiece> held_out_pieces(qs::LoadedCheckpoint& ck) {
  std::vector<qs::TunePiece> pieces;
  for (const auto& p : fixture().held_out) {
    qs::TranscribeResult t = qs::transcribe_samples(p.audio.data(), p.audio.size(), ck.model, ck.info, {}, {});
    pieces.push_back({"", std::move(t.activations), p.notes, t.duration_s});
  }
  return pieces;
}

}  // namespace

TEST(Tune, GridAxes) {
  EXPECT_EQ(qs::parse_grid_axis("0.2:0.8:0.05", "x").size(), 13u);
  EXPECT_EQ(qs::parse_grid_axis("0.2:0.8:0.05", "x")[6], 0.5);
  EXPECT_EQ(qs::parse_grid_axis("30,46,58", "x"), (std::vector<double>{30, 46, 58}));
  EXPECT_EQ(qs::parse_grid_axis("0.5", "x"), std::vector<double>{0.5});
  EXPECT_THROW(qs::parse_grid_axis("0.8:0.2:0.1", "x"), qs::Error);
  EXPECT_THROW(qs::parse_grid_axis("0.2:0.8", "x"), qs::Error);
  EXPECT_THROW(qs::parse_grid_axis("0.2:0.8:0", "x"), qs::Error);
  EXPECT_THROW(qs::parse_grid_axis("a,b", "x"), qs::Error);
  const qs::TuneGrid g = qs::TuneGrid::defaults();
  EXPECT_EQ(g.size(), 13u * 11u * 4u * 2u * 5u);  // onset, frame, re-strike, rise, shortest note
}

TEST(Tune, ScoresWhatTheDecoderProducesAndNeverLosesToTheBase) {
  qs::LoadedCheckpoint ck = qs::load_checkpoint(fixture().model);
  const std::vector<qs::TunePiece> pieces = held_out_pieces(ck);
  qs::TuneGrid grid;
  grid.onset_thresholds = {0.3f, 0.5f, 0.7f};
  grid.frame_thresholds = {0.2f, 0.4f};
  grid.min_note_ms = {0.0, 30.0, 58.0, 116.0, 300.0};
  grid.restrike_thresholds = {0.0f, 0.9f};
  // A deliberately poor base, off the grid: it is scored too, and the search beats it.
  qs::DecoderParams base;
  base.onset_threshold = 0.97f;
  base.frame_threshold = 0.9f;
  base.min_note_length_s = 0.2;
  const qs::TuneResult r = qs::tune_decoder(pieces, ck.info, grid, base, 2);
  ASSERT_EQ(r.ranked.size(), grid.size() + 1);
  ASSERT_LT(r.base_rank, r.ranked.size());
  EXPECT_EQ(r.ranked[r.base_rank].params.onset_threshold, 0.97f);
  EXPECT_GT(r.ranked.front().f1(), r.ranked[r.base_rank].f1() + 0.05) << "the search should beat a poor base";
  EXPECT_GT(r.ranked.front().f1(), 0.3) << "the tiny model should find some notes";
  for (std::size_t i = 1; i < r.ranked.size(); ++i) ASSERT_GE(r.ranked[i - 1].f1(), r.ranked[i].f1());
  // Every candidate's counts are those of decoding with its parameters (the shortest-note filter
  // applied to one decoding per threshold pair equals the decoder's own), scored per piece.
  for (const auto& c : r.ranked) {
    qs::NoteCounts direct;
    for (const auto& p : pieces)
      direct += qs::evaluate_piece(p.ref, qs::decode_probabilities(p.act, ck.info.model_config(), c.params), p.duration_s).note;
    ASSERT_EQ(direct.n_est, c.note.n_est) << c.params.onset_threshold << " " << c.params.frame_threshold << " "
                                         << c.params.min_note_length_s << " " << c.params.restrike_threshold;
    ASSERT_EQ(direct.n_matched, c.note.n_matched);
    ASSERT_EQ(direct.n_ref, c.note.n_ref);
  }
  // The shortest-note axis changes the result at all (else the filter would not be tested).
  std::set<std::size_t> n_est;
  for (const auto& c : r.ranked)
    if (c.params.onset_threshold == 0.5f && c.params.frame_threshold == 0.2f) n_est.insert(c.note.n_est);
  EXPECT_GE(n_est.size(), 3u);
  // A higher re-strike threshold re-strikes less: never more notes.
  std::map<std::tuple<float, float, double>, std::array<std::size_t, 2>> n_by_restrike;
  for (const auto& c : r.ranked)
    if (c.grid_index < grid.size())
      n_by_restrike[{c.params.onset_threshold, c.params.frame_threshold, c.params.min_note_length_s}]
                   [c.params.restrike_threshold > 0.0f] = c.note.n_est;
  for (const auto& [key, n] : n_by_restrike) EXPECT_LE(n[1], n[0]);
  // A base on the grid is not scored twice.
  qs::DecoderParams on_grid;
  on_grid.onset_threshold = 0.5f;
  on_grid.frame_threshold = 0.4f;
  on_grid.min_note_length_s = 0.058;
  const qs::TuneResult r2 = qs::tune_decoder(pieces, ck.info, grid, on_grid, 1);
  EXPECT_EQ(r2.ranked.size(), grid.size());
  EXPECT_EQ(r2.ranked[r2.base_rank].params.frame_threshold, 0.4f);
  EXPECT_EQ(r2.ranked.front().f1(), r.ranked.front().f1()) << "one thread and two threads agree";
  EXPECT_THROW(qs::tune_decoder(pieces, ck.info, qs::TuneGrid{}, on_grid, 1), qs::Error);
}

TEST(Tune, RestrikeAxisFindsTheHeldNote) {
  // One held note (C4, 2 s) whose onset probability wavers to 0.5 twice while it sounds: at
  // re-strike threshold 0 the decoder chops it in three (precision 1/3), at 0.6 it is one note.
  qs::LoadedCheckpoint ck = qs::load_checkpoint(fixture().model);
  const double fr = ck.info.features.frame_rate();
  qs::TunePiece p;
  p.name = "held";
  p.act.n_notes = ck.info.n_notes;
  p.act.ensure_frames(static_cast<std::size_t>(3 * fr));
  const int k = 60 - ck.info.lowest_pitch;
  const auto n = static_cast<std::size_t>(p.act.n_notes);
  for (std::size_t j = 4; j < static_cast<std::size_t>(4 + 2 * fr); ++j) p.act.frames[j * n + k] = 0.9f;
  p.act.onsets[4 * n + k] = 0.9f;
  p.act.onsets[30 * n + k] = 0.5f;
  p.act.onsets[60 * n + k] = 0.5f;
  p.ref = {qs::Note{4 / fr, (4 + 2 * fr) / fr, 60, 100}};
  p.duration_s = 3.0;
  qs::TuneGrid grid;
  grid.onset_thresholds = {0.4f};
  grid.frame_thresholds = {0.3f};
  grid.min_note_ms = {58.0};
  grid.restrike_thresholds = {0.0f, 0.6f};
  qs::DecoderParams base;  // on the grid: re-strike at every peak
  base.onset_threshold = 0.4f;
  base.frame_fallback = false;
  const qs::TuneResult r = qs::tune_decoder({p}, ck.info, grid, base, 1);
  ASSERT_EQ(r.ranked.size(), 2u);
  EXPECT_EQ(r.ranked.front().params.restrike_threshold, 0.6f);
  EXPECT_EQ(r.ranked.front().note.n_est, 1u);
  EXPECT_DOUBLE_EQ(r.ranked.front().f1(), 1.0);
  EXPECT_EQ(r.ranked.back().note.n_est, 3u);
  EXPECT_EQ(r.base_rank, 1u);
}

TEST(Tune, RiseAxisFindsTheSlurredNote) {
  // A slur from C4 to D4: D4's frame probability rises to 0.95 with no onset peak. With onset
  // peaks alone D4 is missed (recall 1/2); a rise threshold of 0.9 finds it, from its first frame.
  qs::LoadedCheckpoint ck = qs::load_checkpoint(fixture().model);
  const double fr = ck.info.features.frame_rate();
  qs::TunePiece p;
  p.name = "slur";
  p.act.n_notes = ck.info.n_notes;
  p.act.ensure_frames(static_cast<std::size_t>(3 * fr));
  const auto n = static_cast<std::size_t>(p.act.n_notes);
  const int c4 = 60 - ck.info.lowest_pitch, d4 = 62 - ck.info.lowest_pitch;
  for (std::size_t j = 4; j < 40; ++j) p.act.frames[j * n + c4] = 0.9f;
  p.act.onsets[4 * n + c4] = 0.9f;
  p.act.frames[40 * n + d4] = 0.4f;
  for (std::size_t j = 41; j < 80; ++j) p.act.frames[j * n + d4] = 0.95f;
  p.ref = {qs::Note{4 / fr, 40 / fr, 60, 100}, qs::Note{40 / fr, 80 / fr, 62, 100}};
  p.duration_s = 3.0;
  qs::TuneGrid grid;
  grid.onset_thresholds = {0.4f};
  grid.frame_thresholds = {0.3f};
  grid.min_note_ms = {58.0};
  grid.rise_thresholds = {0.0f, 0.9f};
  qs::DecoderParams base;
  base.onset_threshold = 0.4f;
  base.frame_threshold = 0.3f;
  base.min_note_length_s = 0.058;
  base.frame_fallback = false;
  const qs::TuneResult r = qs::tune_decoder({p}, ck.info, grid, base, 1);
  ASSERT_EQ(r.ranked.size(), 2u);
  EXPECT_EQ(r.ranked.front().params.rise_threshold, 0.9f);
  EXPECT_EQ(r.ranked.front().note.n_matched, 2u);
  EXPECT_DOUBLE_EQ(r.ranked.front().f1(), 1.0);
  EXPECT_EQ(r.ranked.back().note.n_matched, 1u);
  EXPECT_EQ(r.base_rank, 1u);
}

TEST(Tune, EvaluateTuneFindsThresholdsAtLeastAsGoodAsTheDefaults) {
  const Fixture& fx = fixture();
  const std::string pairs = "--audio " + fx.dir + "/h0.wav " + fx.dir + "/h1.wav --ref " + fx.dir + "/h0.tsv " +
                            fx.dir + "/h1.tsv";
  std::string out;
  ASSERT_EQ(qs::test::run_qscribe("evaluate -m " + fx.model + " " + pairs + " --tune --threads 1 --top 3", &out, qs::test::Stderr::drop), 0) << out;
  // The last line: ONSET FRAME MIN_NOTE_MS FRAME_FALLBACK RESTRIKE RISE.
  std::string last = out.substr(0, out.find_last_not_of('\n') + 1);
  last = last.substr(last.find_last_of('\n') + 1);
  std::istringstream ls(last);
  double on = -1, fr = -1, ms = -1, re = -1, rise = -1;
  std::string fallback;
  ASSERT_TRUE(ls >> on >> fr >> ms >> fallback >> re >> rise) << out;
  EXPECT_TRUE(re == 0 || re == 0.5 || re == 0.6 || re == 0.7) << last;
  EXPECT_TRUE(rise == 0 || rise == 0.9) << last;
  EXPECT_TRUE(fallback == "on" || fallback == "off") << last;
  EXPECT_TRUE(on >= 0.2 && on <= 0.8 && fr >= 0.1 && fr <= 0.6) << last;
  EXPECT_TRUE(ms == 30 || ms == 46 || ms == 58 || ms == 80 || ms == 116) << last;
  EXPECT_NE(out.find("model's decoding (rank "), std::string::npos) << out;

  auto note_f1 = [&](const std::string& extra) {
    std::string o;
    EXPECT_EQ(qs::test::run_qscribe("evaluate -m " + fx.model + " " + pairs + " --json --threads 1 " + extra, &o, qs::test::Stderr::drop), 0) << o;
    return nlohmann::json::parse(o)["pooled"]["note"]["f1"].get<double>();
  };
  char tuned[200];
  std::snprintf(tuned, sizeof tuned,
                "--onset-threshold %g --frame-threshold %g --min-note-length %g --frame-fallback %s --restrike-threshold %g "
                "--rise-threshold %g",
                on, fr, ms / 1000.0, fallback.c_str(), re, rise);
  const double f_tuned = note_f1(tuned), f_default = note_f1("");
  EXPECT_GE(f_tuned, f_default) << "tuned " << tuned;

  // --json: one object whose best entry is the same setting with the same score.
  ASSERT_EQ(qs::test::run_qscribe("evaluate -m " + fx.model + " " + pairs + " --tune --json --threads 2", &out, qs::test::Stderr::drop), 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_NEAR(j["best"]["onset_threshold"].get<double>(), on, 1e-6);
  EXPECT_NEAR(j["best"]["frame_threshold"].get<double>(), fr, 1e-6);
  EXPECT_NEAR(j["best"]["min_note_ms"].get<double>(), ms, 1e-6);
  EXPECT_EQ(j["best"]["frame_fallback"].get<bool>(), fallback == "on");
  EXPECT_NEAR(j["best"]["note"]["f1"].get<double>(), f_tuned, 1e-3);
  EXPECT_NEAR(j["model_decoding"]["note"]["f1"].get<double>(), f_default, 1e-3);
  EXPECT_EQ(j["evaluated"].get<int>(), 5720);
  EXPECT_NEAR(j["best"]["restrike_threshold"].get<double>(), re, 1e-6);
  EXPECT_NEAR(j["best"]["rise_threshold"].get<double>(), rise, 1e-6);
  EXPECT_EQ(j["top"].size(), 10u);
  EXPECT_EQ(j["chosen"]["rank"], 1);  // no margin: the best note F1

  // --tune-margin: the listed setting with the highest exact-frame accuracy among those within the
  // margin of the best note F1 (a margin of 1 admits all ten).
  ASSERT_EQ(qs::test::run_qscribe("evaluate -m " + fx.model + " " + pairs + " --tune --json --threads 2 --tune-margin 1",
                                  &out, qs::test::Stderr::drop), 0) << out;
  const auto m = nlohmann::json::parse(out);
  double best_k0 = -1;
  for (const auto& e : m["top"]) best_k0 = std::max(best_k0, e["exact_accuracy"]["0"].get<double>());
  EXPECT_DOUBLE_EQ(m["chosen"]["exact_accuracy"]["0"].get<double>(), best_k0);
  EXPECT_GE(m["chosen"]["exact_accuracy"]["0"].get<double>(), m["best"]["exact_accuracy"]["0"].get<double>());
  // --tune-k0-gain: no k=0 is higher than another by more than 1, so the best note F1 stays.
  ASSERT_EQ(qs::test::run_qscribe("evaluate -m " + fx.model + " " + pairs +
                                      " --tune --json --threads 2 --tune-margin 1 --tune-k0-gain 1",
                                  &out, qs::test::Stderr::drop), 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["chosen"]["rank"], 1);

  // A fixed threshold stays out of the search.
  ASSERT_EQ(qs::test::run_qscribe("evaluate -m " + fx.model + " " + pairs + " --tune --json --onset-threshold 0.6", &out, qs::test::Stderr::drop), 0) << out;
  EXPECT_NEAR(nlohmann::json::parse(out)["best"]["onset_threshold"].get<double>(), 0.6, 1e-6);
  EXPECT_EQ(nlohmann::json::parse(out)["evaluated"].get<int>(), 11 * 4 * 2 * 5);  // the base (0.6 0.3 58 0 0) is on it
  ASSERT_EQ(qs::test::run_qscribe("evaluate -m " + fx.model + " " + pairs + " --tune --json --onset-threshold 0.6 "
                                  "--restrike-threshold 0.65", &out, qs::test::Stderr::drop), 0) << out;
  EXPECT_NEAR(nlohmann::json::parse(out)["best"]["restrike_threshold"].get<double>(), 0.65, 1e-6);
  EXPECT_EQ(nlohmann::json::parse(out)["evaluated"].get<int>(), 11 * 2 * 5);  // the override is the base too
  ASSERT_EQ(qs::test::run_qscribe("evaluate -m " + fx.model + " " + pairs + " --tune --json --onset-threshold 0.6 "
                                  "--restrike-threshold 0.65 --rise-threshold 0.8", &out, qs::test::Stderr::drop), 0) << out;
  EXPECT_NEAR(nlohmann::json::parse(out)["best"]["rise_threshold"].get<double>(), 0.8, 1e-6);
  EXPECT_EQ(nlohmann::json::parse(out)["evaluated"].get<int>(), 11 * 5);
  // The re-strike rise weight is never searched: every candidate decodes with the one given.
  ASSERT_EQ(qs::test::run_qscribe("evaluate -m " + fx.model + " " + pairs + " --tune --json --onset-threshold 0.6 "
                                  "--restrike-threshold 0.65 --rise-threshold 0.8 --restrike-rise-weight 0.5",
                                  &out, qs::test::Stderr::drop), 0) << out;
  for (const auto& e : nlohmann::json::parse(out)["top"])
    EXPECT_NEAR(e["restrike_rise_weight"].get<double>(), 0.5, 1e-6) << e;
  EXPECT_EQ(nlohmann::json::parse(out)["evaluated"].get<int>(), 11 * 5);
  // Bad grids are usage errors with a message (exit 1 from qs::Error).
  EXPECT_EQ(qs::test::run_qscribe("evaluate -m " + fx.model + " " + pairs + " --tune --tune-onset 0.8:0.2:0.1", &out, qs::test::Stderr::drop), 1);
}
