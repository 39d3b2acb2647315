// Preprocessed data set: lazy pread-based reader and thread-safe writer (docs/data-format.md).
#include "data/dataset.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "qscribe/atomic_file.hpp"
#include "qscribe/error.hpp"
#include "qscribe/json_fields.hpp"
#include "qscribe/model_config.hpp"
#include "qscribe/note_io.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace qs {

namespace {

constexpr int kDatasetFormatVersion = 1;
const char* const kJsonName = "dataset.json";
const char* const kCqtName = "cqt.f32";
const char* const kFramesName = "frames.u8";
const char* const kOnsetsName = "onsets.u8";
const char* const kNotesDir = "notes";

std::string join(const std::string& dir, const std::string& name) { return (fs::path(dir) / name).string(); }

std::string errno_text() { return std::strerror(errno); }

// Reads exactly `bytes` at `offset`; a short read means the file shrank after it was opened.
void pread_exact(int fd, void* buf, std::size_t bytes, std::size_t offset, const std::string& path) {
  auto* p = static_cast<char*>(buf);
  while (bytes > 0) {
    const ssize_t r = ::pread(fd, p, bytes, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(path + ": read failed: " + errno_text());
    }
    if (r == 0) throw Error(path + ": unexpected end of file (truncated after the data set was opened?)");
    p += r;
    bytes -= static_cast<std::size_t>(r);
    offset += static_cast<std::size_t>(r);
  }
}

void pwrite_exact(int fd, const void* buf, std::size_t bytes, std::size_t offset, const std::string& path) {
  const auto* p = static_cast<const char*>(buf);
  while (bytes > 0) {
    const ssize_t r = ::pwrite(fd, p, bytes, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(path + ": write failed: " + errno_text());
    }
    p += r;
    bytes -= static_cast<std::size_t>(r);
    offset += static_cast<std::size_t>(r);
  }
}

int open_read(const std::string& path, std::size_t expected_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open data set file: " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string e = errno_text();
    ::close(fd);
    throw Error(path + ": cannot stat: " + e);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size != expected_bytes) {
    ::close(fd);
    throw Error(path + ": " + (size < expected_bytes ? "truncated" : "larger than dataset.json says") + ": " +
                std::to_string(size) + " bytes, expected " + std::to_string(expected_bytes) +
                " (re-run `qscribe preprocess`)");
  }
  return fd;
}

// A piece name becomes a relative path under notes/: refuse anything that could escape it.
void check_piece_name(const std::string& name) {
  if (name.empty()) throw Error("data set: empty piece name");
  if (name.front() == '/' || name.back() == '/') throw Error("data set: bad piece name \"" + name + "\"");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f || c == '\\') throw Error("data set: bad character in piece name \"" + name + "\"");
  std::stringstream ss(name);
  std::string part;
  while (std::getline(ss, part, '/'))
    if (part.empty() || part == "." || part == "..") throw Error("data set: bad piece name \"" + name + "\"");
}

std::string notes_path(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / kNotesDir / (name + ".tsv")).string();
}

}  // namespace

ModelConfig DatasetInfo::layout() const {
  ModelConfig m;
  m.features = features;
  m.n_notes = n_notes;
  m.lowest_pitch = lowest_pitch;
  m.only_note_names = only_note_names;
  m.segment_frames = segment_frames;
  return m;
}

std::size_t DatasetInfo::total_frames() const {
  std::size_t end = 0;
  for (const auto& p : pieces) end = std::max(end, p.offset + p.n_frames);
  return end;
}

std::string dataset_info_to_json(const DatasetInfo& info) {
  json pieces = json::array();
  for (const auto& p : info.pieces) pieces.push_back({{"name", p.name}, {"n_frames", p.n_frames}, {"offset", p.offset}});
  json counts = json::object();
  for (const auto& [k, v] : info.counts) counts[k] = v;
  json j = json::object();
  j["format_version"] = info.format_version;
  j["features"] = cqt_params_to_json(info.features);
  j["n_notes"] = info.n_notes;
  j["lowest_pitch"] = info.lowest_pitch;
  j["only_note_names"] = info.only_note_names;
  j["segment_frames"] = info.segment_frames;
  j["split"] = info.split;
  j["source"] = info.source;
  j["total_frames"] = info.total_frames();
  j["files"] = {{"cqt", kCqtName}, {"frames", kFramesName}, {"onsets", kOnsetsName}, {"notes", kNotesDir}};
  j["counts"] = std::move(counts);
  j["pieces"] = std::move(pieces);
  return j.dump(1) + "\n";
}

