#include "synth/expression.hpp"

#include <algorithm>
#include <cmath>

namespace qs::synth {

std::vector<ExpressionPoint> expression_curve(NoteList notes, int shape, int floor_value, double step_s) {
  std::vector<ExpressionPoint> curve;
  if (shape == kSteady || notes.empty() || !(step_s > 0)) return curve;
  sort_notes(notes);  // parts folded onto one channel are not in onset order
  const double lowest = std::clamp(floor_value, 0, 127);
  for (std::size_t i = 0; i < notes.size();) {
    const double start = notes[i].onset;
    double end = start;
    std::size_t j = i;
    for (; j < notes.size() && notes[j].onset - start < 0.03; ++j) end = std::max(end, notes[j].offset);
    if (j < notes.size()) end = std::min(end, notes[j].onset);
    for (int n = 0; start + n * step_s < end - 1e-9; ++n) {
      const double t = start + n * step_s;
      const double u = (t - start) / std::max(1e-3, end - start);
      const double level = shape == kFade ? 127.0 + (lowest - 127.0) * u : lowest + (127.0 - lowest) * std::sin(M_PI * u);
      curve.push_back({t, std::clamp(static_cast<int>(std::lround(level)), 0, 127)});
    }
    i = j;
  }
  return curve;
}

double expression_gain(const std::vector<ExpressionPoint>& curve, double time_s, std::size_t& at) {
  if (curve.empty() || time_s < curve.front().time_s) return 1.0;
  while (at + 1 < curve.size() && curve[at + 1].time_s <= time_s) ++at;
  const double v = std::clamp(curve[at].value, 0, 127) / 127.0;
  return v * v;
}

}  // namespace qs::synth
