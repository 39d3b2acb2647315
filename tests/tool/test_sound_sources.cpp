// The training audio's variety: the sampled Salamander piano (pitch, onset, damper, re-strike),
// the plucked-string model (pitch, decay, mute, pick position, velocity), the singers (pitch,
// slurs and scoops, swells), the sustained tones of drawn spectra (pitch, variety, release),
// the recording chain (room, microphone, codec: the labels' times survive each), the sources'
// weights and the performance draws, and the procedural textures (re-struck notes, high register).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "synth/expression.hpp"
#include "synth/piano_sampler.hpp"
#include "synth/plucked_string.hpp"
#include "synth/procedural.hpp"
#include "synth/sung_voice.hpp"
#include "synth/sustained_tone.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/error.hpp"
#include "qscribe/midi_file.hpp"
#include "synth/recording_chain.hpp"
#include "synth/synth.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace qs::synth;

namespace {

const std::string kNodeModules = std::string(QSCRIBE_SOURCE_DIR) + "/node_modules";
constexpr double kRate = 44100.0;

double rms(const std::vector<float>& x, double sr, double t0, double t1) {
  const auto a = static_cast<std::size_t>(std::max(0.0, t0) * sr), b = std::min(x.size(), static_cast<std::size_t>(t1 * sr));
  double e = 0;
  for (std::size_t i = a; i < b; ++i) e += double(x[i]) * x[i];
  return b > a ? std::sqrt(e / static_cast<double>(b - a)) : 0.0;
}

// Power of x at `hz` in [t0, t1) (Goertzel).
double power_at(const std::vector<float>& x, double sr, double hz, double t0, double t1) {
  const double w = 2 * M_PI * hz / sr;
  double s1 = 0, s2 = 0;
  for (auto i = static_cast<std::size_t>(t0 * sr); i < std::min(x.size(), static_cast<std::size_t>(t1 * sr)); ++i) {
    const double s0 = x[i] + 2 * std::cos(w) * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - 2 * std::cos(w) * s1 * s2;
}

// The semitone within lo..hi with the most energy in [t0, t1) (Goertzel at each semitone's
// frequency). A piano's second partial may outweigh its first, so callers search around the
// expected fundamental: a key played a semitone off would win there.
int strongest_semitone(const std::vector<float>& x, double sr, double t0, double t1, int lo, int hi) {
  int best = 0;
  double best_power = -1;
  for (int p = lo; p <= hi; ++p) {
    const double power = power_at(x, sr, 440.0 * std::pow(2.0, (p - 69) / 12.0), t0, t1);
    if (power > best_power) best_power = power, best = p;
  }
  return best;
}

const PianoSampler& piano() {
  static const PianoSampler p(PianoSampler::default_notes_dir(kNodeModules), PianoSampler::default_release_dir(kNodeModules),
                              kRate);
  return p;
}

std::vector<float> play(const qs::NoteList& notes, double seconds, const PianoPerformance& perf = {}) {
  std::vector<float> out(static_cast<std::size_t>(seconds * kRate), 0.0f);
  piano().render(notes, perf, out);
  return out;
}

}  // namespace

// Sampled keys (A4, C4) and keys a semitone either side of a sample sound at their own pitch,
// start at the onset, and stop soon after the note-off (the damper), keeping only the release noise.
TEST(PianoSampler, KeysSoundAtTheirPitchFromTheirOnsetAndAreDamped) {
  for (int pitch : {69, 70, 60, 59, 61, 45, 84}) {
    SCOPED_TRACE(pitch);
    const std::vector<float> held = play({{0.2, 1.8, pitch, 90}}, 2.0);
    const std::vector<float> short_note = play({{0.2, 0.6, pitch, 90}}, 2.0);
    EXPECT_EQ(strongest_semitone(held, kRate, 0.3, 0.8, pitch - 2, pitch + 2), pitch);
    EXPECT_LT(rms(held, kRate, 0.0, 0.199), 1e-7);
    EXPECT_GT(rms(held, kRate, 0.2, 0.215), 1e-3);
    // 0.6 s after the note-off the damped note is at least 30 dB below the held one.
    EXPECT_LT(rms(short_note, kRate, 1.2, 1.5), rms(held, kRate, 1.2, 1.5) * 0.03);
  }
}

// Velocity sets the level and the brightness; the tuning offset moves the pitch.
TEST(PianoSampler, VelocityAndTuning) {
  const std::vector<float> soft = play({{0.1, 1.0, 60, 30}}, 1.0), loud = play({{0.1, 1.0, 60, 120}}, 1.0);
  EXPECT_GT(rms(loud, kRate, 0.1, 0.6), 4 * rms(soft, kRate, 0.1, 0.6));
  PianoPerformance sharp;
  sharp.detune_cents = 100.0;  // a whole semitone up
  EXPECT_EQ(strongest_semitone(play({{0.1, 1.0, 60, 90}}, 1.0, sharp), kRate, 0.2, 0.8, 58, 62), 61);
}

// A key struck while it still sounds starts a new attack there.
TEST(PianoSampler, RestruckKeyAttacksAgain) {
  const std::vector<float> once = play({{0.1, 2.0, 72, 100}}, 2.0);
  const std::vector<float> twice = play({{0.1, 2.0, 72, 100}, {1.0, 2.0, 72, 100}}, 2.0);
  EXPECT_GT(rms(twice, kRate, 1.0, 1.05), 2 * rms(once, kRate, 1.0, 1.05));
  EXPECT_GT(rms(twice, kRate, 1.0, 1.05), 2 * rms(twice, kRate, 0.9, 0.95));
}

TEST(PianoSampler, MissingSamplesAreAClearError) {
  try {
    PianoSampler p("/nonexistent/audio", "/nonexistent/audio", kRate);
    FAIL() << "no error";
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("npm ci"), std::string::npos) << e.what();
  }
}

