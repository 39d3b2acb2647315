// The transcription model (the original project's architecture, plus an onset head).
//
//   cqt [B, T, F] (CQT magnitudes, F = 88 * bins_per_note)
//   -> log1p -> LayerNorm over F                                   ("input_norm")
//   -> optional harmonic stacking: H channels, channel h the spectrum shifted down by
//      12 log2(harmonics[h]) notes, so bin f of channel h holds the h-th harmonic of f's pitch
//      (zeros past the top): the convolutions then see a note's partials in one place, at every
//      pitch alike, which is what lets a timbre learned at one pitch carry to the others
//   -> per frame: Conv1d(H->c, k) ReLU Conv1d(c->c, k) ReLU over F  ("conv1", "conv2"), k <= 1.5 notes
//   -> optional (freq_layers > 0): the c x bins_per_note values of each note become one of 88 note
//      tokens -> Linear -> freq_dim + learned pitch embedding ("note_in", "note_pos") -> freq_layers
//      pre-norm Transformer blocks over the notes of the frame ("freq_blocks.i"), so every key
//      sees its harmonics and neighbours before the frame is summarised
//   -> flatten [c*F] (or [88*freq_dim]) -> Linear -> embed_dim, ReLU
//      ("freq_fc": the fully connected frequency layer) + sinusoidal positions over T
//   -> n_layers pre-norm Transformer blocks over T                  ("blocks.i.{norm1,qkv,proj,norm2,ff1,ff2}")
//      attention with n_heads x head_dim (need not equal embed_dim), ReLU feed-forward 4x
//   -> LayerNorm ("final_norm") -> two MLPs: Linear ReLU Linear -> n_notes
//      ("frame_head.{0,2}", "onset_head.{0,2}")
//   outputs frame_logits, onset_logits [B, T, n_notes] (sigmoid gives probabilities)
//   An ensemble (ModelHyper::members) runs every network on the same input and outputs the
//   logits of the weighted mean of their probabilities ("members.i.*": member i's parameters).
//
// Log compression and normalisation live inside, so every runtime feeds raw magnitudes. The
// ONNX exporter (onnx_export.cpp) mirrors this graph op for op by parameter name.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace qs {

struct ModelHyper {
  int bins_per_note = 4;   // CQT bins per semitone
  int n_bins = 352;        // input bins (88 * bins_per_note)
  int n_notes = 88;        // outputs: 88 keys, or 12 pitch classes (--only-note-names)
  int c = 3;               // conv channels
  int embed_dim = 192;
  int n_layers = 4;
  int n_heads = 4;
  int head_dim = 32;
  int mlp_hidden = 192;
  double dropout = 0.1;
  // Self-attention over the notes of each frame before freq_fc (0: none, the original model).
  int freq_layers = 0;
  int freq_dim = 16;    // width of a note token
  int freq_heads = 2;   // heads of the note attention (head size freq_dim / freq_heads)
  // Harmonic stacking (empty: none, the original model's one input channel). E.g. {0.5, 1, 2, 3,
  // 4, 5}: each a multiple of the fundamental in (1/16, 16], distinct; 1 keeps the plain CQT.
  std::vector<double> harmonics;
  // An ensemble (inference only: `qscribe export --member`): further networks, each with its own
  // hyper-parameters, whose note probabilities are averaged with this network's. Networks trained
  // apart (one fine-tuned from a FluidR3 model, one trained from scratch on every source) err
  // apart, so their mean hears more than either (models/README.md). Member i weighs
  // member_weights[i]; this network weighs 1 - their sum. Members have no members of their own.
  std::vector<ModelHyper> members;
  std::vector<double> member_weights;
  // Every network's weight in the ensemble's mean: this one's (1 - the members'), then theirs.
  std::vector<double> network_weights() const;

  // conv1's input channels: one per harmonic (1 without stacking).
  int input_channels() const { return harmonics.empty() ? 1 : static_cast<int>(harmonics.size()); }
  // The bin shift of each stacked channel: round(12 log2(harmonic) * bins_per_note).
  std::vector<int64_t> harmonic_shifts() const;

  // Conv kernel over frequency: the largest odd width <= 1.5 notes (5 bins at 4 bins/note);
  // the original found wider kernels hurt.
  int conv_kernel() const;
  void validate() const;  // throws qs::Error naming the field
  nlohmann::json to_json() const;
  static ModelHyper from_json(const nlohmann::json& j);
};

struct ModelOutput {
  torch::Tensor frame_logits;  // [B, T, n_notes]
  torch::Tensor onset_logits;  // [B, T, n_notes]
};

// Sinusoidal position table [T, dim]: pe[t, 2i] = sin(t / 10000^(2i/dim)), pe[t, 2i+1] = cos(...).
torch::Tensor sinusoidal_positions(int64_t t, int64_t dim, const torch::TensorOptions& opts);

// The ensemble's mean: logit(sum_i weights[i] * sigmoid(logits[i])), the probabilities clamped to
// [kEnsembleEps, 1 - kEnsembleEps] so the logits stay finite (+-13.8).
inline constexpr double kEnsembleEps = 1e-6;
torch::Tensor mean_probability_logits(const std::vector<torch::Tensor>& logits, const std::vector<double>& weights);
// The same for whole outputs, frames and onsets alike: what an ensemble (and a member trained
// with its partner, train --partner) outputs.
ModelOutput mean_probability_output(const std::vector<ModelOutput>& outputs, const std::vector<double>& weights);

// Harmonic stacking of [N, 1, F] into [N, shifts, F]: channel h, bin i holds bin i + shifts[h]
// (zero outside the spectrum).
torch::Tensor stack_harmonics(const torch::Tensor& x, const std::vector<int64_t>& shifts);

class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(const ModelHyper& h);
  // Self-attention over the second axis: [B, T, E] (time blocks) or [B*T, notes, freq_dim].
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, ff1{nullptr}, ff2{nullptr};
  torch::nn::Dropout drop{nullptr};
  int n_heads, head_dim;
};
TORCH_MODULE(TransformerBlock);

class TranscriberImpl : public torch::nn::Module {
 public:
  explicit TranscriberImpl(const ModelHyper& h);
  ModelOutput forward(const torch::Tensor& cqt);  // cqt [B, T, n_bins]
  const ModelHyper& hyper() const { return hyper_; }
  int64_t parameter_count() const;
  bool is_ensemble() const { return !hyper_.members.empty(); }

  torch::nn::LayerNorm input_norm{nullptr};
  torch::nn::Conv1d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear note_in{nullptr};  // freq_layers > 0 only
  torch::Tensor note_pos;              // [88 notes, freq_dim], freq_layers > 0 only
  torch::nn::ModuleList freq_blocks;
  torch::nn::Linear freq_fc{nullptr};
  torch::nn::ModuleList blocks;
  torch::nn::LayerNorm final_norm{nullptr};
  torch::nn::Sequential frame_head{nullptr}, onset_head{nullptr};
  torch::nn::Dropout drop{nullptr};
  torch::nn::ModuleList members;  // ensembles only: the other networks (TranscriberImpl each)

 private:
  ModelOutput forward_network(const torch::Tensor& cqt);  // this network alone
  ModelHyper hyper_;
};
TORCH_MODULE(Transcriber);

}  // namespace qs
