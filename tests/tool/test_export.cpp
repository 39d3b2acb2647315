// ONNX export (native/src/export/onnx_export.*, `qscribe export`): the exported graph passes the ONNX
// checker, its sidecar loads, and ONNX Runtime (npm onnxruntime-node, and onnxruntime-web's wasm
// backend that the browser uses, both run under Node by tests/tool/onnx_parity.mjs) gives the
// same outputs as LibTorch on the same inputs (max abs difference <= 1e-4) for several lengths
// and batch sizes, for the default model and a small 12-pitch-class one.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "model/checkpoint.hpp"
#include "export/onnx_export.hpp"
#include "export/onnx_import.hpp"
#include "model/ensemble.hpp"
#include "qscribe/error.hpp"
#include "qscribe/model_config.hpp"
#include "test_support.hpp"
#include "tool_helpers.hpp"

namespace fs = std::filesystem;

namespace {

constexpr double kTolerance = 1e-4;

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void write_tensor(const torch::Tensor& t, const std::string& path) {
  auto c = t.detach().to(torch::kFloat).contiguous();
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(c.data_ptr<float>()), static_cast<std::streamsize>(c.numel() * sizeof(float)));
  ASSERT_TRUE(f.good()) << path;
}

// Random inputs that look like CQT magnitudes, with the awkward cases in them: negative values
// (the model clamps them), a silent frame, tiny magnitudes (log1p near 0) and loud peaks.
torch::Tensor make_input(int64_t b, int64_t t, int64_t f, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto x = at::randn({b, t, f}, gen).abs().pow(2.0) * 0.05;
  x = x + (at::rand({b, t, f}, gen) < 0.02).to(torch::kFloat) * at::rand({b, t, f}, gen) * 8.0;  // peaks
  x = x - (at::rand({b, t, f}, gen) < 0.02).to(torch::kFloat) * 0.5;                            // negatives
  if (t >= 3) {
    x.index_put_({torch::indexing::Slice(), 1}, 0.0f);                                 // silence
    x.index_put_({torch::indexing::Slice(), 2}, at::rand({b, f}, gen) * 1e-6f);         // near silence
  }
  return x;
}

// Random weights everywhere, including LayerNorm scales/shifts and biases (a fresh module has
// ones and zeros there, which would hide transposition or naming mistakes).
qs::Transcriber make_model(const qs::ModelHyper& h, uint64_t seed) {
  torch::manual_seed(seed);
  qs::Transcriber m(h);
  torch::NoGradGuard guard;
  for (auto& p : m->parameters())
    if (p.dim() == 1) p.add_(torch::randn_like(p) * 0.2);
  m->eval();
  return m;
}

struct ParityStats {
  double max_diff = 0.0, max_abs_value = 0.0;
  int cases = 0;
};

// Exported `onnx_path` vs LibTorch `model` on inputs of each (batch, frames): ORT's outputs must
// match within kTolerance. Returns the largest difference seen.
ParityStats check_parity(qs::TranscriberImpl& model, const std::string& onnx_path, const std::string& work,
                         const std::vector<std::pair<int, int>>& batch_frames, const std::string& label,
                         const std::string& runtime = "node") {
  ParityStats stats;
  const auto& h = model.hyper();
  const std::vector<std::string> outputs = {"frame_logits", "onset_logits"};
  nlohmann::json manifest = {{"model", onnx_path},   {"runtime", runtime},
                              {"input", "cqt"},       {"outputs", outputs},
                              {"cases", nlohmann::json::array()}};
  std::vector<std::array<torch::Tensor, 2>> expected;
  {
    torch::NoGradGuard guard;
    for (std::size_t i = 0; i < batch_frames.size(); ++i) {
      const auto [b, t] = batch_frames[i];
      const std::string base = work + "/case" + std::to_string(i);
      auto x = make_input(b, t, h.n_bins, 100 + i);
      auto y = model.forward(x);
      expected.push_back({y.frame_logits, y.onset_logits});
      write_tensor(x, base + ".in.f32");
      manifest["cases"].push_back({{"input", base + ".in.f32"}, {"dims", {b, t, h.n_bins}}, {"out_prefix", base + "." + runtime}});
    }
  }
  const std::string manifest_path = work + "/manifest_" + runtime + ".json";
  std::ofstream(manifest_path) << manifest.dump(1);

  const std::string script = std::string(QSCRIBE_SOURCE_DIR) + "/tests/tool/onnx_parity.mjs";
  const fs::path ort = fs::path(QSCRIBE_SOURCE_DIR) / "node_modules" / ("onnxruntime-" + runtime);
  if (!fs::exists(ort)) {
    ADD_FAILURE() << ort << " is missing: run scripts/setup.sh (npm ci with ONNXRUNTIME_NODE_INSTALL=skip)";
    return stats;
  }
  const auto r = qs::test::run_shell("node " + quote(script) + " " + quote(manifest_path));
  if (r.status != 0) {
    ADD_FAILURE() << "onnx_parity.mjs failed (status " << r.status << "):\n" << r.out;
    return stats;
  }
  nlohmann::json result;
  try {
    result = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cannot parse onnx_parity.mjs output: " << e.what() << "\n" << r.out;
    return stats;
  }
  EXPECT_EQ(result["input_names"], nlohmann::json::array({"cqt"}));
  EXPECT_EQ(result["output_names"], nlohmann::json(outputs));

  for (std::size_t i = 0; i < batch_frames.size(); ++i) {
    const auto [b, t] = batch_frames[i];
    const std::string base = work + "/case" + std::to_string(i);
    double case_diff = 0.0;
    for (int o = 0; o < 2; ++o) {
      const auto& want = expected[i][o];
      const std::vector<int64_t> want_dims = {b, t, h.n_notes};
      EXPECT_EQ(result["cases"][i]["dims"][outputs[o]].get<std::vector<int64_t>>(), want_dims) << label << " " << outputs[o];
      const auto got_v = qs::test::read_f32(base + "." + runtime + "." + outputs[o] + ".f32");
      if (static_cast<int64_t>(got_v.size()) != want.numel()) {
        ADD_FAILURE() << label << " " << outputs[o] << ": ORT wrote " << got_v.size() << " values, want " << want.numel();
        return stats;
      }
      auto got = torch::from_blob(const_cast<float*>(got_v.data()), want.sizes(), torch::kFloat).clone();
      EXPECT_TRUE(torch::isfinite(got).all().item<bool>()) << label << " " << outputs[o] << ": non-finite ORT output";
      const double diff = (got.to(torch::kDouble) - want.to(torch::kDouble)).abs().max().item<double>();
      case_diff = std::max(case_diff, diff);
      stats.max_abs_value = std::max(stats.max_abs_value, want.abs().max().item<double>());
      EXPECT_LE(diff, kTolerance) << label << " batch " << b << " frames " << t << " " << outputs[o];
    }
    std::printf("[parity] %s, onnxruntime-%s, batch %d frames %3d: max |ORT - LibTorch| = %.3g (ORT %.1f ms)\n",
                label.c_str(), runtime.c_str(), b, t, case_diff, result["cases"][i]["ms"].get<double>());
    stats.max_diff = std::max(stats.max_diff, case_diff);
    ++stats.cases;
  }
  return stats;
}