namespace {

std::vector<float> pluck(const qs::NoteList& notes, double seconds, const PluckPerformance& perf = {}) {
  std::vector<float> out(static_cast<std::size_t>(seconds * kRate), 0.0f);
  render_plucked_strings(notes, perf, kRate, out);
  return out;
}

double db(double ratio) { return 20.0 * std::log10(std::max(ratio, 1e-30)); }

// Two procedural pieces rendered by one source (the recording chain on): there is sound at every
// label's onset, and the manifest names the source. Returns the options for further runs.
SynthOptions expect_source_renders(const std::string& out, const std::string& source_name,
                                   void (*choose_source)(RenderOptions&)) {
  SynthOptions o;
  o.out_dir = out;
  o.procedural = 2;
  o.procedural_duration = 4.0;
  o.seed = 3;
  o.num_workers = 1;
  o.progress = false;
  o.verbose_warnings = false;
  choose_source(o.render);
  o.augment.recording = RecordingOptions{1.0, 1.0, 1.0};
  const SynthSummary s = run_synth(o);
  EXPECT_EQ(s.rendered, 2u);
  for (const std::string name : {"proc_00000", "proc_00001"}) {
    const qs::NoteList labels = qs::read_midi_file(out + "/" + name + ".mid");
    const qs::AudioBuffer audio = qs::load_audio(out + "/" + name + ".wav", 0);
    EXPECT_FALSE(labels.empty());
    for (const qs::Note& n : labels)
      EXPECT_GT(rms(audio.samples, audio.sample_rate, n.onset, n.onset + 0.05), 1e-4) << name << " " << n.onset;
  }
  std::ifstream manifest(out + "/synth_manifest.tsv");
  const std::string text((std::istreambuf_iterator<char>(manifest)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(source_name), std::string::npos);
  EXPECT_NE(text.find("room="), std::string::npos);
  return o;
}

}  // namespace

// Strings from E1 to E7 sound at their pitch from their onset, and a note-off mutes them.
TEST(PluckedStrings, StringsSoundAtTheirPitchFromTheirOnsetAndAreMuted) {
  for (int pitch : {28, 40, 45, 57, 64, 69, 84, 100}) {
    SCOPED_TRACE(pitch);
    const std::vector<float> held = pluck({{0.2, 1.8, pitch, 90}}, 2.0);
    const std::vector<float> short_note = pluck({{0.2, 0.6, pitch, 90}}, 2.0);
    EXPECT_EQ(strongest_semitone(held, kRate, 0.25, 0.6, pitch - 2, pitch + 2), pitch);
    EXPECT_EQ(rms(held, kRate, 0.0, 0.199), 0.0);
    EXPECT_GT(rms(held, kRate, 0.2, 0.215), 1e-2);
    // Still ringing 0.4 s after the pluck while held; 0.4 s after its note-off the muted string
    // (0.15 s to -60 dB) is silent.
    EXPECT_GT(rms(held, kRate, 1.0, 1.1), 0.0);
    EXPECT_GT(rms(held, kRate, 0.6, 0.7), 1e-3 * rms(held, kRate, 0.2, 0.3));
    EXPECT_LT(rms(short_note, kRate, 1.0, 1.1), 1e-4 * rms(held, kRate, 1.0, 1.1) + 1e-12);
  }
}

// Two parts on one key sound as the labels merge them: the later note rings to the later end
// (the key is not muted at the shorter note's end), and two struck at once are one pluck at the
// louder velocity.
TEST(PluckedStrings, OneKeyInTwoPartsSoundsAsTheLabels) {
  const std::vector<float> overlap = pluck({{0.0, 2.0, 60, 90}, {1.0, 1.5, 60, 90}}, 2.5);
  const std::vector<float> alone = pluck({{1.0, 1.5, 60, 90}}, 2.5);
  EXPECT_GT(rms(overlap, kRate, 1.7, 1.9), 100 * rms(alone, kRate, 1.7, 1.9) + 1e-6);
  EXPECT_EQ(pluck({{0.1, 1.0, 64, 60}, {0.1, 0.5, 64, 100}}, 1.5), pluck({{0.1, 1.0, 64, 100}}, 1.5));
}

// The fundamental decays at the drawn rate on A2 (decay_s to -60 dB), and higher strings ring
// shorter (t60 ~ f^-0.5: A5 rings sqrt(8) times shorter).
TEST(PluckedStrings, FundamentalDecaysAtTheSetRateShorterHigherUp) {
  PluckPerformance perf;
  perf.decay_s = 4.0;
  perf.body_mix = 0.0;
  auto decay_db_per_s = [&](int pitch) {
    const std::vector<float> x = pluck({{0.0, 3.0, pitch, 100}}, 3.0, perf);
    const double hz = 440.0 * std::pow(2.0, (pitch - 69) / 12.0);
    return (db(std::sqrt(power_at(x, kRate, hz, 0.5, 0.7))) - db(std::sqrt(power_at(x, kRate, hz, 1.0, 1.2)))) / 0.5;
  };
  const double a2 = decay_db_per_s(45), a5 = decay_db_per_s(81);
  EXPECT_NEAR(a2, 60.0 / 4.0, 2.0);
  EXPECT_NEAR(a5, 60.0 / (4.0 / std::sqrt(8.0)), 6.0);
}

// A pluck at a quarter of the string has no 4th harmonic at first (its comb's first zero); one
// at a tenth has. A soft pluck is quieter and darker than a loud one; a string plucked again
// while it rings attacks again.
TEST(PluckedStrings, PickPositionVelocityAndRestrike) {
  PluckPerformance quarter, tenth;
  quarter.pick_position = 0.25;
  tenth.pick_position = 0.1;
  quarter.body_mix = tenth.body_mix = 0.0;
  const double f0 = 220.0;  // A3: period 200.45 samples, a quarter of it 50
  auto fourth_vs_third = [&](const PluckPerformance& perf) {
    const std::vector<float> x = pluck({{0.0, 1.0, 57, 127}}, 1.0, perf);
    return db(std::sqrt(power_at(x, kRate, 4 * f0, 0.0, 0.05) / power_at(x, kRate, 3 * f0, 0.0, 0.05)));
  };
  EXPECT_LT(fourth_vs_third(quarter), fourth_vs_third(tenth) - 15.0);

  const std::vector<float> soft = pluck({{0.1, 1.0, 60, 30}}, 1.0), loud = pluck({{0.1, 1.0, 60, 120}}, 1.0);
  EXPECT_GT(rms(loud, kRate, 0.1, 0.3), 4 * rms(soft, kRate, 0.1, 0.3));
  const double c4 = 261.63;
  auto upper_share = [&](const std::vector<float>& x) {  // harmonics 6-8 against 1-2, first 50 ms
    double hi = 0, lo = 0;
    for (int k = 6; k <= 8; ++k) hi += power_at(x, kRate, k * c4, 0.1, 0.15);
    for (int k = 1; k <= 2; ++k) lo += power_at(x, kRate, k * c4, 0.1, 0.15);
    return hi / lo;
  };
  EXPECT_GT(upper_share(loud), 4 * upper_share(soft));

  const std::vector<float> once = pluck({{0.1, 2.0, 64, 100}}, 2.0);
  const std::vector<float> twice = pluck({{0.1, 2.0, 64, 100}, {1.0, 2.0, 64, 100}}, 2.0);
  EXPECT_GT(rms(twice, kRate, 1.0, 1.05), 2 * rms(once, kRate, 1.0, 1.05));
  EXPECT_GT(rms(twice, kRate, 1.0, 1.05), 2 * rms(twice, kRate, 0.9, 0.95));
}

// `qscribe synth --plucked-strings`: the last source, named in the manifest, audio at every label.
TEST(SynthSources, PluckedStringsSourceRendersEveryPart) {
  expect_source_renders(qs::test::temp_dir("synth_pluck"), "plucked-strings",
                        [](RenderOptions& r) { r.plucked_strings = true; });
  RenderOptions ro;
  ro.soundfonts = {"/usr/share/sounds/sf2/TimGM6mb.sf2"};
  ro.piano_samples = kNodeModules;
  ro.plucked_strings = true;
  Renderer renderer(ro);
  ASSERT_EQ(renderer.sources(), 3);
  EXPECT_EQ(renderer.source_name(1), "salamander-piano");
  EXPECT_EQ(renderer.source_name(2), "plucked-strings");
}

namespace {

std::vector<float> sing(const std::vector<qs::NoteList>& parts, double seconds, const SingPerformance& perf) {
  std::vector<float> out(static_cast<std::size_t>(seconds * kRate), 0.0f);
  render_sung_voices(parts, perf, kRate, out);
  return out;
}

// The pitch (fractional MIDI) with the most energy in [t0, t1), searched in 5-cent steps around
// `near` (+-4 semitones).
double sung_pitch(const std::vector<float>& x, double t0, double t1, int near) {
  double best = near, best_power = -1;
  for (double p = near - 4.0; p <= near + 4.0; p += 0.05) {
    const double power = power_at(x, kRate, 440.0 * std::pow(2.0, (p - 69) / 12.0), t0, t1);
    if (power > best_power) best_power = power, best = p;
  }
  return best;
}

SingPerformance steady_singer() {  // no vibrato, wander or breath: the pitch is the note's
  SingPerformance perf;
  perf.vibrato_cents = 0.0;
  perf.jitter_cents = 0.0;
  perf.breath = 0.0;
  perf.scoop_cents = 0.0;
  return perf;
}

}  // namespace

// Notes from C3 to A5 are sung at their pitch, from their onset, and end within the release
// after their note-off; vibrato swings the pitch by its depth.
TEST(SungVoices, NotesSoundAtTheirPitchFromTheOnsetToTheRelease) {
  for (int pitch : {48, 57, 64, 72, 81}) {
    SCOPED_TRACE(pitch);
    SingPerformance perf;
    perf.seed = static_cast<std::uint64_t>(pitch);
    const std::vector<float> x = sing({{{0.2, 1.2, pitch, 90}}}, 1.6, perf);
    EXPECT_EQ(strongest_semitone(x, kRate, 0.4, 1.0, pitch - 2, pitch + 2), pitch);
    EXPECT_EQ(rms(x, kRate, 0.0, 0.129), 0.0);  // a consonant may come up to 70 ms before the onset
    EXPECT_GT(rms(x, kRate, 0.22, 0.26), 1e-2);
    EXPECT_EQ(rms(x, kRate, 1.2 + perf.release_s + 0.001, 1.6), 0.0);
  }
  SingPerformance vibrato = steady_singer();
  vibrato.vibrato_cents = 80.0;
  vibrato.vibrato_hz = 5.0;
  vibrato.vibrato_delay_s = 0.01;
  const std::vector<float> x = sing({{{0.0, 2.0, 69, 90}}}, 2.0, vibrato);
  double lo = 99, hi = 0;
  for (double t = 0.5; t < 1.5; t += 0.02) {
    const double p = sung_pitch(x, t, t + 0.02, 69);
    lo = std::min(lo, p), hi = std::max(hi, p);
  }
  EXPECT_NEAR(hi - lo, 1.6, 0.4);  // +-80 cents, seen through 20 ms windows
}

// A note starting where the last one of its part ends glides up from that pitch; a fresh note
// scoops up from below; both reach the pitch within the glide time.
TEST(SungVoices, SlurredNotesGlideAndFreshNotesScoop) {
  SingPerformance perf = steady_singer();
  perf.glide_s = 0.1;
  perf.release_s = 0.0;  // the C4 stops at once: what sounds after 0.6 s is the E4 alone
  const std::vector<float> slur = sing({{{0.0, 0.6, 60, 90}, {0.6, 1.2, 64, 90}}}, 1.4, perf);
  EXPECT_NEAR(sung_pitch(slur, 0.3, 0.5, 62), 60.0, 0.1);
  const double gliding = sung_pitch(slur, 0.62, 0.65, 62);  // on its way from C4 to E4
  EXPECT_GT(gliding, 60.3);
  EXPECT_LT(gliding, 63.7);
  EXPECT_NEAR(sung_pitch(slur, 0.8, 1.1, 62), 64.0, 0.1);
  perf.scoop_cents = 300.0;  // drawn 150-450 cents below
  const std::vector<float> fresh = sing({{{0.2, 1.0, 64, 90}}}, 1.2, perf);
  EXPECT_LT(sung_pitch(fresh, 0.2, 0.23, 64), 63.0);
  EXPECT_NEAR(sung_pitch(fresh, 0.5, 0.9, 64), 64.0, 0.1);
}

// A note repeating the pitch it follows is sung as a new syllable: the voice stops for its
// consonant (the fundamental 12 dB or more down around the onset) and starts again.
TEST(SungVoices, RepeatedPitchIsANewSyllable) {
  SingPerformance perf = steady_singer();
  perf.release_s = 0.1;
  const std::vector<float> x = sing({{{0.0, 0.6, 57, 100}, {0.6, 1.2, 57, 100}}}, 1.4, perf);
  const double hz = 220.0, held = power_at(x, kRate, hz, 0.3, 0.4);
  EXPECT_LT(db(std::sqrt(power_at(x, kRate, hz, 0.59, 0.61) / held) * 5.0), -12.0);  // per 20 ms against per 100 ms
  // The second syllable is as loud as the first (its vowel may differ: compare levels, not the fundamental).
  EXPECT_NEAR(db(rms(x, kRate, 0.8, 0.9) / rms(x, kRate, 0.3, 0.4)), 0.0, 4.0);
}

// With the fading swell the end of a held note is quieter than its start by about the curve's
// floor ((40 / 127)^2: -20 dB).
TEST(SungVoices, SwellFadesHeldNotes) {
  SingPerformance perf = steady_singer();
  const std::vector<float> steady = sing({{{0.0, 2.0, 57, 100}}}, 2.0, perf);
  perf.swell = kFade;
  perf.swell_floor = 40;
  const std::vector<float> fading = sing({{{0.0, 2.0, 57, 100}}}, 2.0, perf);
  EXPECT_NEAR(db(rms(steady, kRate, 1.85, 1.95) / rms(steady, kRate, 0.2, 0.3)), 0.0, 1.5);
  EXPECT_LT(db(rms(fading, kRate, 1.85, 1.95) / rms(fading, kRate, 0.2, 0.3)), -12.0);
}

// With several sources of our own and no soundfont, each index plays its own source: the plucked
// string decays while the singer holds the note; an index past the last is an error.
TEST(SynthSources, EachIndexRendersItsOwnSource) {
  RenderOptions ro;
  ro.plucked_strings = true;
  ro.sung_voices = true;
  Renderer renderer(ro);
  Piece piece;
  piece.parts.push_back(Part{0, {{0.2, 3.2, 57, 100}}});
  const PreparedPiece prep = prepare_piece(piece, 0, ro.render_rate, 0.5);
  auto held_db = [&](int source) {
    Augmentation aug;
    aug.programs = {0};
    aug.soundfont = source;
    const qs::AudioBuffer a = renderer.render(prep, aug);
    return db(rms(a.samples, a.sample_rate, 2.8, 3.0) / rms(a.samples, a.sample_rate, 0.4, 0.6));
  };
  EXPECT_LT(held_db(0), -20.0);         // plucked: 2.5 s into the note
  EXPECT_NEAR(held_db(1), 0.0, 4.0);    // sung: held
  ro.sung_voices = false;
  Renderer strings_only(ro);
  Augmentation past;
  past.programs = {0};
  past.soundfont = 1;
  EXPECT_THROW(strings_only.render(prep, past), qs::Error);
}

// `qscribe synth --sung-voices`: the last source, named in the manifest, audio at every label.
TEST(SynthSources, SungVoicesSourceRendersEveryPart) {
  expect_source_renders(qs::test::temp_dir("synth_sung"), "sung-voices", [](RenderOptions& r) { r.sung_voices = true; });
  RenderOptions ro;
  ro.plucked_strings = true;
  ro.sung_voices = true;
  Renderer renderer(ro);
  ASSERT_EQ(renderer.sources(), 2);
  EXPECT_EQ(renderer.source_name(0), "plucked-strings");
  EXPECT_EQ(renderer.source_name(1), "sung-voices");
}

namespace {

std::vector<float> tones(const std::vector<qs::NoteList>& parts, double seconds, const TonePerformance& perf) {
  std::vector<float> out(static_cast<std::size_t>(seconds * kRate), 0.0f);
  render_sustained_tones(parts, perf, kRate, out);
  return out;
}

}  // namespace

// Whatever spectrum a part draws (organ ranks above the key, a weak fundamental, odd harmonics),
// the note's fundamental sounds, nothing sounds an octave below it or a semitone above it, and the note
// is silent before its onset and after its release (at most 0.25 s after the note-off).
TEST(SustainedTones, EveryDrawnInstrumentSoundsItsKeyFromOnsetToRelease) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed)
    for (int pitch : {36, 57, 69, 84}) {
      SCOPED_TRACE(std::to_string(seed) + " " + std::to_string(pitch));
      TonePerformance perf;
      perf.seed = seed;
      const std::vector<float> x = tones({{{0.3, 1.5, pitch, 100}}}, 2.0, perf);
      const double f = 440.0 * std::pow(2.0, (pitch - 69) / 12.0);
      const double at_key = power_at(x, kRate, f, 0.6, 1.4);  // vibrato swings it by up to 30 cents
      EXPECT_GT(at_key, 30.0 * power_at(x, kRate, f * std::pow(2.0, 1.0 / 12.0), 0.6, 1.4));  // a semitone up
      EXPECT_GT(at_key, 30.0 * power_at(x, kRate, f / 2.0, 0.6, 1.4));                         // an octave down
      EXPECT_EQ(rms(x, kRate, 0.0, 0.299), 0.0);
      EXPECT_GT(rms(x, kRate, 0.9, 1.4), 1e-2);
      EXPECT_EQ(rms(x, kRate, 1.5 + 0.251, 2.0), 0.0);
    }
}

