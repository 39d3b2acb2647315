// qs::average_checkpoints and `qscribe average`: the weight average of models of one architecture.
#include <gtest/gtest.h>

#include <string>

#include "model/checkpoint.hpp"
#include "qscribe/error.hpp"
#include "test_support.hpp"
#include "tool_helpers.hpp"
#include "model/weight_average.hpp"

namespace {

qs::CheckpointInfo tiny_info() {
  qs::CheckpointInfo info;
  info.hyper = qs::test::tiny_model_hyper();
  info.segment_frames = 20;
  info.training = {{"epoch", 2}};
  return info;
}

// Saves a tiny model initialised with `seed` as DIR/NAME and returns it.
qs::Transcriber save_tiny(const std::string& path, std::uint64_t seed, const qs::CheckpointInfo& info) {
  torch::manual_seed(seed);
  qs::Transcriber m(info.hyper);
  qs::save_checkpoint(path, m, info);
  return m;
}

// Largest |avg - (wa * a + wb * b)| over all parameters.
double max_deviation(qs::Transcriber& avg, qs::Transcriber& a, qs::Transcriber& b, double wa, double wb) {
  auto pa = a->named_parameters(), pb = b->named_parameters();
  double worst = 0;
  for (const auto& p : avg->named_parameters()) {
    auto expect = pa[p.key()].to(torch::kFloat64) * wa + pb[p.key()].to(torch::kFloat64) * wb;
    worst = std::max(worst, (p.value().to(torch::kFloat64) - expect).abs().max().item<double>());
  }
  return worst;
}

}  // namespace

TEST(WeightAverage, IsTheWeightedMeanOfTheParameters) {
  const std::string dir = qs::test::temp_dir("average");
  const qs::CheckpointInfo info = tiny_info();
  qs::Transcriber a = save_tiny(dir + "/a.pt", 1, info);
  qs::Transcriber b = save_tiny(dir + "/b.pt", 2, info);

  qs::LoadedCheckpoint even = qs::average_checkpoints({dir + "/a.pt", dir + "/b.pt"});
  EXPECT_LT(max_deviation(even.model, a, b, 0.5, 0.5), 1e-7);
  EXPECT_GT(max_deviation(even.model, a, b, 1.0, 0.0), 1e-3);  // really not just the first model
  EXPECT_EQ(even.info.segment_frames, 20);
  ASSERT_EQ(even.info.training["averaged"].size(), 2u);
  EXPECT_EQ(even.info.training["averaged"][1]["path"], dir + "/b.pt");
  EXPECT_EQ(even.info.training["first"]["epoch"], 2);

  // Weights are normalised: 1 and 3 mean a quarter and three quarters.
  qs::LoadedCheckpoint weighted = qs::average_checkpoints({dir + "/a.pt", dir + "/b.pt"}, {1.0, 3.0});
  EXPECT_LT(max_deviation(weighted.model, a, b, 0.25, 0.75), 1e-7);
  EXPECT_DOUBLE_EQ(weighted.info.training["averaged"][0]["weight"].get<double>(), 0.25);
}

TEST(WeightAverage, RefusesMismatchedModelsAndBadWeights) {
  const std::string dir = qs::test::temp_dir("average-bad");
  const qs::CheckpointInfo info = tiny_info();
  save_tiny(dir + "/a.pt", 1, info);
  qs::CheckpointInfo wider = info;
  wider.hyper.embed_dim = 48;
  save_tiny(dir + "/wide.pt", 2, wider);
  try {
    qs::average_checkpoints({dir + "/a.pt", dir + "/wide.pt"});
    FAIL() << "averaged two architectures";
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/wide.pt: its architecture differs"), std::string::npos) << e.what();
  }
  EXPECT_THROW(qs::average_checkpoints({dir + "/a.pt", dir + "/a.pt"}, {1.0}), qs::Error);
  EXPECT_THROW(qs::average_checkpoints({dir + "/a.pt", dir + "/a.pt"}, {1.0, -1.0}), qs::Error);
  EXPECT_THROW(qs::average_checkpoints({}), qs::Error);
  EXPECT_THROW(qs::average_checkpoints({dir + "/a.pt", dir + "/missing.pt"}), qs::Error);
}

TEST(WeightAverage, CommandWritesACheckpointTheToolsRead) {
  const std::string dir = qs::test::temp_dir("average-cli");
  const qs::CheckpointInfo info = tiny_info();
  qs::Transcriber a = save_tiny(dir + "/a.pt", 1, info);
  qs::Transcriber b = save_tiny(dir + "/b.pt", 2, info);
  std::string out;
  ASSERT_EQ(qs::test::run_qscribe("average " + dir + "/a.pt " + dir + "/b.pt --weights 3,1 -o " + dir +
                                      "/soup/avg.pt",
                                  &out),
            0)
      << out;
  qs::LoadedCheckpoint avg = qs::load_checkpoint(dir + "/soup/avg.pt");
  EXPECT_LT(max_deviation(avg.model, a, b, 0.75, 0.25), 1e-7);
  // The average exports like any checkpoint.
  ASSERT_EQ(qs::test::run_qscribe("export --checkpoint " + dir + "/soup/avg.pt --out " + dir + "/soup/avg", &out), 0)
      << out;
  // One model, a non-.pt output and a missing file are refused with a message.
  EXPECT_NE(qs::test::run_qscribe("average " + dir + "/a.pt -o " + dir + "/x.pt", &out), 0);
  EXPECT_NE(qs::test::run_qscribe("average " + dir + "/a.pt " + dir + "/b.pt -o " + dir + "/x.onnx", &out), 0);
  EXPECT_NE(out.find("NAME.pt"), std::string::npos) << out;
  EXPECT_NE(qs::test::run_qscribe("average " + dir + "/a.pt " + dir + "/nope.pt -o " + dir + "/x.pt", &out), 0);
}
