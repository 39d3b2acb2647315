#include "qscribe/note_synth.hpp"

#include <algorithm>
#include <cmath>

namespace qs {

std::vector<float> render_notes(const NoteList& notes, double duration_s, const NoteSynthOptions& o) {
  const double sr = o.sample_rate;
  double end = duration_s;
  if (end <= 0)
    for (const Note& n : notes) end = std::max(end, n.offset + o.release_s);
  const std::size_t total = static_cast<std::size_t>(std::llround(std::max(0.0, end) * sr));
  std::vector<float> out(total, 0.0f);
  constexpr double kTwoPi = 6.283185307179586;
  // Harmonic amplitudes of a soft, piano-ish tone; higher harmonics decay faster.
  constexpr double kHarm[] = {1.0, 0.45, 0.22, 0.12};
  for (const Note& n : notes) {
    const double f0 = 440.0 * std::pow(2.0, (n.pitch - 69) / 12.0);
    const double amp = o.gain * std::clamp(n.velocity, 1, 127) / 127.0;
    const std::size_t start = static_cast<std::size_t>(std::max(0.0, n.onset) * sr);
    const std::size_t stop = std::min(total, static_cast<std::size_t>((n.offset + o.release_s) * sr));
    const double held = std::max(0.0, n.offset - n.onset);
    const double decay = 1.0 / std::max(0.4, 3.0 * 261.6 / f0);  // low notes ring longer
    for (std::size_t i = start; i < stop; ++i) {
      const double t = (i - start) / sr;
      double env = std::min(1.0, t / 0.004) * std::exp(-decay * t);
      if (t > held) env *= std::max(0.0, 1.0 - (t - held) / o.release_s);
      double v = 0;
      for (int h = 0; h < 4; ++h) {
        const double fh = f0 * (h + 1);
        if (fh >= sr * 0.45) break;
        v += kHarm[h] * std::exp(-decay * h * t) * std::sin(kTwoPi * fh * t);
      }
      out[i] += static_cast<float>(amp * env * v);
    }
  }
  for (float& s : out) s = std::tanh(s);  // chords never clip harshly
  return out;
}

}  // namespace qs