// The parts' instruments differ: over twelve seeds the level of the second harmonic against the
// first spans more than 15 dB. The same seed gives the same samples.
TEST(SustainedTones, SpectraVaryBySeedAndRepeatForOne) {
  double lo = 1e9, hi = -1e9;
  const double f = 220.0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    TonePerformance perf;
    perf.seed = seed;
    const std::vector<float> x = tones({{{0.0, 1.0, 57, 100}}}, 1.0, perf);
    const double second = db(std::sqrt(power_at(x, kRate, 2 * f, 0.5, 0.9) / power_at(x, kRate, f, 0.5, 0.9)));
    lo = std::min(lo, second), hi = std::max(hi, second);
    EXPECT_EQ(x, tones({{{0.0, 1.0, 57, 100}}}, 1.0, perf));
  }
  EXPECT_GT(hi - lo, 15.0);
}

// `qscribe synth --sustained-tones`: the last source, named in the manifest, audio at every label.
TEST(SynthSources, SustainedTonesSourceRendersEveryPart) {
  expect_source_renders(qs::test::temp_dir("synth_tones"), "sustained-tones",
                        [](RenderOptions& r) { r.sustained_tones = true; });
  RenderOptions ro;
  ro.sung_voices = true;
  ro.sustained_tones = true;
  Renderer renderer(ro);
  ASSERT_EQ(renderer.sources(), 2);
  EXPECT_EQ(renderer.source_name(0), "sung-voices");
  EXPECT_EQ(renderer.source_name(1), "sustained-tones");
}

