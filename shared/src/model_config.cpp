#include "qscribe/model_config.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "qscribe/atomic_file.hpp"
#include "qscribe/error.hpp"
#include "qscribe/json_fields.hpp"

namespace qs {
namespace {

using nlohmann::json;

// `context` names the document in the message: the sidecar by default, or e.g. a data set.
[[noreturn]] void fail_field(const std::string& path, const std::string& why,
                             const std::string& context = "model config") {
  throw Error(context + ": field \"" + path + "\": " + why);
}

[[noreturn]] void fail_got(const std::string& path, const std::string& why, const json& got,
                           const std::string& context = "model config") {
  fail_field(path, why + ", got " + got.dump(), context);
}

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

// The core's strict field reader (json_fields.hpp), naming this document in its messages.
struct Fields : JsonFields {
  Fields(const json& obj, std::string path, std::string context = "model config")
      : JsonFields(obj, std::move(path), std::move(context)) {}
};

constexpr double kHuge = std::numeric_limits<double>::max();
constexpr long kMaxInt = std::numeric_limits<int>::max();

void read_features(const Fields& f, CqtParams& p) {
  f.number("sample_rate", p.sample_rate, true, 1e-9, kHuge, "a positive number of Hz");
  f.integer("hop_length", p.hop_length, true, 1, kMaxInt, "a positive integer");
  f.number("fmin", p.fmin, true, 1e-9, kHuge, "a positive frequency in Hz");
  f.integer("bins_per_semitone", p.bins_per_semitone, true, 1, kMaxInt, "a positive integer");
  f.integer("n_bins", p.n_bins, true, 1, kMaxInt, "a positive integer");
  f.number("filter_scale", p.filter_scale, true, 1e-9, kHuge, "a positive number");
  f.number("sparsity", p.sparsity, false, 0.0, 1.0, "a number in [0, 1)");
  f.number("future_fraction", p.future_fraction, false, 1e-9, 0.5, "a number in (0, 0.5]");
}

TensorSpec read_tensor(const Fields& f) {
  TensorSpec t;
  f.string("name", t.name, true);
  if (t.name.empty()) fail_field(join(f.path(), "name"), "must not be empty");
  const json* shape = f.find("shape");
  if (!shape) fail_field(join(f.path(), "shape"), "is required but missing");
  if (!shape->is_array()) fail_got(join(f.path(), "shape"), "must be an array of sizes and axis names", *shape);
  for (std::size_t i = 0; i < shape->size(); ++i) {
    const json& d = (*shape)[i];
    const std::string where = join(f.path(), "shape") + "[" + std::to_string(i) + "]";
    if (d.is_string() && !d.get<std::string>().empty()) {
      t.shape.push_back(TensorDim::dynamic(d.get<std::string>()));
    } else if (d.is_number_integer() && d.get<std::int64_t>() > 0) {
      t.shape.push_back(TensorDim::fixed(d.get<std::int64_t>()));
    } else {
      fail_got(where, "must be a positive size or a dynamic axis name", d);
    }
  }
  return t;
}

json tensor_to_json(const TensorSpec& t) {
  json shape = json::array();
  for (const TensorDim& d : t.shape) shape.push_back(d.is_dynamic() ? json(d.name) : json(d.size));
  return {{"name", t.name}, {"shape", shape}};
}

void check_version(const json& root) {
  const json* v = root.contains("format_version") ? &root["format_version"] : nullptr;
  if (!v) fail_field("format_version", "is required but missing");
  if (!v->is_number_integer() || v->get<std::int64_t>() < 1)
    fail_got("format_version", "must be a positive integer", *v);
  if (v->get<std::int64_t>() > ModelConfig::kFormatVersion)
    fail_field("format_version", "this file is format version " + std::to_string(v->get<std::int64_t>()) +
                                     ", written by a newer qscribe; this build reads version " +
                                     std::to_string(ModelConfig::kFormatVersion) + " (update qscribe)");
}

// A tensor of rank 3 whose last axis, when fixed, has `expected` entries.
void check_tensor(const TensorSpec& t, const std::string& path, std::int64_t expected, const char* axis) {
  if (t.shape.size() != 3)
    fail_field(path + ".shape", "must have 3 axes [batch, frames, " + std::string(axis) + "], got " +
                                    std::to_string(t.shape.size()));
  const TensorDim& last = t.shape.back();
  if (!last.is_dynamic() && last.size != expected)
    fail_field(path + ".shape[2]", "must be " + std::to_string(expected) + " (" + axis + "), got " +
                                       std::to_string(last.size));
}

bool same(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b)); }

