// The whole-file transcription pipeline, in bounded memory for any length:
//
//   samples (model's rate) -> StreamingCqt -> ModelWindows -> ModelRequest  (a runtime answers)
//                                                          -> NoteProbabilities -> decode_notes
//
// The front ends only feed audio and answer requests: `qscribe transcribe` with LibTorch
// (native/src/inference/inference.cpp), the browser's file job with ONNX Runtime Web (wasm/file_job.cpp).
// The CQT frames are handed back as they are made, for a display; they are not kept.
//
//   qs::Transcription t(config);
//   for (each block) { t.push_audio(block, n); t.run_ready(run_network); }
//   t.finish_audio(); t.run_ready(run_network);
//   qs::NoteList notes = t.decode(config.decoding);
#pragma once

#include <cstddef>
#include <vector>

#include "qscribe/cqt.hpp"
#include "qscribe/model_config.hpp"
#include "qscribe/model_windows.hpp"

namespace qs {

class Transcription {
 public:
  explicit Transcription(const ModelConfig& model, const WindowOptions& windows = {});
  Transcription(const Transcription&) = delete;  // the stream refers to cqt_
  Transcription& operator=(const Transcription&) = delete;

  // Pushes samples at model().features.sample_rate. Returns the CQT frames they completed
  // ([n x bins], valid until the next call).
  const std::vector<float>& push_audio(const float* samples, std::size_t n);
  // Declares the end of the audio; returns the last CQT frames.
  const std::vector<float>& finish_audio();

  // The model's windows: next_request() / answer() for an asynchronous runtime, run_ready() for
  // a synchronous one (call it after each push and after finish_audio()).
  ModelRequest* next_request() { return windows_.next_request(); }
  ModelRequest& request() { return windows_.request(); }  // the slot (sizes 0 before the first)
  void answer() { windows_.answer(); }
  template <class Run>
  void run_ready(Run&& run) { windows_.run_ready(run); }

  bool done() const { return windows_.done(); }
  std::size_t samples_pushed() const { return samples_; }
  // How many CQT frames (and so model frames) n samples make: a progress bar's total.
  std::size_t frames_for(std::size_t n_samples) const { return cqt_.n_frames(n_samples); }
  std::size_t frames_made() const { return windows_.frames_pushed(); }
  std::size_t frames_answered() const { return windows_.frames_answered(); }
  const NoteProbabilities& probabilities() const { return windows_.probabilities(); }
  NoteProbabilities& probabilities() { return windows_.probabilities(); }
  const ModelWindows& windows() const { return windows_; }
  const ModelConfig& model() const { return model_; }
  // Notes from the probabilities so far (all of them once done()).
  NoteList decode(const DecoderParams& params) const { return decode_probabilities(probabilities(), model_, params); }

 private:
  ModelConfig model_;
  Cqt cqt_;
  StreamingCqt stream_;
  ModelWindows windows_;
  std::vector<float> frames_;
  std::size_t samples_ = 0;
};

}  // namespace qs