// The room keeps the direct sound where it was (labels keep their times) and adds a tail that
// decays by about 60 dB over the drawn RT60.
TEST(RecordingChain, RoomKeepsTheDirectSoundAndDecaysAtRt60) {
  qs::AudioBuffer a;
  a.sample_rate = 22050;
  a.samples.assign(22050 * 3, 0.0f);
  a.samples[2205] = 1.0f;
  RecordingDraws d;
  d.room = true;
  d.rt60 = 0.8;
  d.drr_db = 0.0;
  d.room_seed = 5;
  apply_room(a, d);
  ASSERT_EQ(a.samples.size(), 22050u * 3);
  const auto peak = std::max_element(a.samples.begin(), a.samples.end(),
                                     [](float x, float y) { return std::fabs(x) < std::fabs(y); });
  EXPECT_EQ(peak - a.samples.begin(), 2205);
  EXPECT_LT(rms(a.samples, 22050, 0.0, 0.0999), 1e-6);          // nothing before the sound
  const double early = rms(a.samples, 22050, 0.11, 0.21), late = rms(a.samples, 22050, 0.1 + 0.8, 0.1 + 0.9);
  EXPECT_GT(early, 0.0);
  EXPECT_LT(20 * std::log10(late / early), -40.0);
  EXPECT_GT(20 * std::log10(late / early), -75.0);
}

