#include "model/model.hpp"

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "qscribe/error.hpp"
#include "qscribe/json_fields.hpp"

namespace qs {

int ModelHyper::conv_kernel() const {
  const int max_width = (3 * bins_per_note) / 2;  // 1.5 notes
  return max_width % 2 == 1 ? max_width : std::max(1, max_width - 1);
}

void ModelHyper::validate() const {
  auto need = [](bool ok, const char* field, const char* why) {
    if (!ok) throw Error(std::string("model: ") + field + " " + why);
  };
  need(bins_per_note >= 1 && bins_per_note <= 8, "bins_per_note", "must be 1..8");
  need(n_bins >= 12, "n_bins", "must be at least 12");
  need(n_notes == 88 || n_notes == 12, "n_notes", "must be 88 (piano keys) or 12 (pitch classes)");
  need(c >= 1 && c <= 64, "c", "(conv channels) must be 1..64");
  need(embed_dim >= 8 && embed_dim % 2 == 0, "embed_dim", "must be an even number >= 8");
  need(n_layers >= 0 && n_layers <= 32, "n_layers", "must be 0..32");
  need(n_heads >= 1 && n_heads <= 64, "n_heads", "must be 1..64");
  need(head_dim >= 1 && head_dim <= 512, "head_dim", "must be 1..512");
  need(mlp_hidden >= 1, "mlp_hidden", "must be positive");
  need(dropout >= 0.0 && dropout < 1.0, "dropout", "must be in [0, 1)");
  need(freq_layers >= 0 && freq_layers <= 8, "freq_layers", "must be 0..8");
  need(harmonics.size() <= 8, "harmonics", "must list at most 8 multiples");
  for (std::size_t i = 0; i < harmonics.size(); ++i) {
    need(harmonics[i] > 1.0 / 16 && harmonics[i] <= 16, "harmonics", "must be multiples in (1/16, 16]");
    for (std::size_t j = 0; j < i; ++j) need(harmonics[j] != harmonics[i], "harmonics", "must be distinct");
  }
  need(member_weights.size() == members.size(), "member_weights", "must give one weight per member");
  double member_sum = 0.0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const ModelHyper& m = members[i];
    need(member_weights[i] > 0.0 && member_weights[i] < 1.0, "member_weights", "must be in (0, 1)");
    member_sum += member_weights[i];
    need(m.members.empty(), "members", "must not have members of their own");
    need(m.n_bins == n_bins && m.bins_per_note == bins_per_note && m.n_notes == n_notes, "members",
         "must take the same input bins and give the same notes as the ensemble");
    m.validate();
  }
  need(member_sum < 1.0, "member_weights", "must sum to less than 1 (the first network weighs the rest)");
  if (freq_layers > 0) {
    need(n_bins % bins_per_note == 0, "n_bins", "must be a whole number of notes with freq_layers");
    need(freq_heads >= 1 && freq_dim >= freq_heads && freq_dim % freq_heads == 0, "freq_dim",
         "must be a positive multiple of freq_heads");
  }
}

nlohmann::json ModelHyper::to_json() const {
  nlohmann::json j = {{"bins_per_note", bins_per_note}, {"n_bins", n_bins}, {"n_notes", n_notes}, {"c", c},
          {"embed_dim", embed_dim}, {"n_layers", n_layers}, {"n_heads", n_heads}, {"head_dim", head_dim},
          {"mlp_hidden", mlp_hidden}, {"dropout", dropout}, {"conv_kernel", conv_kernel()}};
  if (freq_layers > 0) {  // absent keys mean the original model, so older files stay valid
    j["freq_layers"] = freq_layers;
    j["freq_dim"] = freq_dim;
    j["freq_heads"] = freq_heads;
  }
  if (!harmonics.empty()) j["harmonics"] = harmonics;
  if (!members.empty()) {
    j["members"] = nlohmann::json::array();
    for (std::size_t i = 0; i < members.size(); ++i) {
      nlohmann::json m = members[i].to_json();
      m["weight"] = member_weights[i];
      j["members"].push_back(std::move(m));
    }
  }
  return j;
}

std::vector<double> ModelHyper::network_weights() const {
  std::vector<double> w{1.0};
  for (double m : member_weights) w[0] -= m, w.push_back(m);
  return w;
}

std::vector<int64_t> ModelHyper::harmonic_shifts() const {
  std::vector<int64_t> s;
  for (double h : harmonics) s.push_back(std::llround(12.0 * std::log2(h) * bins_per_note));
  return s;
}