std::string num(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

// The shortest decimal (as a double) that reads back as the float x.
double shortest_double(float x) {
  for (int digits = 6; digits < 9; ++digits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(x));
    const double d = std::strtod(buf, nullptr);
    if (static_cast<float>(d) == x) return d;
  }
  return static_cast<double>(x);
}

}  // namespace

void ModelConfig::validate() const {
  if (format_version != kFormatVersion)
    fail_field("format_version", "must be " + std::to_string(kFormatVersion) + ", got " + std::to_string(format_version));
  try {
    features.validate();
  } catch (const Error& e) {
    fail_field("features", e.what());
  }
  if (n_notes < 1 || n_notes > 128) fail_field("notes.n_notes", "must be between 1 and 128, got " + std::to_string(n_notes));
  if (lowest_pitch < 0 || lowest_pitch + n_notes > 128)
    fail_field("notes.lowest_pitch", "notes " + std::to_string(lowest_pitch) + ".." +
                                         std::to_string(lowest_pitch + n_notes - 1) + " must lie in MIDI 0..127");
  if (only_note_names && n_notes != 12)
    fail_field("notes.n_notes", "must be 12 when only_note_names is true, got " + std::to_string(n_notes));
  if (segment_frames < 1) fail_field("segment.frames", "must be a positive integer, got " + std::to_string(segment_frames));
  if (context_frames < 0)
    fail_field("segment.context_frames", "must be 0 or more, got " + std::to_string(context_frames));
  if (passes < 1 || passes > kMaxPasses)
    fail_field("segment.passes", "must be between 1 and " + std::to_string(kMaxPasses) + ", got " + std::to_string(passes));
  try {
    decoding.validate();
  } catch (const Error& e) {
    fail_field("decoding", e.what());
  }
  check_tensor(input, "io.input", features.n_bins, "bins");
  check_tensor(frame_output, "io.frame_output", n_notes, "notes");
  if (has_onset_output) check_tensor(onset_output, "io.onset_output", n_notes, "notes");
  if (!architecture.is_object()) fail_field("architecture", "must be an object");
  if (!training.is_object()) fail_field("training", "must be an object");
}

std::string feature_differences(const CqtParams& a, const CqtParams& b, const std::string& a_name,
                                const std::string& b_name) {
  std::string diffs;
  auto cmp = [&](const char* field, double x, double y) {
    if (same(x, y)) return;
    diffs += std::string(diffs.empty() ? "" : "; ") + field + " " + num(x) + " (" + a_name + ") vs " + num(y) + " (" +
             b_name + ")";
  };
  cmp("sample_rate", a.sample_rate, b.sample_rate);
  cmp("hop_length", a.hop_length, b.hop_length);
  cmp("fmin", a.fmin, b.fmin);
  cmp("bins_per_semitone", a.bins_per_semitone, b.bins_per_semitone);
  cmp("n_bins", a.n_bins, b.n_bins);
  cmp("filter_scale", a.filter_scale, b.filter_scale);
  cmp("future_fraction", a.future_fraction, b.future_fraction);
  return diffs;
}

std::string layout_differences(const ModelConfig& a, const ModelConfig& b, const std::string& a_name,
                               const std::string& b_name) {
  std::string diffs = feature_differences(a.features, b.features, a_name, b_name);
  auto cmp = [&](const char* field, int x, int y) {
    if (x == y) return;
    diffs += std::string(diffs.empty() ? "" : "; ") + field + " " + std::to_string(x) + " (" + a_name + ") vs " +
             std::to_string(y) + " (" + b_name + ")";
  };
  cmp("notes.n_notes", a.n_notes, b.n_notes);
  cmp("notes.only_note_names", a.only_note_names, b.only_note_names);
  if (!a.only_note_names) cmp("notes.lowest_pitch", a.lowest_pitch, b.lowest_pitch);
  return diffs;
}

