#include "synth/plucked_string.hpp"

#include <algorithm>
#include <cmath>

#include "synth/key_voices.hpp"
#include "synth/procedural.hpp"
#include "synth/one_pole.hpp"

namespace qs::synth {

namespace {

constexpr double kRestrikeDecay = 0.02;  // s to -60 dB: a string plucked again stops its last note at once

// Loss factor per sample that decays by 60 dB in `t60` seconds.
double decay_per_sample(double t60, double rate) { return std::pow(1e-3, 1.0 / (std::max(t60, 1e-3) * rate)); }

// One string sounding one note, from its onset until it is muted and has died away.
struct Voice {
  std::int64_t start = 0, stop = 0;  // output samples: onset and note-off
  double freq = 440.0;               // Hz, with the tuning
  double amp = 1.0;
  double velocity = 1.0;             // 0..1
  double mute_s = 0.15;              // decay to -60 dB after the note-off
};

// The loop of one string: a delay line of `n` samples, the one-zero low-pass and the tuning
// all-pass. Its total delay, n + S + the all-pass's, is one period of the note.
class StringLoop {
 public:
  StringLoop(double period, double s) : s_(s) {
    n_ = std::max(2, static_cast<int>(std::floor(period - s - 0.1)));
    const double frac = std::max(0.1, period - s - n_);  // the all-pass's delay, 0.1..1.1 samples
    c_ = (1.0 - frac) / (1.0 + frac);
    line_.assign(static_cast<std::size_t>(n_), 0.0);
  }
  int length() const { return n_; }
  std::vector<double>& line() { return line_; }
  // One sample out of the string; `loss` is the loop gain per round trip for this sample.
  double step(double loss) {
    const double x = line_[pos_];
    const double low = (1.0 - s_) * x + s_ * prev_;
    prev_ = x;
    const double tuned = c_ * low + ap_in_ - c_ * ap_out_;
    ap_in_ = low;
    ap_out_ = tuned;
    line_[pos_] = loss * tuned;
    if (++pos_ == line_.size()) pos_ = 0;
    return x;
  }