const std::set<std::string> kAllowedOps = {"Add",   "Cast",  "Concat",    "Conv",   "Cos",  "Div",
                                           "Equal", "Gather", "LayerNormalization", "Log", "MatMul", "Mul",
                                           "Pad",   "Range", "Relu",  "Reshape",   "Shape",  "Sin",  "Slice",
                                           "Softmax", "Sub",   "Transpose", "Unsqueeze", "Where",
                                           "Sigmoid", "Clip"};  // Pad, Slice: --harmonics; Sigmoid, Clip: ensembles

void expect_well_formed(const std::string& onnx_path, const qs::ModelHyper& h) {
  qs::OnnxSummary s;
  ASSERT_NO_THROW(s = qs::inspect_onnx(onnx_path));  // ONNX checker + strict shape inference
  EXPECT_EQ(s.ir_version, qs::kOnnxIrVersion);
  EXPECT_EQ(s.opset, qs::kOnnxOpset);
  for (const auto& op : s.op_types) EXPECT_TRUE(kAllowedOps.count(op)) << "unexpected op " << op;
  EXPECT_EQ(s.input_names, std::vector<std::string>({"cqt"}));
  EXPECT_EQ(s.output_names, std::vector<std::string>({"frame_logits", "onset_logits"}));
  const std::vector<std::string> in_dims = {"batch", "frames", std::to_string(h.n_bins)};
  const std::vector<std::string> out_dims = {"batch", "frames", std::to_string(h.n_notes)};
  ASSERT_EQ(s.input_dims.size(), 1u);
  EXPECT_EQ(s.input_dims[0], in_dims);
  ASSERT_EQ(s.output_dims.size(), 2u);
  EXPECT_EQ(s.output_dims[0], out_dims);
  EXPECT_EQ(s.output_dims[1], out_dims);
  // The graph's own shape inference reaches the note axis from the weights.
  ASSERT_EQ(s.inferred_output_dims.size(), 2u);
  for (const auto& d : s.inferred_output_dims) {
    ASSERT_EQ(d.size(), 3u);
    EXPECT_EQ(d[2], std::to_string(h.n_notes));
  }
}

qs::ModelHyper small_hyper() {
  qs::ModelHyper h;
  h.bins_per_note = 2;
  h.n_bins = 176;
  h.n_notes = 12;
  h.c = 2;
  h.embed_dim = 64;
  h.n_layers = 2;
  h.n_heads = 2;
  h.head_dim = 24;  // n_heads * head_dim = 48 != embed_dim
  h.mlp_hidden = 32;
  return h;
}

const std::vector<std::pair<int, int>> kBatchFrames = {{1, 1}, {2, 1}, {1, 7}, {2, 7}, {1, 43}, {2, 43}, {1, 200}, {2, 200}};

