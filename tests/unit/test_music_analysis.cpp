// Beats, meter, key, quantisation and MusicXML on music built from a known beat grid.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "qscribe/error.hpp"
#include "qscribe/music_analysis.hpp"
#include "qscribe/musicxml.hpp"

namespace {

using qs::Note;
using qs::NoteList;

// Beat times of a piece whose tempo (bpm) at time t is tempo(t).
std::vector<double> beat_grid(double seconds, const std::function<double(double)>& tempo) {
  std::vector<double> b{0.5};
  while (b.back() < seconds) b.push_back(b.back() + 60.0 / tempo(b.back()));
  return b;
}

// A deterministic jitter of up to +-ms milliseconds.
double jitter(int i, double ms) { return ms * 1e-3 * std::sin(i * 12.9898) ; }

// Simple-meter accompaniment: bass on each downbeat, a chord on the other beats, an eighth-note
// melody; beats_per_bar beats per bar. Harmony changes every bar (I IV V I).
NoteList simple_piece(const std::vector<double>& beats, int beats_per_bar, double jitter_ms = 10) {
  NoteList notes;
  const int roots[4] = {48, 53, 55, 48};
  for (std::size_t i = 0; i + 1 < beats.size(); ++i) {
    const int bar = static_cast<int>(i) / beats_per_bar;
    const int root = roots[bar % 4];
    const double t = beats[i] + jitter(static_cast<int>(i), jitter_ms), ibi = beats[i + 1] - beats[i];
    if (i % beats_per_bar == 0) notes.push_back({t, t + ibi * 0.9, root - 12, 90});
    else
      for (int d : {0, 4, 7}) notes.push_back({t, t + ibi * 0.8, root + 12 + d, 60});
    const int mel[2] = {root + 24 + 4, root + 24 + 7};
    notes.push_back({t, t + ibi * 0.45, mel[0], 70});
    notes.push_back({t + ibi / 2, t + ibi * 0.95, mel[1], 60});
  }
  qs::sort_notes(notes);
  return notes;
}

// Fraction of reference beats with an estimated beat within 70 ms (mir_eval's F-measure window).
double beat_hit_rate(const std::vector<double>& ref, const std::vector<double>& est) {
  int hits = 0;
  for (double r : ref)
    for (double e : est)
      if (std::abs(e - r) < 0.07) {
        ++hits;
        break;
      }
  return ref.empty() ? 0.0 : static_cast<double>(hits) / static_cast<double>(ref.size());
}

TEST(BeatTracker, SteadyTempo) {
  const auto ref = beat_grid(30, [](double) { return 96.0; });
  const NoteList notes = simple_piece(ref, 4);
  const qs::BeatTrack bt = qs::track_beats(qs::onset_envelope(notes));
  EXPECT_GT(beat_hit_rate(ref, bt.beats), 0.9);
  EXPECT_NEAR(bt.tempo_bpm, 96.0, 3.0);
  EXPECT_LT(bt.beats.size(), ref.size() + 3);  // not the eighth-note level
  EXPECT_FALSE(bt.swing_shifted);               // straight eighths are not swing
}

TEST(BeatTracker, ChoosesTheMetricalLevelAndSaysWhy) {
  // 150 bpm, 2/4 with a bass note on every other beat: the half-tempo level (75 bpm) carries the
  // strongest beats; the tempo prior of the level choice keeps the written beat.
  const auto ref = beat_grid(40, [](double) { return 150.0; });
  const qs::BeatTrack bt = qs::track_beats(qs::onset_envelope(simple_piece(ref, 2)));
  EXPECT_GT(beat_hit_rate(ref, bt.beats), 0.9);
  EXPECT_NEAR(bt.tempo_bpm, 150.0, 4.0);
  ASSERT_GE(bt.levels.size(), 3u);  // the path's level and at least 2x and 1/2x
  double best = -1e300;
  for (const qs::BeatLevel& l : bt.levels) best = std::max(best, l.score);
  for (const qs::BeatLevel& l : bt.levels)
    if (l.score == best) EXPECT_EQ(l.beats, bt.beats);
}

TEST(BeatTracker, FollowsATempoRamp) {
  // 90 bpm, ramping to 130 bpm between 15 s and 25 s.
  const auto tempo = [](double t) { return t < 15 ? 90.0 : t > 25 ? 130.0 : 90.0 + 4.0 * (t - 15); };
  const auto ref = beat_grid(45, tempo);
  const qs::BeatTrack bt = qs::track_beats(qs::onset_envelope(simple_piece(ref, 4)));
  EXPECT_GT(beat_hit_rate(ref, bt.beats), 0.85);
  ASSERT_FALSE(bt.local_bpm.empty());
  EXPECT_NEAR(bt.local_bpm.front(), 90.0, 6.0);
  EXPECT_NEAR(bt.local_bpm.back(), 130.0, 8.0);
}

// A shuffle: on every beat a bass note and a short melody note, and at 2/3 of every beat a swung
// eighth with a chord (more onset strength than the beat itself, as in moo_redfarn).
NoteList shuffle_piece(const std::vector<double>& beats) {
  NoteList notes;
  for (std::size_t i = 0; i + 1 < beats.size(); ++i) {
    const double t = beats[i] + jitter(static_cast<int>(i), 8), ibi = beats[i + 1] - beats[i];
    notes.push_back({t, t + ibi * 0.6, 40, 80});
    notes.push_back({t, t + ibi * 0.6, 67, 70});
    const double u = t + ibi * 2.0 / 3.0;
    for (int p : {36, 60, 64, 67, 72}) notes.push_back({u, u + ibi * 0.9, p, 95});
  }
  qs::sort_notes(notes);
  return notes;
}

TEST(BeatTracker, SwingIsTrackedOnTheLongNote) {
  const auto ref = beat_grid(40, [](double) { return 120.0; });
  const qs::OnsetEnvelope env = qs::onset_envelope(shuffle_piece(ref));
  const qs::BeatTrack bt = qs::track_beats(env);
  EXPECT_TRUE(bt.swing_shifted);
  EXPECT_GT(beat_hit_rate(ref, bt.beats), 0.9);
  // Without the correction the DP follows the stronger swung eighths: the test means something.
  qs::BeatTrackerOptions o;
  o.swing_ratio = 0;
  const qs::BeatTrack off = qs::track_beats(env, o);
  EXPECT_FALSE(off.swing_shifted);
  EXPECT_LT(beat_hit_rate(ref, off.beats), 0.2);
}

TEST(BeatTracker, FixedTempoAndEmptyInput) {
  const auto ref = beat_grid(20, [](double) { return 120.0; });
  qs::BeatTrackerOptions o;
  o.fixed_bpm = 120.0;
  const qs::BeatTrack bt = qs::track_beats(qs::onset_envelope(simple_piece(ref, 4)), o);
  EXPECT_GT(beat_hit_rate(ref, bt.beats), 0.9);
  for (std::size_t i = 1; i < bt.beats.size(); ++i) EXPECT_NEAR(bt.beats[i] - bt.beats[i - 1], 0.5, 1e-9);  // strictly steady
  EXPECT_TRUE(qs::track_beats(qs::onset_envelope({})).beats.empty());
}

TEST(Meter, FindsThreeFourAndTheDownbeat) {
  const auto ref = beat_grid(40, [](double) { return 120.0; });
  // Start the waltz on the second beat of the grid: the first downbeat is beat index 1.
  std::vector<double> shifted(ref.begin() + 1, ref.end());
  NoteList notes = simple_piece(shifted, 3, 0);
  notes.push_back({ref[0], ref[0] + 0.2, 72, 50});  // a one-note upbeat
  qs::sort_notes(notes);
  const qs::Meter m = qs::estimate_meter(notes, ref);
  EXPECT_EQ(m.time_signature(), "3/4");
  EXPECT_EQ(m.first_downbeat, 1);
}

TEST(Meter, FindsFourFour) {
  const auto ref = beat_grid(40, [](double) { return 100.0; });
  const qs::Meter m = qs::estimate_meter(simple_piece(ref, 4, 0), ref);
  EXPECT_EQ(m.time_signature(), "4/4");
  EXPECT_EQ(m.first_downbeat, 0);
}

// A polka: bass on beat 1, the chord on beat 2, tonic and dominant bars in turn. Four-beat bars
// would hold the same two chords each: only two-beat bars change harmony at every bar line, so
// 2/4 wins despite the prior for 4/4.
TEST(Meter, FindsTwoFourWhereTheHarmonyChangesEveryTwoBeats) {
  const auto ref = beat_grid(48, [](double) { return 110.0; });
  NoteList notes;
  for (std::size_t i = 0; i + 1 < ref.size(); ++i) {
    const double t = ref[i], ibi = ref[i + 1] - ref[i];
    const bool tonic = (i / 2) % 2 == 0;
    if (i % 2 == 0) notes.push_back({t, t + 0.9 * ibi, tonic ? 36 : 43, 90});
    else
      for (int p : tonic ? std::vector<int>{60, 64, 67} : std::vector<int>{59, 62, 67}) notes.push_back({t, t + 0.5 * ibi, p, 60});
  }
  qs::sort_notes(notes);
  const qs::Meter m = qs::estimate_meter(notes, ref);
  EXPECT_EQ(m.time_signature(), "2/4");
  EXPECT_EQ(m.first_downbeat, 0);
}

TEST(Meter, FindsSixEight) {
  // Dotted-quarter beats, each split in three eighths; bass on every other beat.
  const auto ref = beat_grid(30, [](double) { return 60.0; });
  NoteList notes;
  for (std::size_t i = 0; i + 1 < ref.size(); ++i) {
    const double ibi = ref[i + 1] - ref[i];
    for (int k = 0; k < 3; ++k) notes.push_back({ref[i] + k * ibi / 3, ref[i] + (k + 1) * ibi / 3, 64 + 3 * k, 70});
    const int bass[3] = {40, 45, 47};  // a new bass note every bar of two beats, in a 3-bar cycle
    if (i % 2 == 0) notes.push_back({ref[i], ref[i] + 2 * ibi, bass[(i / 2) % 3], 90});
  }
  qs::sort_notes(notes);
  const qs::Meter m = qs::estimate_meter(notes, ref);
  EXPECT_EQ(m.time_signature(), "6/8");
  EXPECT_TRUE(m.compound);
  EXPECT_EQ(m.beats_per_bar, 2);
}

TEST(Meter, ParsesAndRejectsTimeSignatures) {
  EXPECT_EQ(qs::parse_time_signature("6/8").beats_per_bar, 2);
  EXPECT_TRUE(qs::parse_time_signature("12/8").compound);
  EXPECT_EQ(qs::parse_time_signature("3/8").beats_per_bar, 3);
  EXPECT_FALSE(qs::parse_time_signature("3/8").compound);
  for (const char* bad : {"", "4", "4/3", "0/4", "x/4", "4/4x", "99/4"}) EXPECT_THROW(qs::parse_time_signature(bad), qs::Error) << bad;
}

NoteList scale_notes(const std::vector<int>& pitches) {
  NoteList n;
  double t = 0;
  for (int rep = 0; rep < 3; ++rep)
    for (int p : pitches) n.push_back({t, t + 0.4, p, 64}), t += 0.5;
  return n;
}

TEST(Key, KrumhanslSchmuckler) {
  // C major: tonic triad weighted by long notes.
  NoteList c = scale_notes({60, 62, 64, 65, 67, 69, 71, 72});
  c.push_back({0, 4, 48, 64});
  c.push_back({4, 8, 55, 64});
  EXPECT_EQ(qs::estimate_key(c).name(), "C major");
  NoteList a = scale_notes({57, 59, 60, 62, 64, 65, 68, 69});
  a.push_back({0, 4, 45, 64});
  a.push_back({4, 8, 52, 64});
  a.push_back({8, 10, 57, 64});
  EXPECT_EQ(qs::estimate_key(a).name(), "A minor");
  NoteList eb = scale_notes({63, 65, 67, 68, 70, 72, 74, 75});
  eb.push_back({0, 4, 51, 64});
  const qs::Key k = qs::estimate_key(eb);
  EXPECT_EQ(k.name(), "Eb major");
  EXPECT_EQ(k.fifths, -3);
}

TEST(Key, ParsesNamesAndSpellsPitches) {
  EXPECT_EQ(qs::parse_key("Eb major").fifths, -3);
  EXPECT_EQ(qs::parse_key("f# minor").fifths, 3);
  EXPECT_TRUE(qs::parse_key("Am").minor);
  EXPECT_EQ(qs::parse_key("Bbm").name(), "Bb minor");
  for (const char* bad : {"", "H", "C mixolydian", "Fb# major", "B# major"}) EXPECT_THROW(qs::parse_key(bad), qs::Error) << bad;
  const auto spelt = [](int p, const char* key) {
    const qs::Spelling s = qs::spell_pitch(p, qs::parse_key(key));
    return std::string(1, s.step) + (s.alter > 0 ? std::string(static_cast<std::size_t>(s.alter), '#') : std::string(static_cast<std::size_t>(-s.alter), 'b')) + std::to_string(s.octave);
  };
  EXPECT_EQ(spelt(60, "C"), "C4");
  EXPECT_EQ(spelt(66, "C"), "F#4");
  EXPECT_EQ(spelt(70, "C"), "Bb4");
  EXPECT_EQ(spelt(70, "F major"), "Bb4");
  EXPECT_EQ(spelt(68, "A minor"), "G#4");
  EXPECT_EQ(spelt(63, "E minor"), "D#4");
  EXPECT_EQ(spelt(63, "Eb major"), "Eb4");
  EXPECT_EQ(spelt(77, "C# major"), "E#5");
  EXPECT_EQ(spelt(59, "Gb major"), "Cb4");  // sounds as B3, written in octave 4
}

TEST(Quantize, SnapsJitteredNotesToTheirBeatPositions) {
  const auto beats = beat_grid(12, [](double) { return 100.0; });
  const double q = 0.6;  // s per beat
  NoteList notes;
  // Quarter, two eighths, dotted quarter + eighth, half: positions in beats.
  const double pos[][2] = {{0, 1}, {1, 1.5}, {1.5, 2}, {2, 3.5}, {3.5, 4}, {4, 6}, {6, 8}};
  for (int i = 0; i < 7; ++i)
    notes.push_back({0.5 + pos[i][0] * q + jitter(i, 20), 0.5 + pos[i][1] * q + jitter(i + 7, 20), 60 + i, 64});
  qs::Meter m;
  const qs::Score s = qs::quantize(notes, beats, m, qs::Key{});
  ASSERT_EQ(s.notes.size(), 7u);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(s.notes[static_cast<std::size_t>(i)].start, std::lround(pos[i][0] * 12)) << i;
    EXPECT_EQ(s.notes[static_cast<std::size_t>(i)].duration, std::lround((pos[i][1] - pos[i][0]) * 12)) << i;
  }
  EXPECT_EQ(s.divisions, 12);
  EXPECT_EQ(s.n_bars, 2);
  EXPECT_NEAR(s.tempo_bpm, 100.0, 0.5);
  // Back to seconds: each onset within the jitter of the original.
  const NoteList back = qs::score_notes_in_seconds(s);
  for (std::size_t i = 0; i < back.size(); ++i) EXPECT_NEAR(back[i].onset, notes[i].onset, 0.025);
}

