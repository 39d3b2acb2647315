// Regression test of the shipped model (models/qscribe-default.onnx + its sidecar .json, the files
// the browser runs, read into LibTorch by onnx_import): two 12 s
// excerpts of the held-out seen dev set (tests/fixtures/regression, made by make-fixtures.sh
// there: one procedural piece, one MIDI piece) are transcribed with the model's own decoding
// thresholds and must keep their pooled onset-only note F1 (mir_eval conventions, 50 ms) above a
// floor set a little under the shipped model's score.
//
// The score, from the repository root:
//   build/native/bin/qscribe evaluate \
//     --audio tests/fixtures/regression/proc_00004_3s.wav tests/fixtures/regression/insper_v0_6s.wav \
//     --ref tests/fixtures/regression/proc_00004_3s.tsv tests/fixtures/regression/insper_v0_6s.tsv
// ("note (onset 50 ms)" F1; add --json for "pooled" -> "note" -> "f1").
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "qscribe/model_config.hpp"
#include "test_support.hpp"
#include "tool_helpers.hpp"

namespace {

// Where the floor comes from: the shipped model (release 13: the ensemble of release 11's network,
// weight 0.65, a network trained from scratch on every sound source, 0.2, and one trained so with
// harmonic stacking, 0.15; release 11's decoding) scores 0.6544 pooled note F1 here, below release
// 12 (release 11's network, 0.75, and an earlier round of the from-scratch chain, 0.25: 0.6691)
// though above it on every full dev set (models/README.md): one note here moves the score by
// about 0.004. Release 11 (0.3 of release 10's weights with 0.7 of the mean of 16 rolling rounds
// with the plucked strings and singers of our own; decoding 0.2 / 0.25 / 80 ms, frame fallback
// off, re-strike above 0.6 after 0.1 s with the frame rise weighed 0.5, rise threshold 0.9, weak
// onsets at or below 0.4 needing frames above 0.35; model windows overlapping by 2 x 10 frames
// of context, segment.context_frames) scored 0.6548 pooled note F1 here (146 reference notes;
// 0.6263 with windows that tile the audio, 0.6268 without the weak-onset test, 0.6250 with its
// first decoding, re-strike above 0.5 on the onset alone). Release 10 (0.3 of release 9's weights
// with 0.7 of the mean of 16 rolling rounds on newer music; 0.25 / 0.25 / 80 ms) scored 0.6115.
// Release 9 (release 7's weights with the re-strike rule and confident rises, the same decoding)
// scored 0.5970; release 8 (the same without confident
// rises) scored 0.5530. Release 7 (scripts/train-default's 16 epochs,
// weight average and multi-source fine-tune, then 26 rounds of rolling fine-tuning on a freshly
// rendered corpus each, rounds 6-26 averaged; float16 weights; decoding 0.4 / 0.2 / 58 ms, frame
// fallback off) scored 0.5303, though it is better than
// release 6 (0.5462 here) on every full dev set. Release 5 scored 0.5176, the weight average before
// it 0.5077, the single fine-tune before that 0.4848, the one before that 0.4981 although it is
// 0.02 note F1 worse on the full dev sets (146 notes are few: this test guards against a broken or
// much worse model, it does not rank close ones), the first model 0.4186.
// Floor = a little under the shipped score (about four notes of 146). Raise it whenever a better
// model ships.
constexpr double kNoteF1Floor = 0.64;

}  // namespace

TEST(Regression, ShippedModelNoteF1OnTwoDevExcerpts) {
  const std::string models = std::string(QSCRIBE_SOURCE_DIR) + "/models";
  const std::string fx = std::string(QSCRIBE_SOURCE_DIR) + "/tests/fixtures/regression/";
  const std::string names[] = {"proc_00004_3s", "insper_v0_6s"};
  std::string audio, refs;
  for (const auto& n : names) {
    audio += " " + fx + n + ".wav";
    refs += " " + fx + n + ".tsv";
  }
  std::string out;
  ASSERT_EQ(qs::test::run_qscribe("evaluate -m " + models + "/qscribe-default.onnx --audio" + audio + " --ref" + refs +
                                      " --json --threads 1",
                                  &out),
            0)
      << out;
  const auto j = nlohmann::json::parse(out);
  // The thresholds used are the shipped sidecar's (what the browser app decodes with too).
  const qs::ModelConfig cfg = qs::load_model_config(models + "/qscribe-default.json");
  EXPECT_NEAR(j["decoding"]["onset_threshold"].get<double>(), cfg.decoding.onset_threshold, 1e-6);
  EXPECT_NEAR(j["decoding"]["frame_threshold"].get<double>(), cfg.decoding.frame_threshold, 1e-6);
  EXPECT_NEAR(j["decoding"]["min_note_length_s"].get<double>(), cfg.decoding.min_note_length_s, 1e-9);
  EXPECT_NEAR(j["decoding"]["restrike_threshold"].get<double>(), cfg.decoding.restrike_threshold, 1e-6);
  EXPECT_NEAR(j["decoding"]["restrike_rise_weight"].get<double>(), cfg.decoding.restrike_rise_weight, 1e-6);
  EXPECT_NEAR(j["decoding"]["weak_onset_threshold"].get<double>(), cfg.decoding.weak_onset_threshold, 1e-6);
  EXPECT_EQ(j["pooled"]["n_ref_notes"].get<int>(), 146) << "the fixtures' reference notes changed";
  const double f1 = j["pooled"]["note"]["f1"].get<double>();
  std::printf("shipped model: pooled note F1 %.4f on the two dev excerpts (floor %.2f)\n", f1, kNoteF1Floor);
  EXPECT_GE(f1, kNoteF1Floor) << "the shipped model got worse on the dev excerpts:\n" << out;
}