TEST(RecordingChain, MicrophoneHighPassRemovesRumble) {
  qs::AudioBuffer a;
  a.sample_rate = 22050;
  for (int i = 0; i < 22050; ++i) a.samples.push_back(static_cast<float>(0.5 * std::sin(2 * M_PI * 15.0 * i / 22050)));
  RecordingDraws d;
  d.eq = true;
  d.highpass_hz = 150.0;
  apply_microphone(a, d);
  EXPECT_LT(rms(a.samples, 22050, 0.5, 1.0), 0.5 / std::sqrt(2.0) * 0.05);
}

// Vorbis and MP3 round trips keep the signal in place (the codec delay is removed) and its length.
TEST(RecordingChain, CodecRoundTripKeepsTimes) {
  const std::vector<float> clean = play({{0.3, 0.8, 60, 100}, {1.0, 1.6, 67, 90}, {1.9, 2.5, 76, 110}}, 3.0);
  qs::AudioBuffer a;
  a.sample_rate = kRate;
  a.samples = clean;
  a = qs::resample(a, 22050);
  for (Codec c : {Codec::Vorbis, Codec::Mp3}) {
    SCOPED_TRACE(static_cast<int>(c));
    RecordingDraws d;
    d.codec = c;
    d.codec_level = 0.6;
    qs::AudioBuffer b = a;
    codec_round_trip(b, d);
    ASSERT_EQ(b.samples.size(), a.samples.size());
    // Best alignment at lag 0: the correlation there beats every shift by 1..40 samples.
    auto corr = [&](int lag) {
      double s = 0;
      for (std::size_t i = 100; i + 100 < a.samples.size(); ++i)
        s += double(a.samples[i]) * b.samples[static_cast<std::size_t>(static_cast<long>(i) + lag)];
      return s;
    };
    const double at0 = corr(0);
    for (int lag = 1; lag <= 40; ++lag) {
      EXPECT_GT(at0, corr(lag)) << lag;
      EXPECT_GT(at0, corr(-lag)) << -lag;
    }
    EXPECT_LT(rms(b.samples, 22050, 0.0, 0.25), 1e-3);
    EXPECT_GT(rms(b.samples, 22050, 0.3, 0.4), 1e-2);
  }
}

