// Text note formats (MusicNet CSV, TSV, JSON) and extension dispatch.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "qscribe/error.hpp"
#include "qscribe/midi_file.hpp"
#include "qscribe/note_io.hpp"
#include "test_support.hpp"

namespace {

const char* kMusicNetSample =
    "start_time,end_time,instrument,note,start_beat,end_beat,note_value\r\n"
    "9182,90078,43,53,4.0,1.5,Dotted Quarter\r\n"
    "9182,33758,42,65,4.0,0.5,Eighth\r\n"
    "44100,44100,1,60,0,0,Zero\r\n"
    "\r\n"
    "0,22050,1,21,0.0,1.0,\"Quarter, tied\"\r\n";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const qs::Error& e) {
    return e.what();
  }
  return "";
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(NoteIoMusicNet, ParsesLabelsWithCrlf) {
  const auto labels = qs::parse_musicnet_csv(kMusicNetSample);
  ASSERT_EQ(labels.size(), 3u);  // the zero-length row is skipped
  EXPECT_EQ(labels[0].start_time, 9182);
  EXPECT_EQ(labels[0].end_time, 90078);
  EXPECT_EQ(labels[0].instrument, 43);
  EXPECT_EQ(labels[0].note, 53);
  EXPECT_DOUBLE_EQ(labels[0].start_beat, 4.0);
  EXPECT_DOUBLE_EQ(labels[0].end_beat, 1.5);
  EXPECT_EQ(labels[0].note_value, "Dotted Quarter");
  EXPECT_EQ(labels[2].note_value, "Quarter, tied");

  const qs::NoteList notes = qs::musicnet_to_notes(labels);
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_DOUBLE_EQ(notes[0].onset, 0.0);
  EXPECT_DOUBLE_EQ(notes[0].offset, 0.5);
  EXPECT_EQ(notes[0].pitch, 21);
  EXPECT_DOUBLE_EQ(notes[1].onset, 9182 / 44100.0);
  EXPECT_EQ(notes[1].pitch, 53);

  const qs::NoteList at_22k = qs::musicnet_to_notes(labels, 22050.0);
  EXPECT_DOUBLE_EQ(at_22k[0].offset, 1.0);
  EXPECT_THROW(qs::musicnet_to_notes(labels, 0.0), qs::Error);
}

TEST(NoteIoMusicNet, HeaderRequiredAndBadRowsNamed) {
  EXPECT_NE(error_of([] { qs::parse_musicnet_csv(""); }).find("header"), std::string::npos);
  EXPECT_NE(error_of([] { qs::parse_musicnet_csv("9182,90078,43,53,4.0,1.5,Quarter\n"); }).find("line 1"),
            std::string::npos);
  const std::string head = "start_time,end_time,instrument,note,start_beat,end_beat,note_value\n";
  const std::string ok = "0,100,1,60,0,1,Quarter\n";
  EXPECT_NE(error_of([&] { qs::parse_musicnet_csv(head + ok + "abc,100,1,60,0,1,Q\n"); }).find("line 3"),
            std::string::npos);
  EXPECT_NE(error_of([&] { qs::parse_musicnet_csv(head + ok + ok + "0,100,1\n"); }).find("line 4"), std::string::npos);
  EXPECT_NE(error_of([&] { qs::parse_musicnet_csv(head + "0,100,1,200,0,1,Q\n"); }).find("note"), std::string::npos);
  EXPECT_NE(error_of([&] { qs::parse_musicnet_csv(head + "100,50,1,60,0,1,Q\n"); }).find("before"), std::string::npos);
  EXPECT_NE(error_of([&] { qs::parse_musicnet_csv(head + "0,100,1.5,60,0,1,Q\n"); }).find("instrument"),
            std::string::npos);
  EXPECT_NE(error_of([&] { qs::parse_musicnet_csv(head + "0,100,1,60,x,1,Q\n"); }).find("start_beat"),
            std::string::npos);
}

TEST(NoteIoMusicNet, FormatRoundTrip) {
  const qs::NoteList notes = {{0.5, 1.0, 60, 64}, {0.25, 2.0, 72, 64}};
  const qs::NoteList back = qs::musicnet_to_notes(qs::parse_musicnet_csv(qs::format_musicnet_csv(notes)));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_DOUBLE_EQ(back[0].onset, 0.25);
  EXPECT_DOUBLE_EQ(back[1].offset, 1.0);
}

