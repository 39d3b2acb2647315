#include "export/onnx_export.hpp"

#include "model/checkpoint.hpp"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "qscribe/atomic_file.hpp"
#include "qscribe/error.hpp"
#include "qscribe/version.hpp"

namespace qs {
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------------
// A small graph builder over onnx::GraphProto. Names are unique: intermediate values get a
// prefix plus a counter; initializers keep the parameter's name. Every name it makes starts with
// `prefix` ("members.0." while an ensemble member's network is built: its parameters' names).
class GraphBuilder {
 public:
  std::string prefix;

  // `half_weights`: weight() stores float16 and adds a Cast to float32 (see WeightType).
  GraphBuilder(onnx::GraphProto* g, bool half_weights) : g_(g), half_(half_weights) {}

  struct Attr {
    std::string name;
    enum Kind { Int, Ints, Float } kind;
    std::int64_t i = 0;
    std::vector<std::int64_t> ints;
    float f = 0.0f;
  };
  static Attr i(const std::string& n, std::int64_t v) { return Attr{n, Attr::Int, v, {}, 0.0f}; }
  static Attr ints(const std::string& n, std::vector<std::int64_t> v) { return Attr{n, Attr::Ints, 0, std::move(v), 0.0f}; }
  static Attr f(const std::string& n, float v) { return Attr{n, Attr::Float, 0, {}, v}; }

  // Adds a node with one output; `out` empty: a fresh name from `hint`.
  std::string op(const std::string& type, const std::vector<std::string>& inputs, const std::string& hint,
                 const std::vector<Attr>& attrs = {}, std::string out = {}) {
    if (out.empty()) out = fresh(hint);
    auto* n = g_->add_node();
    n->set_op_type(type);
    n->set_name(out + "_" + type);
    for (const auto& in : inputs) n->add_input(in);
    n->add_output(out);
    for (const auto& a : attrs) {
      auto* ap = n->add_attribute();
      ap->set_name(a.name);
      switch (a.kind) {
        case Attr::Int:
          ap->set_type(onnx::AttributeProto::INT);
          ap->set_i(a.i);
          break;
        case Attr::Ints:
          ap->set_type(onnx::AttributeProto::INTS);
          for (auto v : a.ints) ap->add_ints(v);
          break;
        case Attr::Float:
          ap->set_type(onnx::AttributeProto::FLOAT);
          ap->set_f(a.f);
          break;
      }
    }
    return out;
  }

  // Initializer from a tensor (copied to the CPU). Returns the float32 value to use: the
  // initializer itself, or (float16 storage) a Cast of it, which ONNX Runtime folds into a
  // float32 constant when it loads the model, so inference runs in float32 either way.
  // `exact` keeps float32 whatever the storage (constants whose rounding matters).
  std::string weight(const std::string& name_in, const torch::Tensor& t, const std::string& doc = {}, bool exact = false) {
    const bool half = half_ && !exact;
    const std::string name = prefix + name_in;
    auto c = t.detach().to(torch::kCPU, half ? torch::kHalf : torch::kFloat).contiguous();
    auto* init = g_->add_initializer();
    init->set_name(name);
    init->set_data_type(half ? onnx::TensorProto::FLOAT16 : onnx::TensorProto::FLOAT);
    for (auto d : c.sizes()) init->add_dims(d);
    init->set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), static_cast<std::size_t>(c.nbytes())));
    if (!doc.empty()) init->set_doc_string(doc);
    if (!half) return name;
    return op("Cast", {name}, name_in + ".float", {i("to", onnx::TensorProto::FLOAT)});
  }
  // int64 constant; `scalar` true: rank 0 (one value).
  std::string ints_const(const std::string& name_in, const std::vector<std::int64_t>& v, bool scalar = false) {
    const std::string name = prefix + name_in;
    auto* init = g_->add_initializer();
    init->set_name(name);
    init->set_data_type(onnx::TensorProto::INT64);
    if (!scalar) init->add_dims(static_cast<std::int64_t>(v.size()));
    for (auto x : v) init->add_int64_data(x);
    return name;
  }
  std::string float_scalar(const std::string& name_in, float v) {
    const std::string name = prefix + name_in;
    auto* init = g_->add_initializer();
    init->set_name(name);
    init->set_data_type(onnx::TensorProto::FLOAT);
    init->add_float_data(v);
    return name;
  }

  void value_info(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<TensorDim>& dims) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tt->mutable_shape();
    for (const auto& d : dims) {
      auto* dim = shape->add_dim();
      if (d.is_dynamic())
        dim->set_dim_param(d.name);
      else
        dim->set_dim_value(d.size);
    }
  }

 private:
  std::string fresh(const std::string& hint) { return prefix + hint + ":" + std::to_string(counter_++); }
  onnx::GraphProto* g_;
  bool half_ = false;
  int counter_ = 0;
};

