// `qscribe preprocess` / `qscribe features`, the on-disk data set and the .npy writer: tiny
// MusicNet-layout and aligned-pairs fixtures are synthesised here (sine tones at 44.1 kHz).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "data/preprocess.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/cqt.hpp"
#include "qscribe/error.hpp"
#include "qscribe/midi_file.hpp"
#include "qscribe/note_io.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

constexpr double kSr = 44100.0;
constexpr double kPi = 3.14159265358979323846;

double midi_hz(int p) { return 440.0 * std::pow(2.0, (p - 69) / 12.0); }

// Sine tones for `notes` (with 10 ms fades) in `seconds` of audio at 44.1 kHz.
qs::AudioBuffer render(const qs::NoteList& notes, double seconds) {
  qs::AudioBuffer a;
  a.sample_rate = kSr;
  a.samples.assign(static_cast<std::size_t>(seconds * kSr), 0.0f);
  for (const auto& n : notes) {
    const auto s0 = static_cast<std::size_t>(n.onset * kSr), s1 = static_cast<std::size_t>(n.offset * kSr);
    const double fade = 0.01 * kSr;
    for (std::size_t i = s0; i < s1 && i < a.samples.size(); ++i) {
      const double env = std::min({1.0, (i - s0) / fade, (s1 - i) / fade});
      a.samples[i] += static_cast<float>(0.3 * env * std::sin(2 * kPi * midi_hz(n.pitch) * (i - s0) / kSr));
    }
  }
  return a;
}

const qs::NoteList kNotesA = {{0.5, 1.5, 69, 64}, {1.0, 2.0, 60, 64}};  // A4, C4
const qs::NoteList kNotesB = {{0.2, 0.9, 76, 64}};                      // E5

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// MusicNet layout: 1, 2 usable; 3.wav without labels; 4.csv without audio; 5.wav corrupt.
std::string make_musicnet(const std::string& tag) {
  const std::string root = qs::test::temp_dir(tag);
  fs::create_directories(root + "/train_data");
  fs::create_directories(root + "/train_labels");
  qs::save_wav(root + "/train_data/1.wav", render(kNotesA, 2.5));
  write_text(root + "/train_labels/1.csv", qs::format_musicnet_csv(kNotesA));
  qs::save_wav(root + "/train_data/2.wav", render(kNotesB, 1.2));
  write_text(root + "/train_labels/2.csv", qs::format_musicnet_csv(kNotesB));
  qs::save_wav(root + "/train_data/3.wav", render(kNotesB, 1.0));
  write_text(root + "/train_labels/4.csv", qs::format_musicnet_csv(kNotesB));
  const auto junk = qs::test::random_bytes(5, 4000);
  std::ofstream(root + "/train_data/5.wav", std::ios::binary)
      .write(reinterpret_cast<const char*>(junk.data()), static_cast<std::streamsize>(junk.size()));
  write_text(root + "/train_labels/5.csv", qs::format_musicnet_csv(kNotesB));
  return root;
}

// Aligned pairs: train/a.wav + a.mid, train/sub/b.wav + b.tsv, train/c.mid (no audio).
std::string make_pairs(const std::string& tag) {
  const std::string root = qs::test::temp_dir(tag);
  fs::create_directories(root + "/train/sub");
  qs::save_wav(root + "/train/a.wav", render(kNotesA, 2.5));
  qs::write_midi_file(root + "/train/a.mid", kNotesA);
  qs::save_wav(root + "/train/sub/b.wav", render(kNotesB, 1.2));
  qs::write_notes_tsv(root + "/train/sub/b.tsv", kNotesB);
  qs::write_midi_file(root + "/train/c.mid", kNotesB);
  return root;
}

qs::PreprocessOptions options(const std::string& root, const std::string& format, const std::string& out) {
  qs::PreprocessOptions o;
  o.data_root = root;
  o.format = format;
  o.out_dir = out;
  o.num_workers = 2;
  o.progress = false;
  return o;
}

std::size_t expected_frames(const std::string& wav) {
  return qs::Cqt(qs::CqtParams{}).n_frames(qs::load_audio(wav, 22050.0).size());
}

