// `qscribe preprocess`: audio + labels -> the preprocessed data set (dataset.hpp,
// docs/data-format.md). Library functions so tests and other commands can call them.
//
// Inputs (DESIGN.md "Training data"):
//   musicnet: ROOT/SPLIT_data/ID.wav (44.1 kHz) + ROOT/SPLIT_labels/ID.csv (MusicNet label CSV)
//   pairs:    ROOT/SPLIT/NAME.{wav,flac,mp3,ogg,opus} + NAME.{tsv,mid,midi} (subfolders are searched;
//             the piece name is the path relative to the split folder, without extension). When
//             ROOT has no SPLIT folder, ROOT itself is searched (skipping folders named train,
//             test, validation).
// Each piece: audio -> mono at --sr -> CQT [frames × 88·B] -> frame and onset rolls from the
// notes (88 keys from MIDI 21, or 12 pitch classes). Files that cannot be used are skipped with a
// warning and counted by reason; only errors of the output (disk full, bad options) stop the run.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "qscribe/cqt_params.hpp"

namespace qs {

struct PreprocessOptions {
  std::string data_root;           // --data
  std::string format = "musicnet";  // --format: "musicnet" | "pairs"
  std::string split = "train";     // --split
  std::string out_dir;             // --out (empty: data/preprocessed/SPLIT)
  int num_workers = 8;             // --num-workers (threads)
  double batch_seconds = 1.0;      // --batch-seconds: segment length -> segment_frames
  int bins_per_note = 4;           // --bins-per-note (CQT bins per semitone)
  double sample_rate = 22050.0;    // --sr
  int hop_length = 512;            // --hop-length
  double fmin = 27.5;              // --fmin (Hz, bin 0)
  double filter_scale = 1.0;       // --filter-scale
  double future_fraction = 0.5;    // --future-fraction
  bool only_note_names = false;    // --only-note-names: 12 pitch classes
  int n_batches = 60;              // --n-batches: accepted for compatibility, see cmd --help
  bool progress = true;            // progress bar on stderr
};

// The CQT parameters the options describe (n_bins = 88 * bins_per_note).
CqtParams preprocess_cqt_params(const PreprocessOptions& o);
// Frames per training segment: round(batch_seconds * sr / hop), at least 1.
int preprocess_segment_frames(const PreprocessOptions& o);

// One usable input: an audio file and its labels.
struct SourcePair {
  std::string name;    // piece name (MusicNet ID, or relative path without extension)
  std::string audio;   // path
  std::string labels;  // path (.csv MusicNet, .tsv, .mid/.midi)
};

struct SkippedFile {
  std::string path;
  std::string reason;   // count key, e.g. "unreadable_audio"
  std::string message;  // the warning shown
};

struct DiscoveredFiles {
  std::vector<SourcePair> pairs;      // sorted by name
  std::vector<SkippedFile> unmatched;  // audio without labels, labels without audio, duplicates
  std::size_t ignored = 0;            // other files (not audio, not labels)
};

// Throws qs::Error when the layout's folders are missing (nothing to do is a usage error).
DiscoveredFiles discover_musicnet(const std::string& root, const std::string& split);
DiscoveredFiles discover_pairs(const std::string& root, const std::string& split);

struct PreprocessSummary {
  std::string out_dir;
  std::size_t files_seen = 0;  // pairs + unmatched files
  std::size_t pieces = 0;
  std::size_t frames = 0;
  double audio_seconds = 0.0;
  double elapsed_seconds = 0.0;
  std::map<std::string, std::size_t> skipped;  // reason -> count
  std::vector<SkippedFile> skipped_files;
  std::size_t skipped_total() const;
  double files_per_second() const;
};

// Runs the whole preprocessing; `warn` receives one line per skipped file (default: stderr).
// Throws qs::Error for bad options, a missing input layout or an output failure.
PreprocessSummary preprocess(const PreprocessOptions& options,
                             const std::function<void(const std::string&)>& warn = nullptr);

// The one-line summary printed at the end.
std::string format_preprocess_summary(const PreprocessSummary& s);

}  // namespace qs
