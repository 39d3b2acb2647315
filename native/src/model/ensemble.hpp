// Ensembles of trained networks (ModelHyper::members): one model whose output is the weighted
// mean of the networks' note probabilities. Networks trained apart err apart: release 11 (fine-
// tuned from a FluidR3 model) and a network trained from scratch on every sound source gain
// 0.003-0.010 note F1 together on every dev set (models/README.md). The cost is one run of each
// network per window. Ensembles are for inference and export; `qscribe train` refuses them.
#pragma once
#include <vector>

#include "model/model.hpp"

namespace qs {

// An ensemble of `first` (weight 1 - the sum of `weights`) and `others` (weights[i] each), with
// their weights copied. Throws qs::Error when a network is itself an ensemble, the inputs or notes
// differ, or the weights are not in (0, 1) with a sum below 1.
Transcriber make_ensemble(Transcriber& first, const std::vector<Transcriber>& others, const std::vector<double>& weights);

// The ensemble's first network alone (its own weights, no members): what fine-tuning and weight
// averaging start from when the shipped model is an ensemble (`qscribe export --drop-members`).
// A model that is not an ensemble comes back as it is.
Transcriber first_network(Transcriber& ensemble);

// Network `index` of the ensemble alone: 0 its first network (first_network), 1.. its members in
// order. Throws qs::Error when there is no such network.
Transcriber ensemble_network(Transcriber& ensemble, std::size_t index);

}  // namespace qs