ModelHyper ModelHyper::from_json(const nlohmann::json& j) {
  ModelHyper h;
  // The core's strict reader: type and range are checked before converting (a float beyond int,
  // 1e32, must not reach a cast; found by the model_sidecar fuzz target).
  const JsonFields f(j, "", "model");
  constexpr long long lo = std::numeric_limits<int>::min(), hi = std::numeric_limits<int>::max();
  auto get = [&](const char* key, auto& field) {
    using T = std::decay_t<decltype(field)>;
    if constexpr (std::is_integral_v<T>) f.integer(key, field, false, lo, hi, "an integer");
    else f.number(key, field, false, std::numeric_limits<double>::lowest(), std::numeric_limits<double>::max(), "a number");
  };
  get("bins_per_note", h.bins_per_note);
  get("n_bins", h.n_bins);
  get("n_notes", h.n_notes);
  get("c", h.c);
  get("embed_dim", h.embed_dim);
  get("n_layers", h.n_layers);
  get("n_heads", h.n_heads);
  get("head_dim", h.head_dim);
  get("mlp_hidden", h.mlp_hidden);
  get("dropout", h.dropout);
  get("freq_layers", h.freq_layers);
  get("freq_dim", h.freq_dim);
  get("freq_heads", h.freq_heads);
  if (const nlohmann::json* hs = f.array("harmonics", false)) {
    for (const nlohmann::json& v : *hs) {
      if (!v.is_number() || !std::isfinite(v.get<double>())) f.fail_got("harmonics", "must be an array of numbers", *hs);
      h.harmonics.push_back(v.get<double>());  // validate() checks the range
    }
  }
  if (const nlohmann::json* ms = f.array("members", false)) {
    for (const nlohmann::json& m : *ms) {
      if (!m.is_object()) f.fail_got("members", "must be an array of objects", *ms);
      const JsonFields mf(m, "members", "model");
      double w = 0.0;
      mf.number("weight", w, true, 0.0, 1.0, "a weight in (0, 1)");
      h.members.push_back(ModelHyper::from_json(m));
      h.member_weights.push_back(w);
    }
  }
  h.validate();
  return h;
}

torch::Tensor sinusoidal_positions(int64_t t, int64_t dim, const torch::TensorOptions& opts) {
  auto pos = torch::arange(t, opts).unsqueeze(1);                                  // [T, 1]
  auto i = torch::arange(0, dim, 2, opts);                                         // [dim/2]
  auto inv_freq = torch::exp(i * (-std::log(10000.0) / static_cast<double>(dim)));  // 10000^(-2i/dim)
  auto angles = pos * inv_freq.unsqueeze(0);                                       // [T, dim/2]
  // Interleave: even columns sin, odd columns cos.
  return torch::stack({torch::sin(angles), torch::cos(angles)}, 2).reshape({t, dim});
}

TransformerBlockImpl::TransformerBlockImpl(const ModelHyper& h) : n_heads(h.n_heads), head_dim(h.head_dim) {
  const int64_t e = h.embed_dim, inner = static_cast<int64_t>(h.n_heads) * h.head_dim;
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({e})));
  qkv = register_module("qkv", torch::nn::Linear(e, 3 * inner));
  proj = register_module("proj", torch::nn::Linear(inner, e));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({e})));
  ff1 = register_module("ff1", torch::nn::Linear(e, 4 * e));
  ff2 = register_module("ff2", torch::nn::Linear(4 * e, e));
  drop = register_module("drop", torch::nn::Dropout(h.dropout));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), t = x.size(1);
  // Self-attention over time: [B, T, 3, H, D] -> q, k, v [B, H, T, D].
  auto qkv_out = qkv(norm1(x)).view({b, t, 3, n_heads, head_dim}).permute({2, 0, 3, 1, 4});
  auto q = qkv_out[0], k = qkv_out[1], v = qkv_out[2];
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(head_dim)));
  auto attn = torch::softmax(scores, -1);
  auto ctx = torch::matmul(drop(attn), v).permute({0, 2, 1, 3}).reshape({b, t, n_heads * head_dim});
  auto y = x + drop(proj(ctx));
  return y + drop(ff2(torch::relu(ff1(norm2(y)))));
}

torch::Tensor stack_harmonics(const torch::Tensor& x, const std::vector<int64_t>& shifts) {
  const int64_t f = x.size(2);
  int64_t lo = 0, hi = 0;
  for (int64_t s : shifts) lo = std::max(lo, -s), hi = std::max(hi, s);
  // One zero-padded copy, then a window of it per channel: channel h, bin i = x[i + shift_h].
  const torch::Tensor padded = torch::constant_pad_nd(x, {lo, hi});
  std::vector<torch::Tensor> channels;
  for (int64_t s : shifts) channels.push_back(padded.narrow(2, lo + s, f));
  return torch::cat(channels, 1);
}