DatasetInfo dataset_info_from_json(const std::string& text, const std::string& what) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(what + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw Error(what + ": not a JSON object");
  DatasetInfo info;
  const JsonFields r(j, "", what);
  r.integer("format_version", info.format_version, true, 0, std::numeric_limits<int>::max(), "a version number");
  if (info.format_version != kDatasetFormatVersion)
    throw Error(what + ": data set format version " + std::to_string(info.format_version) + ", this build reads " +
                std::to_string(kDatasetFormatVersion) + " (re-run `qscribe preprocess`)");
  info.features = cqt_params_from_json(*r.object("features", true), what);
  r.integer("n_notes", info.n_notes, true, 1, 128, "an integer from 1 to 128");
  r.integer("lowest_pitch", info.lowest_pitch, true, 0, 127, "a MIDI pitch (0 to 127)");
  r.boolean("only_note_names", info.only_note_names, true);
  if (info.only_note_names && info.n_notes != 12) r.fail("n_notes", "must be 12 with only_note_names");
  if (!info.only_note_names && info.lowest_pitch + info.n_notes > 128) r.fail("n_notes", "note range exceeds MIDI 127");
  r.integer("segment_frames", info.segment_frames, true, 1, std::numeric_limits<int>::max(), "a positive integer");
  r.string("split", info.split, false);
  r.string("source", info.source, false);
  if (const json* c = r.object("counts", false)) {
    for (auto it = c->begin(); it != c->end(); ++it)
      if (it.value().is_number_unsigned()) info.counts[it.key()] = it.value().get<std::size_t>();
  }
  const json* pj = r.array("pieces", true);
  std::set<std::string> names;
  info.pieces.reserve(pj->size());
  for (std::size_t i = 0; i < pj->size(); ++i) {
    const json& e = (*pj)[i];
    const std::string key = "pieces[" + std::to_string(i) + "]";
    if (!e.is_object()) r.fail(key, "must be an object");
    const JsonFields pr = r.nested(e, key);
    PieceInfo p;
    pr.string("name", p.name, true);
    constexpr long long kMaxFrames = 1LL << 40;  // a trillion frames: anything larger is damage
    pr.integer("n_frames", p.n_frames, true, 0, kMaxFrames, "a frame count");
    pr.integer("offset", p.offset, true, 0, kMaxFrames, "a frame offset");
    try {
      check_piece_name(p.name);
    } catch (const Error& err) {
      pr.fail("name", err.what());
    }
    if (!names.insert(p.name).second) pr.fail("name", "duplicate piece name \"" + p.name + "\"");
    info.pieces.push_back(std::move(p));
  }
  // Pieces must not overlap in the arrays (they need not be in offset order).
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  for (const auto& p : info.pieces) spans.emplace_back(p.offset, p.offset + p.n_frames);
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second) throw Error(what + ": pieces overlap in the arrays");
  if (r.find("total_frames")) {
    std::size_t total = 0;
    r.integer("total_frames", total, true, 0, 1LL << 50, "a frame count");
    if (total != info.total_frames())
      r.fail("total_frames", std::to_string(total) + " disagrees with the pieces (" +
                                 std::to_string(info.total_frames()) + ")");
  }
  return info;
}

bool is_dataset_dir(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / kJsonName, ec);
}

// ---- Dataset ----------------------------------------------------------------------------------

Dataset::Dataset(const std::string& dir) : dir_(dir) {
  const std::string jpath = join(dir, kJsonName);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": no such data set directory (run `qscribe preprocess`)");
  std::ifstream in(jpath, std::ios::binary);
  if (!in) throw Error(jpath + ": missing: not a finished data set (run `qscribe preprocess`)");
  std::stringstream ss;
  ss << in.rdbuf();
  info_ = dataset_info_from_json(ss.str(), jpath);
  try {
    info_.features.validate();
  } catch (const Error& e) {
    throw Error(jpath + ": " + e.what());
  }
  const std::size_t total = info_.total_frames();
  const std::size_t bins = static_cast<std::size_t>(info_.features.n_bins);
  const std::size_t notes = static_cast<std::size_t>(info_.n_notes);
  try {
    fd_cqt_ = open_read(join(dir, kCqtName), total * bins * sizeof(float));
    fd_frames_ = open_read(join(dir, kFramesName), total * notes);
    fd_onsets_ = open_read(join(dir, kOnsetsName), total * notes);
  } catch (...) {
    for (int fd : {fd_cqt_, fd_frames_, fd_onsets_})
      if (fd >= 0) ::close(fd);
    throw;
  }
}

Dataset::~Dataset() {
  for (int fd : {fd_cqt_, fd_frames_, fd_onsets_})
    if (fd >= 0) ::close(fd);
}

