// Weight averaging ("model soup"): the element-wise mean of the parameters of models that share
// an architecture. Averaging fine-tunes of one starting point (other seeds, data renderings or
// augmentation) often generalises better than any one of them, at no inference cost.
#pragma once
#include <string>
#include <vector>

#include "model/checkpoint.hpp"

namespace qs {

// Loads every path (a checkpoint .pt or an exported .onnx + .json), checks that their
// architectures, features and note ranges match the first's (qs::Error naming the file
// otherwise), and returns the first with its parameters and buffers replaced by the mean over
// all, each weighted by `weights` (empty: equal weights; else one positive weight per path,
// normalised to sum 1). The result's info.training records the sources and weights.
LoadedCheckpoint average_checkpoints(const std::vector<std::string>& paths,
                                     const std::vector<double>& weights = {});

}  // namespace qs