 private:
  double s_, c_ = 0.0;
  int n_ = 2;
  std::vector<double> line_;
  std::size_t pos_ = 0;
  double prev_ = 0.0, ap_in_ = 0.0, ap_out_ = 0.0;
};

// The pluck: noise, darker for softer notes, combed by the pick position, without DC, RMS 1.
void excite(StringLoop& loop, const Voice& v, const PluckPerformance& perf, double rate, Rng& rng) {
  std::vector<double>& line = loop.line();
  const double a = one_pole_coefficient(v.freq * (2.0 + 30.0 * v.velocity * v.velocity), rate);  // held under Nyquist
  double y = 0.0;
  for (double& x : line) x = y += a * (rng.uniform(-1.0, 1.0) - y);
  // The line holds one period: the comb wraps around it, so harmonics k * n / m are nulled.
  const std::size_t n = line.size();
  const auto m = static_cast<std::size_t>(std::clamp(std::lround(perf.pick_position * static_cast<double>(n)), 1L,
                                                      static_cast<long>(n) - 1));
  const std::vector<double> plucked = line;
  for (std::size_t i = 0; i < n; ++i) line[i] = plucked[i] - plucked[(i + n - m) % n];
  double mean = 0.0, power = 0.0;
  for (double x : line) mean += x;
  mean /= static_cast<double>(line.size());
  for (double& x : line) {
    x -= mean;
    power += x * x;
  }
  const double g = power > 0 ? v.amp / std::sqrt(power / static_cast<double>(line.size())) : 0.0;
  for (double& x : line) x *= g;
}

// Adds one string's note into `out`.
void play(const Voice& v, const PluckPerformance& perf, double rate, Rng& rng, std::vector<float>& out) {
  const double period = rate / v.freq;
  // The decay the string should have (higher strings ring shorter: t60 ~ f^-0.5), as a gain per
  // round trip. The loop low-pass loses 1 - |H| of the fundamental every round trip; on a high
  // string that alone would kill the note in a fraction of its t60, so S is lowered there until
  // the filter leaves room for the decay (Jaffe and Smith's decay shortening, the other way).
  const double ring_s = std::clamp(perf.decay_s * std::pow(110.0 / v.freq, 0.5), 0.2, 20.0);
  const double per_trip = decay_per_sample(ring_s, rate / period);
  const double w = 2.0 * M_PI * v.freq / rate;
  const double room = 0.9 * (1.0 - per_trip * per_trip) / (2.0 * (1.0 - std::cos(w)));  // S (1 - S) at most
  double s = std::clamp(perf.loop_lowpass, 0.0, 0.5);
  if (s * (1.0 - s) > room) s = 0.5 * (1.0 - std::sqrt(std::max(0.0, 1.0 - 4.0 * room)));
  StringLoop loop(period, s);
  excite(loop, v, perf, rate, rng);
  const double filter_gain = std::sqrt(std::max(1e-9, 1.0 - 2.0 * s * (1.0 - s) * (1.0 - std::cos(w))));
  const double ring = std::min(1.0, per_trip / filter_gain);
  const double muted = std::min(ring, decay_per_sample(v.mute_s, rate / period) / filter_gain);
  const auto total = static_cast<std::int64_t>(out.size());
  const auto ring_end = v.start + static_cast<std::int64_t>(1.5 * ring_s * rate);  // -90 dB
  // The mute acts on what goes back into the loop: it is heard a period later.
  const auto muted_end = v.stop + static_cast<std::int64_t>(1.4 * v.mute_s * rate + 2.0 * period) + 1;
  const std::int64_t end = std::min({total, ring_end, muted_end});
  for (std::int64_t t = v.start; t < end; ++t)
    out[static_cast<std::size_t>(t)] += static_cast<float>(loop.step(t < v.stop ? ring : muted));
}

// A guitar-like box: three resonances (constant-peak band-passes) added to the direct sound.
void apply_body(const PluckPerformance& perf, double rate, std::vector<float>& out) {
  if (perf.body_mix <= 0) return;
  struct Band { double b0, a1, a2, x1 = 0, x2 = 0, y1 = 0, y2 = 0; };
  std::vector<Band> bands;
  for (double f : perf.body_hz) {
    if (!(f > 0 && f < 0.45 * rate)) continue;
    const double w = 2.0 * M_PI * f / rate, alpha = std::sin(w) / (2.0 * std::max(0.5, perf.body_q));
    const double a0 = 1.0 + alpha;
    bands.push_back({alpha / a0, -2.0 * std::cos(w) / a0, (1.0 - alpha) / a0});
  }
  for (float& sample : out) {
    const double x = sample;
    double wet = 0.0;
    for (Band& b : bands) {
      const double y = b.b0 * (x - b.x2) - b.a1 * b.y1 - b.a2 * b.y2;
      b.x2 = b.x1;
      b.x1 = x;
      b.y2 = b.y1;
      b.y1 = y;
      wet += y;
    }
    sample = static_cast<float>(x + perf.body_mix * wet);
  }
}

}  // namespace

void render_plucked_strings(const NoteList& notes, const PluckPerformance& perf, double rate, std::vector<float>& out) {
  if (!(rate > 0) || out.empty()) return;
  Rng rng(perf.seed);
  // One string per key: a key plucked again while it sounds stops its earlier note there.
  std::vector<Voice> voices;
  for (const KeyVoice& k : key_voices(notes, rate, perf.detune_cents, perf.detune_spread, rng)) {
    Voice v;
    v.start = k.start;
    v.stop = k.stop;
    v.freq = 440.0 * std::pow(2.0, (k.note.pitch - 69) / 12.0 + k.cents / 1200.0);
    v.velocity = std::clamp(k.note.velocity, 1, 127) / 127.0;
    v.amp = std::pow(v.velocity, perf.velocity_exponent);
    v.mute_s = k.restruck ? kRestrikeDecay : perf.damping_s;
    voices.push_back(v);
  }
  std::vector<float> strings(out.size(), 0.0f);
  for (const Voice& v : voices) play(v, perf, rate, rng, strings);
  apply_body(perf, rate, strings);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] += strings[i];
}

}  // namespace qs::synth
