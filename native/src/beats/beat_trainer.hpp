// Training the beat network (qscribe/beat_activation.hpp) with LibTorch: the same layers as the
// core's forward pass, so the weights it writes run unchanged in the native tool and the browser.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "beats/beat_corpus.hpp"
#include "qscribe/beat_activation.hpp"
#include "qscribe/beat_tracker.hpp"

namespace qs {

struct BeatNetModuleImpl : torch::nn::Module {
  BeatNetModuleImpl(int channels, int kernel, const std::vector<int>& dilations);
  // x: [batch x kBeatFeatures x frames], already normalised -> logits [batch x kBeatOutputs x frames]
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv1d in{nullptr}, out{nullptr};
  torch::nn::ModuleList layers;
  int channels, kernel;
  std::vector<int> dilations;
};
TORCH_MODULE(BeatNetModule);

// The module's weights as the core's network (and back), with the input normalisation.
BeatNet to_beat_net(BeatNetModule& m, const std::vector<float>& mean, const std::vector<float>& std, double frame_rate);
void load_beat_net(BeatNetModule& m, const BeatNet& net);

struct BeatTrainOptions {
  int channels = 20, kernel = 3;
  std::vector<int> dilations{1, 2, 4, 8, 16, 32, 64, 128};
  int epochs = 30;
  int steps_per_epoch = 200;
  int batch = 8;
  int crop_frames = 1024;          // about 24 s at 43 frames/s
  double lr = 2e-3;
  double dropout = 0.1;            // on the input features
  double stretch = 1.25;           // tempo augmentation: each crop played 1/stretch..stretch as fast
  double downbeat_weight = 0.5;    // of the downbeat output's loss
  double val_share = 0.1;          // pieces held out for validation (by a hash of their file name)
  std::uint64_t seed = 1;
  BeatTrackerOptions tracker;      // the tracker that validation runs on the activations
  std::function<void(const std::string&)> log;
};

struct BeatTrainResult {
  BeatNet net;           // the epoch with the best validation beat F
  double val_f = 0.0;    // its mean beat F on the held-out pieces
  int best_epoch = 0;
  std::size_t train_pieces = 0, val_pieces = 0;
};

// Mean beat F (beat_f_measure) of the tracker on `net`'s activations of `pieces`.
double beat_net_f(const BeatNet& net, const std::vector<BeatPiece>& pieces, const BeatTrackerOptions& tracker);

BeatTrainResult train_beat_net(const std::vector<BeatPiece>& pieces, double frame_rate, const BeatTrainOptions& options);

}  // namespace qs
