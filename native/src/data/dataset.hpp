// Preprocessed data set on disk (written by `qscribe preprocess`, read lazily by training and
// evaluation; format in docs/data-format.md). One directory per split:
//   dataset.json   DatasetInfo + the pieces (name, frames, offset into the arrays below)
//   cqt.f32        CQT magnitudes of all pieces, concatenated: [total_frames × n_bins] float32 LE
//   frames.u8      frame labels  [total_frames × n_notes] uint8 0/1
//   onsets.u8      onset labels  [total_frames × n_notes] uint8 0/1
//   notes/NAME.tsv the reference notes of each piece (for note-level metrics)
// Reads use pread, so a data set larger than RAM trains; Dataset is safe to read from many threads.
#pragma once
#include "qscribe/model_config.hpp"
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "qscribe/cqt_params.hpp"
#include "qscribe/note.hpp"

namespace qs {

struct PieceInfo {
  std::string name;
  std::size_t n_frames = 0;
  std::size_t offset = 0;  // first frame of the piece in the concatenated arrays
};

struct DatasetInfo {
  int format_version = 1;
  CqtParams features;
  int n_notes = 88;            // 88 keys from lowest_pitch, or 12 pitch classes
  int lowest_pitch = 21;
  bool only_note_names = false;
  int segment_frames = 43;     // --batch-seconds worth of frames: the unit of a training example
  std::string split;           // "train" | "test"
  std::string source;          // data root and format it came from
  std::vector<PieceInfo> pieces;
  // Free-form tallies written by the producer (e.g. "files_seen", "skipped_unreadable_audio");
  // informative only: readers need none of them.
  std::map<std::string, std::size_t> counts;
  std::size_t total_frames() const;
  // The model this data fits: its features, note layout and segment (for check_same_layout).
  ModelConfig layout() const;
};

// dataset.json <-> DatasetInfo (the format of docs/data-format.md). Parsing throws qs::Error
// naming the field at fault; `what` prefixes the messages (usually the file's path).
std::string dataset_info_to_json(const DatasetInfo& info);
DatasetInfo dataset_info_from_json(const std::string& text, const std::string& what = "dataset.json");
// True when `dir` holds a dataset.json (a finished data set; not validated).
bool is_dataset_dir(const std::string& dir);

class Dataset {
 public:
  explicit Dataset(const std::string& dir);  // throws qs::Error (missing, wrong version, truncated)
  ~Dataset();
  Dataset(const Dataset&) = delete;
  Dataset& operator=(const Dataset&) = delete;

  const DatasetInfo& info() const { return info_; }
  const std::string& dir() const { return dir_; }
  std::size_t n_pieces() const { return info_.pieces.size(); }
  const PieceInfo& piece(std::size_t i) const { return info_.pieces.at(i); }

  // Frames [start, start + n) of piece p; positions past the piece's end are zero (cqt and labels).
  // cqt: [n × n_bins]; frame_labels, onset_labels: [n × n_notes] as 0.0f / 1.0f (either may be null).
  void read(std::size_t p, std::size_t start, std::size_t n, float* cqt, float* frame_labels,
            float* onset_labels) const;
  // The reference notes of piece p (notes/NAME.tsv).
  NoteList notes(std::size_t p) const;

 private:
  std::string dir_;
  DatasetInfo info_;
  int fd_cqt_ = -1, fd_frames_ = -1, fd_onsets_ = -1;
};

// Writes a data set directory piece by piece (used by `qscribe preprocess`).
class DatasetWriter {
 public:
  DatasetWriter(const std::string& dir, DatasetInfo info);  // info.pieces is filled as pieces are added
  ~DatasetWriter();
  // cqt [n_frames × n_bins]; labels [n_frames × n_notes] 0/1. Thread-safe.
  void add_piece(const std::string& name, const float* cqt, const std::uint8_t* frame_labels,
                 const std::uint8_t* onset_labels, std::size_t n_frames, const NoteList& notes);
  void finish();  // writes dataset.json (atomically); without it the directory is not a data set
  // Records a tally in info.counts (written by finish()). Thread-safe.
  void set_count(const std::string& key, std::size_t value);
  std::size_t n_pieces() const;      // pieces added so far
  std::size_t total_frames() const;  // frames added so far

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace qs
