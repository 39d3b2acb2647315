// Reads an exported model (NAME.onnx + its sidecar NAME.json, onnx_export.hpp) back into
// LibTorch. The ONNX file is then the one copy of a model's weights: the browser runs it, and the
// native tool transcribes, evaluates, fine-tunes (--load-weights) and re-exports from it, so a
// model release adds only the ONNX file to the repository, not a second LibTorch copy.
//
// The initializers carry the parameters' own names (onnx_export.cpp); Linear weights are stored
// transposed and say so in their doc string; float16 initializers are widened to float32. The
// sidecar gives the architecture (its "architecture" object: ModelHyper), features, note range,
// segment, decoding defaults and training provenance.
#pragma once
#include <string>

#include "model/checkpoint.hpp"

namespace qs {

// Loads ONNX_PATH (and model_config_path_for(ONNX_PATH)) as a weights-only checkpoint (CPU,
// eval()). Throws qs::Error starting with the path when a file is missing or unreadable, the
// sidecar's architecture does not build, or an initializer is missing or has the wrong shape.
LoadedCheckpoint load_onnx_checkpoint(const std::string& onnx_path);

// True when PATH names an ONNX model (by its extension).
bool is_onnx_path(const std::string& path);

}  // namespace qs