void export_and_compare(const qs::ModelHyper& h, const std::string& label) {
  const std::string dir = qs::test::temp_dir("export_" + label);
  auto model = make_model(h, 7);
  auto config = qs::default_model_config(h);
  config.name = label;
  config.training = {{"data", "none (test)"}, {"epochs", 0}};
  qs::ExportResult r;
  ASSERT_NO_THROW(r = qs::export_onnx(*model, config, dir + "/" + label + ".onnx"));
  EXPECT_EQ(r.json_path, dir + "/" + label + ".json");
  EXPECT_GT(r.onnx_bytes, model->parameter_count() * 4);
  EXPECT_LT(r.onnx_bytes, model->parameter_count() * 4 + 200000);
  expect_well_formed(r.onnx_path, h);

  qs::ModelConfig loaded;
  ASSERT_NO_THROW(loaded = qs::load_model_config(r.json_path));
  EXPECT_EQ(loaded.name, label);
  EXPECT_EQ(loaded.n_notes, h.n_notes);
  EXPECT_EQ(loaded.only_note_names, h.n_notes == 12);
  EXPECT_EQ(loaded.features.n_bins, h.n_bins);
  EXPECT_EQ(loaded.features.bins_per_semitone, h.bins_per_note);
  EXPECT_EQ(loaded.input.name, "cqt");
  EXPECT_EQ(loaded.frame_output.name, "frame_logits");
  EXPECT_TRUE(loaded.has_onset_output);
  EXPECT_EQ(loaded.onset_output.name, "onset_logits");
  EXPECT_EQ(loaded.training.at("data"), "none (test)");
  EXPECT_EQ(qs::ModelHyper::from_json(loaded.architecture).to_json(), h.to_json());
  EXPECT_EQ(loaded.architecture.at("parameter_count").get<int64_t>(), model->parameter_count());

  // onnxruntime-node (native CPU) and onnxruntime-web (the browser's wasm backend) under Node.
  for (const std::string runtime : {"node", "web"}) {
    const auto stats = check_parity(*model, r.onnx_path, dir, kBatchFrames, label, runtime);
    EXPECT_EQ(stats.cases, static_cast<int>(kBatchFrames.size())) << runtime;
    std::printf("[parity] %s, onnxruntime-%s: %d cases, max |diff| %.3g (outputs up to %.3g), %lld parameters, %.2f MB\n",
                label.c_str(), runtime.c_str(), stats.cases, stats.max_diff, stats.max_abs_value,
                static_cast<long long>(model->parameter_count()), r.onnx_bytes / 1e6);
  }
}

}  // namespace

TEST(OnnxExport, DefaultModelMatchesLibTorchInOnnxRuntime) { export_and_compare(qs::ModelHyper{}, "default"); }

TEST(OnnxExport, SmallPitchClassModelMatchesLibTorchInOnnxRuntime) { export_and_compare(small_hyper(), "small12"); }

// Self-attention over the notes of each frame (--freq-layers): two note blocks, 88 tokens of 2
// bins each, feeding a 12-class output.
TEST(OnnxExport, NoteAttentionModelMatchesLibTorchInOnnxRuntime) {
  qs::ModelHyper h = small_hyper();
  h.freq_layers = 2;
  h.freq_dim = 8;
  h.freq_heads = 2;
  ASSERT_EQ(h.to_json().at("freq_layers"), 2);
  EXPECT_FALSE(qs::ModelHyper{}.to_json().contains("freq_layers")) << "the original model's JSON stays as it was";
  export_and_compare(h, "notes_attention");
}

// Harmonic stacking (--harmonics): six shifted copies of the spectrum as conv1's channels,
// including a sub-harmonic (a negative shift) and shifts past the top of the spectrum.
TEST(OnnxExport, HarmonicStackingModelMatchesLibTorchInOnnxRuntime) {
  qs::ModelHyper h = small_hyper();
  h.harmonics = {0.5, 1, 2, 3, 4, 5};
  EXPECT_EQ(h.harmonic_shifts(), (std::vector<int64_t>{-24, 0, 24, 38, 48, 56}));  // 2 bins per note
  ASSERT_EQ(qs::ModelHyper::from_json(h.to_json()).harmonics, h.harmonics);
  EXPECT_FALSE(qs::ModelHyper{}.to_json().contains("harmonics")) << "the original model's JSON stays as it was";
  qs::ModelHyper bad = h;
  bad.harmonics = {1, 1};
  EXPECT_THROW(bad.validate(), qs::Error);
  bad.harmonics = {0.01};
  EXPECT_THROW(bad.validate(), qs::Error);
  export_and_compare(h, "harmonics");
}

// Channel h, bin i of the stack is bin i + shift_h of the spectrum, zero outside it.
TEST(HarmonicStacking, ChannelsAreTheSpectrumShifted) {
  const torch::Tensor x = torch::arange(1, 11, torch::kFloat).reshape({1, 1, 10});
  const torch::Tensor s = qs::stack_harmonics(x, {-2, 0, 3});
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{1, 3, 10}));
  EXPECT_TRUE(torch::equal(s[0][0], torch::tensor({0.f, 0.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f})));
  EXPECT_TRUE(torch::equal(s[0][1], x[0][0]));
  EXPECT_TRUE(torch::equal(s[0][2], torch::tensor({4.f, 5.f, 6.f, 7.f, 8.f, 9.f, 10.f, 0.f, 0.f, 0.f})));
}