int run(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Frames [first, last] that a note [onset, offset) covers on the 22050/512 grid (piano_roll.hpp).
std::pair<std::size_t, std::size_t> covered(double onset, double offset) {
  const double fr = 22050.0 / 512.0;
  return {static_cast<std::size_t>(std::ceil(onset * fr)), static_cast<std::size_t>(std::ceil(offset * fr)) - 1};
}

// Checks piece "A" (kNotesA, 2.5 s) of a piano-layout data set.
void check_piece_a(const qs::Dataset& ds, std::size_t p, std::size_t n_frames) {
  const auto& info = ds.info();
  ASSERT_EQ(ds.piece(p).n_frames, n_frames);
  const std::size_t bins = 352, notes = 88;
  std::vector<float> cqt(n_frames * bins), fr(n_frames * notes), on(n_frames * notes);
  ds.read(p, 0, n_frames, cqt.data(), fr.data(), on.data());
  ASSERT_EQ(info.n_notes, 88);
  for (const auto& n : kNotesA) {
    const auto [first, last] = covered(n.onset, n.offset);
    const std::size_t col = static_cast<std::size_t>(n.pitch - 21);
    for (std::size_t j = 0; j < n_frames; ++j)
      EXPECT_EQ(fr[j * notes + col], (j >= first && j <= last) ? 1.0f : 0.0f) << "pitch " << n.pitch << " frame " << j;
    const auto onset_frame = static_cast<std::size_t>(std::lround(n.onset * 22050.0 / 512.0));
    for (std::size_t j = 0; j < n_frames; ++j)
      EXPECT_EQ(on[j * notes + col], j == onset_frame ? 1.0f : 0.0f) << "pitch " << n.pitch << " frame " << j;
  }
  // No other pitch is labelled.
  float others = 0;
  for (std::size_t j = 0; j < n_frames; ++j)
    for (std::size_t k = 0; k < notes; ++k)
      if (k != 69 - 21 && k != 60 - 21) others += fr[j * notes + k] + on[j * notes + k];
  EXPECT_EQ(others, 0.0f);
  // CQT energy sits at the labelled pitch: frame 35 (0.81 s) holds only A4, frame 60 (1.39 s) A4 + C4.
  auto argmax = [&](std::size_t j, std::size_t lo, std::size_t hi) {
    return static_cast<std::size_t>(std::max_element(cqt.begin() + j * bins + lo, cqt.begin() + j * bins + hi) -
                                    (cqt.begin() + j * bins));
  };
  EXPECT_NEAR(static_cast<double>(argmax(35, 0, bins)), (69 - 21) * 4.0, 1.0);
  EXPECT_NEAR(static_cast<double>(argmax(60, 0, 170)), (60 - 21) * 4.0, 1.0);
  EXPECT_NEAR(static_cast<double>(argmax(60, 170, bins)), (69 - 21) * 4.0, 1.0);
  EXPECT_LT(cqt[35 * bins + (60 - 21) * 4], 0.05f * cqt[35 * bins + (69 - 21) * 4]);  // C4 not yet sounding
  // Reads past the end are zero, and partial reads match the whole-piece read.
  std::vector<float> tail(10 * bins, -1.0f), tail_fr(10 * notes, -1.0f);
  ds.read(p, n_frames - 4, 10, tail.data(), tail_fr.data(), nullptr);
  for (std::size_t i = 0; i < 4 * bins; ++i) ASSERT_EQ(tail[i], cqt[(n_frames - 4) * bins + i]);
  for (std::size_t i = 4 * bins; i < 10 * bins; ++i) ASSERT_EQ(tail[i], 0.0f);
  for (std::size_t i = 4 * notes; i < 10 * notes; ++i) ASSERT_EQ(tail_fr[i], 0.0f);
}

}  // namespace

