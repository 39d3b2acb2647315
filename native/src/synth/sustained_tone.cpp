#include "synth/sustained_tone.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "synth/harmonic_sum.hpp"
#include "synth/one_pole.hpp"
#include "synth/procedural.hpp"

namespace qs::synth {

namespace {

constexpr int kHarmonics = 24;
constexpr int kBlock = 32;          // samples between updates of the harmonics' weights
constexpr double kTopHz = 10000.0;  // the highest harmonic played

// One part's instrument (the header lists what is drawn and why).
struct ToneInstrument {
  std::array<double, kHarmonics> spectrum{};  // harmonic k + 1's amplitude at middle velocity
  double brightness = 0.0;         // harmonic k's amplitude grows as k^(brightness x (velocity - 0.5)), velocity 0..1
  double resonance_hz = 1000.0;    // the resonance: gain 1 + resonance_gain x exp(-(octaves off / width)^2 / 2)
  double resonance_gain = 0.0;
  double resonance_octaves = 0.5;  // its width
  double attack_s = 0.05;          // the fundamental's rise; harmonic k + 1 takes attack_s x (1 + attack_lag x k)
  double attack_lag = 0.0;
  double release_s = 0.08;         // fade after the note-off
  double vibrato_hz = 5.5, vibrato_cents = 0.0, vibrato_delay_s = 0.3;
  double tremolo = 0.0;            // amplitude modulation depth at the vibrato's rate
  double noise = 0.0;              // breath or bow noise level against the tone
  double noise_lo = 500.0, noise_hi = 3000.0;  // its band, Hz
};

double log_uniform(Rng& r, double lo, double hi) { return std::exp(r.uniform(std::log(lo), std::log(hi))); }

// The harmonic spectrum: a tilt, weaker even harmonics (a cylindrical reed's), a ripple of a few
// dB, sometimes a weak fundamental; then the organ ranks stacked onto it.
std::array<double, kHarmonics> draw_spectrum(Rng& r) {
  const double tilt = r.uniform(0.5, 2.0);
  const double even = r.chance(0.3) ? r.uniform(0.05, 0.5) : 1.0;
  const double fundamental = r.chance(0.25) ? r.uniform(0.15, 0.6) : 1.0;
  std::array<double, kHarmonics> base{};
  for (int k = 0; k < kHarmonics; ++k)
    base[k] = std::pow(k + 1.0, -tilt) * std::exp(r.uniform(-0.7, 0.7)) * ((k + 1) % 2 == 0 ? even : 1.0);
  base[0] *= fundamental;
  std::array<double, kHarmonics> s = base;
  const bool octave = r.chance(0.35), twelfth = r.chance(0.15);
  const double octave_level = r.uniform(0.2, 0.9), twelfth_level = r.uniform(0.1, 0.6);
  for (int k = 0; k < kHarmonics; ++k) {  // harmonic k + 1 of the key is harmonic (k + 1) / n of a rank n times higher
    if (octave && (k + 1) % 2 == 0) s[k] += octave_level * base[(k + 1) / 2 - 1];
    if (twelfth && (k + 1) % 3 == 0) s[k] += twelfth_level * base[(k + 1) / 3 - 1];
  }
  return s;
}

ToneInstrument draw_instrument(Rng& r) {
  ToneInstrument in;
  in.spectrum = draw_spectrum(r);
  in.brightness = r.uniform(0.0, 0.8);
  in.resonance_hz = log_uniform(r, 300.0, 3500.0);
  in.resonance_gain = r.chance(0.6) ? r.uniform(0.5, 4.0) : 0.0;
  in.resonance_octaves = r.uniform(0.25, 0.8);
  in.attack_s = log_uniform(r, 0.005, 0.35);
  in.attack_lag = r.uniform(0.0, 0.25);
  in.release_s = log_uniform(r, 0.02, 0.25);
  in.vibrato_hz = r.uniform(4.5, 6.5);
  in.vibrato_cents = r.chance(0.5) ? r.uniform(5.0, 30.0) : 0.0;
  in.vibrato_delay_s = r.uniform(0.1, 0.5);
  in.tremolo = r.chance(0.3) ? r.uniform(0.05, 0.25) : 0.0;
  in.noise = r.chance(0.5) ? r.uniform(0.005, 0.05) : 0.0;
  in.noise_lo = r.uniform(300.0, 1500.0);
  in.noise_hi = in.noise_lo * r.uniform(2.0, 6.0);
  return in;
}

// The harmonics' weights of a note of `f` Hz at `velocity` (0..1), power-normalised: the
// spectrum, brighter when louder, through the resonance.
std::vector<double> note_weights(const ToneInstrument& in, double f, double velocity, double rate) {
  const auto n = static_cast<std::size_t>(
      std::clamp(std::floor(std::min(kTopHz, 0.45 * rate) / f), 1.0, static_cast<double>(kHarmonics)));
  std::vector<double> w(n);
  double power = 0.0;
  for (std::size_t k = 0; k < n; ++k) {
    const double hz = f * static_cast<double>(k + 1);
    const double off = std::log2(hz / in.resonance_hz) / in.resonance_octaves;
    const double resonance = 1.0 + in.resonance_gain * std::exp(-0.5 * off * off);
    w[k] = in.spectrum[k] * std::pow(static_cast<double>(k + 1), in.brightness * (velocity - 0.5)) * resonance;
    power += w[k] * w[k];
  }
  for (double& x : w) x /= std::sqrt(power);
  return w;
}

// A raised-cosine rise over `seconds`.
double rise(double t, double seconds) { return t >= seconds ? 1.0 : 0.5 - 0.5 * std::cos(M_PI * t / seconds); }

void play(const Note& note, const ToneInstrument& in, const TonePerformance& perf,
          const std::vector<ExpressionPoint>& curve, double rate, Rng& rng, std::vector<float>& out) {
  const double dur = note.offset - note.onset;
  const auto start = static_cast<std::int64_t>(std::llround(note.onset * rate));
  const auto end = std::min(static_cast<std::int64_t>(out.size()),
                            static_cast<std::int64_t>(std::llround((note.offset + in.release_s) * rate)) + 1);
  const double f_note = 440.0 * std::pow(2.0, (note.pitch - 69) / 12.0 + perf.detune_cents / 1200.0);
  const double velocity = std::clamp(note.velocity, 1, 127) / 127.0;
  const double amp = std::pow(velocity, perf.velocity_exponent);
  const std::vector<double> weight = note_weights(in, f_note, velocity, rate);
  const double attack = std::clamp(in.attack_s, 0.005, std::max(0.005, dur / 2.0));  // a short note still speaks
  std::vector<double> now(weight.size());
  double phase = rng.uniform(0.0, 2.0 * M_PI);
  const double lfo_phase = rng.uniform(0.0, 2.0 * M_PI);
  std::size_t curve_at = 0;
  BandNoise noise(in.noise_lo, in.noise_hi, rate);
  for (std::int64_t i = start; i < end; ++i) {
    const double t = static_cast<double>(i - start) / rate;
    if ((i - start) % kBlock == 0)  // the upper harmonics rise later
      for (std::size_t k = 0; k < weight.size(); ++k)
        now[k] = weight[k] * rise(t, attack * (1.0 + in.attack_lag * static_cast<double>(k)));
    const double lfo = std::sin(2.0 * M_PI * in.vibrato_hz * t + lfo_phase);
    const double depth = in.vibrato_cents * std::min(1.0, t / in.vibrato_delay_s);
    phase = std::fmod(phase + 2.0 * M_PI * f_note * std::pow(2.0, depth * lfo / 1200.0) / rate, 2.0 * M_PI);
    const double tone = harmonic_sum(phase, now);
    const double after = t - dur;
    const double release = after <= 0 ? 1.0 : after >= in.release_s ? 0.0 : 0.5 + 0.5 * std::cos(M_PI * after / in.release_s);
    const double breath = in.noise * 3.0 * noise.next(rng.uniform(-1.0, 1.0)) * rise(t, attack);
    const double gain = release * (1.0 + in.tremolo * lfo) * expression_gain(curve, note.onset + t, curve_at);
    out[static_cast<std::size_t>(i)] += static_cast<float>(amp * gain * (tone + breath));
  }
}

}  // namespace

void render_sustained_tones(const std::vector<NoteList>& parts, const TonePerformance& perf, double rate,
                            std::vector<float>& out) {
  if (!(rate > 0) || out.empty()) return;
  Rng rng(perf.seed);
  for (const NoteList& part : parts) {
    const ToneInstrument in = draw_instrument(rng);  // drawn for every part, sounding or not: the draws stay put
    const std::vector<ExpressionPoint> curve = expression_curve(part, perf.swell, perf.swell_floor);
    for (const Note& n : part)
      if (n.pitch >= 21 && n.pitch <= 108 && n.offset > n.onset) play(n, in, perf, curve, rate, rng, out);
  }
}

}  // namespace qs::synth