namespace {
// Both models give the same frame and onset logits on one random input (grown from a smaller one).
void expect_same_outputs(qs::Transcriber& a, qs::Transcriber& b, int64_t n_bins) {
  torch::NoGradGuard no_grad;
  const torch::Tensor cqt = torch::rand({2, 9, n_bins});
  EXPECT_TRUE(torch::allclose(a->forward(cqt).frame_logits, b->forward(cqt).frame_logits, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(a->forward(cqt).onset_logits, b->forward(cqt).onset_logits, 1e-5, 1e-6));
}
}  // namespace

// --load-weights of a plain model into a stacked one: the outputs are the plain model's exactly
// (the new channels start at zero), and anything else that differs is refused.
TEST(HarmonicStacking, LoadingAPlainModelStartsFromItsOutputs) {
  const qs::ModelHyper plain = small_hyper();
  qs::ModelHyper stacked = plain;
  stacked.harmonics = {1, 2, 3};
  auto a = make_model(plain, 3), b = make_model(stacked, 4);
  a->eval();
  b->eval();
  ASSERT_TRUE(qs::copy_weights_adding_harmonics(b, a));
  expect_same_outputs(a, b, plain.n_bins);
  stacked.harmonics = {2, 3};  // no plain channel to put the old weights in
  auto c = make_model(stacked, 5);
  EXPECT_FALSE(qs::copy_weights_adding_harmonics(c, a));
  stacked.harmonics = {1, 2};
  stacked.embed_dim = 32;
  auto d = make_model(stacked, 6);
  EXPECT_FALSE(qs::copy_weights_adding_harmonics(d, a));
}

// --load-weights into the same model with more convolution channels (--c): the outputs are the
// narrow model's exactly, training moves the new channels, and anything else that differs is refused.
TEST(ModelWidening, LoadingANarrowModelStartsFromItsOutputs) {
  const qs::ModelHyper narrow = small_hyper();
  qs::ModelHyper wide = narrow;
  wide.c = narrow.c + 3;
  auto a = make_model(narrow, 3), b = make_model(wide, 4);
  a->eval();
  b->eval();
  ASSERT_TRUE(qs::copy_weights_widening(b, a));
  expect_same_outputs(a, b, narrow.n_bins);
  // One gradient step reaches the new channels' embedding weights (they are not dead).
  b->train();
  const torch::Tensor loss = b->forward(torch::rand({2, 9, narrow.n_bins})).frame_logits.pow(2).mean();
  loss.backward();
  const int64_t old_cols = static_cast<int64_t>(narrow.c) * narrow.n_bins;
  EXPECT_GT(b->freq_fc->weight.grad().narrow(1, old_cols, b->freq_fc->weight.size(1) - old_cols).abs().sum().item<double>(), 0.0);
  EXPECT_FALSE(qs::copy_weights_widening(a, b)) << "narrowing is not widening";
  qs::ModelHyper other = wide;
  other.embed_dim = 32;
  auto d = make_model(other, 6);
  EXPECT_FALSE(qs::copy_weights_widening(d, a));
}

// --load-weights into the same model with more Transformer layers: the outputs are the shallow
// model's exactly, the new layers get gradients, and anything else that differs is refused.
TEST(ModelDeepening, LoadingAShallowModelStartsFromItsOutputs) {
  const qs::ModelHyper shallow = small_hyper();
  qs::ModelHyper deep = shallow;
  deep.n_layers = shallow.n_layers + 2;
  auto a = make_model(shallow, 3), b = make_model(deep, 4);
  a->eval();
  b->eval();
  ASSERT_TRUE(qs::copy_weights_deepening(b, a));
  expect_same_outputs(a, b, shallow.n_bins);
  b->train();
  b->forward(torch::rand({2, 9, shallow.n_bins})).frame_logits.pow(2).mean().backward();
  auto& last = *b->blocks[static_cast<std::size_t>(deep.n_layers - 1)]->as<qs::TransformerBlockImpl>();
  EXPECT_GT(last.ff2->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(last.proj->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_FALSE(qs::copy_weights_deepening(a, b)) << "removing layers is not deepening";
  qs::ModelHyper other = deep;
  other.c = shallow.c + 1;
  auto d = make_model(other, 6);
  EXPECT_FALSE(qs::copy_weights_deepening(d, a));
}

TEST(OnnxExport, RefusesAConfigThatContradictsTheModel) {
  auto model = make_model(small_hyper(), 1);
  auto config = qs::default_model_config(qs::ModelHyper{});  // 352 bins, 88 notes
  const std::string dir = qs::test::temp_dir("export_mismatch");
  try {
    qs::export_onnx(*model, config, dir + "/m.onnx");
    FAIL() << "expected qs::Error";
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("features.n_bins"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/m.onnx"));
}

TEST(OnnxExport, CheckpointRoundTripAndCliExport) {
  qs::ModelHyper h = small_hyper();
  h.n_notes = 88;
  h.n_layers = 1;
  auto model = make_model(h, 11);
  const std::string dir = qs::test::temp_dir("export_ckpt");
  auto config = qs::default_model_config(h);
  config.decoding.onset_threshold = 0.45f;
  qs::CheckpointInfo info;
  info.hyper = h;
  info.features = config.features;
  info.n_notes = h.n_notes;
  info.decoding = config.decoding;
  info.training = {{"epochs", 3}, {"data", "unit test"}, {"rng", "generator state"}};
  fs::create_directories(dir + "/run");
  ASSERT_NO_THROW(qs::save_checkpoint(dir + "/run/best.pt", model, info));

  // A run directory resolves to best.pt.
  auto ck = qs::load_model_for_export(dir + "/run");
  EXPECT_EQ(ck.path, dir + "/run/best.pt");
  EXPECT_EQ(ck.model->hyper().to_json(), h.to_json());
  EXPECT_FLOAT_EQ(ck.config.decoding.onset_threshold, 0.45f);
  EXPECT_EQ(ck.config.training.at("epochs"), 3);
  EXPECT_FALSE(ck.config.training.contains("rng"));
  const auto a = model->named_parameters(), b = ck.model->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
  EXPECT_THROW(qs::load_model_for_export(dir), qs::Error);  // no best.pt / checkpoint.pt there

  // CLI: from the checkpoint, with thresholds overridden on the command line.
  const std::string prefix = dir + "/out/exported";
  auto r = qs::test::run_shell(std::string(QSCRIBE_BIN) + " export --checkpoint " + quote(dir + "/run/best.pt") + " --out " +
                       quote(prefix) + " --name ckpt-test --frame-threshold 0.25 --min-note-length 0.07 --context-frames 5");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("parameters: " + std::to_string(model->parameter_count())), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exported.onnx"), std::string::npos) << r.out;
  const auto cfg = qs::load_model_config(prefix + ".json");
  EXPECT_EQ(cfg.name, "ckpt-test");
  EXPECT_FLOAT_EQ(cfg.decoding.onset_threshold, 0.45f);  // from the checkpoint
  EXPECT_FLOAT_EQ(cfg.decoding.frame_threshold, 0.25f);  // from the command line
  EXPECT_DOUBLE_EQ(cfg.decoding.min_note_length_s, 0.07);
  EXPECT_EQ(cfg.context_frames, 5);  // runtimes overlap their windows by 2 x 5 frames
  EXPECT_NE(r.out.find("5 discarded at each side"), std::string::npos) << r.out;
  EXPECT_EQ(cfg.training.at("data"), "unit test");
  // Re-exporting the ONNX keeps the context; half the window or more leaves no frames to keep.
  r = qs::test::run_shell(std::string(QSCRIBE_BIN) + " export --checkpoint " + quote(prefix + ".onnx") + " --out " +
                          quote(prefix + "2"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(qs::load_model_config(prefix + "2.json").context_frames, 5);
  r = qs::test::run_shell(std::string(QSCRIBE_BIN) + " export --checkpoint " + quote(prefix + ".onnx") + " --out " +
                          quote(prefix + "3") + " --context-frames " + std::to_string((cfg.segment_frames + 1) / 2));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("--context-frames"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(prefix + "3.json"));
  EXPECT_EQ(qs::test::run_shell(std::string(QSCRIBE_BIN) + " export --random-init --context-frames -1 --out " +
                                quote(prefix + "4")).status, 2);
  // --passes goes into the sidecar (absent there means 1) and survives a re-export.
  EXPECT_FALSE(qs::model_config_to_json(cfg)["segment"].contains("passes"));
  r = qs::test::run_shell(std::string(QSCRIBE_BIN) + " export --checkpoint " + quote(prefix + ".onnx") + " --out " +
                          quote(prefix + "5") + " --passes 2");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("2 staggered passes"), std::string::npos) << r.out;
  EXPECT_EQ(qs::load_model_config(prefix + "5.json").passes, 2);
  r = qs::test::run_shell(std::string(QSCRIBE_BIN) + " export --checkpoint " + quote(prefix + "5.onnx") + " --out " +
                          quote(prefix + "6"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(qs::load_model_config(prefix + "6.json").passes, 2);
  EXPECT_EQ(qs::test::run_shell(std::string(QSCRIBE_BIN) + " export --random-init --passes 9 --out " +
                                quote(prefix + "7")).status, 2);
  expect_well_formed(prefix + ".onnx", h);
  // The file the CLI wrote computes what the in-memory model computes.
  const auto stats = check_parity(*model, prefix + ".onnx", dir, {{1, 5}, {2, 30}}, "cli-checkpoint");
  EXPECT_EQ(stats.cases, 2);
}

// float16 storage: half the file, every parameter stored as float16 (the position constant
// stays float32), and ONNX Runtime (native and the browser's wasm) computes what LibTorch
// computes with the same rounded weights, read back from the file by onnx_import.
TEST(OnnxExport, Float16WeightsHalveTheFileAndRunInOnnxRuntime) {
  const qs::ModelHyper h = small_hyper();
  auto model = make_model(h, 21);
  const std::string dir = qs::test::temp_dir("export_f16");
  auto config = qs::default_model_config(h);
  qs::ExportResult r;
  ASSERT_NO_THROW(r = qs::export_onnx(*model, config, dir + "/half.onnx", qs::WeightType::float16));
  EXPECT_GT(r.onnx_bytes, model->parameter_count() * 2);
  EXPECT_LT(r.onnx_bytes, model->parameter_count() * 2 + 200000);
  expect_well_formed(r.onnx_path, h);
  const auto s = qs::inspect_onnx(r.onnx_path);
  EXPECT_EQ(s.initializer_halves, model->parameter_count());
  EXPECT_EQ(s.initializer_floats - s.initializer_halves, h.embed_dim / 2 + 3);  // inv_freq + 3 scalar constants

  qs::LoadedCheckpoint back;
  ASSERT_NO_THROW(back = qs::load_onnx_checkpoint(r.onnx_path));
  // Each weight is the float16 nearest the original: within half a unit in the last place.
  int64_t changed = 0;
  const auto orig = model->named_parameters();
  for (const auto& item : back.model->named_parameters()) {
    const auto& w = orig[item.key()];
    const auto err = (item.value() - w).abs();
    EXPECT_TRUE((err <= w.abs() * std::ldexp(1.0, -11) + 3e-8).all().item<bool>()) << item.key();
    changed += (err > 0).sum().item<int64_t>();
  }
  EXPECT_GT(changed, model->parameter_count() / 2) << "the weights were not rounded to float16";
  for (const std::string runtime : {"node", "web"}) {
    const auto stats = check_parity(*back.model, r.onnx_path, dir, {{1, 5}, {2, 43}}, "float16", runtime);
    EXPECT_EQ(stats.cases, 2) << runtime;
  }
  // The rounding changes the outputs only slightly against the float32 model.
  torch::NoGradGuard guard;
  const auto x = make_input(1, 43, h.n_bins, 5);
  const double d = (back.model->forward(x).frame_logits - model->forward(x).frame_logits).abs().max().item<double>();
  EXPECT_LT(d, 0.05);
  std::printf("[float16] %.2f MB (float32 would be ~%.2f MB); max |logit change| from rounding %.3g\n",
              r.onnx_bytes / 1e6, model->parameter_count() * 4 / 1e6, d);
}

// An exported float32 model reads back into LibTorch bit for bit, with the sidecar's features,
// decoding defaults and provenance; `qscribe export` re-exports it (here to float16).
// An ensemble (--member): two networks of different sizes on one input; the model outputs the
// logits of the weighted mean of their probabilities, in LibTorch, in both ONNX Runtimes, after
// a round trip through the file, and from the CLI.
TEST(OnnxExport, EnsembleAveragesItsNetworksProbabilities) {
  qs::ModelHyper ha = small_hyper(), hb = small_hyper();
  hb.embed_dim = 32;
  hb.n_layers = 1;
  hb.head_dim = 16;
  auto a = make_model(ha, 51), b = make_model(hb, 52);
  auto ens = qs::make_ensemble(a, {b}, {0.3});
  ASSERT_TRUE(ens->is_ensemble());
  EXPECT_EQ(ens->parameter_count(), a->parameter_count() + b->parameter_count());
  EXPECT_EQ(qs::ModelHyper::from_json(ens->hyper().to_json()).to_json(), ens->hyper().to_json());
  {
    torch::NoGradGuard no_grad;
    const auto x = torch::rand({2, 9, ha.n_bins}) * 3;
    const auto oa = a->forward(x), ob = b->forward(x), oe = ens->forward(x);
    auto expect = [](const torch::Tensor& la, const torch::Tensor& lb, const torch::Tensor& le) {
      const auto p = 0.7 * torch::sigmoid(la) + 0.3 * torch::sigmoid(lb);
      EXPECT_TRUE(torch::allclose(torch::sigmoid(le), p, 1e-5, 1e-6));
      EXPECT_FALSE(torch::allclose(le, la, 1e-3, 1e-3)) << "the member must change the output";
    };
    expect(oa.frame_logits, ob.frame_logits, oe.frame_logits);
    expect(oa.onset_logits, ob.onset_logits, oe.onset_logits);
  }
  // Refused: nested ensembles, weights outside (0, 1) or summing to 1, another input.
  EXPECT_THROW(qs::make_ensemble(ens, {b}, {0.3}), qs::Error);
  EXPECT_THROW(qs::make_ensemble(a, {ens}, {0.3}), qs::Error);
  EXPECT_THROW(qs::make_ensemble(a, {b}, {1.0}), qs::Error);
  EXPECT_THROW(qs::make_ensemble(a, {b, b}, {0.5, 0.5}), qs::Error);
  EXPECT_THROW(qs::make_ensemble(a, {b}, {}), qs::Error);
  qs::ModelHyper other = small_hyper();
  other.n_notes = 88;
  auto c = make_model(other, 53);
  EXPECT_THROW(qs::make_ensemble(a, {c}, {0.3}), qs::Error);

  const std::string dir = qs::test::temp_dir("export_ensemble");
  auto config = qs::default_model_config(ha);
  config.training = {{"data", "none (test)"}};
  ASSERT_NO_THROW(qs::export_onnx(*ens, config, dir + "/ens.onnx"));
  expect_well_formed(dir + "/ens.onnx", ha);
  for (const std::string runtime : {"node", "web"})
    EXPECT_EQ(check_parity(*ens, dir + "/ens.onnx", dir, {{1, 5}, {2, 30}}, "ensemble", runtime).cases, 2) << runtime;
  qs::LoadedCheckpoint back;
  ASSERT_NO_THROW(back = qs::load_checkpoint(dir + "/ens.onnx"));
  EXPECT_EQ(back.info.hyper.to_json(), ens->hyper().to_json());
  const auto pe = ens->named_parameters(), pb = back.model->named_parameters();
  ASSERT_EQ(pe.size(), pb.size());
  for (const auto& item : pe) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();

  // The CLI: --checkpoint plus --member / --member-weight; the sidecar names the member.
  ASSERT_NO_THROW(qs::export_onnx(*a, config, dir + "/a.onnx"));
  ASSERT_NO_THROW(qs::export_onnx(*b, config, dir + "/b.onnx"));
  const std::string base = std::string(QSCRIBE_BIN) + " export --checkpoint " + quote(dir + "/a.onnx");
  auto r = qs::test::run_shell(base + " --member " + quote(dir + "/b.onnx") + " --member-weight 0.3 --out " + quote(dir + "/cli"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("1 member network"), std::string::npos) << r.out;
  const auto cfg = qs::load_model_config(dir + "/cli.json");
  EXPECT_EQ(cfg.training.at("ensemble_members").at(0).at("weight"), 0.3);
  EXPECT_EQ(cfg.architecture.at("members").size(), 1u);
  EXPECT_EQ(check_parity(*ens, dir + "/cli.onnx", dir, {{1, 7}}, "ensemble-cli").cases, 1);
  r = qs::test::run_shell(base + " --member " + quote(dir + "/b.onnx") + " --out " + quote(dir + "/noweight"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("--member-weight"), std::string::npos) << r.out;
  r = qs::test::run_shell(base + " --member " + quote(dir + "/cli.onnx") + " --member-weight 0.3 --out " + quote(dir + "/nested"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("already an ensemble"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir + "/nested.onnx"));
  // --drop-members: the first network alone again, as it was before the ensemble.
  r = qs::test::run_shell(std::string(QSCRIBE_BIN) + " export --checkpoint " + quote(dir + "/cli.onnx") +
                          " --drop-members --out " + quote(dir + "/first"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(qs::load_model_config(dir + "/first.json").architecture.contains("members"));
  EXPECT_EQ(check_parity(*a, dir + "/first.onnx", dir, {{1, 7}}, "ensemble-first").cases, 1);
  EXPECT_EQ(qs::first_network(ens)->hyper().to_json(), a->hyper().to_json());
  // --network 2: the member alone, its own hyper-parameters and outputs.
  r = qs::test::run_shell(std::string(QSCRIBE_BIN) + " export --checkpoint " + quote(dir + "/cli.onnx") +
                          " --network 2 --out " + quote(dir + "/second"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(qs::load_model_config(dir + "/second.json").architecture.contains("members"));
  EXPECT_EQ(check_parity(*b, dir + "/second.onnx", dir, {{1, 7}}, "ensemble-second").cases, 1);
  EXPECT_EQ(qs::ensemble_network(ens, 1)->hyper().to_json(), b->hyper().to_json());
  EXPECT_THROW(qs::ensemble_network(ens, 2), qs::Error);
  r = qs::test::run_shell(std::string(QSCRIBE_BIN) + " export --checkpoint " + quote(dir + "/cli.onnx") +
                          " --network 3 --out " + quote(dir + "/third"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("no network 3 (the model has 2)"), std::string::npos) << r.out;
  r = qs::test::run_shell(std::string(QSCRIBE_BIN) + " export --checkpoint " + quote(dir + "/a.onnx") +
                          " --drop-members --out " + quote(dir + "/notens"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("not an ensemble"), std::string::npos) << r.out;
}

TEST(OnnxImport, Float32ExportLoadsBackExactly) {
  qs::ModelHyper h = small_hyper();
  h.n_notes = 88;
  auto model = make_model(h, 31);
  const std::string dir = qs::test::temp_dir("import_f32");
  auto config = qs::default_model_config(h);
  config.decoding.onset_threshold = 0.4f;
  config.decoding.frame_fallback = false;
  config.segment_frames = 86;
  config.training = {{"epochs", 13}};
  ASSERT_NO_THROW(qs::export_onnx(*model, config, dir + "/m.onnx"));
  qs::LoadedCheckpoint back;
  ASSERT_NO_THROW(back = qs::load_checkpoint(dir + "/m.onnx"));  // dispatches on the extension
  EXPECT_EQ(back.info.hyper.to_json(), h.to_json());
  EXPECT_FLOAT_EQ(back.info.decoding.onset_threshold, 0.4f);
  EXPECT_FALSE(back.info.decoding.frame_fallback);
  EXPECT_EQ(back.info.segment_frames, 86);
  EXPECT_EQ(back.info.training.at("epochs"), 13);
  EXPECT_EQ(back.info.features.n_bins, h.n_bins);
  const auto a = model->named_parameters(), b = back.model->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();

  auto r = qs::test::run_shell(std::string(QSCRIBE_BIN) + " export --checkpoint " + quote(dir + "/m.onnx") +
                               " --out " + quote(dir + "/half") + " --weights float16");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("float16 weights"), std::string::npos) << r.out;
  const auto cfg = qs::load_model_config(dir + "/half.json");
  EXPECT_FLOAT_EQ(cfg.decoding.onset_threshold, 0.4f);
  EXPECT_EQ(cfg.training.at("epochs"), 13);
  EXPECT_LT(fs::file_size(dir + "/half.onnx") * 10, fs::file_size(dir + "/m.onnx") * 6);
}

TEST(OnnxImport, RefusesAMissingSidecarABadFileAndAMismatchedArchitecture) {
  const qs::ModelHyper h = small_hyper();
  auto model = make_model(h, 41);
  const std::string dir = qs::test::temp_dir("import_errors");
  ASSERT_NO_THROW(qs::export_onnx(*model, qs::default_model_config(h), dir + "/m.onnx"));
  auto message = [](const std::string& path) {
    try {
      qs::load_onnx_checkpoint(path);
    } catch (const qs::Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(message(dir + "/none.onnx").find("no such model file"), std::string::npos);

  fs::copy_file(dir + "/m.onnx", dir + "/alone.onnx");
  EXPECT_NE(message(dir + "/alone.onnx").find("sidecar"), std::string::npos) << message(dir + "/alone.onnx");

  std::ofstream(dir + "/junk.onnx") << "not protobuf at all";
  fs::copy_file(dir + "/m.json", dir + "/junk.json");
  EXPECT_NE(message(dir + "/junk.onnx").find("not an ONNX model"), std::string::npos) << message(dir + "/junk.onnx");

  // The sidecar claims a wider Transformer than the weights hold.
  fs::copy_file(dir + "/m.onnx", dir + "/wide.onnx");
  auto j = nlohmann::json::parse(std::ifstream(dir + "/m.json"));
  j["architecture"]["embed_dim"] = h.embed_dim * 2;
  std::ofstream(dir + "/wide.json") << j.dump();
  const std::string wide = message(dir + "/wide.onnx");
  EXPECT_NE(wide.find("has shape"), std::string::npos) << wide;
  EXPECT_EQ(wide.rfind(dir + "/wide.onnx", 0), 0u) << "errors start with the path: " << wide;
}

TEST(OnnxExport, CliRandomInitAndErrors) {
  const std::string dir = qs::test::temp_dir("export_cli");
  const std::string bin = QSCRIBE_BIN;
  auto r = qs::test::run_shell(bin + " export --random-init --seed 5 --hyper '{\"n_layers\": 1, \"embed_dim\": 32, \"n_heads\": 2, "
                             "\"head_dim\": 8, \"mlp_hidden\": 16, \"n_notes\": 12}' --out " +
                       quote(dir + "/rnd.onnx") + " --onset-threshold 0.6 --name tiny");
  ASSERT_EQ(r.status, 0) << r.out;
  ASSERT_TRUE(fs::exists(dir + "/rnd.onnx")) << r.out;
  const auto cfg = qs::load_model_config(dir + "/rnd.json");
  EXPECT_EQ(cfg.name, "tiny");
  EXPECT_EQ(cfg.n_notes, 12);
  EXPECT_TRUE(cfg.only_note_names);
  EXPECT_EQ(cfg.lowest_pitch, 60);
  EXPECT_FLOAT_EQ(cfg.decoding.onset_threshold, 0.6f);
  EXPECT_FLOAT_EQ(cfg.decoding.frame_threshold, 0.3f);
  EXPECT_EQ(cfg.training.at("seed"), 5);
  qs::ModelHyper h;
  h.n_layers = 1, h.embed_dim = 32, h.n_heads = 2, h.head_dim = 8, h.mlp_hidden = 16, h.n_notes = 12;
  expect_well_formed(dir + "/rnd.onnx", h);

  // Usage errors exit 2, failures exit 1 with one clear line.
  EXPECT_EQ(qs::test::run_shell(bin + " export --out " + quote(dir + "/x")).status, 2);
  EXPECT_EQ(qs::test::run_shell(bin + " export --random-init --checkpoint a --out " + quote(dir + "/x")).status, 2);
  EXPECT_EQ(qs::test::run_shell(bin + " export --random-init --onset-threshold 1.5 --out " + quote(dir + "/x")).status, 2);
  r = qs::test::run_shell(bin + " export --checkpoint " + quote(dir + "/missing") + " --out " + quote(dir + "/x"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("qscribe: error: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("missing"), std::string::npos) << r.out;
  r = qs::test::run_shell(bin + " export --random-init --hyper '{\"n_notes\": 50}' --out " + quote(dir + "/x"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("n_notes"), std::string::npos) << r.out;
  r = qs::test::run_shell(bin + " export --help");
  EXPECT_EQ(r.status, 0);
  for (const char* opt : {"--checkpoint", "--random-init", "--seed", "--hyper", "--out", "--name", "--onset-threshold",
                          "--frame-threshold", "--min-note-length", "--frame-fallback", "--context-frames"})
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
}
