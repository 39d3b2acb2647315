// ONNX export of qs::Transcriber (model.hpp) for ONNX Runtime (Web and Node) and the sidecar
// NAME.json (docs/model-format.md). LibTorch C++ has no exporter, so the graph is built op for
// op with libonnx from the module's named parameters (docs/export.md lists the ops):
//
//   input  "cqt"          float32 [batch, frames, n_bins]   (batch and frames dynamic)
//   output "frame_logits" float32 [batch, frames, n_notes]
//   output "onset_logits" float32 [batch, frames, n_notes]
//
// IR version 8, opset 17 (ai.onnx only), checked with onnx::checker and strict shape inference
// before it is written. Dropout is the inference-time identity. The exporter refuses a model with
// a parameter it does not place in the graph, so a change to model.cpp cannot silently export a
// different network.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "qscribe/model_config.hpp"

namespace qs {

inline constexpr int kOnnxIrVersion = 8;
inline constexpr int kOnnxOpset = 17;

// The sidecar config of a model with hyper-parameters `h`: features (CQT with h.bins_per_note and
// h.n_bins, other fields from `features`), note range (88 keys from MIDI 21, or 12 pitch classes
// reported at MIDI 60), tensor names and shapes, architecture = h.to_json(). Decoding and
// training fields keep their defaults.
// The sidecar's description of a qscribe network: io tensors (frame and onset logits) and
// "architecture" (the hyper-parameters, type cnn-transformer). The one place that says it.
void describe_network(const ModelHyper& h, ModelConfig& c);
ModelConfig default_model_config(const ModelHyper& h, const CqtParams& features = {});

// Fills the model-derived fields of `config` (io tensors, n_notes, architecture = hyper.to_json()
// plus "parameter_count") and throws qs::Error when the rest contradicts the model (feature bins,
// bins per semitone, note count), naming the field.
ModelConfig complete_model_config(const TranscriberImpl& model, ModelConfig config);

// How the weights are stored in the file. float16 halves the file (the shipped model: 3.8 instead
// of 7.6 MB, which matters because every release stays in the git history); each weight then
// feeds a Cast to float32, which ONNX Runtime folds at load time, so inference still runs in
// float32 and only the weights are rounded (relative error <= 2^-11).
enum class WeightType { float32, float16 };

// The checked ONNX ModelProto, serialised. Throws qs::Error when the model cannot be exported or
// the ONNX checker / shape inference rejects the graph.
std::string build_onnx_model(TranscriberImpl& model, const std::string& graph_name = "qscribe",
                             WeightType weights = WeightType::float32);

struct ExportResult {
  std::string onnx_path, json_path;
  std::int64_t onnx_bytes = 0, json_bytes = 0;
  std::int64_t parameter_count = 0;
  int node_count = 0;
  ModelConfig config;  // as written to json_path
};

// Writes `onnx_path` (NAME.onnx) and its sidecar qs::model_config_path_for(onnx_path) (NAME.json)
// with complete_model_config(model, config). Parent directories are created.
ExportResult export_onnx(TranscriberImpl& model, const ModelConfig& config, const std::string& onnx_path,
                         WeightType weights = WeightType::float32);

// Reads back an exported file: runs onnx::checker and strict shape inference on it and summarises
// it (for tests and `qscribe export` output). Throws qs::Error on any problem.
struct OnnxSummary {
  std::int64_t ir_version = 0, opset = 0;
  std::set<std::string> op_types;                      // "Conv", "MatMul", ...
  std::vector<std::string> input_names, output_names;
  std::vector<std::vector<std::string>> input_dims, output_dims;  // "batch" / "frames" / "352"
  std::vector<std::vector<std::string>> inferred_output_dims;     // after shape inference
  int node_count = 0, initializer_count = 0;
  std::int64_t initializer_floats = 0;  // float32 and float16 parameters + constants in the file
  std::int64_t initializer_halves = 0;  // of which stored as float16
};
OnnxSummary inspect_onnx(const std::string& onnx_path);

// --- Checkpoints for export -----------------------------------------------------------------
// `qscribe export --checkpoint PATH` reads a training checkpoint (checkpoint.hpp, written by
// `qscribe train`): PATH is the .pt file, or a run directory holding best.pt (else checkpoint.pt).
// The sidecar takes features, note range, segment, decoding defaults and training provenance from
// the checkpoint's metadata (the generator state "training.rng" is left out).
struct ExportCheckpoint {
  Transcriber model{nullptr};  // CPU, eval()
  ModelConfig config;          // complete_model_config'd; name and description empty
  std::string path;            // the .pt file read
};
ExportCheckpoint load_model_for_export(const std::string& path);

}  // namespace qs
