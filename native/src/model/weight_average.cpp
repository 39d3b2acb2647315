#include "model/weight_average.hpp"

#include <cmath>

#include "qscribe/error.hpp"

namespace qs {

LoadedCheckpoint average_checkpoints(const std::vector<std::string>& paths, const std::vector<double>& weights) {
  if (paths.empty()) throw Error("average: no models given");
  if (!weights.empty() && weights.size() != paths.size())
    throw Error("average: " + std::to_string(weights.size()) + " weights for " + std::to_string(paths.size()) +
                " models: give one weight per model, or none");
  std::vector<double> w = weights.empty() ? std::vector<double>(paths.size(), 1.0) : weights;
  double total = 0;
  for (double x : w) {
    if (!(x > 0) || !std::isfinite(x)) throw Error("average: weights must be positive numbers");
    total += x;
  }
  for (double& x : w) x /= total;

  LoadedCheckpoint out = load_checkpoint(paths[0]);
  const nlohmann::json arch = out.info.hyper.to_json();
  torch::NoGradGuard no_grad;
  // The running sum is kept in float64 so that the order of the models does not matter.
  std::vector<torch::Tensor> sums;
  auto tensors = [](Transcriber& m) {
    std::vector<torch::Tensor> t = m->parameters();
    for (auto& b : m->buffers()) t.push_back(b);
    return t;
  };
  for (auto& t : tensors(out.model)) sums.push_back(t.to(torch::kFloat64) * w[0]);
  nlohmann::json sources = nlohmann::json::array({{{"path", paths[0]}, {"weight", w[0]}}});
  for (std::size_t i = 1; i < paths.size(); ++i) {
    LoadedCheckpoint ck = load_checkpoint(paths[i]);
    if (ck.info.hyper.to_json() != arch)
      throw Error(paths[i] + ": its architecture differs from " + paths[0] + "'s: " + ck.info.hyper.to_json().dump() +
                  " vs " + arch.dump());
    check_same_layout(out.info, ck.info, paths[0], paths[i], paths[i] + ": its features or note range differ from " + paths[0] + "'s");
    auto t = tensors(ck.model);
    for (std::size_t k = 0; k < sums.size(); ++k) sums[k] += t[k].to(torch::kFloat64) * w[i];
    sources.push_back({{"path", paths[i]}, {"weight", w[i]}});
  }
  auto dst = tensors(out.model);
  for (std::size_t k = 0; k < dst.size(); ++k) dst[k].copy_(sums[k].to(dst[k].scalar_type()));
  out.info.training = {{"averaged", sources}, {"first", out.info.training}};
  out.meta = out.info.to_json();
  return out;
}

}  // namespace qs
