// Native inference with a LibTorch checkpoint: CQT frames -> frame/onset probabilities -> notes.
//
// Any length in bounded working memory: audio is decoded and resampled in blocks (libsndfile +
// libsoxr, as qs::load_audio), pushed through qs::StreamingCqt, and the model runs on windows of
// `window_frames` frames (default: the training context length) that overlap by `overlap_frames`
// on each side; each window contributes only its centre frames (the first window also its start,
// the last one its end), so every frame is predicted with at least `overlap_frames` of context on
// both sides where the audio has it. The last window is zero-padded, as training examples are.
// What grows with the audio is only the probabilities (2 x 88 float32 per frame: ~30 KB per second
// of audio, ~110 MB per hour) and the notes; the CQT and the audio are never held whole.
#pragma once
#include <torch/torch.h>

#include <cstddef>
#include <string>
#include <vector>

#include "checkpoint.hpp"
#include "model.hpp"
#include "qscribe/note.hpp"
#include "qscribe/note_decoder.hpp"

namespace qs {

struct InferenceOptions {
  int window_frames = 0;   // 0: the checkpoint's training context (segment.frames)
  // Frames of context discarded on each side; -1: window / 8. Default 0: windows tile the audio
  // like the training windows. On the first model's dev set, window/8 changed note F1 by +0.003
  // for 30 % more model work (docs/benchmarks.md).
  int overlap_frames = 0;
  int batch_windows = 16;  // windows per forward pass
  torch::Device device = torch::kCPU;
};

// Probabilities of one piece: [n_frames x n_notes] row-major.
struct Activations2 {
  std::size_t n_frames = 0;
  int n_notes = 88;
  std::vector<float> frames, onsets;
};

// Runs the model over a stream of CQT frames in overlapping windows.
class StreamingPredictor {
 public:
  StreamingPredictor(Transcriber model, int n_bins, int n_notes, const InferenceOptions& options);
  // Appends n CQT frames ([n x n_bins]); runs every window that is complete.
  void push(const float* cqt, std::size_t n);
  // Declares the end; runs the remaining windows (zero-padded).
  void finish();
  // Finished probabilities so far (all frames after finish()).
  const Activations2& output() const { return out_; }
  Activations2& output() { return out_; }
  int window() const { return window_; }
  int overlap() const { return overlap_; }

 private:
  void run_windows(bool final);

  Transcriber model_;
  int n_bins_, n_notes_, window_, overlap_, step_, batch_;
  torch::Device device_;
  std::vector<float> buffer_;    // frames [buffer_start_, buffer_start_ + buffered) of the stream
  std::size_t buffer_start_ = 0;
  std::size_t total_ = 0;        // frames pushed
  std::size_t next_window_ = 0;  // index of the next window to run
  Activations2 out_;
};

// Probabilities of a whole CQT held in memory ([n_frames x n_bins]), same windows as streaming.
Activations2 predict_cqt(Transcriber& model, const float* cqt, std::size_t n_frames, int n_bins, int n_notes,
                         const InferenceOptions& options);

// The decoder's view of `act` with the checkpoint's note layout (pointers into `act`).
Activations activations_view(const Activations2& act, const CheckpointInfo& info);
// Notes from probabilities with the checkpoint's note layout.
NoteList decode_activations(const Activations2& act, const CheckpointInfo& info, const DecoderParams& params);

struct TranscribeResult {
  NoteList notes;
  Activations2 activations;
  double duration_s = 0.0;
  double audio_seconds_decoded = 0.0;
};

// Decodes, resamples (to the checkpoint's sample rate), transforms and transcribes one audio file
// in blocks. Throws qs::Error naming the file.
TranscribeResult transcribe_file(const std::string& path, Transcriber& model, const CheckpointInfo& info,
                                 const DecoderParams& decoding, const InferenceOptions& options);
// The same for samples in memory (already at info.features.sample_rate).
TranscribeResult transcribe_samples(const float* samples, std::size_t n, Transcriber& model,
                                    const CheckpointInfo& info, const DecoderParams& decoding,
                                    const InferenceOptions& options);

// A model for transcription: a checkpoint (.pt) or an exported model (.onnx, whose sidecar
// describes it), plus, when present next to it, its sidecar NAME.json (decoding defaults;
// features checked against the checkpoint's).
struct LoadedModel {
  LoadedCheckpoint checkpoint;
  std::string path;
  bool has_sidecar = false;
};
LoadedModel load_model_for_inference(const std::string& path);
// QSCRIBE_MODELS_DIR/qscribe-default.onnx (the shipped model, the same file the browser runs)
std::string default_model_path();

// The model's decoding thresholds with the command line's overrides applied (a negative value
// keeps the model's); validated.
DecoderParams decoder_with_overrides(DecoderParams model_defaults, float onset_threshold, float frame_threshold,
                                     double min_note_length_s);

}  // namespace qs
