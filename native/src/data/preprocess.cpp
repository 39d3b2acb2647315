#include "data/preprocess.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include "data/dataset.hpp"
#include "cli/progress.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/cqt.hpp"
#include "qscribe/error.hpp"
#include "qscribe/note_io.hpp"
#include "qscribe/piano_roll.hpp"

namespace fs = std::filesystem;

namespace qs {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Preference order when one piece has several audio files / label files.
const std::vector<std::string> kAudioExts = {".wav", ".flac", ".ogg", ".opus", ".mp3"};
const std::vector<std::string> kPairLabelExts = {".tsv", ".mid", ".midi"};

int rank_of(const std::vector<std::string>& exts, const std::string& ext) {
  auto it = std::find(exts.begin(), exts.end(), ext);
  return it == exts.end() ? -1 : static_cast<int>(it - exts.begin());
}

bool hidden(const fs::path& p) {
  const std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

// Piece names become file names under notes/: keep them printable and free of backslashes.
std::string clean_name(std::string n) {
  for (auto& c : n)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\') c = '_';
  return n;
}

struct Group {
  std::vector<fs::path> audio, labels;
};

// Turns name -> files into pairs and unmatched entries.
DiscoveredFiles pair_up(std::map<std::string, Group>& groups, const std::vector<std::string>& label_exts) {
  DiscoveredFiles out;
  for (auto& [name, g] : groups) {
    auto by_rank = [](const std::vector<std::string>& exts) {
      return [&exts](const fs::path& a, const fs::path& b) {
        const int ra = rank_of(exts, lower(a.extension().string())), rb = rank_of(exts, lower(b.extension().string()));
        return ra != rb ? ra < rb : a < b;
      };
    };
    std::sort(g.audio.begin(), g.audio.end(), by_rank(kAudioExts));
    std::sort(g.labels.begin(), g.labels.end(), by_rank(label_exts));
    if (g.labels.empty()) {
      for (const auto& a : g.audio)
        out.unmatched.push_back({a.string(), "audio_without_labels", a.string() + ": no labels for this audio file"});
      continue;
    }
    if (g.audio.empty()) {
      for (const auto& l : g.labels)
        out.unmatched.push_back({l.string(), "labels_without_audio", l.string() + ": no audio file for these labels"});
      continue;
    }
    for (std::size_t i = 1; i < g.audio.size(); ++i)
      out.unmatched.push_back({g.audio[i].string(), "duplicate_audio",
                               g.audio[i].string() + ": another audio file of the same piece is used (" +
                                   g.audio[0].filename().string() + ")"});
    out.ignored += g.labels.size() - 1;  // e.g. NAME.tsv and NAME.mid: the preferred one is used
    out.pairs.push_back({clean_name(name), g.audio[0].string(), g.labels[0].string()});
  }
  return out;
}

void require_dir(const fs::path& p, const std::string& what) {
  std::error_code ec;
  if (!fs::is_directory(p, ec)) throw Error(p.string() + ": no such folder (" + what + ")");
}

}  // namespace

CqtParams preprocess_cqt_params(const PreprocessOptions& o) {
  CqtParams p;
  p.sample_rate = o.sample_rate;
  p.hop_length = o.hop_length;
  p.fmin = o.fmin;
  p.bins_per_semitone = o.bins_per_note;
  p.n_bins = 88 * o.bins_per_note;
  p.filter_scale = o.filter_scale;
  p.future_fraction = o.future_fraction;
  return p;
}

int preprocess_segment_frames(const PreprocessOptions& o) {
  const double f = std::round(o.batch_seconds * o.sample_rate / o.hop_length);
  return static_cast<int>(std::max(1.0, std::min(f, 1e9)));
}

DiscoveredFiles discover_musicnet(const std::string& root, const std::string& split) {
  require_dir(root, "--data: the MusicNet root");
  const fs::path data = fs::path(root) / (split + "_data"), labels = fs::path(root) / (split + "_labels");
  require_dir(data, "MusicNet layout: ROOT/" + split + "_data/ID.wav");
  require_dir(labels, "MusicNet layout: ROOT/" + split + "_labels/ID.csv");
  std::map<std::string, Group> groups;
  std::size_t ignored = 0;
  for (const auto& e : fs::directory_iterator(data)) {
    if (hidden(e.path()) || !e.is_regular_file()) continue;
    if (rank_of(kAudioExts, lower(e.path().extension().string())) >= 0) groups[e.path().stem().string()].audio.push_back(e.path());
    else ++ignored;
  }
  for (const auto& e : fs::directory_iterator(labels)) {
    if (hidden(e.path()) || !e.is_regular_file()) continue;
    if (lower(e.path().extension().string()) == ".csv") groups[e.path().stem().string()].labels.push_back(e.path());
    else ++ignored;
  }
  DiscoveredFiles out = pair_up(groups, {".csv"});
  out.ignored += ignored;
  return out;
}

DiscoveredFiles discover_pairs(const std::string& root, const std::string& split) {
  require_dir(root, "--data: the aligned-pairs root");
  std::error_code ec;
  fs::path base = fs::path(root) / split;
  const bool split_folder = fs::is_directory(base, ec);
  if (!split_folder) base = root;
  std::map<std::string, Group> groups;
  std::size_t ignored = 0;
  for (auto it = fs::recursive_directory_iterator(base, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    const fs::path& p = it->path();
    if (hidden(p)) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory()) {
      // A data set written inside the source tree (e.g. --out ROOT/out) is not source data.
      if (fs::exists(p / "cqt.f32", ec) || fs::exists(p / "dataset.json", ec)) {
        it.disable_recursion_pending();
        continue;
      }
      // ROOT without a split folder: don't wander into another split's folder.
      static const std::vector<std::string> kSplits = {"train", "test", "validation", "valid", "dev"};
      if (!split_folder && it.depth() == 0 &&
          std::find(kSplits.begin(), kSplits.end(), lower(p.filename().string())) != kSplits.end())
        it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    // `qscribe synth` leaves its manifest of random draws and each MIDI piece's beats
    // (NAME.beats.tsv) beside the pairs: not labels.
    const std::string file_name = p.filename().string();
    if (file_name == "synth_manifest.tsv" ||
        (file_name.size() > 10 && file_name.compare(file_name.size() - 10, 10, ".beats.tsv") == 0)) {
      ++ignored;
      continue;
    }
    const std::string ext = lower(p.extension().string());
    const fs::path rel = p.lexically_relative(base);
    const std::string key = (rel.parent_path() / rel.stem()).generic_string();
    if (rank_of(kAudioExts, ext) >= 0) groups[key].audio.push_back(p);
    else if (rank_of(kPairLabelExts, ext) >= 0) groups[key].labels.push_back(p);
    else ++ignored;
  }
  DiscoveredFiles out = pair_up(groups, kPairLabelExts);
  out.ignored += ignored;
  return out;
}

std::size_t PreprocessSummary::skipped_total() const {
  std::size_t n = 0;
  for (const auto& [k, v] : skipped) n += v;
  return n;
}

double PreprocessSummary::files_per_second() const {
  return elapsed_seconds > 0 ? static_cast<double>(files_seen) / elapsed_seconds : 0.0;
}

std::string format_preprocess_summary(const PreprocessSummary& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "preprocess: %zu pieces, %zu frames, %.2f h of audio -> %s; ", s.pieces, s.frames,
                s.audio_seconds / 3600.0, s.out_dir.c_str());
  std::string line = buf;
  line += "skipped " + std::to_string(s.skipped_total());
  if (!s.skipped.empty()) {
    line += " (";
    bool first = true;
    for (const auto& [k, v] : s.skipped) {
      if (!first) line += ", ";
      first = false;
      std::string reason = k;
      std::replace(reason.begin(), reason.end(), '_', ' ');
      line += std::to_string(v) + " " + reason;
    }
    line += ")";
  }
  std::snprintf(buf, sizeof buf, "; %zu files in %.1f s, %.1f files/s", s.files_seen, s.elapsed_seconds,
                s.files_per_second());
  return line + buf;
}

namespace {

void check_preprocess_options(const PreprocessOptions& o) {
  if (o.format != "musicnet" && o.format != "pairs")
    throw Error("--format must be musicnet or pairs, got \"" + o.format + "\"");
  if (o.split.empty() || o.split.find('/') != std::string::npos || o.split == "." || o.split == "..")
    throw Error("--split must be a plain folder name, got \"" + o.split + "\"");
  if (o.data_root.empty()) throw Error("--data is required: the root of the data set");
  if (o.num_workers < 1) throw Error("--num-workers must be at least 1");
  if (!(o.batch_seconds > 0)) throw Error("--batch-seconds must be positive");
  if (o.bins_per_note < 1 || o.bins_per_note > 8) throw Error("--bins-per-note must be in 1..8");
  if (o.n_batches < 1) throw Error("--n-batches must be at least 1");
}

CqtParams checked_cqt_params(const PreprocessOptions& o) {
  check_preprocess_options(o);
  const CqtParams params = preprocess_cqt_params(o);
  params.validate();
  return params;
}

// What dataset.json says about the features, notes and origin of the data set.
DatasetInfo dataset_info_for(const PreprocessOptions& o, const CqtParams& params, const RollLayout& layout) {
  DatasetInfo info;
  info.features = params;
  info.n_notes = static_cast<int>(layout.n_notes);
  info.lowest_pitch = layout.lowest_pitch;
  info.only_note_names = o.only_note_names;
  info.segment_frames = preprocess_segment_frames(o);
  info.split = o.split;
  info.source = o.format + ":" + fs::absolute(o.data_root).lexically_normal().string();
  return info;
}

// One preprocess run: workers take the pairs in turn; a bad input file is skipped (counted by
// reason, warned about), an output error ends the run.
class PreprocessRun {
 public:
  PreprocessRun(const PreprocessOptions& o, const std::function<void(const std::string&)>& warn)
      : o_(o), warn_in_(warn), params_(checked_cqt_params(o)), cqt_(params_),
        layout_(o.only_note_names ? RollLayout::note_names() : RollLayout::piano()),
        tty_(o.progress && isatty(STDERR_FILENO) != 0) {}

