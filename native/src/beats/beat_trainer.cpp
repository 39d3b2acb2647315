#include "beats/beat_trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>

#include "qscribe/error.hpp"
#include "qscribe/metrics.hpp"

namespace qs {

namespace F = torch::nn::functional;

BeatNetModuleImpl::BeatNetModuleImpl(int channels_, int kernel_, const std::vector<int>& dilations_)
    : channels(channels_), kernel(kernel_), dilations(dilations_) {
  in = register_module("in", torch::nn::Conv1d(torch::nn::Conv1dOptions(kBeatFeatures, channels, 1)));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int d : dilations)
    layers->push_back(torch::nn::Conv1d(torch::nn::Conv1dOptions(channels, channels, kernel).dilation(d).padding(d * (kernel / 2))));
  out = register_module("out", torch::nn::Conv1d(torch::nn::Conv1dOptions(channels, kBeatOutputs, 1)));
}

torch::Tensor BeatNetModuleImpl::forward(torch::Tensor x) {
  x = F::elu(in->forward(x));
  for (const auto& layer : *layers) x = x + F::elu(layer->as<torch::nn::Conv1d>()->forward(x));
  return out->forward(x);
}

namespace {

std::vector<float> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous().cpu();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

void copy_into(torch::Tensor& t, const std::vector<float>& v) {
  torch::NoGradGuard ng;
  t.copy_(torch::from_blob(const_cast<float*>(v.data()), t.sizes(), torch::kFloat32));
}

}  // namespace

BeatNet to_beat_net(BeatNetModule& m, const std::vector<float>& mean, const std::vector<float>& std, double frame_rate) {
  BeatNet n;
  n.frame_rate = frame_rate;
  n.channels = m->channels;
  n.kernel = m->kernel;
  n.dilations = m->dilations;
  n.input_mean = mean;
  n.input_std = std;
  n.in_w = to_vector(m->in->weight);
  n.in_b = to_vector(m->in->bias);
  for (const auto& layer : *m->layers) {
    auto c = layer->as<torch::nn::Conv1d>();
    n.layers.push_back({to_vector(c->weight), to_vector(c->bias)});
  }
  n.out_w = to_vector(m->out->weight);
  n.out_b = to_vector(m->out->bias);
  return n;
}

void load_beat_net(BeatNetModule& m, const BeatNet& n) {
  copy_into(m->in->weight, n.in_w);
  copy_into(m->in->bias, n.in_b);
  for (std::size_t l = 0; l < n.layers.size(); ++l) {
    auto c = (*m->layers)[l]->as<torch::nn::Conv1d>();
    copy_into(c->weight, n.layers[l].w);
    copy_into(c->bias, n.layers[l].b);
  }
  copy_into(m->out->weight, n.out_w);
  copy_into(m->out->bias, n.out_b);
}

double beat_net_f(const BeatNet& net, const std::vector<BeatPiece>& pieces, const BeatTrackerOptions& tracker) {
  if (pieces.empty()) return 0.0;
  double sum = 0;
  for (const BeatPiece& p : pieces) {
    const BeatTrack t = track_beats(beat_envelope(beat_activation(net, p.features, net.frame_rate)), tracker);
    sum += beat_f_measure(p.beats, t.beats);
  }
  return sum / pieces.size();
}

namespace {

// FNV-1a of the file name without its folder: every rendering of a piece falls on the same side.
bool held_out(const std::string& name, double share) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : std::filesystem::path(name).filename().string()) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return static_cast<double>(h % 10000) < share * 10000;
}

void feature_stats(const std::vector<const BeatPiece*>& pieces, std::vector<float>& mean, std::vector<float>& std) {
  std::vector<double> s(kBeatFeatures, 0.0), s2(kBeatFeatures, 0.0);
  double n = 0;
  for (const BeatPiece* p : pieces) {
    for (std::size_t t = 0; t < p->n_frames; ++t)
      for (int f = 0; f < kBeatFeatures; ++f) {
        const double v = p->features[t * kBeatFeatures + f];
        s[f] += v, s2[f] += v * v;
      }
    n += static_cast<double>(p->n_frames);
  }
  mean.assign(kBeatFeatures, 0.0f);
  std.assign(kBeatFeatures, 1.0f);
  for (int f = 0; f < kBeatFeatures && n > 0; ++f) {
    mean[f] = static_cast<float>(s[f] / n);
    std[f] = static_cast<float>(std::max(1e-3, std::sqrt(std::max(0.0, s2[f] / n - mean[f] * mean[f]))));
  }
}

struct Batch {
  torch::Tensor x, y, mask;
};