TranscriberImpl::TranscriberImpl(const ModelHyper& h) : hyper_(h) {
  h.validate();
  const int k = h.conv_kernel();
  input_norm = register_module("input_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h.n_bins})));
  conv1 = register_module("conv1", torch::nn::Conv1d(torch::nn::Conv1dOptions(h.input_channels(), h.c, k).padding(k / 2)));
  conv2 = register_module("conv2", torch::nn::Conv1d(torch::nn::Conv1dOptions(h.c, h.c, k).padding(k / 2)));
  int64_t summary_in = static_cast<int64_t>(h.c) * h.n_bins;
  if (h.freq_layers > 0) {
    const int64_t notes = h.n_bins / h.bins_per_note;
    note_in = register_module("note_in", torch::nn::Linear(static_cast<int64_t>(h.c) * h.bins_per_note, h.freq_dim));
    note_pos = register_parameter("note_pos", torch::randn({notes, h.freq_dim}) * 0.02);
    ModelHyper fh = h;  // the note blocks: same block, note-token width
    fh.embed_dim = h.freq_dim;
    fh.n_heads = h.freq_heads;
    fh.head_dim = h.freq_dim / h.freq_heads;
    freq_blocks = register_module("freq_blocks", torch::nn::ModuleList());
    for (int i = 0; i < h.freq_layers; ++i) freq_blocks->push_back(TransformerBlock(fh));
    summary_in = notes * h.freq_dim;
  }
  freq_fc = register_module("freq_fc", torch::nn::Linear(summary_in, h.embed_dim));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int i = 0; i < h.n_layers; ++i) blocks->push_back(TransformerBlock(h));
  final_norm = register_module("final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h.embed_dim})));
  auto head = [&]() {
    return torch::nn::Sequential(torch::nn::Linear(h.embed_dim, h.mlp_hidden), torch::nn::ReLU(),
                                 torch::nn::Linear(h.mlp_hidden, h.n_notes));
  };
  frame_head = register_module("frame_head", head());
  onset_head = register_module("onset_head", head());
  drop = register_module("drop", torch::nn::Dropout(h.dropout));
  if (!h.members.empty()) {
    members = register_module("members", torch::nn::ModuleList());
    for (const ModelHyper& m : h.members) members->push_back(Transcriber(m));
  }
}

torch::Tensor mean_probability_logits(const std::vector<torch::Tensor>& logits, const std::vector<double>& weights) {
  torch::Tensor p = torch::sigmoid(logits[0]) * weights[0];
  for (std::size_t i = 1; i < logits.size(); ++i) p = p + torch::sigmoid(logits[i]) * weights[i];
  p = p.clamp(kEnsembleEps, 1.0 - kEnsembleEps);
  return torch::log(p) - torch::log1p(-p);
}

ModelOutput mean_probability_output(const std::vector<ModelOutput>& outputs, const std::vector<double>& weights) {
  std::vector<torch::Tensor> frames, onsets;
  for (const ModelOutput& o : outputs) {
    frames.push_back(o.frame_logits);
    onsets.push_back(o.onset_logits);
  }
  return {mean_probability_logits(frames, weights), mean_probability_logits(onsets, weights)};
}

ModelOutput TranscriberImpl::forward(const torch::Tensor& cqt) {
  if (!is_ensemble()) return forward_network(cqt);
  std::vector<ModelOutput> outputs{forward_network(cqt)};
  for (const auto& m : *members) outputs.push_back(m->as<Transcriber>()->forward(cqt));
  return mean_probability_output(outputs, hyper_.network_weights());
}

ModelOutput TranscriberImpl::forward_network(const torch::Tensor& cqt) {
  TORCH_CHECK(cqt.dim() == 3 && cqt.size(2) == hyper_.n_bins, "model input must be [batch, frames, ",
              hyper_.n_bins, "], got ", cqt.sizes());
  const int64_t b = cqt.size(0), t = cqt.size(1), f = cqt.size(2);
  auto x = input_norm(torch::log1p(torch::relu(cqt)));              // [B, T, F]
  x = x.reshape({b * t, 1, f});                                      // frames are independent here
  if (!hyper_.harmonics.empty()) x = stack_harmonics(x, hyper_.harmonic_shifts());  // [B*T, H, F]
  x = torch::relu(conv2(torch::relu(conv1(x))));                     // [B*T, c, F]
  if (hyper_.freq_layers > 0) {
    const int64_t notes = f / hyper_.bins_per_note;
    // [B*T, c, notes, bins] -> note tokens [B*T, notes, c*bins]
    x = x.reshape({b * t, hyper_.c, notes, hyper_.bins_per_note}).permute({0, 2, 1, 3})
            .reshape({b * t, notes, hyper_.c * hyper_.bins_per_note});
    x = note_in(x) + note_pos.unsqueeze(0);                           // [B*T, notes, freq_dim]
    for (const auto& block : *freq_blocks) x = block->as<TransformerBlock>()->forward(x);
    x = torch::relu(freq_fc(x.reshape({b, t, notes * hyper_.freq_dim})));  // [B, T, E]
  } else {
    x = torch::relu(freq_fc(x.reshape({b, t, hyper_.c * f})));      // [B, T, E]
  }
  x = drop(x + sinusoidal_positions(t, hyper_.embed_dim, x.options()).unsqueeze(0));
  for (const auto& block : *blocks) x = block->as<TransformerBlock>()->forward(x);
  x = final_norm(x);
  return {frame_head->forward(x), onset_head->forward(x)};
}

int64_t TranscriberImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace qs