  PreprocessSummary run() {
    const auto t0 = std::chrono::steady_clock::now();
    files_ = o_.format == "musicnet" ? discover_musicnet(o_.data_root, o_.split) : discover_pairs(o_.data_root, o_.split);
    sum_.out_dir = o_.out_dir.empty() ? (fs::path("data") / "preprocessed" / o_.split).string() : o_.out_dir;
    sum_.files_seen = files_.pairs.size() + files_.unmatched.size();
    if (files_.pairs.empty() && files_.unmatched.empty())
      throw Error(o_.data_root + ": no audio or label files found for split \"" + o_.split + "\" (" + o_.format +
                  " layout)");
    for (const auto& u : files_.unmatched) skip(u.path, u.reason, u.message);

    DatasetWriter writer(sum_.out_dir, dataset_info_for(o_, params_, layout_));
    cli::ProgressBar bar("preprocess " + o_.split, files_.pairs.size(), "files", o_.progress);
    writer_ = &writer;
    bar_ = &bar;
    run_workers();
    bar.finish();
    if (fatal_) std::rethrow_exception(fatal_);

    sum_.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (sum_.pieces == 0)
      throw Error("no piece could be preprocessed: all " + std::to_string(sum_.files_seen) + " files were skipped (" +
                  sum_.out_dir + " is not a data set)");
    write_counts(writer);
    writer.finish();
    return sum_;
  }

