// qscribe synth: procedural music, MIDI channel splitting, label preparation, fluidsynth rendering
// (audio where the labels say, written .mid == labels), determinism, corrupt inputs, the CLI.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "synth/procedural.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/error.hpp"
#include "qscribe/midi_file.hpp"
#include "synth/synth.hpp"
#include "test_support.hpp"
#include "tool_helpers.hpp"

namespace fs = std::filesystem;
using namespace qs::synth;

namespace {

const char* kSoundfont = "/usr/share/sounds/sf2/TimGM6mb.sf2";  // Debian timgm6mb-soundfont

void put_vlq(std::vector<std::uint8_t>& b, std::uint32_t v) {
  std::uint8_t tmp[5];
  int n = 0;
  tmp[n++] = v & 0x7F;
  while (v >>= 7) tmp[n++] = static_cast<std::uint8_t>((v & 0x7F) | 0x80);
  while (n) b.push_back(tmp[--n]);
}
void put_track(std::vector<std::uint8_t>& smf, const std::vector<std::uint8_t>& events) {
  const auto n = static_cast<std::uint32_t>(events.size());
  smf.insert(smf.end(), {'M', 'T', 'r', 'k', std::uint8_t(n >> 24), std::uint8_t(n >> 16), std::uint8_t(n >> 8), std::uint8_t(n)});
  smf.insert(smf.end(), events.begin(), events.end());
}
struct Ev {
  std::uint32_t delta;
  std::vector<std::uint8_t> bytes;
};
std::vector<std::uint8_t> events(const std::vector<Ev>& evs) {
  std::vector<std::uint8_t> b;
  for (const auto& e : evs) {
    put_vlq(b, e.delta);
    b.insert(b.end(), e.bytes.begin(), e.bytes.end());
  }
  b.insert(b.end(), {0x00, 0xFF, 0x2F, 0x00});
  return b;
}

// A small two-track SMF, PPQ 480, 120 bpm (a tick = 1/960 s): channel 0 plays a violin (program
// 40) line with running status; channel 1 (piano) holds a chord under the sustain pedal; channel 10
// plays drums, which the labels must not contain.
std::vector<std::uint8_t> hand_made_midi() {
  std::vector<std::uint8_t> smf{'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 1, 0, 3, 0x01, 0xE0};
  put_track(smf, events({{0, {0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20}}}));  // 500000 us per quarter
  put_track(smf, events({{0, {0xC0, 40}},
                         {240, {0x90, 72, 90}},
                         {480, {76, 80}},  // running status
                         {0, {72, 0}},     // note-off as velocity 0
                         {480, {79, 100}},
                         {0, {76, 0}},
                         {480, {0x80, 79, 0}}}));
  put_track(smf, events({{0, {0xC1, 0}},
                         {0, {0xB1, 64, 127}},  // pedal down
                         {0, {0x91, 48, 70}},
                         {0, {0x91, 55, 70}},
                         {240, {0x81, 48, 0}},  // released under the pedal: sounds until 1.5 s
                         {0, {0x81, 55, 0}},
                         {1200, {0xB1, 64, 0}},  // pedal up at 1.5 s
                         {0, {0x99, 36, 100}},   // drums
                         {240, {0x89, 36, 0}},
                         {0, {0x91, 43, 60}},
                         {480, {0x81, 43, 0}}}));
  return smf;
}

void write_file(const std::string& path, const std::vector<std::uint8_t>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::vector<std::uint8_t> bytes_of(const std::string& path) { return qs::test::read_bytes(path); }

double rms(const std::vector<float>& x, double sr, double t0, double t1) {
  const auto a = static_cast<std::size_t>(std::max(0.0, t0) * sr), b = std::min(x.size(), static_cast<std::size_t>(t1 * sr));
  double e = 0;
  for (std::size_t i = a; i < b; ++i) e += double(x[i]) * x[i];
  return b > a ? std::sqrt(e / static_cast<double>(b - a)) : 0.0;
}

bool have_soundfont() { return fs::exists(kSoundfont); }

}  // namespace

TEST(SynthProcedural, DeterministicUnderSeedAndMusical) {
  ProceduralOptions po;
  po.duration = 20;
  const Piece a = generate_procedural(42, po), b = generate_procedural(42, po), c = generate_procedural(43, po);
  ASSERT_EQ(a.parts.size(), b.parts.size());
  for (std::size_t i = 0; i < a.parts.size(); ++i) EXPECT_EQ(a.parts[i].notes, b.parts[i].notes);
  EXPECT_NE(a.parts[0].notes, c.parts[0].notes);
  // Over many seeds: notes in range and time, dense enough, and real polyphony appears.
  int max_poly = 0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const Piece p = generate_procedural(seed, po);
    std::size_t n = 0;
    std::vector<std::pair<double, int>> edges;
    for (const auto& part : p.parts)
      for (const auto& note : part.notes) {
        ++n;
        EXPECT_GE(note.pitch, 21);
        EXPECT_LE(note.pitch, 108);
        EXPECT_GE(note.onset, 0.0);
        EXPECT_LE(note.offset, po.duration + 1e-9);
        EXPECT_GT(note.offset, note.onset);
        EXPECT_GE(note.velocity, 1);
        EXPECT_LE(note.velocity, 127);
        edges.push_back({note.onset, 1});
        edges.push_back({note.offset, -1});
      }
    EXPECT_GT(n, 30u) << "seed " << seed;
    std::sort(edges.begin(), edges.end());
    int cur = 0;
    for (const auto& e : edges) max_poly = std::max(max_poly, cur += e.second);
  }
  EXPECT_GE(max_poly, 4);
}

// The strummed-guitar style: a part with a guitar program whose chords are struck string by
// string (onsets a few ms apart, pitches rising on a down-strum, falling on an up-strum).
TEST(SynthProcedural, StrummedChordsOnAGuitarPart) {
  ProceduralOptions po;
  po.duration = 20;
  int strums = 0, guitar_parts = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    const Piece p = generate_procedural(seed, po);
    ASSERT_GE(p.parts.size(), 2u);
    for (std::size_t i = 2; i < p.parts.size(); ++i) EXPECT_FALSE(p.parts[i].notes.empty()) << "seed " << seed;
    for (const auto& part : p.parts) {
      if (part.program < 24 || part.program > 27) continue;
      ++guitar_parts;
      const auto& n = part.notes;  // sorted by onset
      for (std::size_t a = 0; a < n.size();) {
        std::size_t b = a + 1;
        while (b < n.size() && n[b].onset - n[b - 1].onset < 0.05 && n[b].onset - n[b - 1].onset > 0.004) ++b;
        if (b - a >= 3) {
          bool rising = true, falling = true;
          for (std::size_t k = a + 1; k < b; ++k) {
            rising = rising && n[k].pitch > n[k - 1].pitch;
            falling = falling && n[k].pitch < n[k - 1].pitch;
          }
          EXPECT_TRUE(rising || falling) << "seed " << seed << " strum at " << n[a].onset;
          ++strums;
        }
        a = b;
      }
    }
  }
  EXPECT_GE(guitar_parts, 3);
  EXPECT_GE(strums, 30);
}

