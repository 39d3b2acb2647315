// Synthetic test music for the tool tests: harmonic tones with a percussive envelope, one or
// two at a time, with their exact notes. Deterministic for a seed.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "qscribe/note.hpp"

namespace qs::test {

struct TonePiece {
  std::vector<float> audio;
  NoteList notes;
};

struct ToneStyle {
  double start = 0.1;                           // first onset, s
  double dur_min = 0.25, dur_span = 0.35;       // note length uniform in [min, min + span)
  int lowest_pitch = 48, pitch_span = 24;       // root pitch uniform in [lowest, lowest + span)
  double chord_prob = 0.3;                      // chance of a second note above the root
  int interval_a = 4, interval_b = 7;           // its interval (a or b, equally likely; one if equal)
  double decay = 2.0;                           // exponential decay rate, 1/s
  int harmonics = 4;                            // partials with amplitude 1/h
  double gain = 0.15;
  double gap_min = 0.05, gap_span = 0.15;       // silence between notes
};

inline TonePiece make_tone_piece(std::uint64_t seed, double seconds, double sr, const ToneStyle& s = {}) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  TonePiece p;
  p.audio.assign(static_cast<std::size_t>(seconds * sr), 0.0f);
  double t = s.start;
  while (t + 0.4 < seconds) {
    const double dur = s.dur_min + s.dur_span * u(rng);
    std::vector<int> pitches{s.lowest_pitch + static_cast<int>(rng() % static_cast<unsigned>(s.pitch_span))};
    if (u(rng) < s.chord_prob)
      pitches.push_back(pitches[0] + (s.interval_a == s.interval_b ? s.interval_a : (u(rng) < 0.5 ? s.interval_a : s.interval_b)));
    for (int pitch : pitches) {
      p.notes.push_back({t, t + dur, pitch, 80});
      const double f = 440.0 * std::pow(2.0, (pitch - 69) / 12.0);
      const auto s0 = static_cast<std::size_t>(t * sr), n = static_cast<std::size_t>(dur * sr);
      for (std::size_t i = 0; i < n && s0 + i < p.audio.size(); ++i) {
        const double tt = static_cast<double>(i) / sr;
        const double env = std::min(1.0, tt / 0.01) * std::exp(-s.decay * tt) * std::min(1.0, (dur - tt) / 0.02);
        double v = 0.0;
        for (int h = 1; h <= s.harmonics; ++h) v += std::sin(2.0 * M_PI * f * h * tt) / h;
        p.audio[s0 + i] += static_cast<float>(s.gain * env * v);
      }
    }
    t += dur + s.gap_min + s.gap_span * u(rng);
  }
  sort_notes(p.notes);
  return p;
}

}  // namespace qs::test