// Named parameters of the model; each must be used exactly once by the exporter.
class Params {
 public:
  explicit Params(TranscriberImpl& m) {
    for (const auto& item : m.named_parameters(/*recurse=*/true)) params_.emplace(item.key(), item.value());
  }
  const torch::Tensor& take(const std::string& name) {
    auto it = params_.find(name);
    if (it == params_.end()) throw Error("ONNX export: the model has no parameter \"" + name + "\"");
    if (!used_.insert(name).second) throw Error("ONNX export: parameter \"" + name + "\" used twice");
    return it->second;
  }
  void check_all_used() const {
    std::string unused;
    for (const auto& [name, t] : params_)
      if (!used_.count(name)) unused += (unused.empty() ? "" : ", ") + name;
    if (!unused.empty())
      throw Error("ONNX export: the exporter does not know the model's parameter(s) " + unused +
                  " (model.cpp changed: update onnx_export.cpp)");
  }

 private:
  std::map<std::string, torch::Tensor> params_;
  std::set<std::string> used_;
};

struct Exporter {
  GraphBuilder& g;
  Params& p;

  // The parameter NAME of the network being built (g.prefix names an ensemble member's).
  const torch::Tensor& param(const std::string& name) { return p.take(g.prefix + name); }

  std::string layer_norm(const std::string& x, const std::string& name) {
    auto w = g.weight(name + ".weight", param(name + ".weight"));
    auto b = g.weight(name + ".bias", param(name + ".bias"));
    // torch::nn::LayerNorm default eps 1e-5 over the last axis.
    return g.op("LayerNormalization", {x, w, b}, name, {GraphBuilder::i("axis", -1), GraphBuilder::f("epsilon", 1e-5f)});
  }
  // x @ W^T + b, W [out, in] stored transposed ([in, out]) under the parameter's name.
  std::string linear(const std::string& x, const std::string& name, const std::string& out = {}) {
    const auto& w = param(name + ".weight");
    auto wt = g.weight(name + ".weight", w.t(), "transposed: [in_features, out_features]");
    auto b = g.weight(name + ".bias", param(name + ".bias"));
    auto mm = g.op("MatMul", {x, wt}, name + ".matmul");
    return g.op("Add", {mm, b}, name, {}, out);
  }
  std::string relu(const std::string& x) { return g.op("Relu", {x}, x + ".relu"); }

  // One pre-norm Transformer block (model.cpp's TransformerBlockImpl) over the second axis of a
  // 3-D tensor: frames [B, T, E] or note tokens [B*T, notes, freq_dim]; `heads` heads of size `dim`.
  // The reshape targets and the attention scale are shared by all blocks of one head layout.
  std::string transformer_block(const std::string& x, const std::string& pre, std::int64_t heads, std::int64_t dim) {
    using GB = GraphBuilder;
    auto [it, fresh] = block_consts.try_emplace({heads, dim});
    if (fresh) {
      const std::string tag = std::to_string(heads) + "x" + std::to_string(dim);
      it->second = {g.ints_const("const.shape_b_t_3_heads_dim." + tag, {0, 0, 3, heads, dim}),
                    g.ints_const("const.shape_b_t_inner." + tag, {0, 0, heads * dim}),
                    g.float_scalar("const.attention_scale." + tag,
                                   static_cast<float>(1.0 / std::sqrt(static_cast<double>(dim))))};
    }
    const auto& [shape_qkv, shape_ctx, scale] = it->second;
    auto qkv = linear(layer_norm(x, pre + ".norm1"), pre + ".qkv");                   // [B, T, 3HD]
    qkv = g.op("Reshape", {qkv, shape_qkv}, pre + ".qkv5");                            // [B, T, 3, H, D]
    qkv = g.op("Transpose", {qkv}, pre + ".qkv_t", {GB::ints("perm", {2, 0, 3, 1, 4})});  // [3, B, H, T, D]
    auto pick = [&](int idx, const char* what) {
      return g.op("Gather", {qkv, g.ints_const(pre + ".index_" + what, {idx}, true)}, pre + "." + what, {GB::i("axis", 0)});
    };
    auto q = pick(0, "q"), kk = pick(1, "k"), v = pick(2, "v");                       // [B, H, T, D]
    auto kt = g.op("Transpose", {kk}, pre + ".k_t", {GB::ints("perm", {0, 1, 3, 2})});
    auto scores = g.op("Mul", {g.op("MatMul", {q, kt}, pre + ".qk"), scale}, pre + ".scores");  // [B, H, T, T]
    auto attn = g.op("Softmax", {scores}, pre + ".attn", {GB::i("axis", -1)});
    auto ctx = g.op("MatMul", {attn, v}, pre + ".ctx");                                 // [B, H, T, D]
    ctx = g.op("Transpose", {ctx}, pre + ".ctx_t", {GB::ints("perm", {0, 2, 1, 3})});  // [B, T, H, D]
    ctx = g.op("Reshape", {ctx, shape_ctx}, pre + ".ctx_flat");                        // [B, T, HD]
    auto y = g.op("Add", {x, linear(ctx, pre + ".proj")}, pre + ".residual1");
    auto ff = linear(relu(linear(layer_norm(y, pre + ".norm2"), pre + ".ff1")), pre + ".ff2");
    return g.op("Add", {y, ff}, pre + ".out");
  }