void check_same_layout(const ModelConfig& a, const ModelConfig& b, const std::string& a_name, const std::string& b_name,
                       const std::string& context) {
  const std::string diffs = layout_differences(a, b, a_name, b_name);
  if (!diffs.empty()) throw Error(context + ": " + diffs);
}

void ModelConfig::check_compatible(const CqtParams& rt) const {
  const std::string diffs = feature_differences(features, rt, "model", "runtime");
  if (!diffs.empty())
    throw Error("model " + (name.empty() ? std::string("config") : "\"" + name + "\"") +
                " was trained on different CQT features than this runtime computes: " + diffs);
}

void ModelConfig::check_output_notes(std::int64_t notes, const std::string& tensor_name) const {
  if (notes != n_notes)
    throw Error("model " + (name.empty() ? std::string("config") : "\"" + name + "\"") + ": output \"" + tensor_name +
                "\" has " + std::to_string(notes) + " notes per frame but the config says " + std::to_string(n_notes));
}

ModelConfig model_config_from_json(const json& j) {
  if (!j.is_object()) throw Error("model config: the document must be a JSON object, got " + std::string(j.type_name()));
  check_version(j);
  const Fields root(j, "");
  ModelConfig c;
  c.format_version = static_cast<int>(j["format_version"].get<std::int64_t>());
  root.string("name", c.name, false);
  root.string("description", c.description, false);

  read_features(Fields(*root.object("features", true), "features"), c.features);

  const Fields notes(*root.object("notes", true), "notes");
  notes.integer("lowest_pitch", c.lowest_pitch, true, 0, 127, "a MIDI pitch (0..127)");
  notes.integer("n_notes", c.n_notes, true, 1, 128, "an integer between 1 and 128");
  notes.boolean("only_note_names", c.only_note_names);

  if (const json* seg = root.object("segment", false)) {
    const Fields f(*seg, "segment");
    f.integer("frames", c.segment_frames, false, 1, kMaxInt, "a positive integer");
    f.integer("context_frames", c.context_frames, false, 0, kMaxInt, "a non-negative integer");
    f.integer("passes", c.passes, false, 1, ModelConfig::kMaxPasses, "an integer between 1 and 8");
  }
  if (const json* dec = root.object("decoding", false)) c.decoding = decoder_params_from_json(*dec, c.decoding);

  const Fields io(*root.object("io", true), "io");
  c.input = read_tensor(Fields(*io.object("input", true), "io.input"));
  c.frame_output = read_tensor(Fields(*io.object("frame_output", true), "io.frame_output"));
  const json* onset = io.find("onset_output");
  c.has_onset_output = onset && !onset->is_null();
  if (c.has_onset_output) c.onset_output = read_tensor(Fields(*io.object("onset_output", true), "io.onset_output"));
  io.boolean("outputs_are_logits", c.outputs_are_logits);

  if (const json* a = root.object("architecture", false)) c.architecture = *a;
  if (const json* t = root.object("training", false)) c.training = *t;
  c.validate();
  return c;
}

json cqt_params_to_json(const CqtParams& f) {
  json j = {{"sample_rate", f.sample_rate},   {"hop_length", f.hop_length}, {"fmin", f.fmin},
            {"bins_per_semitone", f.bins_per_semitone}, {"n_bins", f.n_bins}, {"filter_scale", f.filter_scale},
            {"sparsity", f.sparsity}};
  if (!f.symmetric()) j["future_fraction"] = f.future_fraction;  // written only when set: older files stay as they were
  return j;
}

CqtParams cqt_params_from_json(const json& j, const std::string& context, const std::string& path) {
  if (!j.is_object()) fail_got(path, "must be an object", j, context);
  CqtParams p;
  read_features(Fields(j, path, context), p);
  try {
    p.validate();
  } catch (const Error& e) {
    throw Error(context + ": " + path + ": " + e.what());
  }
  return p;
}

