// Training and evaluation of the Transcriber on preprocessed pieces (docs/training.md).
//
// Examples are windows of `window_frames` CQT frames cut from the pieces on a fixed grid
// (frames [j*T, (j+1)*T), the last one zero-padded), shuffled each epoch with a generator seeded
// from (seed, epoch), grouped into batches and assembled ahead of time by loader threads. Loss:
// mean BCE-with-logits over frame labels + mean BCE-with-logits over onset labels, the onset term
// with pos_weight (onsets are ~1 frame per note, so positives are rare). Each epoch: train loss,
// validation loss, exact-frame accuracy for every allowed-errors k, frame F1, note F1 (pooled
// over validation pieces, transcribed exactly as `qscribe transcribe` does), samples/s, peak
// memory -> stdout, OUT/log.jsonl, OUT/curves.svg; OUT/checkpoint.pt (atomically) every epoch
// and on Ctrl-C, OUT/best.pt at the best validation note F1.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/checkpoint.hpp"
#include "data/dataset.hpp"
#include "train/distributed.hpp"
#include "inference/inference.hpp"
#include "train/lr_schedule.hpp"
#include "model/model.hpp"
#include "qscribe/json_fields.hpp"
#include "qscribe/metrics.hpp"
#include "qscribe/note.hpp"

namespace qs {

// Pieces with CQT and labels: a preprocessed data set, part of one, or pieces in memory.
class PieceSource {
 public:
  virtual ~PieceSource() = default;
  virtual const DatasetInfo& info() const = 0;  // features, note layout, segment length, pieces
  // As Dataset::read: frames [start, start + n) of piece p, zero past its end; any output may be null.
  virtual void read(std::size_t p, std::size_t start, std::size_t n, float* cqt, float* frame_labels,
                    float* onset_labels) const = 0;
  virtual NoteList notes(std::size_t p) const = 0;
  std::size_t n_pieces() const { return info().pieces.size(); }
  std::size_t total_frames() const;
};

// A preprocessed data set directory (qs::Dataset), optionally restricted to some pieces.
class DatasetSource : public PieceSource {
 public:
  explicit DatasetSource(const std::string& dir);
  DatasetSource(std::shared_ptr<const Dataset> ds, std::vector<std::size_t> pieces);
  const DatasetInfo& info() const override { return info_; }
  void read(std::size_t p, std::size_t start, std::size_t n, float* cqt, float* fr, float* on) const override;
  NoteList notes(std::size_t p) const override;
  std::shared_ptr<const Dataset> dataset() const { return ds_; }

 private:
  std::shared_ptr<const Dataset> ds_;
  std::vector<std::size_t> map_;
  DatasetInfo info_;
};

// Pieces held in memory (tests, tools). Labels are made from the notes with the core's piano rolls.
class MemorySource : public PieceSource {
 public:
  explicit MemorySource(DatasetInfo info);  // info.pieces is filled by add_piece
  void add_piece(const std::string& name, std::vector<float> cqt, std::size_t n_frames, const NoteList& notes);
  const DatasetInfo& info() const override { return info_; }
  void read(std::size_t p, std::size_t start, std::size_t n, float* cqt, float* fr, float* on) const override;
  NoteList notes(std::size_t p) const override { return notes_.at(p); }