  // log1p(relu(x)), computed accurately (Goldberg): u = 1 + x; log1p(x) = x when u == 1,
  // else log(u) * x / (u - 1). A plain Log(1 + x) loses the low bits of tiny magnitudes, which
  // the LayerNorm that follows can amplify on quiet frames. Then the input LayerNorm: [B, T, F].
  std::string normalised_input(const std::string& in) {
    auto x = g.op("Relu", {in}, "input.relu");
    auto one = g.float_scalar("const.one", 1.0f);
    auto zero = g.float_scalar("const.zero", 0.0f);
    auto u = g.op("Add", {x, one}, "log1p.u");
    auto um1 = g.op("Sub", {u, one}, "log1p.u_minus_1");
    auto logu = g.op("Log", {u}, "log1p.log_u");
    auto is_exact = g.op("Equal", {um1, zero}, "log1p.u_is_1");
    auto ratio = g.op("Div", {x, g.op("Where", {is_exact, one, um1}, "log1p.safe_den")}, "log1p.ratio");
    auto scaled = g.op("Mul", {logu, ratio}, "log1p.scaled");
    x = g.op("Where", {is_exact, x, scaled}, "log1p");
    return layer_norm(x, "input_norm");
  }

  // model.cpp's stack_harmonics, [B*T, 1, F] -> [B*T, H, F]: one zero Pad of the bins, a Slice
  // per channel (bin i + shift), a Concat over channels.
  std::string harmonic_stack(const std::string& x, const std::vector<std::int64_t>& shifts, std::int64_t F) {
    std::int64_t lo = 0, hi = 0;
    for (auto s : shifts) lo = std::max(lo, -s), hi = std::max(hi, s);
    auto padded = g.op("Pad", {x, g.ints_const("const.harmonic_pads", {0, 0, lo, 0, 0, hi})}, "harmonics.padded");
    const auto axis = g.ints_const("const.harmonic_axis", {2});
    std::vector<std::string> channels;
    for (std::size_t i = 0; i < shifts.size(); ++i) {
      const std::string n = std::to_string(i);
      auto start = g.ints_const("const.harmonic_start." + n, {lo + shifts[i]});
      auto end = g.ints_const("const.harmonic_end." + n, {lo + shifts[i] + F});
      channels.push_back(g.op("Slice", {padded, start, end, axis}, "harmonics." + n));
    }
    return g.op("Concat", channels, "harmonics", {GraphBuilder::i("axis", 1)});
  }