TEST(Quantize, ChoosesTripletsOnlyWhereTheyAre) {
  const auto beats = beat_grid(12, [](double) { return 60.0; });
  NoteList notes;
  for (int k = 0; k < 12; ++k) notes.push_back({0.5 + k / 3.0, 0.5 + (k + 1) / 3.0, 60 + k % 5, 64});       // bar 1: triplets
  for (int k = 0; k < 8; ++k) notes.push_back({4.5 + k * 0.5, 4.5 + (k + 1) * 0.5, 60 + k % 5, 64});        // bar 2: eighths
  for (int k = 0; k < 16; ++k) notes.push_back({8.5 + k * 0.25, 8.5 + (k + 1) * 0.25, 60 + k % 5, 64});    // bar 3: sixteenths
  qs::sort_notes(notes);
  const qs::Score s = qs::quantize(notes, beats, qs::Meter{}, qs::Key{});
  ASSERT_GE(s.bar_grid.size(), 3u);
  EXPECT_EQ(s.bar_grid[0], 3);
  EXPECT_EQ(s.bar_grid[1], 2);
  EXPECT_EQ(s.bar_grid[2], 4);
}

// The text between `open` and the next `close` at or after `from` ("" when absent); moves `from` past it.
std::string between(const std::string& s, const std::string& open, const std::string& close, std::size_t& from) {
  const std::size_t a = s.find(open, from);
  if (a == std::string::npos) return from = std::string::npos, "";
  const std::size_t b = s.find(close, a + open.size());
  if (b == std::string::npos) return from = std::string::npos, "";
  from = b + close.size();
  return s.substr(a + open.size(), b - a - open.size());
}