TEST(Preprocess, MusicNetRoundTripSkipsBadFiles) {
  const std::string root = make_musicnet("pp-musicnet");
  const std::string out = root + "/out";
  std::vector<std::string> warnings;
  const qs::PreprocessSummary s =
      qs::preprocess(options(root, "musicnet", out), [&](const std::string& w) { warnings.push_back(w); });
  EXPECT_EQ(s.pieces, 2u);
  EXPECT_EQ(s.files_seen, 5u);
  EXPECT_EQ(s.skipped_total(), 3u);
  EXPECT_EQ(s.skipped.at("unreadable_audio"), 1u);
  EXPECT_EQ(s.skipped.at("audio_without_labels"), 1u);
  EXPECT_EQ(s.skipped.at("labels_without_audio"), 1u);
  EXPECT_EQ(warnings.size(), 3u);
  const std::string line = qs::format_preprocess_summary(s);
  EXPECT_NE(line.find("2 pieces"), std::string::npos) << line;
  EXPECT_NE(line.find("skipped 3"), std::string::npos) << line;
  EXPECT_NE(line.find("files/s"), std::string::npos) << line;
  EXPECT_NEAR(s.audio_seconds, 2.5 + 1.2, 1e-3);

  const qs::Dataset ds(out);
  ASSERT_EQ(ds.n_pieces(), 2u);
  EXPECT_EQ(ds.piece(0).name, "1");
  EXPECT_EQ(ds.piece(1).name, "2");
  EXPECT_EQ(ds.info().segment_frames, 43);
  EXPECT_EQ(ds.info().split, "train");
  EXPECT_EQ(ds.info().features.n_bins, 352);
  EXPECT_EQ(ds.info().total_frames(), s.frames);
  EXPECT_EQ(ds.info().counts.at("skipped_unreadable_audio"), 1u);
  check_piece_a(ds, 0, expected_frames(root + "/train_data/1.wav"));
  EXPECT_EQ(ds.piece(1).n_frames, expected_frames(root + "/train_data/2.wav"));
  const qs::NoteList back = ds.notes(0);
  ASSERT_EQ(back.size(), kNotesA.size());
  qs::NoteList sorted = kNotesA;
  qs::sort_notes(sorted);
  for (std::size_t i = 0; i < back.size(); ++i) {
    EXPECT_NEAR(back[i].onset, sorted[i].onset, 1e-5);
    EXPECT_EQ(back[i].pitch, sorted[i].pitch);
  }
}

TEST(Preprocess, PairsLayoutOnlyNoteNamesAndFlatRoot) {
  const std::string root = make_pairs("pp-pairs");
  qs::PreprocessOptions o = options(root, "pairs", root + "/out-names");
  o.only_note_names = true;
  o.batch_seconds = 2.0;
  const qs::PreprocessSummary s = qs::preprocess(o, [](const std::string&) {});
  EXPECT_EQ(s.pieces, 2u);
  EXPECT_EQ(s.skipped.at("labels_without_audio"), 1u);
  const qs::Dataset ds(root + "/out-names");
  ASSERT_EQ(ds.n_pieces(), 2u);
  EXPECT_EQ(ds.piece(0).name, "a");
  EXPECT_EQ(ds.piece(1).name, "sub/b");
  EXPECT_EQ(ds.info().n_notes, 12);
  EXPECT_TRUE(ds.info().only_note_names);
  EXPECT_EQ(ds.info().segment_frames, 86);
  const std::size_t n = ds.piece(0).n_frames;
  std::vector<float> fr(n * 12);
  ds.read(0, 0, n, nullptr, fr.data(), nullptr);
  const auto [a0, a1] = covered(0.5, 1.5);
  const auto [c0, c1] = covered(1.0, 2.0);
  for (std::size_t j = 0; j < n; ++j) {
    EXPECT_EQ(fr[j * 12 + 9], (j >= a0 && j <= a1) ? 1.0f : 0.0f) << j;  // A
    EXPECT_EQ(fr[j * 12 + 0], (j >= c0 && j <= c1) ? 1.0f : 0.0f) << j;  // C
  }
  EXPECT_EQ(ds.notes(1).size(), 1u);
  EXPECT_EQ(ds.notes(1)[0].pitch, 76);

  // ROOT without a split folder: its files are the split.
  const std::string flat = qs::test::temp_dir("pp-flat");
  qs::save_wav(flat + "/x.wav", render(kNotesB, 1.0));
  qs::write_midi_file(flat + "/x.mid", kNotesB);
  // `qscribe synth`'s ground truth of beats and meters beside a pair is not a label file.
  std::ofstream(flat + "/x.beats.tsv") << "# time_s\tbar\tbeat_in_bar\n0.000000\t1\t1\n";
  std::ofstream(flat + "/x.meta.json") << "{}\n";
  const qs::PreprocessSummary f = qs::preprocess(options(flat, "pairs", flat + "/out"), [](const std::string&) {});
  EXPECT_EQ(f.pieces, 1u);
  EXPECT_EQ(f.skipped_total(), 0u);
  // Run again: the data set now inside ROOT (out/notes/x.tsv) is not taken for source labels.
  const qs::PreprocessSummary g = qs::preprocess(options(flat, "pairs", flat + "/out2"), [](const std::string&) {});
  EXPECT_EQ(g.pieces, 1u);
  EXPECT_EQ(g.skipped_total(), 0u);
}

