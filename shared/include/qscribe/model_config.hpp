// The model sidecar NAME.json that travels with NAME.onnx: everything a runtime must know to
// feed the network and read its outputs (feature parameters, note range, tensor names and
// shapes, segment length, decoding defaults), plus free-form architecture and training
// provenance. The format is specified in docs/model-format.md.
//
// Parsing is strict about the fields it knows (type and range; errors name the field by its
// dotted path, e.g. `model config: field "features.hop_length": must be a positive integer,
// got "abc"`) and ignores fields it does not know, so newer writers stay readable.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qscribe/cqt_params.hpp"
#include "qscribe/note_decoder.hpp"

namespace qs {

// One tensor dimension: a fixed size (> 0) or a named dynamic axis ("batch", "frames").
struct TensorDim {
  std::int64_t size = -1;  // -1: dynamic
  std::string name;        // the axis name when dynamic

  static TensorDim fixed(std::int64_t n) { return {n, {}}; }
  static TensorDim dynamic(std::string axis) { return {-1, std::move(axis)}; }
  bool is_dynamic() const { return size < 0; }
  bool operator==(const TensorDim& o) const { return size == o.size && name == o.name; }
};

struct TensorSpec {
  std::string name;
  std::vector<TensorDim> shape;  // [batch, frames, bins] for the input, [batch, frames, notes] out
  bool operator==(const TensorSpec& o) const { return name == o.name && shape == o.shape; }
};

struct ModelConfig {
  static constexpr int kFormatVersion = 1;  // the version this build writes and reads
  static constexpr int kMaxPasses = 8;      // segment.passes

  int format_version = kFormatVersion;
  std::string name;         // model name (informative)
  std::string description;  // one line (informative)

  CqtParams features;  // the CQT the model was trained on; the input is its magnitude

  int lowest_pitch = 21;         // MIDI pitch of output note 0
  int n_notes = 88;              // 88 piano keys or 12 pitch classes
  bool only_note_names = false;  // true: 12 pitch classes (octave-free)

  int segment_frames = 43;  // frames per training segment (1 s); inference may use any length
  int context_frames = 0;   // extra frames of context on each side the model expects (>= 0)
  // Whole-file transcription: how many staggered tilings of windows predict each frame, their
  // probabilities averaged (1: one prediction per frame; 2 costs twice the model work and added
  // about 0.004 note F1 on the unseen timbres for release 11, docs/benchmarks.md).
  int passes = 1;

  DecoderParams decoding;  // default thresholds for the note decoder

  TensorSpec input{"cqt", {TensorDim::dynamic("batch"), TensorDim::dynamic("frames"), TensorDim::fixed(352)}};
  TensorSpec frame_output{"frame_logits",
                          {TensorDim::dynamic("batch"), TensorDim::dynamic("frames"), TensorDim::fixed(88)}};
  bool has_onset_output = true;  // false: a frame-only model (decode from frames only)
  TensorSpec onset_output{"onset_logits",
                          {TensorDim::dynamic("batch"), TensorDim::dynamic("frames"), TensorDim::fixed(88)}};
  bool outputs_are_logits = true;  // true: apply a sigmoid before decoding

  nlohmann::json architecture = nlohmann::json::object();  // free-form hyper-parameters
  nlohmann::json training = nlohmann::json::object();      // free-form provenance

  // Throws qs::Error naming the field when the configuration is inconsistent (also called by
  // from_json): feature ranges, note range inside MIDI, tensor ranks, bins and notes axes.
  void validate() const;

  // Refuses (qs::Error) a runtime CQT whose parameters differ from the ones the model was
  // trained with, naming every differing field. `sparsity` is not compared: it trades kernel
  // accuracy for speed and does not change what the features mean.
  void check_compatible(const CqtParams& runtime) const;
  // Refuses an output tensor whose note axis does not have n_notes entries.
  void check_output_notes(std::int64_t notes, const std::string& tensor_name) const;
};

// The one test of "the same features" (runtime against model, data against model, validation
// against training data): every CQT field where `b` differs from `a`, as
// "hop_length 512 (A_NAME) vs 256 (B_NAME); ...", or "" when they agree. `sparsity` is not
// compared (see check_compatible).
std::string feature_differences(const CqtParams& a, const CqtParams& b, const std::string& a_name,
                                const std::string& b_name);
// The features and the note layout (n_notes, only_note_names, lowest_pitch).
std::string layout_differences(const ModelConfig& a, const ModelConfig& b, const std::string& a_name,
                               const std::string& b_name);
// Throws qs::Error "CONTEXT: DIFFERENCES" when layout_differences is not empty.
void check_same_layout(const ModelConfig& a, const ModelConfig& b, const std::string& a_name, const std::string& b_name,
                       const std::string& context);

// JSON object -> config; throws qs::Error with the offending field's path.
ModelConfig model_config_from_json(const nlohmann::json& j);

// The "features" object shared by the sidecar, checkpoints and data sets: CqtParams <-> JSON.
// Errors name the document and field, e.g. `data set: field "features.hop_length": ...`.
nlohmann::json cqt_params_to_json(const CqtParams& p);
CqtParams cqt_params_from_json(const nlohmann::json& j, const std::string& context = "model config",
                               const std::string& path = "features");
// The "decoding" object shared by the sidecar, checkpoints and the tools' JSON reports:
// DecoderParams <-> JSON, thresholds as their shortest decimal (0.3, not 0.30000001192092896).
// Absent fields keep `base`'s values, so files older than a decoder rule decode as they did
// (DecoderParams' defaults switch each later rule off). Errors name the document and field.
nlohmann::json decoder_params_to_json(const DecoderParams& d);
DecoderParams decoder_params_from_json(const nlohmann::json& j, const DecoderParams& base,
                                       const std::string& context = "model config",
                                       const std::string& path = "decoding");
// Config -> JSON object (all fields written; from_json(to_json(c)) == c).
nlohmann::json model_config_to_json(const ModelConfig& c);

// Text -> config (JSON syntax errors are reported as qs::Error with their position).
ModelConfig parse_model_config(const std::string& text);
std::string model_config_to_string(const ModelConfig& c, int indent = 2);
// Reads PATH; errors start with the path.
ModelConfig load_model_config(const std::string& path);
void save_model_config(const ModelConfig& c, const std::string& path);
// "dir/NAME.onnx" -> "dir/NAME.json" (any other extension is replaced too; none: appended).
std::string model_config_path_for(const std::string& model_path);

// nlohmann ADL hooks, so `j.get<qs::ModelConfig>()` and `json j = config` work.
void to_json(nlohmann::json& j, const ModelConfig& c);
void from_json(const nlohmann::json& j, ModelConfig& c);

}  // namespace qs