// Sum of <duration> per (measure, voice) must be one bar for every voice written. (A plain scan:
// std::regex recurses per character and overflows the stack on long measures under ASan.)
void expect_full_bars(const std::string& xml, int bar_ticks) {
  int measures = 0;
  for (std::size_t m = 0; m != std::string::npos;) {
    const std::string body = between(xml, "<measure number=", "</measure>", m);
    if (m == std::string::npos) break;
    ++measures;
    std::map<int, int> per_voice;
    for (std::size_t n = 0; n != std::string::npos;) {
      std::string note = between(body, "<note", "</note>", n);  // <note> or <note print-object="no">
      if (n == std::string::npos) break;
      note = note.substr(note.find('>') + 1);
      if (note.rfind("<chord/>", 0) == 0) continue;
      std::size_t k = 0;
      const int duration = std::stoi(between(note, "<duration>", "</duration>", k));
      k = 0;
      per_voice[std::stoi(between(note, "<voice>", "</voice>", k))] += duration;
    }
    for (const auto& [v, d] : per_voice) EXPECT_EQ(d, bar_ticks) << "measure " << measures << " voice " << v;
  }
  EXPECT_GT(measures, 0);
}

// Rests are hidden (print-object="no") exactly in the voices after each staff's first (2-4, 6-8),
// triplet rests excepted.
void expect_hidden_rests_only_in_later_voices(const std::string& xml) {
  int hidden = 0, shown = 0;
  for (std::size_t n = 0; n != std::string::npos;) {
    const std::string note = between(xml, "<note", "</note>", n);
    if (n == std::string::npos) break;
    if (note.find("<rest") == std::string::npos) continue;
    std::size_t k = 0;
    const int voice = std::stoi(between(note, "<voice>", "</voice>", k));
    const bool is_hidden = note.rfind(" print-object=\"no\">", 0) == 0;
    const bool triplet = note.find("<time-modification>") != std::string::npos;
    EXPECT_EQ(is_hidden, voice != 1 && voice != 5 && !triplet) << "a rest in voice " << voice;
    (is_hidden ? hidden : shown) += 1;
  }
  EXPECT_GT(hidden, 0);
  EXPECT_GT(shown, 0);
}

