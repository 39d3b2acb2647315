// Native inference with LibTorch: the core's transcription pipeline (qscribe/transcription.hpp:
// streaming CQT -> model windows -> note probabilities -> notes) with LibTorch answering its model
// requests. Any length in bounded working memory: audio is decoded and resampled in blocks
// (qs::stream_audio), and only the probabilities grow with the audio (~30 KB per second).
#pragma once
#include <torch/torch.h>

#include <cstddef>
#include <string>
#include <vector>

#include "model/checkpoint.hpp"
#include "model/model.hpp"
#include "qscribe/beat_activation.hpp"
#include "qscribe/note.hpp"
#include "qscribe/note_decoder.hpp"
#include "qscribe/transcription.hpp"

namespace qs {

struct InferenceOptions : WindowOptions {  // windows as in model_windows.hpp
  torch::Device device = torch::kCPU;
};

// The native runtime: runs the network on a request's input and writes its raw outputs (logits).
void run_network(Transcriber& model, ModelRequest& request, torch::Device device = torch::kCPU);
// Its two halves, for callers that also need the output tensors (evaluation's loss).
ModelOutput forward_request(Transcriber& model, const ModelRequest& request, torch::Device device);
void write_outputs(const ModelOutput& out, ModelRequest& request);

// Probabilities of a whole CQT held in memory ([n_frames x n_bins]), same windows as streaming.
NoteProbabilities predict_cqt(Transcriber& model, const float* cqt, std::size_t n_frames, const ModelConfig& config,
                              const InferenceOptions& options);

struct TranscribeResult {
  NoteList notes;
  NoteProbabilities activations;
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
// The probabilities as STEM.frames.npy and STEM.onsets.npy (float32 [frames x notes]; no onsets
// file for a frame-only model): `transcribe --save-activations` and train-beats' cache.
void write_probabilities_npy(const std::string& stem, const NoteProbabilities& p);
// Reads them back (STEM.onsets.npy optional); throws qs::Error naming a file that is unreadable
// or does not match the other.
NoteProbabilities read_probabilities_npy(const std::string& stem);

// QSCRIBE_MODELS_DIR/beat_net.json: the shipped beat network (qscribe/beat_activation.hpp).
std::string default_beat_net_path();
// The beat network at `path` for a model of `frame_rate` frames/s; throws qs::Error naming the file
// when it cannot be read or was trained at another frame rate.
BeatNet load_beat_net_file(const std::string& path, double frame_rate);

}  // namespace qs