  // The frequency stage: per-frame convolutions over frequency ([B*T, H, F] -> [B*T, c, F]), the
  // note attention when the model has one, and freq_fc: -> [B, T, E].
  std::string frequency_stage(const ModelHyper& h, std::string x, const std::string& in) {
    using GB = GraphBuilder;
    const std::int64_t F = h.n_bins, C = h.c;
    const int k = h.conv_kernel();
    x = g.op("Reshape", {x, g.ints_const("const.shape_frames_1_bins", {-1, 1, F})}, "frames_as_batch");
    if (!h.harmonics.empty()) x = harmonic_stack(x, h.harmonic_shifts(), F);
    auto conv = [&](const std::string& xin, const std::string& name) {
      auto w = g.weight(name + ".weight", param(name + ".weight"));
      auto b = g.weight(name + ".bias", param(name + ".bias"));
      return g.op("Conv", {xin, w, b}, name,
                  {GB::ints("kernel_shape", {k}), GB::ints("pads", {k / 2, k / 2}), GB::ints("strides", {1}),
                   GB::ints("dilations", {1}), GB::i("group", 1)});
    };
    x = relu(conv(x, "conv1"));
    x = relu(conv(x, "conv2"));

    auto bt = g.op("Shape", {in}, "input.shape_bt", {GB::i("start", 0), GB::i("end", 2)});
    if (h.freq_layers > 0) {
      // Note tokens: [B*T, c, F] -> [B*T, c, N, bins] -> [B*T, N, c, bins] -> [B*T, N, c*bins].
      const std::int64_t N = F / h.bins_per_note, bpn = h.bins_per_note, FD = h.freq_dim;
      x = g.op("Reshape", {x, g.ints_const("const.shape_frames_c_notes_bins", {-1, C, N, bpn})}, "notes.split");
      x = g.op("Transpose", {x}, "notes.by_note", {GB::ints("perm", {0, 2, 1, 3})});
      x = g.op("Reshape", {x, g.ints_const("const.shape_frames_notes_cbins", {-1, N, C * bpn})}, "notes.tokens");
      x = g.op("Add", {linear(x, "note_in"), g.weight("note_pos", param("note_pos"))}, "notes.embed");
      for (int l = 0; l < h.freq_layers; ++l)
        x = transformer_block(x, "freq_blocks." + std::to_string(l), h.freq_heads, FD / h.freq_heads);
      // [B*T, N, freq_dim] -> [B, T, N*freq_dim]
      auto shape = g.op("Concat", {bt, g.ints_const("const.notes_times_freq_dim", {N * FD})}, "shape_b_t_nd", {GB::i("axis", 0)});
      x = g.op("Reshape", {x, shape}, "flatten_notes");
    } else {
      // [B*T, c, F] -> [B, T, c*F] (B and T from the input's shape).
      auto shape_btcf = g.op("Concat", {bt, g.ints_const("const.c_times_bins", {C * F})}, "shape_b_t_cf", {GB::i("axis", 0)});
      x = g.op("Reshape", {x, shape_btcf}, "flatten_freq");
    }
    return relu(linear(x, "freq_fc"));  // [B, T, E]
  }

  // Sinusoidal positions for the dynamic T, in-graph: angles = t * inv_freq; pe = interleave(sin, cos).
  std::string add_positions(const std::string& x, const std::string& in, std::int64_t E) {
    using GB = GraphBuilder;
    auto t_scalar = g.op("Gather", {g.op("Shape", {in}, "input.shape"), g.ints_const("const.index_1", {1}, true)},
                         "frames", {GB::i("axis", 0)});
    auto t_range = g.op("Range", {g.ints_const("const.i64_zero", {0}, true), t_scalar, g.ints_const("const.i64_one", {1}, true)},
                        "positions.t");
    auto t_f = g.op("Cast", {t_range}, "positions.t_float", {GB::i("to", onnx::TensorProto::FLOAT)});
    auto t_col = g.op("Unsqueeze", {t_f, g.ints_const("const.axes_1", {1})}, "positions.t_col");  // [T, 1]
    // inv_freq computed exactly as sinusoidal_positions() does (float32 torch ops).
    auto inv_freq = torch::exp(torch::arange(0, E, 2, torch::kFloat) * (-std::log(10000.0) / static_cast<double>(E)));
    auto inv = g.weight("positions.inv_freq", inv_freq.unsqueeze(0), "10000^(-2i/embed_dim), [1, embed_dim/2]",
                        /*exact=*/true);  // float16 would shift the angles of late frames by whole radians
    auto angles = g.op("Mul", {t_col, inv}, "positions.angles");  // [T, E/2]
    auto axes2 = g.ints_const("const.axes_2", {2});
    auto s = g.op("Unsqueeze", {g.op("Sin", {angles}, "positions.sin"), axes2}, "positions.sin3");
    auto c = g.op("Unsqueeze", {g.op("Cos", {angles}, "positions.cos"), axes2}, "positions.cos3");
    auto pe = g.op("Concat", {s, c}, "positions.interleaved", {GB::i("axis", 2)});  // [T, E/2, 2]
    pe = g.op("Reshape", {pe, g.ints_const("const.shape_t_embed", {-1, E})}, "positions");  // [T, E]
    return g.op("Add", {x, pe}, "embed");
  }

