// Model sidecar JSON: round trip, defaults, forward compatibility and every validation path.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "qscribe/error.hpp"
#include "qscribe/model_config.hpp"
#include "test_support.hpp"

using nlohmann::json;

namespace {

json minimal() {
  return json::parse(R"({
    "format_version": 1,
    "features": {"sample_rate": 22050, "hop_length": 512, "fmin": 27.5, "bins_per_semitone": 4,
                 "n_bins": 352, "filter_scale": 1.0},
    "notes": {"lowest_pitch": 21, "n_notes": 88},
    "io": {"input": {"name": "cqt", "shape": ["batch", "frames", 352]},
           "frame_output": {"name": "frame_logits", "shape": ["batch", "frames", 88]},
           "onset_output": {"name": "onset_logits", "shape": ["batch", "frames", 88]}}
  })");
}

// Expects parsing `j` to fail with a message containing every fragment.
void expect_error(const json& j, std::initializer_list<std::string> fragments) {
  try {
    qs::model_config_from_json(j);
    ADD_FAILURE() << "accepted: " << j.dump();
  } catch (const qs::Error& e) {
    for (const std::string& f : fragments)
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << "message: " << e.what() << "\nmissing: " << f;
  }
}

// Expects `f` to throw qs::Error with a message containing every fragment.
template <class F>
void expect_error_text(F f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const qs::Error& e) {
    for (const std::string& part : fragments)
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "message: " << e.what() << "\nmissing: " << part;
  }
}

json with(json j, const json::json_pointer& ptr, const json& value) {
  j[ptr] = value;
  return j;
}

json without(json j, const json::json_pointer& parent, const std::string& key) {
  j[parent].erase(key);
  return j;
}

}  // namespace

TEST(ModelConfig, MinimalFileGetsDefaults) {
  const qs::ModelConfig c = qs::model_config_from_json(minimal());
  EXPECT_EQ(c.features.hop_length, 512);
  EXPECT_DOUBLE_EQ(c.features.sparsity, 0.01);
  EXPECT_EQ(c.segment_frames, 43);
  EXPECT_FLOAT_EQ(c.decoding.onset_threshold, 0.5f);
  // A sidecar from before the re-strike rule: every onset peak re-strikes, as it did then.
  EXPECT_EQ(c.decoding.restrike_threshold, 0.0f);
  EXPECT_EQ(c.decoding.min_restrike_gap_s, 0.0);
  EXPECT_EQ(c.decoding.rise_threshold, 0.0f);  // and only onset peaks start notes
  EXPECT_EQ(c.decoding.restrike_rise_weight, 0.0f);  // and the onset alone decides a re-strike
  EXPECT_EQ(c.decoding.weak_onset_threshold, 0.0f);  // and every peak on a silent pitch starts a note
  EXPECT_TRUE(c.has_onset_output);
  EXPECT_TRUE(c.outputs_are_logits);
  EXPECT_EQ(c.input.shape[2], qs::TensorDim::fixed(352));
  EXPECT_TRUE(c.input.shape[0].is_dynamic());
}

TEST(ModelConfig, RoundTripKeepsEverything) {
  qs::ModelConfig c;
  c.name = "tiny";
  c.description = "a test";
  c.features.filter_scale = 0.5;
  c.features.future_fraction = 0.25;
  c.features.hop_length = 256;
  c.decoding.onset_threshold = 0.35f;
  c.decoding.frame_threshold = 0.123456789f;
  c.decoding.min_note_length_s = 0.1;
  c.decoding.frame_fallback = false;
  c.decoding.restrike_threshold = 0.55f;
  c.decoding.min_restrike_gap_s = 0.116;
  c.decoding.rise_threshold = 0.85f;
  c.decoding.restrike_rise_weight = 0.5f;
  c.decoding.weak_onset_threshold = 0.4f;
  c.decoding.weak_onset_frame = 0.3f;
  c.segment_frames = 86;
  c.context_frames = 4;
  c.passes = 3;
  c.architecture = {{"d_model", 128}, {"layers", 4}};
  c.training = {{"epochs", 30}, {"git_commit", "abc123"}, {"metrics", {{"note_f1", 0.71}}}};
  c.has_onset_output = false;
  c.outputs_are_logits = false;
  const std::string text = qs::model_config_to_string(c);
  const qs::ModelConfig back = qs::parse_model_config(text);
  EXPECT_EQ(qs::model_config_to_json(back), qs::model_config_to_json(c));
  EXPECT_EQ(back.decoding.frame_threshold, c.decoding.frame_threshold);
  EXPECT_EQ(back.passes, 3);
  EXPECT_EQ(back.features.future_fraction, 0.25);
  EXPECT_EQ(back.decoding.onset_threshold, 0.35f);
  EXPECT_EQ(back.decoding.restrike_threshold, 0.55f);
  EXPECT_EQ(back.decoding.min_restrike_gap_s, 0.116);
  EXPECT_EQ(back.decoding.rise_threshold, 0.85f);
  EXPECT_EQ(back.decoding.restrike_rise_weight, 0.5f);
  EXPECT_EQ(back.decoding.weak_onset_threshold, 0.4f);
  EXPECT_EQ(back.decoding.weak_onset_frame, 0.3f);
  EXPECT_NE(text.find("\"restrike_rise_weight\": 0.5"), std::string::npos) << text;
  EXPECT_NE(text.find("\"rise_threshold\": 0.85"), std::string::npos) << text;
  EXPECT_NE(text.find("\"onset_threshold\": 0.35,\n"), std::string::npos) << text;  // written as typed, not 0.3499999940
  EXPECT_FALSE(back.has_onset_output);
  EXPECT_EQ(back.training["metrics"]["note_f1"], 0.71);
  // nlohmann ADL hooks
  const json j = c;
  EXPECT_EQ(j.get<qs::ModelConfig>().name, "tiny");
}

