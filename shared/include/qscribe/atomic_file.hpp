// Atomic file output: every file qscribe writes (notes, MIDI, MusicXML, sidecars, checkpoints,
// data-set shards, audio) goes through here, so that a crash, a kill -9 or a full disk leaves
// either the earlier file or the complete new one, never a part of it.
//
// Method: write a temporary file beside the target (same directory, so the rename cannot cross
// file systems), fsync it, rename it over the target, fsync the directory. The temporary name is
// ".NAME.qs-tmp" + the target's extension (libsndfile and others dispatch on it): hidden, removed
// on every failure the process survives, and the same on every run, so the one a kill -9 leaves
// is reused and renamed away by the next write of that file instead of piling up.
#pragma once
#include <string>
#include <string_view>

namespace qs {

// Writes `bytes` to `path` atomically. Throws qs::Error naming the path and the reason
// ("No space left on device", "Permission denied", ...); `path` is then untouched.
void write_file_atomically(const std::string& path, std::string_view bytes);

// Removes the temporary file a killed writer of `path` left, if any. For writers whose outputs
// are not all rewritten on a rerun (a resumed training run writes best.pt only when the score
// improves), so that nothing stale stays beside the outputs. Never throws.
void remove_abandoned_temp(const std::string& path);

// For writers that need a file name of their own (LibTorch archives, libsndfile, ONNX):
//   AtomicFile out(path); write to out.temp_path(); out.commit();
// Without commit() (an exception on the way) the destructor removes the temporary file.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& temp_path() const { return temp_; }
  const std::string& path() const { return path_; }
  // fsync the temporary file, rename it over path(), fsync the directory. Throws qs::Error.
  void commit();

 private:
  std::string path_, temp_;
  bool committed_ = false;
};

}  // namespace qs