  std::map<std::pair<std::int64_t, std::int64_t>, std::array<std::string, 3>> block_consts;  // see transformer_block
};

// The model's header: IR version, producer, opset and the hyper-parameters as metadata.
void describe_model(onnx::ModelProto& m, const ModelHyper& h) {
  m.set_ir_version(kOnnxIrVersion);
  m.set_producer_name("qscribe");
  m.set_producer_version(kVersion);
  m.set_doc_string("qscribe transcriber: CQT magnitudes [batch, frames, bins] -> frame and onset logits "
                   "[batch, frames, notes]");
  auto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  auto* meta = m.add_metadata_props();
  meta->set_key("qscribe.hyper");
  meta->set_value(h.to_json().dump());
}

// The ONNX checker and strict shape inference, as errors of the export.
void check_onnx_model(const onnx::ModelProto& m) {
  try {
    onnx::checker::check_model(m);
    onnx::ModelProto inferred = m;
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*error_mode=*/1));
  } catch (const std::exception& e) {
    throw Error(std::string("ONNX export: the generated graph fails the ONNX checker: ") + e.what());
  }
}

}  // namespace

// -----------------------------------------------------------------------------------------------

void describe_network(const ModelHyper& h, ModelConfig& c) {
  c.input = {"cqt", {TensorDim::dynamic("batch"), TensorDim::dynamic("frames"), TensorDim::fixed(h.n_bins)}};
  c.frame_output = {"frame_logits",
                    {TensorDim::dynamic("batch"), TensorDim::dynamic("frames"), TensorDim::fixed(h.n_notes)}};
  c.has_onset_output = true;
  c.onset_output = {"onset_logits",
                    {TensorDim::dynamic("batch"), TensorDim::dynamic("frames"), TensorDim::fixed(h.n_notes)}};
  c.outputs_are_logits = true;
  c.architecture = h.to_json();
  c.architecture["type"] = "cnn-transformer";
}

ModelConfig default_model_config(const ModelHyper& h, const CqtParams& features) {
  ModelConfig c;
  c.features = features;
  c.features.bins_per_semitone = h.bins_per_note;
  c.features.n_bins = h.n_bins;
  c.n_notes = h.n_notes;
  c.only_note_names = h.n_notes == 12;
  c.lowest_pitch = c.only_note_names ? 60 : 21;
  describe_network(h, c);
  return c;
}

ModelConfig complete_model_config(const TranscriberImpl& model, ModelConfig c) {
  const ModelHyper& h = model.hyper();
  if (c.features.n_bins != h.n_bins)
    throw Error("model config: field \"features.n_bins\": " + std::to_string(c.features.n_bins) +
                " does not match the model's input bins " + std::to_string(h.n_bins));
  if (c.features.bins_per_semitone != h.bins_per_note)
    throw Error("model config: field \"features.bins_per_semitone\": " + std::to_string(c.features.bins_per_semitone) +
                " does not match the model's bins_per_note " + std::to_string(h.bins_per_note));
  if (c.n_notes != h.n_notes)
    throw Error("model config: field \"notes.n_notes\": " + std::to_string(c.n_notes) +
                " does not match the model's outputs " + std::to_string(h.n_notes));
  describe_network(h, c);
  c.architecture["parameter_count"] = model.parameter_count();
  c.validate();
  return c;
}