// One reader and writer of the "decoding" object for sidecars and checkpoints: absent fields keep
// the base (older files decode as they did), bad ones name the document and field.
TEST(ModelConfig, DecodingObjectIsSharedByEveryDocument) {
  qs::DecoderParams d;
  d.onset_threshold = 0.2f;
  d.weak_onset_frame = 0.35f;
  d.min_restrike_gap_s = 0.1;
  const json j = qs::decoder_params_to_json(d);
  EXPECT_EQ(j.at("onset_threshold").dump(), "0.2");
  EXPECT_EQ(j.at("weak_onset_frame").dump(), "0.35");
  const qs::DecoderParams back = qs::decoder_params_from_json(j, qs::DecoderParams{});
  EXPECT_EQ(qs::decoder_params_to_json(back), j);

  qs::DecoderParams base;
  base.restrike_rise_weight = 0.7f;
  const qs::DecoderParams old = qs::decoder_params_from_json(json{{"onset_threshold", 0.4}}, base, "checkpoint");
  EXPECT_EQ(old.onset_threshold, 0.4f);
  EXPECT_EQ(old.restrike_rise_weight, 0.7f);  // absent: the base's
  expect_error_text([] { qs::decoder_params_from_json(json{{"weak_onset_frame", 2}}, {}, "checkpoint"); },
                    {"checkpoint", "decoding.weak_onset_frame", "[0, 1]"});
  expect_error_text([] { qs::decoder_params_from_json(json::array(), {}); }, {"model config", "decoding"});
}

TEST(ModelConfig, UnknownFieldsAreIgnored) {
  json j = minimal();
  j["future_field"] = {1, 2, 3};
  j["features"]["window"] = "hann";
  j["io"]["velocity_output"] = {{"name", "v"}};
  EXPECT_NO_THROW(qs::model_config_from_json(j));
}

TEST(ModelConfig, FileRoundTripAndSidecarPath) {
  const std::string dir = qs::test::temp_dir("model_config");
  const std::string path = dir + "/m.json";
  qs::ModelConfig c;
  c.name = "file";
  qs::save_model_config(c, path);
  EXPECT_EQ(qs::load_model_config(path).name, "file");
  EXPECT_EQ(qs::model_config_path_for("models/base.onnx"), "models/base.json");
  EXPECT_EQ(qs::model_config_path_for("a.b/model"), "a.b/model.json");
  try {
    qs::load_model_config(dir + "/missing.json");
    FAIL();
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos);
  }
  std::ofstream(dir + "/bad.json") << "{\"format_version\": 1,";
  try {
    qs::load_model_config(dir + "/bad.json");
    FAIL();
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json: model config: not valid JSON"), std::string::npos) << e.what();
  }
}

TEST(ModelConfig, FormatVersion) {
  expect_error(without(minimal(), ""_json_pointer, "format_version"), {"\"format_version\"", "required"});
  expect_error(with(minimal(), "/format_version"_json_pointer, "1"), {"\"format_version\"", "positive integer"});
  expect_error(with(minimal(), "/format_version"_json_pointer, 0), {"\"format_version\""});
  expect_error(with(minimal(), "/format_version"_json_pointer, 2), {"version 2", "newer qscribe"});
  expect_error(json::array(), {"must be a JSON object"});
  EXPECT_THROW(qs::parse_model_config("not json"), qs::Error);
}