// The comping style on a guitar part: fragments of extended chords (a seventh or a ninth, so two
// of their pitch classes a semitone or a tone apart) plucked together. The strummed texture's
// open-position triads never have them.
TEST(SynthProcedural, CompingPlaysSeventhsAndNinthsOnAGuitar) {
  ProceduralOptions po;
  po.duration = 20;
  int extended = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const Piece p = generate_procedural(seed, po);
    for (const auto& part : p.parts) {
      if (part.program < 24 || part.program > 26) continue;
      const auto& n = part.notes;  // sorted by onset
      for (std::size_t a = 0; a < n.size();) {
        std::size_t b = a + 1;
        while (b < n.size() && n[b].onset - n[b - 1].onset < 0.015) ++b;
        bool close = false;
        for (std::size_t i = a; i < b; ++i)
          for (std::size_t j = i + 1; j < b; ++j) {
            const int iv = std::abs(n[i].pitch - n[j].pitch) % 12;
            close = close || iv == 1 || iv == 2 || iv == 10 || iv == 11;
          }
        extended += b - a >= 2 && close;
        a = b;
      }
    }
  }
  EXPECT_GE(extended, 50) << "fragments of extended chords on guitars";
}

// The sung line: a part on a voice program, chosen by the texture (kept by --programs random),
// one note at a time, in phrases of long notes slurred into each other with breaths between.
TEST(SynthProcedural, SungLineOnAVoicePart) {
  ProceduralOptions po;
  po.duration = 20;
  int voice_parts = 0, slurs = 0, breaths = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    const Piece p = generate_procedural(seed, po);
    for (const auto& part : p.parts) {
      const bool voice = part.program == 52 || part.program == 53 || part.program == 54 || part.program == 85;
      if (!voice || part.notes.empty() || &part == &p.parts[2]) continue;  // part 2 may be a choir pad
      ++voice_parts;
      EXPECT_TRUE(part.program_chosen) << "seed " << seed;
      const auto& n = part.notes;
      for (std::size_t k = 1; k < n.size(); ++k) {
        EXPECT_GE(n[k].onset, n[k - 1].offset - 1e-9) << "seed " << seed << ": two notes at once at " << n[k].onset;
        const double gap = n[k].onset - n[k - 1].offset;
        slurs += gap < 1e-9;
        breaths += gap > 0.05;
      }
      for (const auto& note : n) EXPECT_GE(note.offset - note.onset, 0.03);
    }
  }
  EXPECT_GE(voice_parts, 3);
  EXPECT_GT(slurs, 2 * breaths);  // mostly legato
  EXPECT_GE(breaths, 5);
}

