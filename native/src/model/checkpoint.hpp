// Training checkpoints: the LibTorch weights of a qs::Transcriber plus everything needed to use
// or continue them. Written by `qscribe train` (checkpoint.pt every epoch, best.pt), read by
// `qscribe train --resume/--load-weights`, `evaluate`, `transcribe` and `export`.
//
// File format (version 1): a torch::serialize archive (torch::save / torch::load container) with
//   "meta"       string IValue: UTF-8 JSON text, the object described below
//   "model.*"    the Transcriber's parameters and buffers, by their module names
//                ("conv1.weight", "blocks.0.qkv.bias", "frame_head.2.weight", ...)
//   "optimizer"  (optional) torch::optim::Adam state (training checkpoints only)
//   "rng_torch"  (optional) tensor: LibTorch's default CPU generator state (dropout)
// meta JSON:
//   { "format": "qscribe-checkpoint", "format_version": 1,
//     "hyper":    ModelHyper::to_json(),
//     "features": {sample_rate, hop_length, fmin, bins_per_semitone, n_bins, filter_scale, sparsity},
//     "notes":    {lowest_pitch, n_notes, only_note_names},
//     "segment":  {frames (training context length in frames), context_frames (0), passes (1)},
//     "decoding": {onset_threshold, frame_threshold, min_note_length_s, frame_fallback,
//                  restrike_threshold, min_restrike_gap_s, restrike_rise_weight, rise_threshold,
//                  weak_onset_threshold, weak_onset_frame},
//     "training": free-form provenance: {epoch (completed epochs), batch_in_epoch (batches of the
//                 next epoch already done; > 0 only for a checkpoint saved on Ctrl-C), step,
//                 seed, date, data (where the training data came from, text), options {...},
//                 history [...], best {epoch, score}} }
//   No random-number state is kept in "training": each epoch's shuffling and augmentation are
//   derived from (seed, epoch), and dropout's generator is the "rng_torch" tensor above.
// Readers ignore unknown meta fields. Writing is atomic: a temporary file in the same directory,
// fsync, then rename(2) over the target, so a crash leaves either the old or the new checkpoint.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "model/model.hpp"
#include "qscribe/cqt_params.hpp"
#include "qscribe/model_config.hpp"
#include "qscribe/note_decoder.hpp"

namespace qs {

constexpr int kCheckpointFormatVersion = 1;

// What a checkpoint says about the model besides its weights: the model's description (the same
// ModelConfig a sidecar holds: features, notes, segment, decoding; `training` is the training
// state and provenance) plus its hyper-parameters as typed values (the sidecar's "architecture").
struct CheckpointInfo : ModelConfig {
  ModelHyper hyper;

  nlohmann::json to_json() const;                          // the "meta" object
  static CheckpointInfo from_json(const nlohmann::json& j);  // throws qs::Error naming the field
  // The sidecar view of this model: the ModelConfig with "architecture" and the tensor shapes
  // filled in (name and description left for the caller).
  ModelConfig model_config() const;
  // The inverse, for an exported model: everything but the weights from its sidecar. Throws
  // qs::Error when "architecture" is not a qscribe model or disagrees with the notes or features.
  static CheckpointInfo from_model_config(const ModelConfig& m);
};

struct LoadedCheckpoint {
  Transcriber model{nullptr};  // on CPU, in eval() mode
  CheckpointInfo info;
  nlohmann::json meta;  // the raw meta object
};

// Loads PATH; throws qs::Error starting with the path when it is missing, not a qscribe
// checkpoint, of a newer format, or its weights do not fit its hyper-parameters. A PATH ending
// in .onnx is an exported model, read with load_onnx_checkpoint (onnx_import.hpp).
LoadedCheckpoint load_checkpoint(const std::string& path);

// Writes a checkpoint atomically. `optimizer` may be null (weights-only files such as best.pt).
// `save_rng` stores LibTorch's default CPU generator state.
void save_checkpoint(const std::string& path, Transcriber& model, const CheckpointInfo& info,
                     torch::optim::Optimizer* optimizer = nullptr, bool save_rng = false);

// Restores optimizer state and the generator state (if stored) from a training checkpoint.
// Returns false when the file holds no optimizer state.
// Optimizer tensors are placed on `device` (the model's).
bool load_training_state(const std::string& path, torch::optim::Optimizer& optimizer,
                         torch::Device device = torch::kCPU);

// Copies the weights of `src` into `dst` (same hyper-parameters required; qs::Error otherwise).
void copy_weights(Transcriber& dst, Transcriber& src);
// Copies src's parameters and buffers into every one of dst's with the same name, all but those in
// `skip` (src may hold more: an ensemble's first network takes its own, ensemble.cpp).
void copy_by_name(Transcriber& dst, Transcriber& src, const std::set<std::string>& skip = {});
// --load-weights from a model without harmonic stacking into the same model with it (its
// harmonics include 1): conv1's plain channel takes the old weights and the others start at
// zero, so training starts from exactly the old model's outputs. False (nothing copied) when the
// two differ in anything else.
bool copy_weights_adding_harmonics(Transcriber& dst, Transcriber& src);
// --load-weights from a model into the same model with more channels in the frequency
// convolutions (--c): the old channels take the old weights, the new ones start at random but
// unconnected to the embedding (their freq_fc columns and their input to the old channels are
// zero), so training starts from exactly the old model's outputs. False (nothing copied) when
// the two differ in anything else, when dst has fewer channels, or with note attention.
bool copy_weights_widening(Transcriber& dst, Transcriber& src);
// --load-weights from a model into the same model with more Transformer layers (--n-layers): the
// old layers take the old weights and the new ones, after them, start as identities (their
// attention and feed-forward output projections are zero), so training starts from exactly the
// old model's outputs. False (nothing copied) when the two differ in anything else.
bool copy_weights_deepening(Transcriber& dst, Transcriber& src);

// CqtParams <-> JSON: qs::cqt_params_to_json / cqt_params_from_json (qscribe/model_config.hpp).


}  // namespace qs