TEST(Preprocess, BinaryEndToEnd) {
  const std::string root = make_pairs("pp-bin");
  const std::string out = root + "/ds", log = root + "/log.txt";
  const int rc = run(std::string(QSCRIBE_BIN) + " preprocess --data " + root + " --format pairs --out " + out +
                     " --num-workers 3 --no-progress 2> " + log);
  const std::string text = read_text(log);
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("warning: " + root + "/train/c.mid"), std::string::npos) << text;
  EXPECT_NE(text.find("preprocess: 2 pieces"), std::string::npos) << text;
  EXPECT_NE(text.find("1 labels without audio"), std::string::npos) << text;
  const qs::Dataset ds(out);
  ASSERT_EQ(ds.n_pieces(), 2u);
  check_piece_a(ds, 0, expected_frames(root + "/train/a.wav"));
  const auto j = nlohmann::json::parse(read_text(out + "/dataset.json"));
  EXPECT_EQ(j["format_version"], 1);
  EXPECT_EQ(j["features"]["hop_length"], 512);
  EXPECT_EQ(j["counts"]["skipped_labels_without_audio"], 1);

  // Usage errors exit 2; a missing layout exits 1 with one clear line.
  EXPECT_EQ(run(std::string(QSCRIBE_BIN) + " preprocess --data " + root + " --format nope 2>/dev/null"), 2);
  EXPECT_EQ(run(std::string(QSCRIBE_BIN) + " preprocess --data " + root + " --out " + root + "/x 2> " + log), 1);
  EXPECT_NE(read_text(log).find("train_data"), std::string::npos) << read_text(log);
}

TEST(Dataset, RejectsMissingTruncatedAndCorrupt) {
  const std::string dir = qs::test::temp_dir("ds-bad");
  EXPECT_THROW(qs::Dataset{dir + "/nothing"}, qs::Error);
  qs::DatasetInfo info;
  info.segment_frames = 4;
  const std::size_t bins = 352, notes = 88;
  {
    qs::DatasetWriter w(dir, info);
    // Two threads add pieces at once; names and contents must stay together.
    auto add = [&](const std::string& name, std::size_t frames, float value) {
      std::vector<float> cqt(frames * bins, value);
      std::vector<std::uint8_t> fr(frames * notes, 0), on(frames * notes, 0);
      if (frames >= 2) fr[notes + 5] = 1;
      w.add_piece(name, cqt.data(), fr.data(), on.data(), frames, {{0.0, 1.0, 26, 80}});
    };
    EXPECT_THROW(qs::Dataset{dir}, qs::Error);  // no dataset.json before finish()
    std::thread t1([&] { for (int i = 0; i < 20; ++i) add("t1_" + std::to_string(i), 3 + i, static_cast<float>(i)); });
    std::thread t2([&] { for (int i = 0; i < 20; ++i) add("t2_" + std::to_string(i), 5, 100.0f + i); });
    t1.join();
    t2.join();
    EXPECT_THROW(add("t1_0", 1, 0.0f), qs::Error);  // duplicate name
    EXPECT_THROW(add("../evil", 1, 0.0f), qs::Error);
    w.finish();
  }
  {
    const qs::Dataset ds(dir);
    ASSERT_EQ(ds.n_pieces(), 40u);
    for (std::size_t p = 0; p < ds.n_pieces(); ++p) {
      const auto& pc = ds.piece(p);
      const bool first = pc.name.rfind("t1_", 0) == 0;
      const int i = std::stoi(pc.name.substr(3));
      ASSERT_EQ(pc.n_frames, first ? 3u + i : 5u);
      std::vector<float> cqt(pc.n_frames * bins), fr(pc.n_frames * notes);
      ds.read(p, 0, pc.n_frames, cqt.data(), fr.data(), nullptr);
      const float v = first ? static_cast<float>(i) : 100.0f + i;
      EXPECT_TRUE(std::all_of(cqt.begin(), cqt.end(), [v](float x) { return x == v; })) << pc.name;
      EXPECT_EQ(fr[notes + 5], 1.0f);
      EXPECT_EQ(std::count(fr.begin(), fr.end(), 1.0f), 1);
      EXPECT_EQ(ds.notes(p)[0].pitch, 26);
    }
    EXPECT_THROW(ds.read(40, 0, 1, nullptr, nullptr, nullptr), qs::Error);
  }
  // Truncated array: refused at open with a clear message.
  const auto size = fs::file_size(dir + "/frames.u8");
  fs::resize_file(dir + "/frames.u8", size - 1);
  try {
    qs::Dataset ds(dir);
    ADD_FAILURE() << "truncated data set opened";
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  fs::resize_file(dir + "/frames.u8", size);
  EXPECT_NO_THROW(qs::Dataset{dir});
  // Corrupt / wrong-version JSON.
  const std::string json = read_text(dir + "/dataset.json");
  write_text(dir + "/dataset.json", json.substr(0, json.size() / 2));
  EXPECT_THROW(qs::Dataset{dir}, qs::Error);
  auto j = nlohmann::json::parse(json);
  j["format_version"] = 99;
  write_text(dir + "/dataset.json", j.dump());
  try {
    qs::Dataset ds(dir);
    ADD_FAILURE() << "wrong version opened";
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("version 99"), std::string::npos) << e.what();
  }
  j["format_version"] = 1;
  j["pieces"][0]["n_frames"] = "many";
  write_text(dir + "/dataset.json", j.dump());
  EXPECT_THROW(qs::Dataset{dir}, qs::Error);
}