// The pad under a melody or a sung line (part 2): a sustained program chosen by the texture, its
// chords held for bars in some sections and struck again on the beat, legato, in others.
TEST(SynthProcedural, PadChordsHeldOrStruckAgain) {
  ProceduralOptions po;
  po.duration = 20;
  int pads = 0, restruck = 0, held = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    const Piece p = generate_procedural(seed, po);
    if (p.parts.size() < 3) continue;
    const Part& pad = p.parts[2];  // when the piece has a pad (else the guitar or the voice)
    static const std::set<int> kPads{48, 49, 50, 19, 61, 68, 71, 89};  // not 52: choir aahs may be the voice
    if (kPads.count(pad.program) == 0) continue;
    ++pads;
    EXPECT_TRUE(pad.program_chosen) << "seed " << seed;
    std::map<int, double> last_end;  // pitch -> offset of its previous note
    for (const qs::Note& n : pad.notes) {
      const auto it = last_end.find(n.pitch);
      if (it != last_end.end() && n.onset - it->second < 0.2 && n.onset >= it->second - 1e-9) ++restruck;
      held += n.offset - n.onset > 1.5;
      last_end[n.pitch] = n.offset;
    }
  }
  EXPECT_GE(pads, 5);
  EXPECT_GE(restruck, 60);  // 18 from tones common to successive held chords alone
  EXPECT_GE(held, 20);
}

TEST(SynthMidi, SplitsChannelsWithProgramsPedalAndNoDrums) {
  const auto smf = hand_made_midi();
  const Piece piece = read_midi_piece(smf);
  ASSERT_EQ(piece.parts.size(), 2u);
  EXPECT_EQ(piece.parts[0].program, 40);
  EXPECT_EQ(piece.parts[1].program, 0);
  ASSERT_EQ(piece.parts[0].notes.size(), 3u);
  ASSERT_EQ(piece.parts[1].notes.size(), 3u);
  EXPECT_NEAR(piece.parts[1].notes[0].offset, 1.5, 1e-9);  // pedal-extended
  qs::NoteList all;
  for (const auto& p : piece.parts) all.insert(all.end(), p.notes.begin(), p.notes.end());
  qs::sort_notes(all);
  EXPECT_EQ(all, qs::read_midi(smf));  // same notes as the core reader (no drums: 6 notes)
  EXPECT_EQ(all.size(), 6u);
  EXPECT_THROW(read_midi_piece({'M', 'T', 'h', 'd', 0, 0}), qs::Error);
}

TEST(SynthPrepare, QuantisesTransposesAndMergesOverlaps) {
  Piece piece;
  piece.parts.resize(2);
  piece.parts[0].notes = {{0.1001, 1.0, 60, 80}, {0.5, 0.7, 107, 80}, {0.3, 0.4, 20, 50}};
  piece.parts[1].notes = {{0.5, 2.0, 60, 90}};
  const double rr = 44100;
  const PreparedPiece p = prepare_piece(piece, 2, rr, 1.0);
  // 107 + 2 leaves the range; 20 + 2 enters it.
  for (const auto& part : p.parts)
    for (const auto& n : part.notes) {
      EXPECT_NE(n.pitch, 109);
      const double s = n.onset * rr / 64, e = n.offset * rr / 64;
      EXPECT_NEAR(s, std::round(s), 1e-9);
      EXPECT_NEAR(e, std::round(e), 1e-9);
    }
  // Labels: 62 from part 0 cut at 0.5 s, then one 62 from 0.5 s to 2.0 s; plus 22.
  ASSERT_EQ(p.labels.size(), 3u);
  EXPECT_EQ(p.labels[0].pitch, 62);
  EXPECT_NEAR(p.labels[0].onset, 0.1001, 64 / rr);
  EXPECT_NEAR(p.labels[1].pitch, 22, 0);
  EXPECT_NEAR(p.labels[2].onset, 0.5, 64 / rr);
  EXPECT_NEAR(p.labels[0].offset, p.labels[2].onset, 1e-12);
  EXPECT_NEAR(p.labels[2].offset, 2.0, 64 / rr);
  EXPECT_NEAR(static_cast<double>(p.render_samples) / rr, 3.0, 128 / rr);
}

class SynthRender : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_soundfont()) GTEST_SKIP() << kSoundfont << " missing (apt-get install timgm6mb-soundfont)";
  }
  // Two 3 s procedural pieces + the hand-made MIDI (+ optional extra inputs in the MIDI folder).
  SynthOptions options(const std::string& out, const std::string& midi_dir, std::uint64_t seed) {
    SynthOptions o;
    o.midi_inputs = {midi_dir};
    o.procedural = 2;
    o.procedural_duration = 3.0;
    o.out_dir = out;
    o.seed = seed;
    o.render.soundfonts = {kSoundfont};
    o.progress = false;
    o.verbose_warnings = false;
    return o;
  }
};