TEST(ModelConfig, FieldTypeErrorsNameThePath) {
  expect_error(with(minimal(), "/features/hop_length"_json_pointer, "abc"),
               {"model config: field \"features.hop_length\": must be a positive integer, got \"abc\""});
  expect_error(with(minimal(), "/features/hop_length"_json_pointer, 0), {"features.hop_length", "got 0"});
  expect_error(with(minimal(), "/features/hop_length"_json_pointer, 1.5), {"features.hop_length"});
  expect_error(with(minimal(), "/features/sample_rate"_json_pointer, -1), {"features.sample_rate"});
  expect_error(with(minimal(), "/features/fmin"_json_pointer, "A0"), {"features.fmin"});
  expect_error(with(minimal(), "/features/bins_per_semitone"_json_pointer, nullptr), {"features.bins_per_semitone"});
  expect_error(with(minimal(), "/features/n_bins"_json_pointer, -3), {"features.n_bins"});
  expect_error(with(minimal(), "/features/filter_scale"_json_pointer, 0), {"features.filter_scale"});
  expect_error(with(minimal(), "/features/sparsity"_json_pointer, 2), {"features.sparsity"});
  expect_error(without(minimal(), "/features"_json_pointer, "n_bins"), {"features.n_bins", "required"});
  expect_error(with(minimal(), "/features"_json_pointer, 5), {"\"features\"", "must be an object"});
  expect_error(without(minimal(), ""_json_pointer, "notes"), {"\"notes\"", "required"});
  expect_error(with(minimal(), "/notes/lowest_pitch"_json_pointer, 128), {"notes.lowest_pitch"});
  expect_error(with(minimal(), "/notes/n_notes"_json_pointer, 0), {"notes.n_notes"});
  expect_error(with(minimal(), "/notes/only_note_names"_json_pointer, "yes"), {"notes.only_note_names", "true or false"});
  expect_error(with(minimal(), "/segment"_json_pointer, json{{"frames", 0}}), {"segment.frames"});
  expect_error(with(minimal(), "/segment"_json_pointer, json{{"context_frames", -1}}), {"segment.context_frames"});
  expect_error(with(minimal(), "/segment"_json_pointer, json{{"passes", 0}}), {"segment.passes"});
  expect_error(with(minimal(), "/segment"_json_pointer, json{{"passes", 9}}), {"segment.passes"});
  expect_error(with(minimal(), "/decoding"_json_pointer, json{{"onset_threshold", 1.5}}), {"decoding.onset_threshold"});
  expect_error(with(minimal(), "/decoding"_json_pointer, json{{"frame_threshold", "0.3"}}), {"decoding.frame_threshold"});
  expect_error(with(minimal(), "/decoding"_json_pointer, json{{"min_note_length_s", -1}}), {"decoding.min_note_length_s"});
  expect_error(with(minimal(), "/decoding"_json_pointer, json{{"frame_fallback", 1}}), {"decoding.frame_fallback"});
  expect_error(with(minimal(), "/decoding"_json_pointer, json{{"restrike_threshold", 2}}), {"decoding.restrike_threshold"});
  expect_error(with(minimal(), "/decoding"_json_pointer, json{{"min_restrike_gap_s", -0.5}}),
               {"decoding.min_restrike_gap_s"});
  expect_error(with(minimal(), "/decoding"_json_pointer, json{{"rise_threshold", 1.5}}), {"decoding.rise_threshold"});
  expect_error(with(minimal(), "/decoding"_json_pointer, json{{"restrike_rise_weight", -1}}),
               {"decoding.restrike_rise_weight"});
  expect_error(with(minimal(), "/decoding"_json_pointer, json{{"weak_onset_threshold", 2}}),
               {"decoding.weak_onset_threshold"});
  expect_error(with(minimal(), "/name"_json_pointer, 3), {"\"name\"", "string"});
  expect_error(with(minimal(), "/architecture"_json_pointer, "big"), {"\"architecture\"", "object"});
  expect_error(with(minimal(), "/training"_json_pointer, 1), {"\"training\"", "object"});
}

TEST(ModelConfig, TensorErrors) {
  expect_error(without(minimal(), ""_json_pointer, "io"), {"\"io\"", "required"});
  expect_error(without(minimal(), "/io"_json_pointer, "input"), {"io.input", "required"});
  expect_error(without(minimal(), "/io/frame_output"_json_pointer, "name"), {"io.frame_output.name"});
  expect_error(with(minimal(), "/io/input/name"_json_pointer, ""), {"io.input.name", "empty"});
  expect_error(without(minimal(), "/io/input"_json_pointer, "shape"), {"io.input.shape", "required"});
  expect_error(with(minimal(), "/io/input/shape"_json_pointer, "352"), {"io.input.shape", "array"});
  expect_error(with(minimal(), "/io/input/shape/1"_json_pointer, -2), {"io.input.shape[1]"});
  expect_error(with(minimal(), "/io/input/shape"_json_pointer, json::array({"frames", 352})), {"io.input.shape", "3 axes"});
  expect_error(with(minimal(), "/io/input/shape/2"_json_pointer, 264), {"io.input.shape[2]", "352"});
  expect_error(with(minimal(), "/io/frame_output/shape/2"_json_pointer, 12), {"io.frame_output.shape[2]", "88"});
  expect_error(with(minimal(), "/io/onset_output/shape/2"_json_pointer, 12), {"io.onset_output.shape[2]"});
  expect_error(with(minimal(), "/io/outputs_are_logits"_json_pointer, "no"), {"io.outputs_are_logits"});
  // onset_output null or absent: a frame-only model
  EXPECT_FALSE(qs::model_config_from_json(with(minimal(), "/io/onset_output"_json_pointer, nullptr)).has_onset_output);
  EXPECT_FALSE(qs::model_config_from_json(without(minimal(), "/io"_json_pointer, "onset_output")).has_onset_output);
  // A dynamic note axis is allowed.
  EXPECT_NO_THROW(qs::model_config_from_json(with(minimal(), "/io/frame_output/shape/2"_json_pointer, "notes")));
}