 private:
  void warn(const std::string& msg) {
    std::lock_guard<std::mutex> lock(warn_mutex_);
    if (warn_in_) warn_in_(msg);
    else std::fprintf(stderr, "%sqscribe: warning: %s\n", tty_ ? "\r\033[K" : "", msg.c_str());  // clear a half-drawn progress line
  }

  void skip(const std::string& path, const std::string& reason, const std::string& message) {
    warn(message);
    std::lock_guard<std::mutex> lock(sum_mutex_);
    ++sum_.skipped[reason];
    sum_.skipped_files.push_back({path, reason, message});
  }

  void run_workers() {
    const std::size_t n_threads =
        std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(o_.num_workers), files_.pairs.size()));
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t + 1 < n_threads; ++t) threads.emplace_back([this] { work(); });
    work();
    for (auto& t : threads) t.join();
  }

  void work() {
    std::vector<std::uint8_t> fr, on;
    while (!stop_) {
      const std::size_t i = next_++;
      if (i >= files_.pairs.size()) break;
      try {
        add_pair(files_.pairs[i], fr, on);
        bar_->add();
      } catch (...) {
        // Output errors (disk full, ...) end the whole run.
        std::lock_guard<std::mutex> lock(sum_mutex_);
        if (!fatal_) fatal_ = std::current_exception();
        stop_ = true;
      }
    }
  }

  // Reads the pair, computes its CQT and rolls, and stores them; a pair that cannot be read is
  // skipped. `fr` and `on` are the worker's roll buffers. Throws only on output errors.
  void add_pair(const SourcePair& sp, std::vector<std::uint8_t>& fr, std::vector<std::uint8_t>& on) {
    NoteList notes;
    try {
      notes = o_.format == "musicnet" ? read_musicnet_csv(sp.labels) : read_notes(sp.labels);
    } catch (const std::exception& e) {
      return skip(sp.labels, "bad_labels", e.what());
    }
    AudioBuffer audio;
    try {
      audio = load_audio(sp.audio, params_.sample_rate);
    } catch (const std::exception& e) {
      return skip(sp.audio, "unreadable_audio", e.what());
    }
    if (audio.samples.empty()) return skip(sp.audio, "empty_audio", sp.audio + ": no audio samples");
    const double seconds = audio.duration();
    const Spectrogram spec = cqt_.transform(audio);
    audio = AudioBuffer{};  // free the samples before the rolls
    const double frame_rate = params_.frame_rate();
    const PianoRoll froll = notes_to_frame_roll(notes, spec.n_frames, frame_rate, layout_);
    const PianoRoll oroll = notes_to_onset_roll(notes, spec.n_frames, frame_rate, layout_);
    fr.resize(froll.data.size());
    on.resize(oroll.data.size());
    for (std::size_t k = 0; k < fr.size(); ++k) fr[k] = froll.data[k] != 0.0f;
    for (std::size_t k = 0; k < on.size(); ++k) on[k] = oroll.data[k] != 0.0f;
    const double duration = static_cast<double>(spec.n_frames) / frame_rate;
    std::size_t outside = 0;
    for (const auto& n : notes)
      if (n.onset >= duration) ++outside;
    writer_->add_piece(sp.name, spec.data.data(), fr.data(), on.data(), spec.n_frames, notes);
    std::lock_guard<std::mutex> lock(sum_mutex_);
    ++sum_.pieces;
    sum_.frames += spec.n_frames;
    sum_.audio_seconds += seconds;
    notes_total_ += notes.size();
    notes_outside_ += outside;
  }

  void write_counts(DatasetWriter& writer) const {
    writer.set_count("files_seen", sum_.files_seen);
    writer.set_count("pieces", sum_.pieces);
    writer.set_count("notes", notes_total_);
    writer.set_count("notes_starting_after_audio_end", notes_outside_);
    writer.set_count("ignored_files", files_.ignored);
    writer.set_count("skipped", sum_.skipped_total());
    for (const auto& [k, v] : sum_.skipped) writer.set_count("skipped_" + k, v);
  }

  const PreprocessOptions& o_;
  const std::function<void(const std::string&)>& warn_in_;
  const CqtParams params_;
  const Cqt cqt_;  // builds the kernels once; transform() is const and thread-safe
  const RollLayout layout_;
  const bool tty_;
  DiscoveredFiles files_;
  PreprocessSummary sum_;
  std::size_t notes_total_ = 0, notes_outside_ = 0;
  std::mutex warn_mutex_, sum_mutex_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr fatal_;
  DatasetWriter* writer_ = nullptr;
  cli::ProgressBar* bar_ = nullptr;
};

}  // namespace

PreprocessSummary preprocess(const PreprocessOptions& o, const std::function<void(const std::string&)>& warn) {
  return PreprocessRun(o, warn).run();
}

}  // namespace qs