namespace {

// One network's graph from the input `in` to its two logit outputs, named frame_out and onset_out.
// g.prefix names the network's parameters ("" for the first, "members.i." for the others).
void emit_network(GraphBuilder& g, Params& p, const ModelHyper& h, const std::string& in, const std::string& frame_out,
                  const std::string& onset_out) {
  Exporter ex{g, p, {}};
  auto x = ex.normalised_input(in);        // [B, T, F]
  x = ex.frequency_stage(h, x, in);        // [B, T, E]
  x = ex.add_positions(x, in, h.embed_dim);
  for (int l = 0; l < h.n_layers; ++l) x = ex.transformer_block(x, "blocks." + std::to_string(l), h.n_heads, h.head_dim);
  x = ex.layer_norm(x, "final_norm");
  ex.linear(ex.relu(ex.linear(x, "frame_head.0")), "frame_head.2", frame_out);
  ex.linear(ex.relu(ex.linear(x, "onset_head.0")), "onset_head.2", onset_out);
}

// An ensemble's output (model.cpp's mean_probability_logits): the logits of the weighted mean of
// the networks' probabilities, clamped to [kEnsembleEps, 1 - kEnsembleEps].
void emit_mean_probability(GraphBuilder& g, const std::vector<std::string>& logits, const std::vector<double>& weights,
                           const std::string& what, const std::string& out) {
  std::string sum;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    auto prob = g.op("Sigmoid", {logits[i]}, logits[i] + ".probability");
    auto w = g.float_scalar("ensemble." + what + ".weight." + std::to_string(i), static_cast<float>(weights[i]));
    auto term = g.op("Mul", {prob, w}, logits[i] + ".weighted");
    sum = sum.empty() ? term : g.op("Add", {sum, term}, "ensemble." + what + ".sum");
  }
  auto lo = g.float_scalar("ensemble." + what + ".min", static_cast<float>(kEnsembleEps));
  auto hi = g.float_scalar("ensemble." + what + ".max", static_cast<float>(1.0 - kEnsembleEps));
  auto one = g.float_scalar("ensemble." + what + ".one", 1.0f);
  auto prob = g.op("Clip", {sum, lo, hi}, "ensemble." + what + ".probability");
  auto log_p = g.op("Log", {prob}, "ensemble." + what + ".log_p");
  auto log_q = g.op("Log", {g.op("Sub", {one, prob}, "ensemble." + what + ".q")}, "ensemble." + what + ".log_q");
  g.op("Sub", {log_p, log_q}, "ensemble." + what, {}, out);
}

}  // namespace

std::string build_onnx_model(TranscriberImpl& model, const std::string& graph_name, WeightType weights) {
  torch::NoGradGuard no_grad;
  const ModelHyper& h = model.hyper();
  const ModelConfig cfg = default_model_config(h);
  onnx::ModelProto m;
  describe_model(m, h);
  onnx::GraphProto* graph = m.mutable_graph();
  graph->set_name(graph_name);

  GraphBuilder g(graph, weights == WeightType::float16);
  Params p(model);
  const std::string in = cfg.input.name;
  g.value_info(graph->add_input(), in, cfg.input.shape);
  if (h.members.empty()) {
    emit_network(g, p, h, in, cfg.frame_output.name, cfg.onset_output.name);
  } else {
    // Every network on the same input, then the weighted mean of their probabilities.
    std::vector<std::string> frames{"network.0.frame_logits"}, onsets{"network.0.onset_logits"};
    emit_network(g, p, h, in, frames[0], onsets[0]);
    for (std::size_t i = 0; i < h.members.size(); ++i) {
      const std::string n = std::to_string(i + 1);
      frames.push_back("network." + n + ".frame_logits");
      onsets.push_back("network." + n + ".onset_logits");
      g.prefix = "members." + std::to_string(i) + ".";
      emit_network(g, p, h.members[i], in, frames.back(), onsets.back());
      g.prefix.clear();
    }
    emit_mean_probability(g, frames, h.network_weights(), "frame", cfg.frame_output.name);
    emit_mean_probability(g, onsets, h.network_weights(), "onset", cfg.onset_output.name);
  }
  g.value_info(graph->add_output(), cfg.frame_output.name, cfg.frame_output.shape);
  g.value_info(graph->add_output(), cfg.onset_output.name, cfg.onset_output.shape);
  p.check_all_used();
  check_onnx_model(m);
  std::string bytes;
  if (!m.SerializeToString(&bytes)) throw Error("ONNX export: cannot serialise the model");
  return bytes;
}

namespace {

void write_file(const std::string& path, const std::string& bytes) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  write_file_atomically(path, bytes);
}

std::vector<std::string> dims_of(const onnx::ValueInfoProto& vi) {
  std::vector<std::string> out;
  if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return out;
  for (const auto& d : vi.type().tensor_type().shape().dim())
    out.push_back(d.has_dim_value() ? std::to_string(d.dim_value()) : d.has_dim_param() ? d.dim_param() : "?");
  return out;
}

}  // namespace