TEST(ModelConfig, CrossFieldChecks) {
  // Note range beyond MIDI 127.
  expect_error(with(minimal(), "/notes/lowest_pitch"_json_pointer, 60), {"notes.lowest_pitch", "MIDI 0..127"});
  // 12 pitch classes need n_notes 12.
  expect_error(with(minimal(), "/notes/only_note_names"_json_pointer, true), {"notes.n_notes", "12"});
  json pc = minimal();
  pc["notes"] = {{"lowest_pitch", 60}, {"n_notes", 12}, {"only_note_names", true}};
  pc["io"]["frame_output"]["shape"][2] = 12;
  pc["io"]["onset_output"]["shape"][2] = 12;
  EXPECT_EQ(qs::model_config_from_json(pc).n_notes, 12);
  // CqtParams::validate's own checks surface under "features".
  expect_error(with(minimal(), "/features/bins_per_semitone"_json_pointer, 9), {"\"features\"", "bins_per_semitone"});
  qs::ModelConfig c;
  c.format_version = 3;
  EXPECT_THROW(c.validate(), qs::Error);
  c = {};
  c.architecture = json::array();
  EXPECT_THROW(c.validate(), qs::Error);
  c = {};
  c.decoding.frame_threshold = -1.0f;
  EXPECT_THROW(qs::save_model_config(c, qs::test::temp_dir("model_config_bad") + "/x.json"), qs::Error);
}

TEST(ModelConfig, SymmetricKernelsWriteNoFutureFraction) {
  // Files from before the option read as symmetric, and symmetric models are written as before.
  qs::ModelConfig c;
  c.name = "sym";
  EXPECT_EQ(qs::model_config_to_string(c).find("future_fraction"), std::string::npos);
  EXPECT_EQ(qs::parse_model_config(qs::model_config_to_string(c)).features.future_fraction, 0.5);
  c.features.future_fraction = 0.3;
  EXPECT_NE(qs::model_config_to_string(c).find("\"future_fraction\": 0.3"), std::string::npos);
  json j = c;
  j["features"]["future_fraction"] = 0.7;
  EXPECT_THROW(qs::parse_model_config(j.dump()), qs::Error);
}

TEST(ModelConfig, CheckCompatibleNamesEveryDifference) {
  qs::ModelConfig c;
  c.name = "base";
  EXPECT_NO_THROW(c.check_compatible(qs::CqtParams{}));
  qs::CqtParams rt;
  rt.sparsity = 0.0;  // not part of the contract
  EXPECT_NO_THROW(c.check_compatible(rt));
  rt.hop_length = 256;
  rt.filter_scale = 0.5;
  try {
    c.check_compatible(rt);
    FAIL();
  } catch (const qs::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("model \"base\""), std::string::npos) << m;
    EXPECT_NE(m.find("hop_length 512 (model) vs 256 (runtime)"), std::string::npos) << m;
    EXPECT_NE(m.find("filter_scale 1 (model) vs 0.5 (runtime)"), std::string::npos) << m;
  }
  for (auto mutate : {+[](qs::CqtParams& p) { p.sample_rate = 16000; }, +[](qs::CqtParams& p) { p.fmin = 32.7; },
                      +[](qs::CqtParams& p) { p.bins_per_semitone = 3; }, +[](qs::CqtParams& p) { p.n_bins = 264; },
                      +[](qs::CqtParams& p) { p.future_fraction = 0.25; }}) {
    qs::CqtParams p;
    mutate(p);
    EXPECT_THROW(c.check_compatible(p), qs::Error);
  }
  EXPECT_NO_THROW(c.check_output_notes(88, "frame_logits"));
  try {
    c.check_output_notes(12, "onset_logits");
    FAIL();
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"onset_logits\" has 12 notes"), std::string::npos) << e.what();
  }
}