void Dataset::read(std::size_t p, std::size_t start, std::size_t n, float* cqt, float* frame_labels,
                   float* onset_labels) const {
  if (p >= info_.pieces.size())
    throw Error(dir_ + ": piece " + std::to_string(p) + " out of range (" + std::to_string(info_.pieces.size()) +
                " pieces)");
  const PieceInfo& piece = info_.pieces[p];
  const std::size_t bins = static_cast<std::size_t>(info_.features.n_bins);
  const std::size_t notes = static_cast<std::size_t>(info_.n_notes);
  const std::size_t avail = start < piece.n_frames ? std::min(n, piece.n_frames - start) : 0;
  const std::size_t first = piece.offset + start;
  if (cqt) {
    if (avail > 0) pread_exact(fd_cqt_, cqt, avail * bins * sizeof(float), first * bins * sizeof(float), join(dir_, kCqtName));
    std::fill(cqt + avail * bins, cqt + n * bins, 0.0f);
  }
  thread_local std::vector<std::uint8_t> buf;
  auto labels = [&](int fd, const char* name, float* out) {
    if (!out) return;
    if (avail > 0) {
      buf.resize(avail * notes);
      pread_exact(fd, buf.data(), buf.size(), first * notes, join(dir_, name));
      for (std::size_t i = 0; i < buf.size(); ++i) out[i] = buf[i] ? 1.0f : 0.0f;
    }
    std::fill(out + avail * notes, out + n * notes, 0.0f);
  };
  labels(fd_frames_, kFramesName, frame_labels);
  labels(fd_onsets_, kOnsetsName, onset_labels);
}

NoteList Dataset::notes(std::size_t p) const {
  const PieceInfo& piece = info_.pieces.at(p);
  const std::string path = notes_path(dir_, piece.name);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(path + ": missing reference notes of piece \"" + piece.name + "\"");
  return read_notes_tsv(path);
}

// ---- DatasetWriter ----------------------------------------------------------------------------

struct DatasetWriter::Impl {
  std::string dir;        // where the arrays are written: a hidden work folder beside final_dir
  std::string final_dir;  // where the finished data set appears, in one rename
  DatasetInfo info;
  std::size_t total = 0;
  std::set<std::string> names;
  int fd_cqt = -1, fd_frames = -1, fd_onsets = -1;
  bool finished = false;
  mutable std::mutex mutex;

  void close_all() {
    for (int* fd : {&fd_cqt, &fd_frames, &fd_onsets})
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
  }
};

namespace {
int open_write(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot create: " + errno_text());
  return fd;
}

// Work folders are ".NAME.qs-tmp-PID" beside the data set: hidden (preprocess skips hidden
// folders) and on the same file system, so the finished set moves into place with a rename.
// Returns the folder they live in and the name prefix "NAME.qs-tmp-".
std::pair<fs::path, std::string> work_dir_prefix(const fs::path& final_dir) {
  fs::path f = final_dir;
  if (f.filename().empty()) f = f.parent_path();  // "out/" names "out"
  return {f.parent_path(), "." + f.filename().string() + ".qs-tmp-"};
}

std::string work_dir_for(const fs::path& final_dir, long pid) {
  const auto [parent, prefix] = work_dir_prefix(final_dir);
  return (parent / (prefix + std::to_string(pid))).string();
}

// Work folders of runs that were killed (kill -9, power loss) can hold gigabytes: remove those
// whose process is gone.
void remove_stale_work_dirs(const fs::path& final_dir) {
  const auto [folder, prefix] = work_dir_prefix(final_dir);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder.empty() ? fs::path(".") : folder, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::stol(pid_text);
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still running
    std::error_code rm;
    fs::remove_all(e.path(), rm);
  }
}

// An existing output folder is replaced only when it is empty or a data set: never a folder of
// the user's other files.
void check_replaceable(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": exists and is not a folder");
  if (fs::is_empty(dir, ec) || fs::exists(fs::path(dir) / kJsonName, ec) || fs::exists(fs::path(dir) / kCqtName, ec))
    return;
  throw Error(dir + ": exists and is not a data set (no dataset.json); choose a new or empty folder");
}

// Moves the finished work folder to final_dir; an earlier data set there is swapped out in the
// same step (renameat2 RENAME_EXCHANGE), so readers see the old set or the new one, never a mix.
void move_into_place(const std::string& work, const std::string& final_dir) {
  std::error_code ec;
  if (fs::exists(final_dir, ec)) {
    if (::renameat2(AT_FDCWD, work.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) != 0)
      throw Error(final_dir + ": cannot replace the earlier data set: " + errno_text());
    fs::remove_all(work, ec);  // now the earlier set
    return;
  }
  if (::rename(work.c_str(), final_dir.c_str()) != 0) throw Error(final_dir + ": cannot move into place: " + errno_text());
}
}  // namespace

