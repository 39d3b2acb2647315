// Standard MIDI File reader/writer: hand-built byte streams, round trips and fuzzing.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "qscribe/error.hpp"
#include "qscribe/midi_file.hpp"
#include "test_support.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

void append_vlq(Bytes& out, std::uint32_t v) {
  Bytes tmp{static_cast<std::uint8_t>(v & 0x7F)};
  while (v >>= 7) tmp.insert(tmp.begin(), static_cast<std::uint8_t>(0x80 | (v & 0x7F)));
  out.insert(out.end(), tmp.begin(), tmp.end());
}

// A track body built event by event: delta ticks + raw event bytes.
struct TrackBuilder {
  Bytes body;
  TrackBuilder& ev(std::uint32_t delta, std::initializer_list<std::uint8_t> bytes) {
    append_vlq(body, delta);
    body.insert(body.end(), bytes);
    return *this;
  }
  TrackBuilder& tempo(std::uint32_t delta, std::uint32_t us_per_quarter) {
    return ev(delta, {0xFF, 0x51, 0x03, static_cast<std::uint8_t>(us_per_quarter >> 16),
                      static_cast<std::uint8_t>(us_per_quarter >> 8), static_cast<std::uint8_t>(us_per_quarter)});
  }
  TrackBuilder& end(std::uint32_t delta = 0) { return ev(delta, {0xFF, 0x2F, 0x00}); }
};