TEST(MusicXml, WritesBarsTiesTupletsAndSpelling) {
  const auto beats = beat_grid(20, [](double) { return 60.0; });
  NoteList notes;
  for (int k = 0; k < 3; ++k) notes.push_back({0.5 + k / 3.0, 0.5 + (k + 1) / 3.0, 66, 64});  // F# triplets on beat 1
  notes.push_back({1.5, 7.5, 70, 64});   // Bb held 6 beats: tied over the bar line
  notes.push_back({0.5, 2.5, 43, 64});   // a bass note: grand staff
  notes.push_back({2.5, 8.5, 36, 64});
  qs::sort_notes(notes);
  qs::AnalysisOptions ao;
  ao.key = "F major";
  ao.time_signature = "4/4";
  qs::MusicAnalysis a = qs::analyse_music(notes, 10.0, ao);
  a.beats = beats;
  a.meter.first_downbeat = 0;
  const qs::Score s = qs::notate(notes, a, ao);
  EXPECT_EQ(s.staves(), 2);
  const std::string xml = qs::write_musicxml(s);
  expect_full_bars(xml, s.bar_ticks);
  EXPECT_NE(xml.find("<fifths>-1</fifths>"), std::string::npos);
  EXPECT_NE(xml.find("<step>B</step><alter>-1</alter>"), std::string::npos);
  EXPECT_EQ(xml.find("<accidental>flat</accidental>"), std::string::npos);  // Bb is in the signature
  EXPECT_NE(xml.find("<accidental>sharp</accidental>"), std::string::npos);  // F# is not
  EXPECT_NE(xml.find("<tie type=\"start\"/>"), std::string::npos);
  EXPECT_NE(xml.find("<tuplet type=\"start\""), std::string::npos);
  EXPECT_NE(xml.find("<time-modification>"), std::string::npos);
  EXPECT_NE(xml.find("<staves>2</staves>"), std::string::npos);
  EXPECT_NE(xml.find("<rest"), std::string::npos);
}