json decoder_params_to_json(const DecoderParams& d) {
  auto prob = [](float x) { return shortest_double(x); };
  return {{"onset_threshold", prob(d.onset_threshold)},
          {"frame_threshold", prob(d.frame_threshold)},
          {"min_note_length_s", d.min_note_length_s},
          {"frame_fallback", d.frame_fallback},
          {"restrike_threshold", prob(d.restrike_threshold)},
          {"min_restrike_gap_s", d.min_restrike_gap_s},
          {"restrike_rise_weight", prob(d.restrike_rise_weight)},
          {"rise_threshold", prob(d.rise_threshold)},
          {"weak_onset_threshold", prob(d.weak_onset_threshold)},
          {"weak_onset_frame", prob(d.weak_onset_frame)}};
}

DecoderParams decoder_params_from_json(const json& j, const DecoderParams& base, const std::string& context,
                                       const std::string& path) {
  if (!j.is_object()) fail_got(path, "must be an object", j, context);
  const Fields f(j, path, context);
  DecoderParams d = base;
  f.number("onset_threshold", d.onset_threshold, false, 0.0, 1.0, "a probability in [0, 1]");
  f.number("frame_threshold", d.frame_threshold, false, 0.0, 1.0, "a probability in [0, 1]");
  f.number("min_note_length_s", d.min_note_length_s, false, 0.0, 60.0, "a duration in [0, 60] seconds");
  f.boolean("frame_fallback", d.frame_fallback);
  // Optional, each absent from files older than its rule: the re-strike rule, the frame rise's
  // part in it, the weak-onset test and confident rises.
  f.number("restrike_threshold", d.restrike_threshold, false, 0.0, 1.0, "a probability in [0, 1]");
  f.number("min_restrike_gap_s", d.min_restrike_gap_s, false, 0.0, 60.0, "a duration in [0, 60] seconds");
  f.number("restrike_rise_weight", d.restrike_rise_weight, false, 0.0, 10.0, "a weight in [0, 10]");
  f.number("weak_onset_threshold", d.weak_onset_threshold, false, 0.0, 1.0, "a probability in [0, 1]");
  f.number("weak_onset_frame", d.weak_onset_frame, false, 0.0, 1.0, "a probability in [0, 1]");
  f.number("rise_threshold", d.rise_threshold, false, 0.0, 1.0, "a probability in [0, 1]");
  return d;
}

json model_config_to_json(const ModelConfig& c) {
  json j;
  j["format_version"] = c.format_version;
  j["name"] = c.name;
  j["description"] = c.description;
  j["features"] = cqt_params_to_json(c.features);
  j["notes"] = {{"lowest_pitch", c.lowest_pitch}, {"n_notes", c.n_notes}, {"only_note_names", c.only_note_names}};
  j["segment"] = {{"frames", c.segment_frames}, {"context_frames", c.context_frames}};
  if (c.passes != 1) j["segment"]["passes"] = c.passes;  // absent: 1, as in files from before
  // Thresholds are floats in memory; write the double nearest their decimal form (0.3, not
  // 0.30000001192092896) so the file stays readable and re-reads to the same float.
  j["decoding"] = decoder_params_to_json(c.decoding);
  j["io"] = {{"input", tensor_to_json(c.input)},
             {"frame_output", tensor_to_json(c.frame_output)},
             {"onset_output", c.has_onset_output ? tensor_to_json(c.onset_output) : json(nullptr)},
             {"outputs_are_logits", c.outputs_are_logits}};
  j["architecture"] = c.architecture;
  j["training"] = c.training;
  return j;
}

ModelConfig parse_model_config(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number beyond double
    throw Error(std::string("model config: not valid JSON (") + e.what() + ")");
  }
  return model_config_from_json(j);
}

std::string model_config_to_string(const ModelConfig& c, int indent) { return model_config_to_json(c).dump(indent) + "\n"; }

ModelConfig load_model_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the model config");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parse_model_config(text.str());
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

void save_model_config(const ModelConfig& c, const std::string& path) {
  c.validate();
  write_file_atomically(path, model_config_to_string(c));
}

std::string model_config_path_for(const std::string& model_path) {
  const std::size_t slash = model_path.find_last_of("/\\");
  const std::size_t dot = model_path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return model_path + ".json";
  return model_path.substr(0, dot) + ".json";
}

void to_json(nlohmann::json& j, const ModelConfig& c) { j = model_config_to_json(c); }
void from_json(const nlohmann::json& j, ModelConfig& c) { c = model_config_from_json(j); }

}  // namespace qs