// Weights choose the source; zero probabilities leave the recording untouched; the same seed
// draws the same performance.
TEST(SynthDraws, SourceWeightsAndRecordingProbabilities) {
  Piece piece;
  piece.parts = {Part{0, {{0.0, 1.0, 60, 80}}}, Part{40, {{0.0, 1.0, 64, 80}}}};
  AugmentOptions o;
  std::map<int, int> count;
  for (int s = 0; s < 200; ++s) {
    const Augmentation a = draw_augmentation(static_cast<std::uint64_t>(s), o, piece, 3, {0.0, 1.0, 3.0});
    ++count[a.soundfont];
    EXPECT_FALSE(a.recording.room || a.recording.eq || a.recording.codec != Codec::None);
    EXPECT_EQ(a.attack, (std::vector<int>{0, 0}));
    EXPECT_EQ(a.vibrato, (std::vector<int>{0, 0}));
  }
  EXPECT_EQ(count[0], 0);
  EXPECT_GT(count[2], 2 * count[1]);
  o.recording = RecordingOptions{1.0, 1.0, 1.0};
  o.slow_attack_prob = 1.0;
  o.vibrato_prob = 1.0;
  const Augmentation a = draw_augmentation(9, o, piece, 3), b = draw_augmentation(9, o, piece, 3);
  EXPECT_TRUE(a.recording.room && a.recording.eq && a.recording.codec != Codec::None);
  EXPECT_EQ(a.attack[0], 0);   // a piano is not bowed or blown
  EXPECT_GT(a.attack[1], 0);   // a violin is
  EXPECT_GT(a.vibrato[1], 0);
  EXPECT_EQ(a.swell, (std::vector<int>{0, 0}));  // --swell off
  o.swell_prob = 1.0;
  const Augmentation c = draw_augmentation(9, o, piece, 3);
  EXPECT_EQ(c.swell[0], 0);   // a piano's notes do not swell
  EXPECT_GT(c.swell[1], 0);   // a violin's do
  EXPECT_GE(c.swell_floor[1], 30);
  EXPECT_LE(c.swell_floor[1], 90);
  EXPECT_EQ(c.attack, a.attack);  // drawn after the rest: the other draws do not move
  EXPECT_EQ(describe(c.recording), describe(a.recording));
  EXPECT_EQ(describe(a.recording), describe(b.recording));
  EXPECT_EQ(a.piano.seed, b.piano.seed);
}