void append_be(Bytes& out, std::uint32_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

Bytes smf(int format, std::uint16_t division, const std::vector<TrackBuilder>& tracks) {
  Bytes out = {'M', 'T', 'h', 'd', 0, 0, 0, 6};
  append_be(out, format, 2);
  append_be(out, static_cast<std::uint32_t>(tracks.size()), 2);
  append_be(out, division, 2);
  for (const auto& t : tracks) {
    out.insert(out.end(), {'M', 'T', 'r', 'k'});
    append_be(out, static_cast<std::uint32_t>(t.body.size()), 4);
    out.insert(out.end(), t.body.begin(), t.body.end());
  }
  return out;
}

void expect_note(const qs::Note& n, double onset, double offset, int pitch, int velocity) {
  EXPECT_DOUBLE_EQ(n.onset, onset);
  EXPECT_DOUBLE_EQ(n.offset, offset);
  EXPECT_EQ(n.pitch, pitch);
  EXPECT_EQ(n.velocity, velocity);
}

std::string error_of(const Bytes& bytes) {
  try {
    qs::read_midi(bytes);
  } catch (const qs::Error& e) {
    return e.what();
  }
  return "";
}

// A valid type-1 file exercising tempo, pedal, running status, sysex and drums.
Bytes rich_file() {
  TrackBuilder conductor;
  conductor.ev(0, {0xFF, 0x58, 0x04, 4, 2, 24, 8}).tempo(0, 500000).tempo(96, 250000).end(96);
  TrackBuilder piano;
  piano.ev(0, {0xF0, 0x03, 0x7E, 0x01, 0xF7})
      .ev(0, {0xC0, 0x05})
      .ev(0, {0x90, 60, 100})
      .ev(0, {62, 90})  // running status
      .ev(0, {0xB0, 64, 127})
      .ev(48, {0x80, 60, 0})
      .ev(0, {0x90, 62, 0})
      .ev(48, {0xB0, 64, 0})
      .ev(0, {0x99, 36, 120})
      .ev(24, {0x89, 36, 0})
      .end(24);
  return smf(1, 96, {conductor, piano});
}

TEST(MidiFileReader, Type0PpqDefaultTempo) {
  TrackBuilder t;
  t.ev(0, {0x90, 60, 100}).ev(96, {0x80, 60, 64}).ev(0, {0x90, 64, 80}).ev(48, {0x80, 64, 0}).end();
  const qs::MidiContents c = qs::parse_midi(smf(0, 96, {t}).data(), smf(0, 96, {t}).size());
  ASSERT_EQ(c.notes.size(), 2u);
  expect_note(c.notes[0], 0.0, 0.5, 60, 100);
  expect_note(c.notes[1], 0.5, 0.75, 64, 80);
  EXPECT_EQ(c.format, 0);
  EXPECT_EQ(c.n_tracks, 1);
  EXPECT_EQ(c.ppq, 96);
  EXPECT_DOUBLE_EQ(c.end_time, 0.75);
}

TEST(MidiFileReader, NoteOnVelocityZeroAndRunningStatus) {
  TrackBuilder t;
  t.ev(0, {0x91, 60, 100}).ev(0, {64, 70}).ev(96, {60, 0}).ev(96, {64, 0}).end();
  const qs::NoteList notes = qs::read_midi(smf(0, 96, {t}));
  ASSERT_EQ(notes.size(), 2u);
  expect_note(notes[0], 0.0, 0.5, 60, 100);
  expect_note(notes[1], 0.0, 1.0, 64, 70);
}

TEST(MidiFileReader, TempoChangesInConductorTrackApplyToAllTracks) {
  TrackBuilder conductor;
  conductor.tempo(0, 500000).tempo(96, 250000).tempo(96, 1000000).end();
  TrackBuilder notes;
  // 0..192 ticks: 96 at 0.5 s/quarter + 96 at 0.25 s/quarter = 0.75 s.
  notes.ev(0, {0x90, 60, 100}).ev(192, {0x80, 60, 0}).ev(0, {0x90, 67, 50}).ev(96, {0x80, 67, 0}).end();
  const qs::NoteList got = qs::read_midi(smf(1, 96, {conductor, notes}));
  ASSERT_EQ(got.size(), 2u);
  expect_note(got[0], 0.0, 0.75, 60, 100);
  expect_note(got[1], 0.75, 1.75, 67, 50);
}

TEST(MidiFileReader, TempoInALaterTrackAlsoAppliesGlobally) {
  TrackBuilder notes;
  notes.ev(0, {0x90, 60, 100}).ev(192, {0x80, 60, 0}).end();
  TrackBuilder late_tempo;
  late_tempo.tempo(96, 250000).end();
  const qs::NoteList got = qs::read_midi(smf(1, 96, {notes, late_tempo}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_DOUBLE_EQ(got[0].offset, 0.75);
}

TEST(MidiFileReader, SmpteDivision) {
  TrackBuilder t;  // 25 fps x 40 ticks per frame = 1000 ticks per second; tempo is ignored
  t.tempo(0, 250000).ev(500, {0x90, 70, 10}).ev(250, {0x80, 70, 0}).end();
  const qs::MidiContents c = qs::parse_midi(smf(0, 0xE728, {t}).data(), smf(0, 0xE728, {t}).size());
  ASSERT_EQ(c.notes.size(), 1u);
  expect_note(c.notes[0], 0.5, 0.75, 70, 10);
  EXPECT_EQ(c.ppq, 0);
}

TEST(MidiFileReader, SustainPedalExtendsToReleaseOrRestrike) {
  TrackBuilder t;
  t.ev(0, {0xB0, 64, 100})   // pedal down
      .ev(0, {0x90, 60, 100})
      .ev(0, {0x90, 62, 100})
      .ev(48, {0x80, 60, 0})  // released under the pedal
      .ev(0, {0x80, 62, 0})
      .ev(48, {0x90, 62, 90})  // re-strike ends the sustained 62 at 0.5 s
      .ev(48, {0x80, 62, 0})
      .ev(48, {0xB0, 64, 0})  // pedal up at 1.0 s
      .ev(96, {0x90, 65, 80})  // pedal is up: plain note
      .ev(48, {0x80, 65, 0})
      .end();
  const qs::NoteList got = qs::read_midi(smf(0, 96, {t}));
  ASSERT_EQ(got.size(), 4u);
  expect_note(got[0], 0.0, 1.0, 60, 100);
  expect_note(got[1], 0.0, 0.5, 62, 100);
  expect_note(got[2], 0.5, 1.0, 62, 90);
  expect_note(got[3], 1.5, 1.75, 65, 80);

  qs::MidiReadOptions no_pedal;
  no_pedal.sustain_pedal = false;
  const qs::NoteList dry = qs::read_midi(smf(0, 96, {t}), no_pedal);
  ASSERT_EQ(dry.size(), 4u);
  EXPECT_DOUBLE_EQ(dry[0].offset, 0.25);
  EXPECT_DOUBLE_EQ(dry[2].offset, 0.75);
}

TEST(MidiFileReader, PedalIsPerChannel) {
  TrackBuilder t;
  t.ev(0, {0xB1, 64, 127}).ev(0, {0x90, 60, 100}).ev(0, {0x91, 61, 100}).ev(96, {0x80, 60, 0}).ev(0, {0x81, 61, 0})
      .ev(96, {0xB1, 64, 0}).end();
  const qs::NoteList got = qs::read_midi(smf(0, 96, {t}));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_DOUBLE_EQ(got[0].offset, 0.5);  // channel 0: no pedal
  EXPECT_DOUBLE_EQ(got[1].offset, 1.0);  // channel 1: held to the release
}

TEST(MidiFileReader, DrumChannelDroppedUnlessAsked) {
  TrackBuilder t;
  t.ev(0, {0x99, 36, 100}).ev(0, {0x90, 60, 100}).ev(96, {0x89, 36, 0}).ev(0, {0x80, 60, 0}).end();
  const qs::NoteList got = qs::read_midi(smf(0, 96, {t}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].pitch, 60);
  qs::MidiReadOptions with_drums;
  with_drums.include_drums = true;
  EXPECT_EQ(qs::read_midi(smf(0, 96, {t}), with_drums).size(), 2u);
}

TEST(MidiFileReader, OverlappingSamePitchRestrikeEndsEarlierNote) {
  TrackBuilder t;
  t.ev(0, {0x90, 60, 100}).ev(48, {0x90, 60, 80}).ev(48, {0x80, 60, 0}).ev(48, {0x80, 60, 0}).end();
  const qs::NoteList got = qs::read_midi(smf(0, 96, {t}));
  ASSERT_EQ(got.size(), 2u);
  expect_note(got[0], 0.0, 0.25, 60, 100);
  expect_note(got[1], 0.25, 0.5, 60, 80);
}

TEST(MidiFileReader, HangingNotesEndAtEndOfFile) {
  TrackBuilder a;
  a.ev(0, {0x90, 60, 100}).end(96);
  TrackBuilder b;
  b.ev(0, {0xB0, 64, 127}).ev(0, {0x90, 62, 100}).ev(48, {0x80, 62, 0}).end(192);
  const qs::MidiContents c = qs::parse_midi(smf(1, 96, {a, b}).data(), smf(1, 96, {a, b}).size());
  ASSERT_EQ(c.notes.size(), 2u);
  EXPECT_DOUBLE_EQ(c.notes[0].offset, 1.25);  // the file ends with track b at tick 240
  EXPECT_DOUBLE_EQ(c.notes[1].offset, 1.25);  // still under the pedal at the end
  EXPECT_DOUBLE_EQ(c.end_time, 1.25);
}

TEST(MidiFileReader, ByChannelSplitsNotesAndFirstPrograms) {
  // Track 1: channel 0 program 40 then 41 (the first one counts), pedal on channel 0 only.
  // Track 2: channel 3 (program change later in time than track 1's, still per channel), drums.
  TrackBuilder a;
  a.ev(0, {0xC0, 40}).ev(0, {0xB0, 64, 127}).ev(0, {0x90, 60, 100}).ev(48, {0x80, 60, 0});
  a.ev(0, {0xC0, 41}).ev(48, {0xB0, 64, 0}).end();
  TrackBuilder b;
  b.ev(0, {0x93, 60, 90}).ev(24, {0x83, 60, 0}).ev(0, {0xC3, 7}).ev(0, {0x99, 36, 100}).ev(24, {0x89, 36, 0});
  b.ev(0, {0x91, 64, 70}).ev(24, {0x81, 64, 0}).end();
  qs::MidiReadOptions options;
  options.by_channel = true;
  const Bytes file = smf(1, 96, {a, b});
  const qs::MidiContents c = qs::parse_midi(file.data(), file.size(), options);
  ASSERT_EQ(c.channels.size(), 16u);
  EXPECT_EQ(c.channels[0].program, 40);
  EXPECT_EQ(c.channels[1].program, -1);
  EXPECT_EQ(c.channels[3].program, 7);
  ASSERT_EQ(c.channels[0].notes.size(), 1u);
  expect_note(c.channels[0].notes[0], 0.0, 0.5, 60, 100);  // held by the pedal to its release
  ASSERT_EQ(c.channels[3].notes.size(), 1u);
  expect_note(c.channels[3].notes[0], 0.0, 0.125, 60, 90);  // the other channel's pedal does not hold it
  ASSERT_EQ(c.channels[1].notes.size(), 1u);
  EXPECT_TRUE(c.channels[9].notes.empty());  // drums dropped
  qs::NoteList all;
  for (const auto& ch : c.channels) all.insert(all.end(), ch.notes.begin(), ch.notes.end());
  qs::sort_notes(all);
  EXPECT_EQ(all, c.notes);
  EXPECT_TRUE(qs::parse_midi(file.data(), file.size()).channels.empty());  // only on request
}

TEST(MidiFileReader, MissingEndOfTrackIsTolerated) {
  TrackBuilder t;
  t.ev(0, {0x90, 60, 100}).ev(96, {0x80, 60, 0});
  const qs::NoteList got = qs::read_midi(smf(0, 96, {t}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_DOUBLE_EQ(got[0].offset, 0.5);
}

TEST(MidiFileReader, MetaSysexAndOtherMessagesSkipped) {
  const qs::MidiContents c = qs::parse_midi(rich_file().data(), rich_file().size());
  ASSERT_EQ(c.notes.size(), 2u);  // drum note dropped
  // Pedal down from 0 to tick 96 (0.5 s): both notes sustained to it.
  expect_note(c.notes[0], 0.0, 0.5, 60, 100);
  expect_note(c.notes[1], 0.0, 0.5, 62, 90);
  EXPECT_DOUBLE_EQ(c.end_time, 0.5 + 0.25);  // the conductor ends at tick 192, tempo halved at 96
}

TEST(MidiFileReader, Format2TracksAreIndependentSequences) {
  TrackBuilder a;
  a.tempo(0, 250000).ev(0, {0x90, 60, 100}).ev(96, {0x80, 60, 0}).end();
  TrackBuilder b;
  b.ev(0, {0x90, 62, 100}).ev(96, {0x80, 62, 0}).end();
  const qs::NoteList got = qs::read_midi(smf(2, 96, {a, b}));
  ASSERT_EQ(got.size(), 2u);
  expect_note(got[0], 0.0, 0.25, 60, 100);
  expect_note(got[1], 0.0, 0.5, 62, 100);
}

// ---- meta events and the beat grid ----------------------------------------------------------

Bytes time_signature(int num, int den_pow) { return {0xFF, 0x58, 0x04, static_cast<std::uint8_t>(num), static_cast<std::uint8_t>(den_pow), 24, 8}; }
Bytes key_signature(int fifths, int minor) { return {0xFF, 0x59, 0x02, static_cast<std::uint8_t>(fifths), static_cast<std::uint8_t>(minor)}; }

TrackBuilder& meta(TrackBuilder& t, std::uint32_t delta, const Bytes& bytes) {
  append_vlq(t.body, delta);
  t.body.insert(t.body.end(), bytes.begin(), bytes.end());
  return t;
}

qs::MidiContents parse(const Bytes& b) { return qs::parse_midi(b.data(), b.size()); }

void expect_grid(const qs::MidiBeatGrid& g, const std::vector<double>& beats, const std::vector<int>& bars,
                 const std::vector<int>& in_bar) {
  ASSERT_EQ(g.beats.size(), beats.size());
  ASSERT_EQ(g.bar.size(), beats.size());
  ASSERT_EQ(g.beat_in_bar.size(), beats.size());
  std::vector<double> downbeats;
  for (std::size_t i = 0; i < beats.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_NEAR(g.beats[i], beats[i], 1e-9);
    EXPECT_EQ(g.bar[i], bars[i]);
    EXPECT_EQ(g.beat_in_bar[i], in_bar[i]);
    if (in_bar[i] == 1) downbeats.push_back(beats[i]);
  }
  ASSERT_EQ(g.downbeats.size(), downbeats.size());
  for (std::size_t i = 0; i < downbeats.size(); ++i) EXPECT_NEAR(g.downbeats[i], downbeats[i], 1e-9);
}

// 3/4 at 120 bpm for two bars, then 6/8 at 240 bpm (dotted-quarter beats of 0.375 s) for two.
Bytes meter_file() {
  TrackBuilder conductor;
  meta(conductor, 0, time_signature(3, 2));
  conductor.tempo(0, 500000);
  meta(conductor, 0, key_signature(-3, 1));  // C minor
  conductor.tempo(576, 250000);              // 6 quarters = 3.0 s
  meta(conductor, 0, time_signature(6, 3));
  conductor.end(576);                        // 2 bars of 6/8 = 6 quarters at 0.25 s = 1.5 s
  TrackBuilder notes;
  meta(notes, 288, key_signature(2, 0));  // D major at 1.5 s, stated in another track
  notes.ev(0, {0x90, 62, 100}).ev(96, {0x80, 62, 0}).end();
  return smf(1, 96, {conductor, notes});
}

TEST(MidiFileMeta, TemposTimeAndKeySignaturesInTimeOrder) {
  const qs::MidiContents c = parse(meter_file());
  ASSERT_EQ(c.tempos.size(), 2u);
  EXPECT_DOUBLE_EQ(c.tempos[0].time_s, 0.0);
  EXPECT_DOUBLE_EQ(c.tempos[0].bpm, 120.0);
  EXPECT_DOUBLE_EQ(c.tempos[1].time_s, 3.0);
  EXPECT_DOUBLE_EQ(c.tempos[1].bpm, 240.0);
  ASSERT_EQ(c.time_signatures.size(), 2u);
  EXPECT_EQ(c.time_signatures[0].numerator, 3);
  EXPECT_EQ(c.time_signatures[0].denominator, 4);
  EXPECT_DOUBLE_EQ(c.time_signatures[1].time_s, 3.0);
  EXPECT_EQ(c.time_signatures[1].numerator, 6);
  EXPECT_EQ(c.time_signatures[1].denominator, 8);
  ASSERT_EQ(c.key_signatures.size(), 2u);
  EXPECT_EQ(c.key_signatures[0].fifths, -3);
  EXPECT_TRUE(c.key_signatures[0].minor);
  EXPECT_DOUBLE_EQ(c.key_signatures[1].time_s, 1.5);
  EXPECT_EQ(c.key_signatures[1].fifths, 2);
  EXPECT_FALSE(c.key_signatures[1].minor);
  EXPECT_DOUBLE_EQ(c.end_time, 4.5);
  // The notes are what they were.
  ASSERT_EQ(c.notes.size(), 1u);
  expect_note(c.notes[0], 1.5, 2.0, 62, 100);
}

TEST(MidiFileMeta, BeatGridFollowsTempoAndCompoundMeter) {
  expect_grid(qs::midi_beat_grid(parse(meter_file())),
              {0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.375, 3.75, 4.125, 4.5},
              {1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5},
              {1, 2, 3, 1, 2, 3, 1, 2, 1, 2, 1});
}

TEST(MidiFileMeta, DefaultsAreFourFourAt120AndAChangeRestartsTheBar) {
  TrackBuilder plain;
  plain.ev(0, {0x90, 60, 100}).ev(480, {0x80, 60, 0}).end();  // 5 quarters at 0.5 s
  const qs::MidiContents c = parse(smf(0, 96, {plain}));
  EXPECT_TRUE(c.tempos.empty());
  EXPECT_TRUE(c.time_signatures.empty());
  EXPECT_TRUE(c.key_signatures.empty());
  expect_grid(qs::midi_beat_grid(c), {0.0, 0.5, 1.0, 1.5, 2.0, 2.5}, {1, 1, 1, 1, 2, 2}, {1, 2, 3, 4, 1, 2});

  // 4/4, then 2/2 in the middle of the first bar (a new bar, beats of half notes), then a tempo
  // change at 1.5 s inside a beat, then 5/16 (sixteenth-note beats, 5 a bar).
  TrackBuilder t;
  t.tempo(192, 1000000);                // tempo 60 from 1.0 s (a quarter = 1 s)
  meta(t, 0, time_signature(2, 1));     // 2/2 at 1.0 s
  t.tempo(48, 500000);                  // 120 bpm from 1.5 s
  meta(t, 96, time_signature(5, 4));    // 5/16 at 2.0 s
  t.end(96);                            // 5 sixteenths of 0.125 s, then the end at 2.5 s
  expect_grid(qs::midi_beat_grid(parse(smf(0, 96, {t}))),
              {0.0, 0.5, 1.0, 2.0, 2.125, 2.25, 2.375, 2.5},
              {1, 1, 2, 3, 3, 3, 3, 3},
              {1, 2, 1, 1, 2, 3, 4, 5});
  // 6/8 at 120: beats every 0.75 s, 2 a bar; 3/8 is simple (eighth-note beats); 12/8: 4 a bar.
  for (const auto& [num, beats_per_bar, beat_s] : std::vector<std::tuple<int, int, double>>{{6, 2, 0.75}, {3, 3, 0.25}, {12, 4, 0.75}, {9, 3, 0.75}}) {
    SCOPED_TRACE(num);
    TrackBuilder m;
    meta(m, 0, time_signature(num, 3));
    m.end(96 * 12);  // 6 s
    const qs::MidiBeatGrid g = qs::midi_beat_grid(parse(smf(0, 96, {m})));
    ASSERT_EQ(g.beats.size(), static_cast<std::size_t>(std::lround(6.0 / beat_s)) + 1);
    for (std::size_t i = 0; i < g.beats.size(); ++i) {
      EXPECT_NEAR(g.beats[i], static_cast<double>(i) * beat_s, 1e-9);
      EXPECT_EQ(g.beat_in_bar[i], static_cast<int>(i % static_cast<std::size_t>(beats_per_bar)) + 1);
    }
  }
}

TEST(MidiFileMeta, SameInstantKeepsTheLastAndMalformedAreSkipped) {
  TrackBuilder a;
  meta(a, 0, time_signature(4, 2));
  meta(a, 0, time_signature(3, 2));   // same instant: replaces 4/4
  meta(a, 0, time_signature(0, 2));   // numerator 0: skipped
  meta(a, 0, time_signature(7, 7));   // 7/128: skipped
  meta(a, 0, {0xFF, 0x58, 0x01, 5});  // too short: skipped
  meta(a, 0, key_signature(8, 0));    // 8 sharps: skipped
  meta(a, 0, key_signature(-7, 2));   // mode 2: skipped
  meta(a, 0, key_signature(-7, 0));   // Cb major
  meta(a, 96, {0xFF, 0x59, 0x01, 1}); // too short: skipped
  a.ev(0, {0x90, 60, 100}).ev(96, {0x80, 60, 0}).end();
  const qs::MidiContents c = parse(smf(1, 96, {a}));
  ASSERT_EQ(c.time_signatures.size(), 1u);
  EXPECT_EQ(c.time_signatures[0].numerator, 3);
  ASSERT_EQ(c.key_signatures.size(), 1u);
  EXPECT_EQ(c.key_signatures[0].fifths, -7);
  EXPECT_FALSE(c.key_signatures[0].minor);
  ASSERT_EQ(c.notes.size(), 1u);
  // A truncated meta event is still an error.
  TrackBuilder cut;
  cut.ev(0, {0xFF, 0x58, 0x04, 4});
  EXPECT_NE(error_of(smf(0, 96, {cut})).find("truncated track 1"), std::string::npos);
}

TEST(MidiFileMeta, Format2TakesTheFirstTracksMeta) {
  TrackBuilder a;
  meta(a, 0, time_signature(3, 2));
  a.tempo(0, 250000).ev(0, {0x90, 60, 100}).ev(96, {0x80, 60, 0}).end();
  TrackBuilder b;
  meta(b, 0, time_signature(2, 2));
  meta(b, 0, key_signature(1, 0));
  b.tempo(0, 1000000).ev(0, {0x90, 62, 100}).ev(96, {0x80, 62, 0}).end();
  const qs::MidiContents c = parse(smf(2, 96, {a, b}));
  ASSERT_EQ(c.time_signatures.size(), 1u);
  EXPECT_EQ(c.time_signatures[0].numerator, 3);
  ASSERT_EQ(c.tempos.size(), 1u);
  EXPECT_DOUBLE_EQ(c.tempos[0].bpm, 240.0);
  EXPECT_TRUE(c.key_signatures.empty());
  EXPECT_DOUBLE_EQ(c.end_time, 1.0);  // the second track's own tempo
  // The grid follows the first track's tempo to the file's end: 240 bpm, 3/4.
  const qs::MidiBeatGrid g = qs::midi_beat_grid(c);
  ASSERT_EQ(g.beats.size(), 5u);
  EXPECT_NEAR(g.beats[4], 1.0, 1e-12);
  EXPECT_EQ(g.downbeats.size(), 2u);
}

TEST(MidiFileMeta, EmptyAndHugeFilesGiveBoundedGrids) {
  EXPECT_TRUE(qs::midi_beat_grid(qs::MidiContents{}).beats.empty());
  TrackBuilder t;  // 2^27 ticks at PPQ 1 and 1 µs per quarter: 2^27 quarters in 134 s
  t.tempo(0, 1).end(1u << 27);
  const qs::MidiBeatGrid g = qs::midi_beat_grid(parse(smf(0, 1, {t})));
  EXPECT_EQ(g.beats.size(), qs::kMaxGridBeats);
}

TEST(MidiFileReader, UnknownChunksAndRiffWrapper) {
  TrackBuilder t;
  t.ev(0, {0x90, 60, 100}).ev(96, {0x80, 60, 0}).end();
  Bytes file = smf(0, 96, {t});
  const Bytes alien = {'X', 'Y', 'Z', 'W', 0, 0, 0, 2, 1, 2};
  file.insert(file.begin() + 14, alien.begin(), alien.end());
  EXPECT_EQ(qs::read_midi(file).size(), 1u);

  Bytes riff = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'R', 'M', 'I', 'D', 'd', 'a', 't', 'a'};
  const auto n = static_cast<std::uint32_t>(file.size());
  riff.insert(riff.end(), {static_cast<std::uint8_t>(n), static_cast<std::uint8_t>(n >> 8), 0, 0});
  riff.insert(riff.end(), file.begin(), file.end());
  EXPECT_EQ(qs::read_midi(riff).size(), 1u);
}

TEST(MidiFileReader, ClearErrors) {
  EXPECT_NE(error_of({}).find("not a MIDI file"), std::string::npos);
  EXPECT_NE(error_of({'R', 'I', 'F', 'F', 'W', 'A', 'V', 'E'}).find("not a MIDI file"), std::string::npos);

  TrackBuilder t;
  t.ev(0, {0x90, 60, 100}).ev(96, {0x80, 60, 0}).end();
  Bytes two = smf(1, 96, {t, t});
  two.resize(two.size() - 3);
  EXPECT_NE(error_of(two).find("truncated track 2"), std::string::npos) << error_of(two);

  Bytes missing = smf(1, 96, {t});
  missing[11] = 3;  // declares 3 tracks
  EXPECT_NE(error_of(missing).find("declares 3 tracks"), std::string::npos) << error_of(missing);

  TrackBuilder no_status;
  no_status.ev(0, {60, 100}).end();
  EXPECT_NE(error_of(smf(0, 96, {no_status})).find("running status"), std::string::npos);

  TrackBuilder long_vlq;
  long_vlq.body = {0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
  EXPECT_NE(error_of(smf(0, 96, {long_vlq})).find("variable-length"), std::string::npos);

  TrackBuilder inside;  // meta event longer than its track
  inside.ev(0, {0xFF, 0x01, 0x7F, 'a'});
  EXPECT_NE(error_of(smf(0, 96, {inside})).find("truncated track 1"), std::string::npos);

  EXPECT_NE(error_of(smf(3, 96, {t})).find("format 3"), std::string::npos);
  EXPECT_NE(error_of(smf(0, 0, {t})).find("division"), std::string::npos);
  EXPECT_NE(error_of(smf(0, 0xE028, {t})).find("SMPTE"), std::string::npos);

  TrackBuilder bad_status;
  bad_status.ev(0, {0xF4}).end();
  EXPECT_NE(error_of(smf(0, 96, {bad_status})).find("0xF4"), std::string::npos);

  try {
    qs::read_midi_file(qs::test::temp_dir("midi-missing") + "/nope.mid");
    FAIL() << "no error for a missing file";
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.mid"), std::string::npos);
  }
}

// ------------------------------------------------------------------------------------------------
// Writer

qs::NoteList random_notes(std::uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> onset(0.0, 30.0), length(0.01, 3.0);
  std::uniform_int_distribution<int> pitch(0, 127), vel(1, 127);
  qs::NoteList notes;
  for (int i = 0; i < n; ++i) {
    const double on = onset(rng);
    notes.push_back({on, on + length(rng), pitch(rng), vel(rng)});
  }
  // The writer cuts overlapping notes of one pitch; keep this input free of them.
  qs::sort_notes(notes);
  qs::NoteList kept;
  for (const auto& n : notes) {
    bool clash = false;
    for (const auto& k : kept) clash |= k.pitch == n.pitch && n.onset < k.offset + 0.1;
    if (!clash) kept.push_back(n);
  }
  return kept;
}

// Notes of one pitch in time order: onsets closer than a tick may swap places in sorted lists.
qs::NoteList by_pitch(qs::NoteList notes) {
  std::sort(notes.begin(), notes.end(),
            [](const qs::Note& a, const qs::Note& b) { return a.pitch != b.pitch ? a.pitch < b.pitch : a.onset < b.onset; });
  return notes;
}

void expect_round_trip(const qs::NoteList& input, const qs::MidiWriteOptions& options) {
  const qs::NoteList notes = by_pitch(input);
  const qs::NoteList back = by_pitch(qs::read_midi(qs::write_midi(input, options)));
  ASSERT_EQ(back.size(), notes.size());
  const double tick = 60.0 / (options.bpm * options.ppq);
  for (std::size_t i = 0; i < notes.size(); ++i) {
    EXPECT_NEAR(back[i].onset, notes[i].onset, tick) << i;
    EXPECT_NEAR(back[i].offset, notes[i].offset, tick) << i;
    EXPECT_EQ(back[i].pitch, notes[i].pitch) << i;
    EXPECT_EQ(back[i].velocity, notes[i].velocity) << i;
  }
}

TEST(MidiFileWriter, RoundTripWithinOneTick) {
  const qs::NoteList notes = random_notes(7, 300);
  ASSERT_GT(notes.size(), 100u);
  expect_round_trip(notes, {});
  qs::MidiWriteOptions type0;
  type0.format = 0;
  type0.program = 41;
  expect_round_trip(notes, type0);
  qs::MidiWriteOptions coarse;
  coarse.ppq = 24;
  coarse.bpm = 97.5;
  coarse.channel = 3;
  expect_round_trip(notes, coarse);
}

TEST(MidiFileWriter, StandardLayout) {
  qs::MidiWriteOptions o;
  o.program = 5;
  const Bytes b = qs::write_midi({{0.0, 0.5, 60, 100}, {0.5, 1.0, 60, 90}}, o);
  const Bytes head = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 1, 0, 2, 0x01, 0xE0};
  ASSERT_GE(b.size(), head.size());
  EXPECT_EQ(Bytes(b.begin(), b.begin() + 14), head);
  // Conductor track: tempo 500000 µs (120 bpm) then end-of-track.
  const Bytes conductor = {'M', 'T', 'r', 'k', 0, 0, 0, 11, 0, 0xFF, 0x51, 3, 0x07, 0xA1, 0x20, 0, 0xFF, 0x2F, 0};
  EXPECT_EQ(Bytes(b.begin() + 14, b.begin() + 14 + conductor.size()), conductor);
  // Note track: program, note-on, note-off before the note-on at the same tick, end-of-track.
  const Bytes notes = {'M', 'T', 'r', 'k', 0, 0, 0, 25,
                       0, 0xC0, 5, 0, 0x90, 60, 100, 0x83, 0x60, 0x80, 60, 64, 0, 0x90, 60, 90,
                       0x83, 0x60, 0x80, 60, 64, 0, 0xFF, 0x2F, 0};
  EXPECT_EQ(Bytes(b.begin() + 14 + conductor.size(), b.end()), notes);
  EXPECT_EQ(qs::read_midi(b).size(), 2u);
}

TEST(MidiFileWriter, OverlapsCutAndTinyNotesKept) {
  const qs::NoteList in = {{0.0, 1.0, 60, 100}, {0.5, 1.5, 60, 90}, {0.5, 0.7, 60, 80}, {2.0, 2.0001, 61, 1}};
  const qs::NoteList back = qs::read_midi(qs::write_midi(in));
  ASSERT_EQ(back.size(), 3u);
  EXPECT_DOUBLE_EQ(back[0].offset, 0.5);  // cut at the next onset of its pitch
  EXPECT_DOUBLE_EQ(back[1].offset, 1.5);  // the longer of two same-onset notes is kept
  EXPECT_EQ(back[2].pitch, 61);
  EXPECT_GT(back[2].offset, back[2].onset);  // at least one tick
}

TEST(MidiFileWriter, RejectsBadInput) {
  EXPECT_THROW(qs::write_midi({{0.0, 1.0, 128, 100}}), qs::Error);
  EXPECT_THROW(qs::write_midi({{1.0, 1.0, 60, 100}}), qs::Error);
  EXPECT_THROW(qs::write_midi({{0.0, 1e12, 60, 100}}), qs::Error);
  qs::MidiWriteOptions o;
  o.format = 2;
  EXPECT_THROW(qs::write_midi({}, o), qs::Error);
  EXPECT_EQ(qs::read_midi(qs::write_midi({})).size(), 0u);
}

TEST(MidiFileWriter, FileRoundTrip) {
  const std::string path = qs::test::temp_dir("midi-file") + "/out.mid";
  const qs::NoteList notes = {{0.25, 1.0, 48, 70}, {0.5, 0.75, 72, 127}};
  qs::write_midi_file(path, notes);
  const qs::NoteList back = qs::read_midi_file(path);
  ASSERT_EQ(back.size(), notes.size());
  for (std::size_t i = 0; i < notes.size(); ++i) {
    expect_note(back[i], notes[i].onset, notes[i].offset, notes[i].pitch, notes[i].velocity);  // exact ticks
  }
}

// ------------------------------------------------------------------------------------------------
// Robustness: only qs::Error may escape, quickly, whatever the bytes.

void read_any(const Bytes& b) {
  try {
    const qs::MidiContents c = qs::parse_midi(b.data(), b.size());
    const qs::MidiBeatGrid g = qs::midi_beat_grid(c);
    for (std::size_t i = 1; i < g.beats.size(); ++i) ASSERT_GT(g.beats[i], g.beats[i - 1]);
  } catch (const qs::Error&) {
  }
}

TEST(MidiFileFuzz, RandomBytes) {
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t seed = 0; seed < 3000; ++seed) {
    Bytes b = qs::test::random_bytes(seed, seed % 200);
    read_any(b);
    // Random bodies behind a valid header reach the track parser.
    const Bytes head = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, static_cast<std::uint8_t>(seed % 3), 0,
                        static_cast<std::uint8_t>(seed % 4), 0, 96, 'M', 'T', 'r', 'k', 0, 0, 0,
                        static_cast<std::uint8_t>(b.size())};
    b.insert(b.begin(), head.begin(), head.end());
    read_any(b);
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
}

TEST(MidiFileFuzz, MutationsOfValidFiles) {
  const std::vector<Bytes> seeds = {rich_file(), qs::write_midi(random_notes(3, 40)), meter_file()};
  std::mt19937_64 rng(12345);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4000; ++i) {
    Bytes b = seeds[i % seeds.size()];
    const int n_mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < n_mutations && !b.empty(); ++m) {
      const std::size_t at = rng() % b.size();
      switch (rng() % 4) {
        case 0: b[at] = static_cast<std::uint8_t>(rng()); break;
        case 1: b[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
        case 2: b.resize(at); break;
        default: b.insert(b.begin() + static_cast<long>(at), static_cast<std::uint8_t>(rng())); break;
      }
    }
    read_any(b);
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
}

}  // namespace