// One crop of `p` played `speed` times as fast, from source frame `start`: features interpolated
// between frames, beat targets 1 at the nearest frame and 0.5 beside it (timing of +-1 frame is
// within the beat tolerance).
void fill_crop(const BeatPiece& p, double start, double speed, int L, double frame_rate, float* x, float* y,
               float* mask, const std::vector<float>& mean, const std::vector<float>& std) {
  for (int j = 0; j < L; ++j) {
    const double src = start + j * speed;
    if (src > static_cast<double>(p.n_frames - 1)) break;
    const std::size_t i = static_cast<std::size_t>(src);
    const std::size_t k = std::min(i + 1, p.n_frames - 1);
    const double w = src - i;
    for (int f = 0; f < kBeatFeatures; ++f) {
      const double v = (1 - w) * p.features[i * kBeatFeatures + f] + w * p.features[k * kBeatFeatures + f];
      x[f * L + j] = static_cast<float>((v - mean[f]) / std[f]);
    }
    mask[j] = 1.0f;
  }
  const std::vector<double>* lists[2] = {&p.beats, &p.downbeats};
  for (int o = 0; o < 2; ++o)
    for (double t : *lists[o]) {
      const long c = std::lround((t * frame_rate - start) / speed);
      for (long d = -1; d <= 1; ++d) {
        const long j = c + d;
        if (j >= 0 && j < L) y[o * L + j] = std::max(y[o * L + j], d == 0 ? 1.0f : 0.5f);
      }
    }
}

Batch make_batch(const std::vector<const BeatPiece*>& train, const std::vector<double>& weights, const BeatTrainOptions& o,
                 double frame_rate, const std::vector<float>& mean, const std::vector<float>& std, std::mt19937_64& rng) {
  const int B = o.batch, L = o.crop_frames;
  Batch b{torch::zeros({B, kBeatFeatures, L}), torch::zeros({B, kBeatOutputs, L}), torch::zeros({B, 1, L})};
  std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int i = 0; i < B; ++i) {
    const BeatPiece& p = *train[pick(rng)];
    const double speed = std::exp((2 * u(rng) - 1) * std::log(o.stretch));
    const double span = L * speed;
    const double start = p.n_frames > span ? u(rng) * (p.n_frames - span) : 0.0;
    fill_crop(p, start, speed, L, frame_rate, b.x[i].data_ptr<float>(), b.y[i].data_ptr<float>(),
              b.mask[i].data_ptr<float>(), mean, std);
  }
  return b;
}

void log_line(const BeatTrainOptions& o, const std::string& s) {
  if (o.log) o.log(s);
}

}  // namespace

BeatTrainResult train_beat_net(const std::vector<BeatPiece>& pieces, double frame_rate, const BeatTrainOptions& o) {
  std::vector<const BeatPiece*> train;
  std::vector<BeatPiece> val;
  for (const BeatPiece& p : pieces) {
    if (held_out(p.name, o.val_share)) val.push_back(p);
    else if (p.n_frames > 0) train.push_back(&p);
  }
  if (train.empty()) throw Error("train-beats: no training pieces (every piece was held out or empty)");
  BeatTrainResult r;
  r.train_pieces = train.size();
  r.val_pieces = val.size();
  std::vector<float> mean, std;
  feature_stats(train, mean, std);
  std::vector<double> weights;
  for (const BeatPiece* p : train) weights.push_back(static_cast<double>(p->n_frames));

  torch::manual_seed(o.seed);
  std::mt19937_64 rng(o.seed);
  BeatNetModule model(o.channels, o.kernel, o.dilations);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(o.lr));
  r.val_f = -1;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    model->train();
    // Cosine decay to 5 % of the rate over the epochs.
    const double lr = o.lr * (0.05 + 0.95 * 0.5 * (1 + std::cos(M_PI * (epoch - 1) / std::max(1, o.epochs))));
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
    double loss_sum = 0;
    for (int step = 0; step < o.steps_per_epoch; ++step) {
      Batch b = make_batch(train, weights, o, frame_rate, mean, std, rng);
      const torch::Tensor logits = model->forward(F::dropout(b.x, F::DropoutFuncOptions().p(o.dropout).training(true)));
      const torch::Tensor l = F::binary_cross_entropy_with_logits(
          logits, b.y, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
      const torch::Tensor per_output = (l * b.mask).sum(torch::IntArrayRef{0, 2}) / b.mask.sum().clamp_min(1);
      const torch::Tensor loss = per_output[0] + o.downbeat_weight * per_output[1];
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += loss.item<double>();
    }
    model->eval();
    const BeatNet net = to_beat_net(model, mean, std, frame_rate);
    const double f = val.empty() ? 0.0 : beat_net_f(net, val, o.tracker);
    const bool best = val.empty() || f > r.val_f;  // without validation: the last epoch
    if (best) r.val_f = f, r.best_epoch = epoch, r.net = net;
    char line[200];
    if (val.empty())
      std::snprintf(line, sizeof line, "epoch %d/%d: lr %.2g, train loss %.4f", epoch, o.epochs, lr,
                    loss_sum / o.steps_per_epoch);
    else
      std::snprintf(line, sizeof line, "epoch %d/%d: lr %.2g, train loss %.4f, validation beat F %.3f (%zu pieces)%s",
                    epoch, o.epochs, lr, loss_sum / o.steps_per_epoch, f, val.size(), best ? " (best)" : "");
    log_line(o, line);
  }
  return r;
}

}  // namespace qs