TEST(NoteIoTsv, ReadsHeaderCommentsAndOptionalVelocity) {
  const std::string text =
      "# a comment\n"
      "onset\toffset\tpitch\tvelocity\n"
      "0.5\t1.25\t60\t100   # trailing comment\r\n"
      "\n"
      "0.1 0.2 61\n"
      "1,2,62.0,300,extra\n";
  const qs::NoteList notes = qs::parse_notes_tsv(text);
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0], (qs::Note{0.5, 1.25, 60, 100}));
  EXPECT_EQ(notes[1], (qs::Note{0.1, 0.2, 61, 64}));
  EXPECT_EQ(notes[2], (qs::Note{1.0, 2.0, 62, 127}));
  EXPECT_TRUE(qs::parse_notes_tsv("").empty());
}

TEST(NoteIoTsv, BadRowsNamed) {
  EXPECT_NE(error_of([] { qs::parse_notes_tsv("0 1 60\n0 1\n"); }).find("line 2"), std::string::npos);
  EXPECT_NE(error_of([] { qs::parse_notes_tsv("onset offset pitch\nonset offset pitch\n"); }).find("line 2"),
            std::string::npos);
  EXPECT_NE(error_of([] { qs::parse_notes_tsv("0 1 60\n\n1 0.5 60\n"); }).find("line 3"), std::string::npos);
  EXPECT_NE(error_of([] { qs::parse_notes_tsv("0 1 130\n"); }).find("pitch"), std::string::npos);
  EXPECT_NE(error_of([] { qs::parse_notes_tsv("0 nan 60\n"); }).find("offset"), std::string::npos);
  EXPECT_NE(error_of([] { qs::parse_notes_tsv("0 1 60 loud\n"); }).find("velocity"), std::string::npos);
}

TEST(NoteIoTsv, WriterFormatAndRoundTrip) {
  const qs::NoteList notes = {{1.0, 1.5, 64, 90}, {0.123456, 0.5, 60, 100}};
  const std::string text = qs::format_notes_tsv(notes);
  EXPECT_EQ(text, "# onset\toffset\tpitch\tvelocity\n0.123456\t0.500000\t60\t100\n1.000000\t1.500000\t64\t90\n");
  qs::TsvWriteOptions bare;
  bare.comment_header = false;
  bare.velocity = false;
  EXPECT_EQ(qs::format_notes_tsv(notes, bare), "onset\toffset\tpitch\n0.123456\t0.500000\t60\n1.000000\t1.500000\t64\n");
  EXPECT_EQ(qs::parse_notes_tsv(qs::format_notes_tsv(notes, bare)).size(), 2u);

  std::mt19937 rng(5);
  std::uniform_real_distribution<double> t(0, 100);
  qs::NoteList many;
  for (int i = 0; i < 200; ++i) {
    const double on = t(rng);
    many.push_back({on, on + 0.01 + t(rng) / 10, 21 + i % 88, 1 + i % 127});
  }
  qs::sort_notes(many);
  const qs::NoteList back = qs::parse_notes_tsv(qs::format_notes_tsv(many));
  ASSERT_EQ(back.size(), many.size());
  for (std::size_t i = 0; i < many.size(); ++i) {
    EXPECT_NEAR(back[i].onset, many[i].onset, 1e-6);
    EXPECT_NEAR(back[i].offset, many[i].offset, 1e-6);
    EXPECT_EQ(back[i].pitch, many[i].pitch);
    EXPECT_EQ(back[i].velocity, many[i].velocity);
  }
}

TEST(NoteIoJson, RoundTripWithMetadata) {
  const qs::NoteList notes = {{0.1, 0.30000000000000004, 60, 1}, {0.0, 1.0 / 3.0, 108, 127}};
  nlohmann::json meta = {{"model", "baseline"}, {"threshold", 0.5}};
  const std::string text = qs::format_notes_json(notes, meta);
  nlohmann::json meta_back;
  const qs::NoteList back = qs::parse_notes_json(text, &meta_back);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0], notes[1]);  // written sorted, doubles exact
  EXPECT_EQ(back[1], notes[0]);
  EXPECT_EQ(meta_back, meta);

  nlohmann::json none;
  qs::parse_notes_json(qs::format_notes_json(notes), &none);
  EXPECT_TRUE(none.is_object() && none.empty());
  EXPECT_EQ(qs::parse_notes_json(R"({"notes":[{"onset":0,"offset":1,"pitch":60}]})")[0].velocity, 64);
  EXPECT_EQ(qs::parse_notes_json(R"([{"onset":0,"offset":1,"pitch":60,"velocity":3}])")[0].velocity, 3);
}