TEST(Features, NpyMatchesCqtAndNumpyReadsIt) {
  const std::string dir = qs::test::temp_dir("features");
  const std::string wav = dir + "/a.wav", npy = dir + "/a.npy";
  qs::save_wav(wav, render(kNotesA, 2.5));
  const int rc = run(std::string(QSCRIBE_BIN) + " features " + wav + " -o " + npy + " 2>/dev/null");
  ASSERT_EQ(rc, 0);
  const std::string bytes = read_text(npy);
  ASSERT_GE(bytes.size(), 128u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ((10 + hlen) % 64, 0u);
  EXPECT_NE(bytes.find("'descr': '<f4'"), std::string::npos);

  const qs::Spectrogram ref = qs::Cqt(qs::CqtParams{}).transform(qs::load_audio(wav, 22050.0));
  const qs::NpyArray a = qs::read_npy(npy);
  ASSERT_EQ(a.rows, 352u);
  ASSERT_EQ(a.cols, ref.n_frames);
  EXPECT_EQ(bytes.size(), 10 + hlen + 4 * a.rows * a.cols);
  for (std::size_t b = 0; b < a.rows; ++b)
    for (std::size_t f = 0; f < a.cols; ++f) ASSERT_EQ(a.data[b * a.cols + f], ref.at(f, b)) << b << "," << f;

  // NumPy (Debian python3-numpy) reads it: same shape, dtype and values.
  double sum = 0;
  for (float v : ref.data) sum += v;
  const std::string py_out = dir + "/py.txt";
  const std::string cmd = "/usr/bin/python3 -c \"import numpy; a = numpy.load('" + npy +
                          "'); print(a.shape[0], a.shape[1], a.dtype, a.flags['C_CONTIGUOUS'], repr(float(a[192, 35])), "
                          "repr(float(a.astype(numpy.float64).sum())))\" > " + py_out;
  ASSERT_EQ(run(cmd), 0) << "python3-numpy missing or failed";
  std::istringstream in(read_text(py_out));
  std::size_t rows = 0, cols = 0;
  std::string dtype, contiguous;
  double v = 0, s = 0;
  in >> rows >> cols >> dtype >> contiguous >> v >> s;
  EXPECT_EQ(rows, 352u);
  EXPECT_EQ(cols, ref.n_frames);
  EXPECT_EQ(dtype, "float32");
  EXPECT_EQ(contiguous, "True");
  EXPECT_EQ(static_cast<float>(v), ref.at(35, 192));
  EXPECT_NEAR(s, sum, 1e-6 * sum);

  // Options change the shape; a bad option is refused.
  ASSERT_EQ(run(std::string(QSCRIBE_BIN) + " features " + wav + " -o " + npy +
                " --bins-per-note 2 --hop-length 256 2>/dev/null"),
            0);
  const qs::NpyArray b = qs::read_npy(npy);
  EXPECT_EQ(b.rows, 176u);
  EXPECT_EQ(b.cols, 1 + qs::load_audio(wav, 22050.0).size() / 256);
  EXPECT_EQ(run(std::string(QSCRIBE_BIN) + " features " + wav + " -o " + npy + " --sr 8000 2>/dev/null"), 1);
  // Truncated .npy is refused by the reader.
  fs::resize_file(npy, fs::file_size(npy) - 4);
  EXPECT_THROW(qs::read_npy(npy), qs::Error);
}
