// The model sidecar NAME.json: qs::parse_model_config, the round trip through the writer, the
// runtime checks, and (built with LibTorch, QS_FUZZ_WITH_TORCH) what the native tool makes of it
// when it loads an ONNX model: qs::CheckpointInfo::from_model_config (the "architecture" object
// -> qs::ModelHyper).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "qscribe/error.hpp"
#include "qscribe/model_config.hpp"
#ifdef QS_FUZZ_WITH_TORCH
#include "model/checkpoint.hpp"
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  qs::ModelConfig c;
  try {
    c = qs::parse_model_config(text);
  } catch (const qs::Error&) {
    return 0;
  }
  c.validate();  // from_json validated it: must not throw now
  // Written and read again, it is the same configuration (the writer's documented promise).
  const qs::ModelConfig back = qs::parse_model_config(qs::model_config_to_string(c));
  QS_FUZZ_CHECK(back.features.sample_rate == c.features.sample_rate && back.n_notes == c.n_notes &&
                back.lowest_pitch == c.lowest_pitch && back.input == c.input &&
                back.frame_output == c.frame_output && back.has_onset_output == c.has_onset_output &&
                back.decoding.onset_threshold == c.decoding.onset_threshold &&
                back.decoding.frame_threshold == c.decoding.frame_threshold &&
                back.architecture == c.architecture && back.training == c.training);
  try {
    c.check_compatible(qs::CqtParams{});
  } catch (const qs::Error&) {
  }
  try {
    c.check_output_notes(88, "frame_logits");
  } catch (const qs::Error&) {
  }
#ifdef QS_FUZZ_WITH_TORCH
  try {
    const qs::CheckpointInfo info = qs::CheckpointInfo::from_model_config(c);
    info.hyper.validate();
    (void)info.to_json();
  } catch (const qs::Error&) {
  }
#endif
  return 0;
}