TEST_F(SynthRender, AudioFollowsLabelsAndMidMatches) {
  const std::string dir = qs::test::temp_dir("synth_render");
  const std::string midi = dir + "/in", out = dir + "/out";
  fs::create_directories(midi);
  write_file(midi + "/hand.mid", hand_made_midi());
  SynthOptions o = options(out, midi, 7);
  const SynthSummary s = run_synth(o);
  EXPECT_EQ(s.inputs, 3u);
  EXPECT_EQ(s.rendered, 3u);
  EXPECT_EQ(s.skipped, 0u);
  for (const std::string name : {"hand", "proc_00000", "proc_00001"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(fs::exists(out + "/" + name + ".wav"));
    // The labels the renderer played, recomputed from the source.
    const Piece piece = name == "hand" ? read_midi_piece_file(midi + "/hand.mid")
                                       : generate_procedural(file_seed(o.seed, name, -1), ProceduralOptions{3.0, 21, 108});
    const Augmentation aug = draw_augmentation(file_seed(o.seed, name, 0), o.augment, piece, 1);
    const PreparedPiece prep = prepare_piece(piece, aug.transpose, o.render.render_rate, o.render.tail);
    const qs::NoteList written = qs::read_midi_file(out + "/" + name + ".mid");
    ASSERT_EQ(written.size(), prep.labels.size());
    for (std::size_t i = 0; i < written.size(); ++i) {
      EXPECT_EQ(written[i].pitch, prep.labels[i].pitch);
      EXPECT_EQ(written[i].velocity, prep.labels[i].velocity);
      EXPECT_NEAR(written[i].onset, prep.labels[i].onset, 1e-9);
      EXPECT_NEAR(written[i].offset, prep.labels[i].offset, 1e-9);
    }
    if (name == "hand") { EXPECT_EQ(written.size(), 6u); }

    const qs::AudioBuffer audio = qs::load_audio(out + "/" + name + ".wav", 0);
    EXPECT_EQ(audio.sample_rate, 22050.0);
    double last = 0, first = 1e9;
    for (const auto& n : written) last = std::max(last, n.offset), first = std::min(first, n.onset);
    EXPECT_NEAR(audio.duration(), last + o.render.tail, 64.0 / 44100 + 2.0 / 22050);
    float peak = 0;
    for (float x : audio.samples) peak = std::max(peak, std::fabs(x));
    EXPECT_NEAR(20 * std::log10(peak), -1.0, 0.1);  // default peak level
    // Sound where each note starts, silence before the first one.
    for (const auto& n : written) {
      const double r = rms(audio.samples, audio.sample_rate, n.onset, std::min(n.offset, n.onset + 0.08));
      EXPECT_GT(r, 1e-3) << "pitch " << n.pitch << " at " << n.onset;
    }
    if (first > 0.1) { EXPECT_LT(rms(audio.samples, audio.sample_rate, 0.0, first - 0.01), 1e-4); }
  }
  std::ifstream manifest(out + "/synth_manifest.tsv");
  std::string line;
  int lines = 0;
  while (std::getline(manifest, line)) ++lines;
  EXPECT_EQ(lines, 4);
}

// Expression within held notes (--swell), through one sound source: two held notes of `program`
// rendered steady, fading and swelling (floor 30), measured in dB: the first note's tail
// (1.9-2.2 s) against its body (0.6-0.9 s), the second note's start (2.5-2.8 s) against that tail,
// and the middle of a swell (1.2-1.4 s) against its start (0.35-0.5 s).
namespace {
struct SwellLevels {
  double steady_drop, fade_drop, fade_recovery, swell_rise;
};
SwellLevels swell_levels(const RenderOptions& ro, int program) {
  Renderer renderer(ro);
  Piece piece;
  piece.parts.push_back(Part{program, {{0.3, 2.3, 60, 100}, {2.3, 4.3, 64, 100}}});
  const PreparedPiece prep = prepare_piece(piece, 0, ro.render_rate, 0.5);
  EXPECT_EQ(prep.labels.size(), 2u);  // the labels do not change
  auto render = [&](int shape) {
    Augmentation aug;
    aug.programs = {program};
    aug.swell = {shape};
    aug.swell_floor = {30};
    return renderer.render(prep, aug);
  };
  const qs::AudioBuffer steady = render(0), fade = render(1), swell = render(2);
  auto db = [](const qs::AudioBuffer& a, double t0, double t1, double u0, double u1) {
    return 20 * std::log10(rms(a.samples, a.sample_rate, t0, t1) / rms(a.samples, a.sample_rate, u0, u1));
  };
  return {db(steady, 1.9, 2.2, 0.6, 0.9), db(fade, 1.9, 2.2, 0.6, 0.9), db(fade, 2.5, 2.8, 1.9, 2.2),
          db(swell, 1.2, 1.4, 0.35, 0.5)};
}
}  // namespace

// fluidsynth: a fading part's notes end quieter than they start and the next note starts loud
// again; a swelling part's notes are loudest in their middle.
TEST_F(SynthRender, ExpressionFadesAndSwellsHeldNotes) {
  RenderOptions ro;
  ro.soundfonts = {kSoundfont};
  const SwellLevels l = swell_levels(ro, 52);  // choir aahs, held
  EXPECT_GT(l.steady_drop, -6.0);
  EXPECT_LT(l.fade_drop, l.steady_drop - 8.0);
  EXPECT_GT(l.fade_recovery, 8.0);  // the next note starts loud again
  EXPECT_GT(l.swell_rise, 10.0);    // the middle of the swell against its start (4 dB steady)
}

// TiMidity++ (freepats) too: the expression curve is a track of the MIDI file it plays.
TEST(TimiditySource, ExpressionCurveFadesHeldNotes) {
  RenderOptions ro;
  ro.timidity_config = "/etc/timidity/freepats.cfg";
  const SwellLevels l = swell_levels(ro, 19);  // church organ, held
  EXPECT_GT(l.steady_drop, -6.0);
  EXPECT_LT(l.fade_drop, l.steady_drop - 8.0);
  EXPECT_GT(l.fade_recovery, 8.0);  // the next note starts loud again
}

// The audio's pitch is the label's pitch (also after transposition) and it starts at the label onset.
TEST_F(SynthRender, SingleNotePitchAndOnsetMatchTheLabel) {
  RenderOptions ro;
  ro.soundfonts = {kSoundfont};
  Renderer renderer(ro);
  Piece piece;
  piece.parts.push_back(Part{0, {{0.3, 0.8, 69, 100}}});
  for (int transpose : {0, 5, -12}) {
    SCOPED_TRACE(transpose);
    const PreparedPiece prep = prepare_piece(piece, transpose, ro.render_rate, 0.5);
    ASSERT_EQ(prep.labels.size(), 1u);
    Augmentation aug;
    aug.programs = {0};
    const qs::AudioBuffer a = renderer.render(prep, aug);
    const double sr = a.sample_rate, on = prep.labels[0].onset;
    // Strongest semitone (Goertzel) over the sustained part of the note.
    int best = 0;
    double best_power = -1;
    const auto i0 = static_cast<std::size_t>((on + 0.05) * sr), i1 = static_cast<std::size_t>((on + 0.4) * sr);
    for (int p = 36; p <= 96; ++p) {
      const double f = 440.0 * std::pow(2.0, (p - 69) / 12.0), w = 2 * M_PI * f / sr;
      double s1 = 0, s2 = 0;
      for (std::size_t i = i0; i < i1; ++i) {
        const double s0 = a.samples[i] + 2 * std::cos(w) * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      const double power = s1 * s1 + s2 * s2 - 2 * std::cos(w) * s1 * s2;
      if (power > best_power) best_power = power, best = p;
    }
    EXPECT_EQ(best, 69 + transpose);
    // Silence until the onset, sound soon after it (TimGM6mb's samples start 0.5-7 ms late).
    EXPECT_LT(rms(a.samples, sr, 0.0, on - 0.003), 1e-5);
    EXPECT_GT(rms(a.samples, sr, on, on + 0.015), 1e-2);
  }
}

TEST_F(SynthRender, SameSeedSameBytesWhateverWorkersAndDifferentSeedDiffers) {
  const std::string dir = qs::test::temp_dir("synth_determinism");
  const std::string midi = dir + "/in";
  fs::create_directories(midi);
  write_file(midi + "/hand.mid", hand_made_midi());
  auto augmented = [&](const std::string& out, std::uint64_t seed, int workers) {
    SynthOptions o = options(out, midi, seed);
    o.num_workers = workers;
    o.augment.programs = ProgramMode::Random;
    o.augment.transpose_min = -3;
    o.augment.transpose_max = 3;
    o.augment.peak_db_min = -20;
    o.augment.peak_db_max = -1;
    o.augment.reverb_prob = 0.7;
    o.augment.chorus_prob = 0.7;
    o.augment.noise = true;
    o.augment.noise_snr_min = 20;
    o.augment.noise_snr_max = 40;
    return run_synth(o);
  };
  EXPECT_EQ(augmented(dir + "/a", 5, 1).rendered, 3u);
  EXPECT_EQ(augmented(dir + "/b", 5, 3).rendered, 3u);  // one fresh synth per file vs one reused
  EXPECT_EQ(augmented(dir + "/c", 6, 2).rendered, 3u);
  for (const std::string f : {"hand.wav", "hand.mid", "proc_00000.wav", "proc_00000.mid", "proc_00001.wav",
                              "synth_manifest.tsv"}) {
    SCOPED_TRACE(f);
    const auto a = bytes_of(dir + "/a/" + f);
    EXPECT_EQ(a, bytes_of(dir + "/b/" + f));
    EXPECT_NE(a, bytes_of(dir + "/c/" + f));
  }
}

TEST_F(SynthRender, CorruptMidiIsSkippedWithAWarningAndCounted) {
  const std::string dir = qs::test::temp_dir("synth_corrupt");
  const std::string midi = dir + "/in";
  fs::create_directories(midi + "/sub");
  write_file(midi + "/sub/good.MID", hand_made_midi());
  write_file(midi + "/garbage.mid", qs::test::random_bytes(3, 500));
  auto truncated = hand_made_midi();
  truncated.resize(40);
  write_file(midi + "/truncated.midi", truncated);
  std::vector<std::uint8_t> drums{'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0};
  put_track(drums, events({{0, {0x99, 36, 100}}, {480, {0x89, 36, 0}}}));
  write_file(midi + "/drums.mid", drums);
  SynthOptions o = options(dir + "/out", midi, 1);
  o.procedural = 0;
  o.variants = 2;
  const SynthSummary s = run_synth(o);
  EXPECT_EQ(s.inputs, 4u);
  EXPECT_EQ(s.rendered, 2u);  // sub_good_v0, sub_good_v1
  EXPECT_EQ(s.skipped, 6u);
  EXPECT_EQ(s.corrupt, 2u);
  EXPECT_EQ(s.warnings.size(), 3u);
  EXPECT_TRUE(fs::exists(dir + "/out/sub_good_v1.wav"));
  EXPECT_FALSE(fs::exists(dir + "/out/garbage.wav"));
  bool named = false;
  for (const auto& w : s.warnings) named |= w.find("garbage.mid") != std::string::npos;
  EXPECT_TRUE(named);
}

TEST_F(SynthRender, SplitDevHoldsOutWholePieces) {
  const std::string dir = qs::test::temp_dir("synth_split");
  SynthOptions o = options(dir + "/out", dir, 3);
  o.midi_inputs.clear();
  o.procedural = 6;
  o.procedural_duration = 1.0;
  o.variants = 2;
  o.split_dev = 0.5;
  EXPECT_EQ(run_synth(o).rendered, 12u);
  int dev = 0, train = 0;
  for (int i = 0; i < 6; ++i) {
    char b[32];
    std::snprintf(b, sizeof b, "proc_%05d", i);
    const bool d0 = fs::exists(dir + "/out/dev/" + b + "_v0.wav"), d1 = fs::exists(dir + "/out/dev/" + b + "_v1.wav");
    const bool t0 = fs::exists(dir + "/out/train/" + b + "_v0.wav");
    EXPECT_EQ(d0, d1);  // variants stay together
    EXPECT_NE(d0, t0);
    (d0 ? dev : train) += 1;
  }
  EXPECT_EQ(dev + train, 6);
  // --only-dev renders the same dev pieces and nothing else.
  o.out_dir = dir + "/only";
  o.only_dev = true;
  EXPECT_EQ(run_synth(o).rendered, static_cast<std::size_t>(2 * dev));
  EXPECT_FALSE(fs::exists(dir + "/only/train"));
  for (const auto& e : fs::directory_iterator(dir + "/out/dev"))
    EXPECT_EQ(bytes_of(e.path().string()), bytes_of(dir + "/only/dev/" + e.path().filename().string())) << e.path();
}

// ---- tempo warp and the beat ground truth ----------------------------------------------------

namespace {

// PPQ 480, 3/4 in D major: two bars at 120 bpm (beats of 0.5 s), two at 100 bpm (0.6 s) from
// 3.0 s; a note on every beat (72 on downbeats, else 60), half a beat long: the file ends at 6.3 s.
std::vector<std::uint8_t> beats_midi() {
  std::vector<std::uint8_t> smf{'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 1, 0, 2, 0x01, 0xE0};
  put_track(smf, events({{0, {0xFF, 0x58, 0x04, 3, 2, 24, 8}},
                         {0, {0xFF, 0x59, 0x02, 2, 0}},
                         {0, {0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20}},     // 500000 us
                         {480 * 6, {0xFF, 0x51, 0x03, 0x09, 0x27, 0xC0}}}));  // 600000 us
  std::vector<Ev> notes;
  for (int beat = 0; beat < 12; ++beat) {
    const std::uint8_t pitch = beat % 3 == 0 ? 72 : 60;
    notes.push_back({beat == 0 ? 0u : 240u, {0x90, pitch, 90}});
    notes.push_back({240, {0x80, pitch, 0}});
  }
  put_track(smf, events(notes));
  return smf;
}
const std::vector<double> kBeats = {0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.6, 4.2, 4.8, 5.4, 6.0};

struct BeatLine {
  double time;
  int bar, beat;
};
std::vector<BeatLine> read_beats(const std::string& path) {
  std::ifstream in(path);
  std::vector<BeatLine> out;
  std::string line;
  bool header = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '#') {
      header = true;
      continue;
    }
    BeatLine b{};
    EXPECT_EQ(std::sscanf(line.c_str(), "%lf\t%d\t%d", &b.time, &b.bar, &b.beat), 3) << line;
    out.push_back(b);
  }
  EXPECT_TRUE(header) << path;
  return out;
}
nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST(SynthTempoWarp, DrawsInRangeMapsIncreasingAndNotesFollow) {
  Piece piece;
  piece.parts.resize(2);
  for (int k = 0; k < 200; ++k) {
    piece.parts[0].notes.push_back({0.25 * k, 0.25 * k + 0.2, 60 + k % 12, 80});
    if (k % 4 == 0) piece.parts[1].notes.push_back({0.25 * k, 0.25 * k + 0.9, 40, 80});  // chords with part 0
  }
  int changes = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    SCOPED_TRACE(seed);
    Rng r(seed);
    const TempoWarp w = draw_tempo_warp(r, true, 50.0);
    EXPECT_GE(w.factor, 0.8);
    EXPECT_LE(w.factor, 1.25);
    EXPECT_GE(w.change_factor, 0.75);
    EXPECT_LE(w.change_factor, 1.3);
    EXPECT_GE(w.change_at, 0.15 * 50);
    EXPECT_LE(w.change_at, 0.7 * 50);
    EXPECT_GE(w.change_length, 2.0);
    EXPECT_LE(w.change_length, 8.0);
    EXPECT_GE(w.rubato_depth, 0.03);
    EXPECT_LE(w.rubato_depth, 0.08);
    EXPECT_GE(w.rubato_period, 4.0);
    EXPECT_LE(w.rubato_period, 12.0);
    EXPECT_GE(w.jitter_sigma, 0.005);
    EXPECT_LE(w.jitter_sigma, 0.020);
    changes += w.change;
    const TempoWarpMap map(w, 51.0);
    double prev = map(0.0);
    EXPECT_EQ(prev, 0.0);
    for (double s = 0.003; s < 60; s += 0.007) {  // also beyond the table
      const double t = map(s);
      ASSERT_GT(t, prev) << s;
      // The slope is 1 / F.
      if (s < 50.9) EXPECT_NEAR((map(s + 1e-4) - map(s - 1e-4)) / 2e-4, 1.0 / map.tempo_factor(s), 2e-3) << s;
      prev = t;
    }
    const Piece warped = warp_piece(piece, w, map);
    for (std::size_t p = 0; p < piece.parts.size(); ++p)
      for (std::size_t i = 0; i < piece.parts[p].notes.size(); ++i) {
        const qs::Note& a = piece.parts[p].notes[i];
        const qs::Note& b = warped.parts[p].notes[i];
        const double j = b.onset - map(a.onset);
        EXPECT_LE(std::fabs(j), 2.5 * w.jitter_sigma + 1e-12);
        EXPECT_NEAR(b.offset - b.onset, map(a.offset) - map(a.onset), 1e-9);  // the length is kept
        if (i > 0) EXPECT_GT(b.onset, warped.parts[p].notes[i - 1].onset);    // the order too
        if (p == 1) EXPECT_EQ(b.onset, warped.parts[0].notes[4 * i].onset);   // a chord stays together
      }
  }
  EXPECT_GT(changes, 10);
  EXPECT_LT(changes, 30);
  // An identity-like warp (no tempo factor, rubato, change or jitter) leaves times alone, and a
  // disabled one is the identity.
  TempoWarp id;
  id.enabled = true;
  const TempoWarpMap map(id, 60.0);
  for (double s : {0.0, 0.3, 17.77, 59.999, 75.0}) EXPECT_NEAR(map(s), s, 1e-9);
  const Piece same = warp_piece(piece, id, map);
  for (std::size_t i = 0; i < piece.parts[0].notes.size(); ++i) {
    EXPECT_NEAR(same.parts[0].notes[i].onset, piece.parts[0].notes[i].onset, 1e-9);
    EXPECT_NEAR(same.parts[0].notes[i].offset, piece.parts[0].notes[i].offset, 1e-9);
  }
  Rng r(3);
  const TempoWarp off = draw_tempo_warp(r, false, 50.0);
  EXPECT_EQ(TempoWarpMap(off, 60)(12.345), 12.345);
  // Keys follow the transposition: D major up a semitone is Eb major (3 flats).
  EXPECT_EQ(transpose_fifths(2, 1), -3);
  EXPECT_EQ(transpose_fifths(0, -1), 5);  // B major
  EXPECT_EQ(transpose_fifths(-7, 0), -7);
  EXPECT_EQ(transpose_fifths(-3, 12), -3);
}

TEST_F(SynthRender, BeatsFileFollowsTheTempoMapAndTheWarp) {
  const std::string dir = qs::test::temp_dir("synth_beats");
  const std::string midi = dir + "/in";
  fs::create_directories(midi);
  write_file(midi + "/waltz.mid", beats_midi());
  // Without the warp: the tempo map's beats, bars of 3, the MIDI's notes on them.
  SynthOptions o = options(dir + "/plain", midi, 11);
  o.procedural = 1;
  ASSERT_EQ(run_synth(o).rendered, 2u);
  EXPECT_FALSE(fs::exists(dir + "/plain/proc_00000.beats.tsv"));  // procedural pieces have none
  const auto plain = read_beats(dir + "/plain/waltz.beats.tsv");
  ASSERT_EQ(plain.size(), kBeats.size());
  for (std::size_t i = 0; i < kBeats.size(); ++i) {
    EXPECT_NEAR(plain[i].time, kBeats[i], 1e-6);
    EXPECT_EQ(plain[i].bar, static_cast<int>(i / 3) + 1);
    EXPECT_EQ(plain[i].beat, static_cast<int>(i % 3) + 1);
  }
  const qs::NoteList written = qs::read_midi_file(dir + "/plain/waltz.mid");
  ASSERT_EQ(written.size(), 12u);
  for (std::size_t i = 0; i < written.size(); ++i) EXPECT_NEAR(written[i].onset, kBeats[i], 64 / 44100.0);
  const auto meta = read_json(dir + "/plain/waltz.meta.json");
  ASSERT_EQ(meta["time_signatures"].size(), 1u);
  EXPECT_EQ(meta["time_signatures"][0]["numerator"], 3);
  EXPECT_EQ(meta["time_signatures"][0]["denominator"], 4);
  EXPECT_EQ(meta["key_signatures"][0]["fifths"], 2);
  EXPECT_EQ(meta["key_signatures"][0]["minor"], false);
  EXPECT_EQ(meta["stated_time_signature"], true);
  EXPECT_EQ(meta["stated_key"], true);
  EXPECT_EQ(meta["tempo_warp"]["enabled"], false);
  EXPECT_TRUE(fs::exists(dir + "/plain/waltz.wav"));
  for (const auto& e : fs::directory_iterator(dir + "/plain"))
    EXPECT_EQ(e.path().string().find(".part."), std::string::npos) << e.path();

  // With the warp, 4 variants: increasing beats, the same bars, the notes on the warped beats
  // within the drawn jitter; a transposition moves the key.
  o = options(dir + "/warped", midi, 11);
  o.procedural = 0;
  o.variants = 4;
  o.augment.tempo_warp = true;
  o.augment.transpose_min = o.augment.transpose_max = 1;
  ASSERT_EQ(run_synth(o).rendered, 4u);
  double moved = 0;
  for (int v = 0; v < 4; ++v) {
    const std::string base = dir + "/warped/waltz_v" + std::to_string(v);
    SCOPED_TRACE(base);
    const auto beats = read_beats(base + ".beats.tsv");
    const auto m = read_json(base + ".meta.json");
    EXPECT_EQ(m["tempo_warp"]["enabled"], true);
    EXPECT_EQ(m["key_signatures"][0]["fifths"], -3);  // Eb major
    EXPECT_EQ(m["transpose"], 1);
    const double sigma = m["tempo_warp"]["jitter_ms"].get<double>() / 1e3;
    ASSERT_EQ(beats.size(), kBeats.size());
    const qs::NoteList notes = qs::read_midi_file(base + ".mid");
    ASSERT_EQ(notes.size(), 12u);
    for (std::size_t i = 0; i < beats.size(); ++i) {
      EXPECT_EQ(beats[i].bar, plain[i].bar);
      EXPECT_EQ(beats[i].beat, plain[i].beat);
      if (i > 0) EXPECT_GT(beats[i].time, beats[i - 1].time + 0.2);
      moved = std::max(moved, std::fabs(beats[i].time - kBeats[i]));
      EXPECT_NEAR(notes[i].onset, beats[i].time, 2.5 * sigma + 64 / 44100.0 + 1e-6);
      EXPECT_EQ(notes[i].pitch, (i % 3 == 0 ? 72 : 60) + 1);
    }
    // The warped time signature stands where the first beat is.
    EXPECT_NEAR(m["time_signatures"][0]["time_s"].get<double>(), beats[0].time, 1e-6);
  }
  EXPECT_GT(moved, 0.1);

  // --clip 4: the first 4 s of the score, beats and notes alike.
  o = options(dir + "/clipped", midi, 11);
  o.procedural = 0;
  o.clip = 4.0;
  ASSERT_EQ(run_synth(o).rendered, 1u);
  const auto clipped = read_beats(dir + "/clipped/waltz.beats.tsv");
  ASSERT_EQ(clipped.size(), 8u);
  EXPECT_NEAR(clipped.back().time, 3.6, 1e-6);
  EXPECT_EQ(qs::read_midi_file(dir + "/clipped/waltz.mid").size(), 8u);
}

TEST(SynthCli, HelpAndUsageErrors) {
  std::string out;
  EXPECT_EQ(qs::test::run_qscribe("synth --help", &out), 0);
  for (const char* opt : {"--midi", "--procedural", "--soundfont", "--seed", "--variants", "--num-workers", "--programs",
                          "--transpose", "--gain-db", "--reverb", "--chorus", "--noise-db", "--split-dev", "--tempo-warp"})
    EXPECT_NE(out.find(opt), std::string::npos) << opt;
  EXPECT_EQ(qs::test::run_qscribe("synth --procedural 1 -o /tmp/x --no-such-option"), 2);
  EXPECT_EQ(qs::test::run_qscribe("synth --procedural 1"), 2);  // -o required
  EXPECT_EQ(qs::test::run_qscribe("synth --procedural 1 -o /tmp/x --programs violin"), 2);
  EXPECT_EQ(qs::test::run_qscribe("synth --procedural 1 -o /tmp/x --transpose 3:1"), 2);
  EXPECT_EQ(qs::test::run_qscribe("synth --procedural 1 -o /tmp/x --gain-db abc"), 2);
}

TEST(SynthCli, EndToEndProcedural) {
  if (!have_soundfont()) GTEST_SKIP() << kSoundfont << " missing";
  const std::string dir = qs::test::temp_dir("synth_cli");
  std::string out;
  ASSERT_EQ(qs::test::run_qscribe("synth --procedural 2 --duration 2 --augment --transpose=-2:2 -j 2 -q -o " + dir + "/o", &out), 0) << out;
  EXPECT_NE(out.find("rendered 2 files"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(dir + "/o/proc_00001.wav"));
  EXPECT_TRUE(fs::exists(dir + "/o/proc_00001.mid"));
  EXPECT_EQ(qs::test::run_qscribe("synth --procedural 1 --soundfont /nonexistent.sf2 -q -o " + dir + "/p", &out), 1);
  EXPECT_NE(out.find("qscribe: error:"), std::string::npos) << out;
}
