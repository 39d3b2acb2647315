// Exported models: qs::load_onnx_checkpoint (protobuf parse of NAME.onnx, every initializer
// read as float32 or float16, raw or typed, matched by name and shape against the model the
// sidecar describes), then one forward pass of the loaded model. The sidecar is fixed (a tiny
// architecture, below); the sidecar parser has its own target (model_sidecar.cpp).
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "export/onnx_import.hpp"
#include "qscribe/error.hpp"

namespace {

// `qscribe export --random-init --hyper '{"bins_per_note":1,"n_bins":12,"n_notes":12,"c":1,
// "embed_dim":8,"n_layers":0,"n_heads":1,"head_dim":1,"mlp_hidden":1}'` writes this sidecar (214
// parameters: small inputs fuzz fast); the seeds in corpus/onnx_import are that export and
// variants of its weight storage (tests/fuzz/make_seeds.py).
constexpr char kSidecar[] = R"({
  "architecture": {"bins_per_note": 1, "c": 1, "conv_kernel": 1, "dropout": 0.1, "embed_dim": 8,
                   "head_dim": 1, "mlp_hidden": 1, "n_bins": 12, "n_heads": 1, "n_layers": 0,
                   "n_notes": 12, "type": "cnn-transformer"},
  "decoding": {"frame_fallback": true, "frame_threshold": 0.3, "min_note_length_s": 0.058,
               "onset_threshold": 0.5},
  "description": "fuzz target model",
  "features": {"bins_per_semitone": 1, "filter_scale": 1.0, "fmin": 27.5, "hop_length": 512,
               "n_bins": 12, "sample_rate": 22050.0, "sparsity": 0.01},
  "format_version": 1,
  "io": {"frame_output": {"name": "frame_logits", "shape": ["batch", "frames", 12]},
         "input": {"name": "cqt", "shape": ["batch", "frames", 12]},
         "onset_output": {"name": "onset_logits", "shape": ["batch", "frames", 12]},
         "outputs_are_logits": true},
  "name": "fuzz",
  "notes": {"lowest_pitch": 60, "n_notes": 12, "only_note_names": true},
  "segment": {"context_frames": 0, "frames": 43},
  "training": {}
}
)";

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  qs_fuzz::write_file(qs_fuzz::scratch_dir() / "model.json", std::string(kSidecar));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = (qs_fuzz::scratch_dir() / "model.onnx").string();
  qs_fuzz::write_file(path, data, size);
  qs::LoadedCheckpoint ck;
  try {
    ck = qs::load_onnx_checkpoint(path);
  } catch (const qs::Error&) {
    return 0;
  }
  QS_FUZZ_CHECK(ck.info.hyper.n_bins == 12 && ck.info.hyper.n_notes == 12);
  torch::NoGradGuard no_grad;
  const qs::ModelOutput out = ck.model->forward(torch::rand({1, 3, 12}));
  QS_FUZZ_CHECK(out.frame_logits.sizes() == torch::IntArrayRef({1, 3, 12}));
  QS_FUZZ_CHECK(out.onset_logits.sizes() == torch::IntArrayRef({1, 3, 12}));
  return 0;
}