TEST(MusicXml, EveryBarIsFullOnMessyInput) {
  // Random-ish overlapping notes at random times: voices, cuts and rests must still add up.
  const auto beats = beat_grid(30, [](double t) { return 80.0 + 2.0 * t; });
  NoteList notes;
  for (int i = 0; i < 300; ++i) {
    const double t = 0.5 + std::fmod(i * 0.6180339 * 7.3, 28.0);
    notes.push_back({t, t + 0.05 + std::fmod(i * 0.414, 2.5), 30 + (i * 37) % 70, 64});
  }
  qs::sort_notes(notes);
  for (const char* ts : {"4/4", "3/4", "6/8", "2/2", "3/8", "5/4"}) {
    qs::AnalysisOptions ao;
    ao.time_signature = ts;
    const qs::MusicAnalysis a = qs::analyse_music(notes, 31.0, ao);
    const qs::Score s = qs::notate(notes, a, ao);
    EXPECT_EQ(s.meter.time_signature(), ts);
    const std::string xml = qs::write_musicxml(s);
    expect_full_bars(xml, s.bar_ticks);
    expect_hidden_rests_only_in_later_voices(xml);
  }
}

TEST(MusicAnalysis, RejectsBadOverridesAndHandlesSilence) {
  qs::AnalysisOptions ao;
  ao.tempo_bpm = 5;
  EXPECT_THROW(qs::analyse_music({}, 1.0, ao), qs::Error);
  ao.tempo_bpm = 0;
  ao.key = "Q";
  EXPECT_THROW(qs::analyse_music({}, 1.0, ao), qs::Error);
  const qs::MusicAnalysis a = qs::analyse_music({}, 3.0);
  EXPECT_GE(a.beats.size(), 2u);
  const qs::Score s = qs::notate({}, a);
  expect_full_bars(qs::write_musicxml(s), s.bar_ticks);
  const qs::MusicAnalysis one = qs::analyse_music({{1.0, 1.5, 60, 64}}, 2.0);
  expect_full_bars(qs::write_musicxml(qs::notate({{1.0, 1.5, 60, 64}}, one)), 48);
}

}  // namespace