// The procedural textures: notes struck again while the same key sounds, and the high register.
TEST(SynthTextures, RestruckNotesAndHighRegister) {
  int restruck = 0, high = 0, pads = 0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const Piece p = generate_procedural(seed, ProceduralOptions{20.0, 21, 108});
    if (p.parts.size() == 3) {
      ++pads;
      EXPECT_NE(p.parts[2].program, 0);
    }
    for (const Part& part : p.parts) {
      std::map<int, double> sounding_until;
      for (const qs::Note& n : part.notes) {
        if (sounding_until.count(n.pitch) && sounding_until[n.pitch] > n.onset + 1e-9) ++restruck;
        sounding_until[n.pitch] = std::max(sounding_until[n.pitch], n.offset);
        if (n.pitch >= 84) ++high;
      }
    }
  }
  EXPECT_GT(restruck, 50);
  EXPECT_GT(high, 100);
  EXPECT_GT(pads, 0);
}

// Rendering through the piano source: labels unchanged, audio at the labels, manifest names it.
TEST(SynthSources, PianoSourceRendersWithTheRecordingChain) {
  SynthOptions o = expect_source_renders(qs::test::temp_dir("synth_piano"), "salamander-piano",
                                         [](RenderOptions& r) { r.piano_samples = kNodeModules; });
  o.render.source_weights = {1.0, 2.0};
  EXPECT_THROW(run_synth(o), qs::Error);  // two weights for one source
}

// freepats through TiMidity++: missing programs map within their GM family, and a note sounds at
// its pitch from its onset (the MIDI file's timing and initial silence survive the round trip).
TEST(TimiditySource, ProgramMapAndNoteAtItsPitchAndOnset) {
  const std::string config = "/etc/timidity/freepats.cfg";  // Debian freepats
  RenderOptions ro;
  ro.timidity_config = config;
  Renderer renderer(ro);
  ASSERT_EQ(renderer.sources(), 1);
  EXPECT_EQ(renderer.source_name(0), "timidity:freepats");
  TimidityRenderer t(config, 44100);
  EXPECT_EQ(t.program_for(0), 0);   // acoustic grand: present
  EXPECT_EQ(t.program_for(3), 2);   // honky-tonk: missing, the nearest piano
  EXPECT_EQ(t.program_for(10), 9);  // music box: missing, the nearest chromatic percussion
  Piece piece;
  piece.parts.push_back(Part{0, {{0.5, 1.5, 69, 100}}});
  const PreparedPiece prep = prepare_piece(piece, 0, ro.render_rate, 0.5);
  Augmentation aug;
  aug.programs = {0};
  const qs::AudioBuffer a = renderer.render(prep, aug);
  EXPECT_EQ(a.sample_rate, 22050.0);
  EXPECT_EQ(strongest_semitone(a.samples, a.sample_rate, 0.6, 1.2, 67, 71), 69);
  EXPECT_LT(rms(a.samples, a.sample_rate, 0.0, 0.49), 1e-4);
  EXPECT_GT(rms(a.samples, a.sample_rate, 0.5, 0.52), 1e-2);
  ro.timidity_config = "/nonexistent.cfg";
  EXPECT_THROW(Renderer bad(ro), qs::Error);
}

