#include "export/onnx_import.hpp"

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "qscribe/error.hpp"

namespace qs {

namespace fs = std::filesystem;

namespace {

std::string shape_text(c10::IntArrayRef s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

// The float32 value of a FLOAT or FLOAT16 initializer (raw_data or the typed fields).
torch::Tensor tensor_of(const onnx::TensorProto& t) {
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  // Negative sizes, or sizes whose product overflows (found by fuzzing). Zero sizes are skipped in
  // the product: LibTorch still computes strides from the other sizes, and [0, 2^62, 2^62] overflows.
  int64_t span = 1;
  bool empty = false;
  for (auto d : dims) {
    if (d < 0 || (d > 0 && span > std::numeric_limits<int64_t>::max() / 4 / d))
      throw Error("initializer \"" + t.name() + "\" has an invalid shape");
    if (d == 0) empty = true;
    else span *= d;
  }
  const int64_t n = empty ? 0 : span;
  if (t.has_data_location() && t.data_location() == onnx::TensorProto::EXTERNAL)
    throw Error("initializer \"" + t.name() + "\" uses external data (not supported)");
  if (t.data_type() == onnx::TensorProto::FLOAT) {
    if (!t.raw_data().empty()) {
      if (static_cast<int64_t>(t.raw_data().size()) != n * 4) throw Error("initializer \"" + t.name() + "\" is truncated");
      return torch::from_blob(const_cast<char*>(t.raw_data().data()), dims, torch::kFloat).clone();
    }
    if (t.float_data_size() != n) throw Error("initializer \"" + t.name() + "\" is truncated");
    return torch::tensor(std::vector<float>(t.float_data().begin(), t.float_data().end())).reshape(dims);
  }
  if (t.data_type() == onnx::TensorProto::FLOAT16) {
    if (!t.raw_data().empty()) {
      if (static_cast<int64_t>(t.raw_data().size()) != n * 2) throw Error("initializer \"" + t.name() + "\" is truncated");
      return torch::from_blob(const_cast<char*>(t.raw_data().data()), dims, torch::kHalf).to(torch::kFloat);
    }
    // Typed storage: each int32 holds one float16's bits.
    if (t.int32_data_size() != n) throw Error("initializer \"" + t.name() + "\" is truncated");
    std::vector<int16_t> bits(t.int32_data().begin(), t.int32_data().end());
    return torch::from_blob(bits.data(), dims, torch::kHalf).to(torch::kFloat);
  }
  throw Error("initializer \"" + t.name() + "\" is neither float32 nor float16");
}

}  // namespace

bool is_onnx_path(const std::string& path) { return fs::path(path).extension() == ".onnx"; }

LoadedCheckpoint load_onnx_checkpoint(const std::string& path) {
  if (!fs::exists(path)) throw Error(path + ": no such model file");
  const std::string sidecar = model_config_path_for(path);
  if (!fs::exists(sidecar))
    throw Error(path + ": its sidecar " + sidecar + " is missing (it holds the architecture and features)");
  LoadedCheckpoint out;
  try {
    const ModelConfig cfg = load_model_config(sidecar);  // errors name the sidecar
    CheckpointInfo& info = out.info;
    try {
      info = CheckpointInfo::from_model_config(cfg);
    } catch (const Error& e) {
      throw Error(sidecar + ": " + e.what());
    }
    out.meta = info.to_json();

    onnx::ModelProto m;
    {
      std::ifstream f(path, std::ios::binary);
      if (!f) throw Error("cannot open");
      if (!m.ParseFromIstream(&f)) throw Error("not an ONNX model (protobuf parse failed)");
    }
    std::map<std::string, const onnx::TensorProto*> inits;
    for (const auto& t : m.graph().initializer()) inits[t.name()] = &t;

    out.model = Transcriber(out.info.hyper);
    torch::NoGradGuard no_grad;
    for (auto& p : out.model->named_parameters(/*recurse=*/true)) {
      auto it = inits.find(p.key());
      if (it == inits.end()) throw Error("no initializer for the model's parameter \"" + p.key() + "\"");
      torch::Tensor w = tensor_of(*it->second);
      // The exporter stores Linear weights as [in, out] for MatMul; shapes alone cannot tell
      // a square matrix apart, the doc string can.
      if (it->second->doc_string().rfind("transposed", 0) == 0) {
        if (w.dim() > 2) throw Error("initializer \"" + p.key() + "\" is marked transposed but is not a matrix");
        w = w.t();
      }
      if (w.sizes() != p.value().sizes())
        throw Error("initializer \"" + p.key() + "\" has shape " + shape_text(w.sizes()) + ", the model expects " +
                    shape_text(p.value().sizes()));
      p.value().copy_(w);
    }
    out.model->eval();
  } catch (const Error& e) {
    const std::string what = e.what();
    throw Error(what.rfind(sidecar, 0) == 0 ? what : path + ": " + what);
  } catch (const c10::Error& e) {  // a tensor LibTorch refuses, which the checks above let through
    throw Error(path + ": not a usable qscribe model (" + e.what_without_backtrace() + ")");
  }
  return out;
}

}  // namespace qs