 private:
  DatasetInfo info_;
  std::vector<std::vector<float>> cqt_, frames_, onsets_;
  std::vector<NoteList> notes_;
};

// Splits pieces into (train, validation): every piece whose index hashes (with seed) below
// `fraction` goes to validation; at least one piece each when there are two or more pieces.
void split_pieces(std::size_t n, double fraction, std::uint64_t seed, std::vector<std::size_t>& train,
                  std::vector<std::size_t>& val);

// The weights of transcription_loss's terms (below); each extra weight is 1 when off.
struct LossWeights {
  double onset_pos = 5.0;  // BCE pos_weight of the onset term (onsets are rare: ~1 frame per note)
  double restrike = 1.0;   // onsets of a pitch sounding the frame before
  double octave = 1.0;     // silent cells an octave from a sounding pitch
  double partial = 1.0;    // sounding cells a semitone beside a lower sounding pitch's 2nd-4th harmonic
};

struct TrainOptions {
  std::string out_dir;                 // checkpoint.pt, best.pt, log.jsonl, curves.svg
  int batch_size = 8;
  int num_workers = 8;                 // loader threads (0: load on the training thread)
  double lr = 5e-4;
  LrSchedule lr_schedule;              // constant by default
  int epochs = 25;
  std::vector<int> allowed_errors{0, 1, 2};
  ModelHyper hyper;                    // n_bins, bins_per_note, n_notes are taken from the data
  std::string device = "cpu";          // cpu | cuda
  std::uint64_t seed = 1;
  int window_frames = 0;               // training window (--context-seconds); 0: the data set's segment length
  LossWeights loss;                    // the loss's term weights (transcription_loss)
  double grad_clip = 1.0;              // global gradient-norm clip (0: off)
  double eq_augment_db = 0.0;          // random spectral EQ of training windows, +-dB (spectral_eq.hpp; 0: off)
  int threads = 0;                     // LibTorch intra-op threads (0: LibTorch's default)
  std::size_t max_batches = 0;         // per epoch, per rank (0: all) — smoke tests, benchmarks
  bool resume = false;                 // continue OUT/checkpoint.pt
  std::string init_weights;            // checkpoint to start from (--load-weights)
  bool new_front_end = false;          // --new-front-end: init_weights may have other CQT kernels
  // Training a member for an ensemble (--partner): the loss and the validation are on the mix
  // (1 - partner_weight) x partner + partner_weight x this network (probabilities, as
  // ModelHyper::members mixes them), the partner frozen. The checkpoints hold this network alone.
  std::string partner;
  double partner_weight = 0.25;
  DecoderParams decoding;              // for validation note metrics
  InferenceOptions inference;          // windows for validation transcription
  bool progress = true;
  bool verbose = true;                 // per-epoch lines on stdout
  DistributedOptions dist;
  std::string provenance;              // free text: data set paths etc.
};

struct EpochStats {
  int epoch = 0;                       // 1-based
  double train_loss = 0.0;
  double val_loss = -1.0;              // -1: no validation data
  std::vector<std::pair<int, double>> exact_accuracy;  // (k, accuracy)
  double lr = 0.0;                     // learning rate at the end of the epoch
  double frame_f1 = 0.0, note_f1 = 0.0, note_precision = 0.0, note_recall = 0.0;
  double samples_per_s = 0.0;          // training windows per second (all ranks)
  double frames_per_s = 0.0;
  double epoch_seconds = 0.0;
  double step_ms = 0.0;                // wall time per optimiser step (training only, no validation)
  double peak_rss_mb = 0.0;
  std::size_t steps = 0;
  nlohmann::json to_json() const;
  static EpochStats from_json(const qs::JsonFields& f);  // throws qs::Error naming the field
};

struct TrainResult {
  std::vector<EpochStats> history;
  bool interrupted = false;
  std::string checkpoint;  // OUT/checkpoint.pt
};

// Trains (or resumes); throws qs::Error on bad options, incompatible data or a non-finite loss
// (then no checkpoint is written for the failing epoch).
TrainResult train_model(const TrainOptions& options, const PieceSource& train, const PieceSource* val);

// Ctrl-C handling: the handler sets a flag; the trainer finishes its batch, saves and returns.
void install_interrupt_handler();
std::atomic<bool>& interrupt_flag();

struct EvalResult {
  PieceCounts pooled;
  std::vector<PieceCounts> pieces;
  std::vector<std::string> names;
  double loss = -1.0;  // training loss on the context grid (-1 when not computed)
  std::size_t frames = 0;
};
// Reference notes in the model's note layout: pitch classes folded onto MIDI 60..71 for a
// 12-class (only_note_names) model, unchanged otherwise.
NoteList fold_reference(NoteList notes, const CheckpointInfo& info);

// Throws qs::Error when a data set's features or note layout differ from the model's; `what`
// names the data in the message ("evaluation data", "tuning data").
void check_source_fits_model(const DatasetInfo& di, const CheckpointInfo& info, const std::string& what);

// Transcribes every piece as `qscribe transcribe` would and scores it against the piece's notes.
EvalResult evaluate_source(Transcriber& model, const CheckpointInfo& info, const PieceSource& source,
                           const DecoderParams& decoding, const InferenceOptions& inference,
                           double onset_pos_weight = LossWeights{}.onset_pos, bool with_loss = true);

// Loss of a batch: mean BCE(frames) + mean BCE(onsets, w.onset_pos as pos_weight). The other
// weights multiply the terms of hard kinds of cell (1: no extra weight):
// - `restrike`: the onset term of a re-strike (an onset label where the same pitch's frame label
//   is on in the frame before: a note struck again while it sounds);
// - `octave`: the frame and onset terms of a silent pitch whose octave above or below sounds in
//   that frame (where an octave error would be written);
// - `partial`: the frame term of a sounding pitch, and its onset term where it starts, when it
//   lies a semitone beside the 2nd, 3rd or 4th harmonic of a lower sounding pitch (a major
//   seventh or minor ninth over the bass: notes a louder partial hides).
// frames, onsets: [batch, frames, notes].
at::Tensor transcription_loss(const ModelOutput& out, const at::Tensor& frames, const at::Tensor& onsets,
                              const LossWeights& w);

// Peak resident memory of this process (getrusage), MiB.
double peak_rss_mb();

}  // namespace qs