TEST(NoteIoJson, ErrorsAreClear) {
  EXPECT_NE(error_of([] { qs::parse_notes_json("{"); }).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of([] { qs::parse_notes_json("{}"); }).find("notes"), std::string::npos);
  EXPECT_NE(error_of([] { qs::parse_notes_json(R"({"notes":5})"); }).find("array"), std::string::npos);
  EXPECT_NE(error_of([] { qs::parse_notes_json(R"({"notes":[{"onset":0,"offset":1,"pitch":60},{"onset":0}]})"); })
                .find("notes[1]"),
            std::string::npos);
  EXPECT_NE(error_of([] { qs::parse_notes_json(R"({"notes":[{"onset":"a","offset":1,"pitch":60}]})"); }).find("onset"),
            std::string::npos);
  EXPECT_NE(error_of([] { qs::parse_notes_json(R"({"notes":[{"onset":2,"offset":1,"pitch":60}]})"); }).find("after"),
            std::string::npos);
}

TEST(NoteIoFiles, DispatchOnExtension) {
  const std::string dir = qs::test::temp_dir("note-io");
  const qs::NoteList notes = {{0.25, 1.0, 60, 100}, {0.5, 0.75, 64, 80}};
  for (const char* name : {"a.mid", "b.MIDI", "c.tsv", "d.txt", "e.json", "f.csv"}) {
    const std::string path = dir + "/" + name;
    qs::write_notes(path, notes);
    const qs::NoteList back = qs::read_notes(path);
    ASSERT_EQ(back.size(), notes.size()) << name;
    for (std::size_t i = 0; i < notes.size(); ++i) {
      EXPECT_NEAR(back[i].onset, notes[i].onset, 1e-6) << name;
      EXPECT_NEAR(back[i].offset, notes[i].offset, 1e-6) << name;
      EXPECT_EQ(back[i].pitch, notes[i].pitch) << name;
      if (std::string(name) != "f.csv") EXPECT_EQ(back[i].velocity, notes[i].velocity) << name;
    }
  }
  EXPECT_NE(error_of([&] { qs::read_notes(dir + "/x.wav"); }).find("unknown note file type"), std::string::npos);
  EXPECT_NE(error_of([&] { qs::write_notes(dir + "/noext", notes); }).find("unknown note file type"), std::string::npos);
  EXPECT_NE(error_of([&] { qs::read_notes(dir + "/missing.tsv"); }).find("missing.tsv"), std::string::npos);

  write_file(dir + "/bad.tsv", "0 1 60\nzzz\n");
  const std::string e = error_of([&] { qs::read_notes(dir + "/bad.tsv"); });
  EXPECT_NE(e.find("bad.tsv"), std::string::npos) << e;
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;

  nlohmann::json meta;
  qs::write_notes_json(dir + "/m.json", notes, {{"source", "test"}});
  qs::read_notes_json(dir + "/m.json", &meta);
  EXPECT_EQ(meta["source"], "test");
}

// Random edits of valid texts: the readers may only throw qs::Error.
template <typename Parse>
void fuzz_text(const std::string& seed_text, Parse parse, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const char alphabet[] = "0123456789.,-+eE \t\r\n#\"xn{}[]:";
  for (int i = 0; i < 1500; ++i) {
    std::string s = seed_text;
    const int edits = 1 + static_cast<int>(rng() % 5);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      const std::size_t at = rng() % s.size();
      const char c = rng() % 4 == 0 ? static_cast<char>(rng()) : alphabet[rng() % (sizeof alphabet - 1)];
      switch (rng() % 3) {
        case 0: s[at] = c; break;
        case 1: s.insert(s.begin() + static_cast<long>(at), c); break;
        default: s.erase(at, 1 + rng() % 8); break;
      }
    }
    try {
      parse(s);
    } catch (const qs::Error&) {
    }
  }
}

TEST(NoteIoFuzz, ReadersOnlyThrowQsError) {
  const auto start = std::chrono::steady_clock::now();
  const qs::NoteList notes = {{0.5, 1.0, 60, 64}, {0.25, 2.0, 72, 99}, {3.0, 3.5, 21, 1}};
  fuzz_text(kMusicNetSample, [](const std::string& s) { qs::parse_musicnet_csv(s); }, 1);
  fuzz_text(qs::format_notes_tsv(notes), [](const std::string& s) { qs::parse_notes_tsv(s); }, 2);
  nlohmann::json meta = {{"a", {1, 2, 3}}};
  fuzz_text(qs::format_notes_json(notes, meta), [](const std::string& s) { qs::parse_notes_json(s); }, 3);
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    const auto b = qs::test::random_bytes(seed, seed % 100);
    const std::string s(b.begin(), b.end());
    for (auto* parse : {+[](const std::string& t) { qs::parse_notes_tsv(t); },
                        +[](const std::string& t) { qs::parse_musicnet_csv(t); },
                        +[](const std::string& t) { qs::parse_notes_json(t); }}) {
      try {
        parse(s);
      } catch (const qs::Error&) {
      }
    }
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
}

}  // namespace