ExportResult export_onnx(TranscriberImpl& model, const ModelConfig& config, const std::string& onnx_path,
                         WeightType weights) {
  ExportResult r;
  r.config = complete_model_config(model, config);
  const std::string graph_name = r.config.name.empty() ? "qscribe" : r.config.name;
  const std::string bytes = build_onnx_model(model, graph_name, weights);
  r.onnx_path = onnx_path;
  r.json_path = model_config_path_for(onnx_path);
  if (r.json_path == r.onnx_path) throw Error(onnx_path + ": the model file must not end in .json");
  write_file(r.onnx_path, bytes);
  const fs::path parent = fs::path(r.json_path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  save_model_config(r.config, r.json_path);
  r.onnx_bytes = static_cast<std::int64_t>(bytes.size());
  r.json_bytes = static_cast<std::int64_t>(fs::file_size(r.json_path));
  r.parameter_count = model.parameter_count();
  onnx::ModelProto m;
  m.ParseFromString(bytes);
  r.node_count = m.graph().node_size();
  return r;
}

OnnxSummary inspect_onnx(const std::string& onnx_path) {
  onnx::ModelProto m;
  {
    std::ifstream f(onnx_path, std::ios::binary);
    if (!f) throw Error(onnx_path + ": cannot open");
    if (!m.ParseFromIstream(&f)) throw Error(onnx_path + ": not an ONNX model (protobuf parse failed)");
  }
  try {
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    throw Error(onnx_path + ": ONNX checker: " + e.what());
  }
  OnnxSummary s;
  s.ir_version = m.ir_version();
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") s.opset = o.version();
  const auto& g = m.graph();
  for (const auto& n : g.node()) s.op_types.insert(n.domain().empty() ? n.op_type() : n.domain() + "." + n.op_type());
  s.node_count = g.node_size();
  s.initializer_count = g.initializer_size();
  for (const auto& t : g.initializer()) {
    const bool half = t.data_type() == onnx::TensorProto::FLOAT16;
    if (t.data_type() != onnx::TensorProto::FLOAT && !half) continue;
    std::int64_t n = 1;
    for (auto d : t.dims()) n *= d;
    s.initializer_floats += n;
    if (half) s.initializer_halves += n;
  }
  for (const auto& vi : g.input()) {
    s.input_names.push_back(vi.name());
    s.input_dims.push_back(dims_of(vi));
  }
  for (const auto& vi : g.output()) {
    s.output_names.push_back(vi.name());
    s.output_dims.push_back(dims_of(vi));
  }
  onnx::ModelProto inferred = m;
  // Drop the declared output shapes so that the inferred ones are the graph's own.
  for (auto& vi : *inferred.mutable_graph()->mutable_output()) vi.mutable_type()->mutable_tensor_type()->clear_shape();
  try {
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, /*data_prop=*/true));
  } catch (const std::exception& e) {
    throw Error(onnx_path + ": ONNX shape inference: " + e.what());
  }
  for (const auto& vi : inferred.graph().output()) s.inferred_output_dims.push_back(dims_of(vi));
  return s;
}

// --- Checkpoints ---------------------------------------------------------------------------------

ExportCheckpoint load_model_for_export(const std::string& path) {
  ExportCheckpoint ck;
  std::error_code ec;
  ck.path = path;
  if (fs::is_directory(path, ec)) {
    ck.path.clear();
    for (const char* name : {"best.pt", "checkpoint.pt"}) {
      const auto cand = fs::path(path) / name;
      if (fs::is_regular_file(cand, ec)) {
        ck.path = cand.string();
        break;
      }
    }
    if (ck.path.empty()) throw Error(path + ": directory holds no best.pt or checkpoint.pt");
  }
  LoadedCheckpoint loaded = load_checkpoint(ck.path);  // errors start with the path
  ck.model = loaded.model;
  ck.model->eval();
  ModelConfig c = loaded.info.model_config();
  if (c.training.is_object()) c.training.erase("rng");  // generator state: no use to a runtime
  c.training["checkpoint"] = fs::path(ck.path).filename().string();
  try {
    ck.config = complete_model_config(*ck.model, c);
  } catch (const Error& e) {
    throw Error(ck.path + ": " + e.what());
  }
  return ck;
}

}  // namespace qs