// TiMidity++ crashes on a few pieces (a Debian timidity bug: freepats' Echo Voice bent near C8).
// A stand-in `timidity` that crashes on every second piece must cost those pieces, with a
// warning that says so, and nothing else: the rest of the corpus is rendered. (It counts renders
// only: each Renderer first checks that `timidity --version` works.)
TEST(TimiditySource, APieceTimidityCrashesOnIsSkippedNotTheCorpus) {
  const std::string bin = qs::test::temp_dir("timidity_crash_bin");
  {
    std::ofstream sh(bin + "/timidity");
    sh << "#!/bin/sh\n"
          "case \"$*\" in *--version*) exec /usr/bin/timidity \"$@\" ;; esac\n"  // the set-up probes
          "n=$(cat \"$(dirname \"$0\")/count\" 2>/dev/null || echo 0)\n"
          "echo $((n + 1)) > \"$(dirname \"$0\")/count\"\n"
          "if [ $((n % 2)) -eq 1 ]; then kill -SEGV $$; fi\n"
          "exec /usr/bin/timidity \"$@\"\n";
  }
  std::filesystem::permissions(bin + "/timidity", std::filesystem::perms::owner_all);
  const std::string old_path = std::getenv("PATH");
  setenv("PATH", (bin + ":" + old_path).c_str(), 1);
  SynthOptions o;
  o.out_dir = qs::test::temp_dir("timidity_crash_out");
  o.procedural = 4;
  o.procedural_duration = 3.0;
  o.seed = 5;
  o.num_workers = 1;  // one worker: the stand-in's count follows the pieces
  o.progress = false;
  o.verbose_warnings = false;
  o.render.timidity_config = "/etc/timidity/freepats.cfg";
  SynthSummary s;
  EXPECT_NO_THROW(s = run_synth(o));
  setenv("PATH", old_path.c_str(), 1);
  EXPECT_EQ(s.rendered, 2u);
  EXPECT_EQ(s.skipped, 2u);
  std::size_t crashes = 0;
  for (const std::string& w : s.warnings) crashes += w.find("timidity crashed") != std::string::npos;
  EXPECT_EQ(crashes, 2u);
  EXPECT_TRUE(std::filesystem::exists(o.out_dir + "/proc_00000.wav"));
  EXPECT_FALSE(std::filesystem::exists(o.out_dir + "/proc_00001.wav"));
  EXPECT_FALSE(std::filesystem::exists(o.out_dir + "/proc_00001.mid"));  // no labels without audio
}

// The expression curve: one arch or fade per onset (a chord is one), restarting at each onset.
TEST(SynthExpression, CurveRestartsAtEveryOnset) {
  const qs::NoteList notes{{1.0, 2.0, 64, 80}, {0.0, 1.0, 60, 80}, {0.01, 0.5, 67, 80}};  // a chord, then a note
  EXPECT_TRUE(expression_curve(notes, kSteady, 30).empty());
  const auto fade = expression_curve(notes, kFade, 30, 0.1);
  ASSERT_EQ(fade.size(), 20u);
  EXPECT_DOUBLE_EQ(fade[0].time_s, 0.0);
  EXPECT_EQ(fade[0].value, 127);
  EXPECT_LT(fade[9].value, 45);   // near the floor at the chord's end
  EXPECT_NEAR(fade[10].time_s, 1.0, 1e-9);
  EXPECT_EQ(fade[10].value, 127);  // afresh at the next onset
  for (std::size_t i = 1; i < 10; ++i) EXPECT_LT(fade[i].value, fade[i - 1].value);
  const auto arch = expression_curve(notes, kArch, 30, 0.1);
  EXPECT_EQ(arch[0].value, 30);
  EXPECT_EQ(arch[5].value, 127);  // the middle
  EXPECT_LT(arch[9].value, 70);  // falling back: 30 + 97 sin(0.9 pi) = 60
}

// --programs N: every part plays one GM program (dev sets per instrument family).
TEST(SynthDraws, FixedProgramForEveryPart) {
  Piece piece;
  piece.parts = {Part{0, {{0.0, 1.0, 60, 80}}}, Part{40, {{0.0, 1.0, 64, 80}}}, Part{19, {{0.0, 1.0, 67, 80}}}};
  AugmentOptions o;
  o.programs = ProgramMode::Fixed;
  o.fixed_program = 73;
  EXPECT_EQ(draw_augmentation(4, o, piece, 1).programs, (std::vector<int>{73, 73, 73}));
}

// --programs random draws every part's instrument, except where the texture chose it (a strummed
// guitar, a pad, a singer): those keep theirs, or the texture would be played by anything.
TEST(SynthDraws, RandomProgramsKeepAnInstrumentTheTextureChose) {
  Piece piece;
  piece.parts = {Part{0, {{0.0, 1.0, 60, 80}}}, Part{0, {{0.0, 1.0, 48, 80}}}, Part{25, {{0.0, 1.0, 64, 80}}, true},
                 Part{53, {{0.0, 1.0, 67, 80}}, true}};
  AugmentOptions o;
  o.programs = ProgramMode::Random;
  std::set<int> drawn;
  for (std::uint64_t s = 0; s < 20; ++s) {
    const std::vector<int> programs = draw_augmentation(s, o, piece, 1).programs;
    ASSERT_EQ(programs.size(), 4u);
    EXPECT_EQ(programs[2], 25) << "seed " << s;
    EXPECT_EQ(programs[3], 53) << "seed " << s;
    for (int k = 0; k < 2; ++k) {
      EXPECT_GE(programs[static_cast<std::size_t>(k)], 0);
      EXPECT_LE(programs[static_cast<std::size_t>(k)], 111);
      drawn.insert(programs[static_cast<std::size_t>(k)]);
    }
  }
  EXPECT_GE(drawn.size(), 10u);  // the others are still drawn
  // Not chosen: the same part is drawn at random like the rest.
  piece.parts[2].program_chosen = false;
  int kept = 0;
  for (std::uint64_t s = 0; s < 20; ++s) kept += draw_augmentation(s, o, piece, 1).programs[2] == 25;
  EXPECT_LE(kept, 2);
}
