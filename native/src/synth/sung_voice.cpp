#include "synth/sung_voice.hpp"

#include <algorithm>
#include <cmath>

#include "synth/harmonic_sum.hpp"
#include "synth/procedural.hpp"
#include "synth/one_pole.hpp"

namespace qs::synth {

namespace {

constexpr double kSlurGap = 0.04;   // s: a note starting this close to the end of one before it is slurred from it
constexpr double kTopHz = 5000.0;   // the highest harmonic sung (the formants lie below)
constexpr double kVowelMove = 0.06; // s: a slurred note's vowel moves from the last one's over this time
constexpr int kBlock = 32;          // samples between updates of the harmonics' weights
constexpr std::array<double, 4> kBandwidth{70.0, 100.0, 140.0, 180.0};  // Hz, of formants 1-4

// One sung note: its part's context decided where its pitch and vowel come from.
struct SungNote {
  Note note;
  int vowel = 0, from_vowel = 0;
  double from_cents = 0.0;  // the pitch it starts at, against its own
  bool slurred = false;
  double consonant_s = 0.0;        // a consonant before the onset: its length (0: none)
  double consonant_lo = 0.0, consonant_hi = 0.0;  // its noise band, Hz
  double cut_s = 0.0;              // the voice stops this long before the note-off (the next syllable's consonant)
  double jitter_phase[2] = {0.0, 0.0}, vibrato_phase = 0.0;
  const std::vector<ExpressionPoint>* expression = nullptr;  // its part's curve (empty: steady)
};

// Gain of the vocal tract at `hz`: four cascaded resonances (unit gain at 0 Hz).
double tract_gain(double hz, const std::array<double, 4>& formants) {
  double g = 1.0;
  for (std::size_t i = 0; i < formants.size(); ++i) {
    const double f = formants[i], b = kBandwidth[i];
    const double r = hz / f;
    g /= std::sqrt((1.0 - r * r) * (1.0 - r * r) + (hz * b / (f * f)) * (hz * b / (f * f)));
  }
  return g;
}

std::array<double, 4> formants_at(const SungNote& s, double t, double scale) {
  const auto& to = vowel_formants()[static_cast<std::size_t>(s.vowel)];
  const auto& from = vowel_formants()[static_cast<std::size_t>(s.from_vowel)];
  const double x = s.slurred ? std::min(1.0, t / kVowelMove) : 1.0;
  std::array<double, 4> f{};
  for (std::size_t i = 0; i < f.size(); ++i) f[i] = scale * (from[i] + x * (to[i] - from[i]));
  return f;
}

// The notes of every part with their slurs, scoops and vowels.
std::vector<SungNote> sung_notes(const std::vector<NoteList>& parts,
                                 const std::vector<std::vector<ExpressionPoint>>& curves, const SingPerformance& perf,
                                 Rng& rng) {
  std::vector<SungNote> sung;
  for (std::size_t p = 0; p < parts.size(); ++p) {
    const NoteList& part_in = parts[p];
    NoteList part;
    for (const Note& n : part_in)
      if (n.pitch >= 21 && n.pitch <= 108 && n.offset > n.onset) part.push_back(n);
    sort_notes(part);
    const std::size_t first = sung.size();
    for (const Note& n : part) {
      SungNote s;
      s.note = n;
      s.vowel = rng.integer(0, 4);
      s.from_vowel = s.vowel;
      s.from_cents = -perf.scoop_cents * rng.uniform(0.5, 1.5);
      SungNote* before = nullptr;  // the nearest-pitched note of the part ending at this onset
      for (std::size_t i = first; i < sung.size(); ++i) {
        const Note& m = sung[i].note;
        if (m.onset < n.onset && std::abs(m.offset - n.onset) <= kSlurGap &&
            (!before || std::abs(m.pitch - n.pitch) < std::abs(before->note.pitch - n.pitch)))
          before = &sung[i];
      }
      if (before && before->note.pitch != n.pitch) {
        s.slurred = true;
        s.from_vowel = before->vowel;
        s.from_cents = std::clamp(100.0 * (before->note.pitch - n.pitch), -1200.0, 1200.0);
      }
      // A new syllable: always on a note that repeats the pitch it follows (else the two notes
      // would be one sound), on half the fresh notes otherwise. The consonant sits before the
      // onset, so the voiced sound starts on it, and the note before stops for it.
      const bool repeat = before && before->note.pitch == n.pitch;
      if (repeat || (!before && rng.chance(0.5))) {
        static constexpr double kBands[3][2] = {{4500.0, 9000.0}, {2000.0, 4500.0}, {800.0, 6000.0}};  // s, sh, h/f
        const auto& band = kBands[rng.integer(0, 2)];
        s.consonant_s = rng.uniform(0.02, 0.07);
        s.consonant_lo = band[0];
        s.consonant_hi = band[1];
        if (repeat) {  // the note before stops for the consonant, keeping most of its own length
          s.consonant_s = std::min(s.consonant_s, 0.3 * (before->note.offset - before->note.onset));
          before->cut_s = std::max(0.0, s.consonant_s - (n.onset - before->note.offset));
        }
      }
      for (double& phase : s.jitter_phase) phase = rng.uniform(0.0, 2.0 * M_PI);
      s.vibrato_phase = rng.uniform(0.0, 2.0 * M_PI);
      s.expression = &curves[p];
      sung.push_back(s);
    }
  }
  return sung;
}

// Cents off the note's pitch `t` seconds after its onset: the glide from where it started (over
// at most a third of a short note: a fast line still reaches its notes), the vibrato fading in,
// and a slow wander.
double pitch_cents(const SungNote& s, const SingPerformance& perf, double t) {
  const double glide_s = std::min(perf.glide_s, (s.note.offset - s.note.onset) / 3.0);
  const double x = std::min(1.0, t / std::max(1e-3, glide_s));
  const double glide = s.from_cents * (1.0 - x * x * (3.0 - 2.0 * x));  // smoothstep
  const double depth = perf.vibrato_cents * std::min(1.0, t / std::max(1e-3, perf.vibrato_delay_s));
  const double vibrato = depth * std::sin(2.0 * M_PI * perf.vibrato_hz * t + s.vibrato_phase);
  const double wander = perf.jitter_cents * 0.7 *
                        (std::sin(2.0 * M_PI * 0.7 * t + s.jitter_phase[0]) + std::sin(2.0 * M_PI * 1.9 * t + s.jitter_phase[1]));
  return glide + vibrato + wander;
}

// The level envelope: an attack (a short crossfade for a slurred note), then a raised-cosine
// fade of release_s after the note-off.
double level(const SungNote& s, const SingPerformance& perf, double t) {
  if (t < 0) return 0.0;  // the consonant
  const double dur = s.note.offset - s.note.onset;
  const double attack = s.slurred ? 0.01 : std::clamp(perf.attack_s, 0.005, std::max(0.005, dur / 3.0));
  const double rise = t < attack ? 0.5 - 0.5 * std::cos(M_PI * t / attack) : 1.0;
  const double after = t - std::max(0.01, dur - s.cut_s);
  if (after <= 0) return rise;
  // A note cut for the next syllable's consonant is silent by the next onset.
  const double release = std::max(0.005, s.cut_s > 0 ? std::min(perf.release_s, s.cut_s) : perf.release_s);
  return after >= release ? 0.0 : rise * (0.5 + 0.5 * std::cos(M_PI * after / release));
}

// The consonant before a syllable: band-passed noise rising and falling over its length, which
// ends at the onset.
void consonant(const SungNote& s, double amp, double rate, Rng& rng, std::vector<float>& out) {
  const auto end = static_cast<std::int64_t>(std::llround(s.note.onset * rate));
  const auto start = std::max<std::int64_t>(0, end - static_cast<std::int64_t>(s.consonant_s * rate));
  BandNoise noise(s.consonant_lo, s.consonant_hi, rate);
  for (std::int64_t i = start; i < std::min<std::int64_t>(end, static_cast<std::int64_t>(out.size())); ++i) {
    const double x = static_cast<double>(i - start) / static_cast<double>(std::max<std::int64_t>(1, end - start));
    const double hiss = noise.next(rng.uniform(-1.0, 1.0));
    out[static_cast<std::size_t>(i)] += static_cast<float>(0.5 * amp * std::sin(M_PI * x) * hiss);
  }
}

void sing(const SungNote& s, const SingPerformance& perf, double rate, Rng& rng, std::vector<float>& out) {
  const auto start = static_cast<std::int64_t>(std::llround(s.note.onset * rate));
  const auto end = std::min(static_cast<std::int64_t>(out.size()),
                            static_cast<std::int64_t>(std::llround((s.note.offset + perf.release_s) * rate)) + 1);
  const double f_note = 440.0 * std::pow(2.0, (s.note.pitch - 69) / 12.0 + perf.detune_cents / 1200.0);
  const double amp = std::pow(std::clamp(s.note.velocity, 1, 127) / 127.0, perf.velocity_exponent);
  if (s.consonant_s > 0) consonant(s, amp, rate, rng, out);
  std::vector<double> weight;
  double phase = 0.0;
  std::size_t curve_at = 0;
  BandNoise breath_noise(400.0, 3000.0, rate);
  for (std::int64_t i = start; i < end; ++i) {
    const double t = static_cast<double>(i - start) / rate;
    const double f = f_note * std::pow(2.0, pitch_cents(s, perf, t) / 1200.0);
    if ((i - start) % kBlock == 0) {  // the harmonics' weights: 1/k^tilt through the vocal tract
      const auto formants = formants_at(s, t, perf.formant_scale);
      weight.assign(static_cast<std::size_t>(std::max(1.0, std::floor(std::min(kTopHz, 0.45 * rate) / f))), 0.0);
      double power = 0.0;
      for (std::size_t k = 0; k < weight.size(); ++k) {
        weight[k] = std::pow(double(k + 1), -perf.tilt) * tract_gain(f * double(k + 1), formants);
        power += weight[k] * weight[k];
      }
      for (double& w : weight) w /= std::sqrt(power);
    }
    phase = std::fmod(phase + 2.0 * M_PI * f / rate, 2.0 * M_PI);
    const double voiced = harmonic_sum(phase, weight);
    // Breath: noise between about 400 Hz and 3 kHz, stronger in the open phase of each period.
    const double noise = breath_noise.next(rng.uniform(-1.0, 1.0));
    const double breath = perf.breath * 3.0 * noise * (0.6 + 0.4 * std::cos(phase));
    const double gain = level(s, perf, t) * expression_gain(*s.expression, s.note.onset + t, curve_at);
    out[static_cast<std::size_t>(i)] += static_cast<float>(amp * gain * (voiced + breath));
  }
}

}  // namespace

const std::array<std::array<double, 4>, 5>& vowel_formants() {
  static const std::array<std::array<double, 4>, 5> kVowels{{
      {730.0, 1090.0, 2440.0, 3400.0},  // a
      {530.0, 1840.0, 2480.0, 3500.0},  // e
      {270.0, 2290.0, 3010.0, 3700.0},  // i
      {570.0, 840.0, 2410.0, 3400.0},   // o
      {300.0, 870.0, 2240.0, 3300.0},   // u
  }};
  return kVowels;
}

void render_sung_voices(const std::vector<NoteList>& parts, const SingPerformance& perf, double rate,
                        std::vector<float>& out) {
  if (!(rate > 0) || out.empty()) return;
  Rng rng(perf.seed);
  std::vector<std::vector<ExpressionPoint>> curves;
  for (const NoteList& part : parts) curves.push_back(expression_curve(part, perf.swell, perf.swell_floor));
  for (const SungNote& s : sung_notes(parts, curves, perf, rng)) sing(s, perf, rate, rng, out);
}

}  // namespace qs::synth
