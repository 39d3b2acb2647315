#include "model/ensemble.hpp"

#include <string>

#include "model/checkpoint.hpp"
#include "qscribe/error.hpp"

namespace qs {

namespace {

// Copies every parameter and buffer of `src` into the tensors of `dst` named PREFIX + name.
void copy_into(TranscriberImpl& dst, const TranscriberImpl& src, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  auto to = dst.named_parameters(/*recurse=*/true);
  for (const auto& p : src.named_parameters(/*recurse=*/true)) to[prefix + p.key()].copy_(p.value());
  auto buffers = dst.named_buffers(/*recurse=*/true);
  for (const auto& b : src.named_buffers(/*recurse=*/true)) buffers[prefix + b.key()].copy_(b.value());
}

}  // namespace

Transcriber make_ensemble(Transcriber& first, const std::vector<Transcriber>& others, const std::vector<double>& weights) {
  if (others.size() != weights.size()) throw Error("ensemble: one weight per member network is needed");
  ModelHyper h = first->hyper();
  if (!h.members.empty()) throw Error("ensemble: the first network is already an ensemble");
  for (const Transcriber& m : others) {
    if (!m->hyper().members.empty()) throw Error("ensemble: a member network is already an ensemble");
    h.members.push_back(m->hyper());
  }
  h.member_weights = weights;
  Transcriber out(h);  // validate() checks the weights and that inputs and notes agree
  copy_into(*out, *first, "");
  for (std::size_t i = 0; i < others.size(); ++i) copy_into(*out, *others[i], "members." + std::to_string(i) + ".");
  out->eval();
  return out;
}

Transcriber first_network(Transcriber& ensemble) {
  if (!ensemble->is_ensemble()) return ensemble;
  ModelHyper h = ensemble->hyper();
  h.members.clear();
  h.member_weights.clear();
  Transcriber out(h);
  copy_by_name(out, ensemble);  // the first network's names are the ensemble's own, unprefixed
  out->eval();
  return out;
}

Transcriber ensemble_network(Transcriber& ensemble, std::size_t index) {
  if (index == 0) return first_network(ensemble);
  const std::vector<ModelHyper>& members = ensemble->hyper().members;
  if (index > members.size())
    throw Error("ensemble: no network " + std::to_string(index + 1) + " (the model has " +
                std::to_string(members.size() + 1) + ")");
  Transcriber out(members[index - 1]);
  const std::string prefix = "members." + std::to_string(index - 1) + ".";
  torch::NoGradGuard no_grad;
  auto params = ensemble->named_parameters(/*recurse=*/true);
  for (auto& p : out->named_parameters(/*recurse=*/true)) p.value().copy_(params[prefix + p.key()]);
  auto buffers = ensemble->named_buffers(/*recurse=*/true);
  for (auto& b : out->named_buffers(/*recurse=*/true)) b.value().copy_(buffers[prefix + b.key()]);
  out->eval();
  return out;
}

}  // namespace qs