DatasetWriter::DatasetWriter(const std::string& dir, DatasetInfo info) : impl_(new Impl) {
  try {
    info.format_version = kDatasetFormatVersion;
    info.pieces.clear();
    try {
      info.features.validate();
    } catch (const Error& e) {
      throw Error(dir + ": data set features: " + e.what());
    }
    if (info.n_notes < 1 || info.n_notes > 128) throw Error(dir + ": data set n_notes must be in 1..128");
    if (info.segment_frames < 1) throw Error(dir + ": data set segment_frames must be positive");
    impl_->info = std::move(info);
    std::error_code ec;
    check_replaceable(dir);
    impl_->final_dir = dir;
    const fs::path parent = fs::path(dir).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec) throw Error(dir + ": cannot create directory: " + ec.message());
    remove_stale_work_dirs(dir);
    // Everything is written into a work folder and moved into place by finish(): an earlier data
    // set at `dir` stays whole until then, whatever happens to this run.
    const std::string work = impl_->dir = work_dir_for(dir, ::getpid());
    fs::remove_all(work, ec);
    fs::create_directories(fs::path(work) / kNotesDir, ec);
    if (ec) throw Error(join(dir, kNotesDir) + ": cannot create directory: " + ec.message());
    impl_->fd_cqt = open_write(join(work, kCqtName));
    impl_->fd_frames = open_write(join(work, kFramesName));
    impl_->fd_onsets = open_write(join(work, kOnsetsName));
  } catch (...) {
    impl_->close_all();
    std::error_code ec;
    if (!impl_->dir.empty()) fs::remove_all(impl_->dir, ec);
    delete impl_;
    throw;
  }
}

DatasetWriter::~DatasetWriter() {
  impl_->close_all();
  if (!impl_->finished && !impl_->dir.empty()) {  // failed or abandoned: no half data set remains
    std::error_code ec;
    fs::remove_all(impl_->dir, ec);
  }
  delete impl_;
}

void DatasetWriter::add_piece(const std::string& name, const float* cqt, const std::uint8_t* frame_labels,
                              const std::uint8_t* onset_labels, std::size_t n_frames, const NoteList& notes) {
  check_piece_name(name);
  Impl& m = *impl_;
  const std::size_t bins = static_cast<std::size_t>(m.info.features.n_bins);
  const std::size_t nn = static_cast<std::size_t>(m.info.n_notes);
  // Notes first (outside the lock: one file per piece), then the arrays under the lock so pieces
  // are contiguous and listed in the order they were finished.
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    if (m.finished) throw Error(m.dir + ": data set already finished");
    if (!m.names.insert(name).second) throw Error(m.dir + ": duplicate piece name \"" + name + "\"");
  }
  const fs::path np = notes_path(m.dir, name);
  std::error_code ec;
  fs::create_directories(np.parent_path(), ec);
  if (ec) throw Error(np.parent_path().string() + ": cannot create directory: " + ec.message());
  write_notes_tsv(np.string(), notes);

  std::lock_guard<std::mutex> lock(m.mutex);
  const std::size_t off = m.total;
  if (n_frames > 0) {
    pwrite_exact(m.fd_cqt, cqt, n_frames * bins * sizeof(float), off * bins * sizeof(float), join(m.dir, kCqtName));
    pwrite_exact(m.fd_frames, frame_labels, n_frames * nn, off * nn, join(m.dir, kFramesName));
    pwrite_exact(m.fd_onsets, onset_labels, n_frames * nn, off * nn, join(m.dir, kOnsetsName));
  }
  m.total += n_frames;
  m.info.pieces.push_back({name, n_frames, off});
}

void DatasetWriter::set_count(const std::string& key, std::size_t value) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->info.counts[key] = value;
}

std::size_t DatasetWriter::n_pieces() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->info.pieces.size();
}

std::size_t DatasetWriter::total_frames() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->total;
}

void DatasetWriter::finish() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mutex);
  if (m.finished) return;
  for (auto [fd, name] : {std::pair{m.fd_cqt, kCqtName}, {m.fd_frames, kFramesName}, {m.fd_onsets, kOnsetsName}})
    if (::fsync(fd) != 0 && errno != EINVAL) throw Error(join(m.dir, name) + ": fsync failed: " + errno_text());
  m.close_all();
  // The arrays hold the pieces in the order they finished (which varies with threads); the list
  // is sorted by name so piece indices are the same however many workers wrote the set.
  std::sort(m.info.pieces.begin(), m.info.pieces.end(),
            [](const PieceInfo& a, const PieceInfo& b) { return a.name < b.name; });
  write_file_atomically(join(m.dir, kJsonName), dataset_info_to_json(m.info));
  move_into_place(m.dir, m.final_dir);
  m.finished = true;
}

}  // namespace qs
