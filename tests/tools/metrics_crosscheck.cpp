// Writes random reference/estimate note sets and qscribe's metrics for them as JSON, for
// tests/python/crosscheck_mir_eval.py to recompute with mir_eval and shared/eval/score.py.
//
// usage: qs_metrics_crosscheck OUT.json [N_CASES [SEED]]
//
// The cases lean on the edges: onsets exactly 50 ms apart (and 49.9 / 50.05 / 50.1 ms),
// offsets exactly at max(0.2 * duration, 50 ms), repeated notes of one pitch within the onset
// tolerance (ambiguous matchings), chords, duplicated estimates, estimates past the audio's end.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "qscribe/metrics.hpp"

namespace {

using nlohmann::json;

class Gen {
 public:
  explicit Gen(std::uint64_t seed) : rng_(seed) {}
  double uniform(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng_); }
  int integer(int a, int b) { return std::uniform_int_distribution<int>(a, b)(rng_); }
  bool chance(double p) { return uniform(0.0, 1.0) < p; }
  template <class T>
  T pick(std::initializer_list<T> xs) { return *(xs.begin() + integer(0, static_cast<int>(xs.size()) - 1)); }

  // Times on a 1 ms or 10 ms grid hit the tolerance boundaries exactly; continuous ones don't.
  double time(double a, double b, double grid) {
    const double t = uniform(a, b);
    return grid > 0 ? std::round(t / grid) * grid : t;
  }

 private:
  std::mt19937_64 rng_;
};

qs::Note make(double on, double off, int pitch) {
  qs::Note n;
  n.onset = std::max(0.0, on);
  n.offset = std::max(n.onset + 0.001, off);
  n.pitch = std::min(108, std::max(21, pitch));  // mir_eval.multipitch refuses < 20 Hz and > 5 kHz
  return n;
}

qs::NoteList make_reference(Gen& g, double grid) {
  qs::NoteList ref;
  const int n = g.chance(0.05) ? 0 : g.integer(1, 40);
  const int base = g.integer(30, 90);
  while (static_cast<int>(ref.size()) < n) {
    const double on = g.time(0.0, 8.0, grid);
    const double dur = g.pick({0.05, 0.1, 0.25, 0.5, 1.0, g.time(0.01, 2.0, grid)});
    const int chord = g.chance(0.3) ? g.integer(2, 4) : 1;
    for (int c = 0; c < chord; ++c) ref.push_back(make(on, on + dur, base + g.integer(-12, 12)));
    if (g.chance(0.15))  // a repeated note inside the onset tolerance: ambiguous matches
      ref.push_back(make(on + g.pick({0.02, 0.03, 0.05}), on + dur + 0.1, ref.back().pitch));
  }
  return ref;
}

qs::Note perturb(Gen& g, const qs::Note& r, double grid) {
  const double dur = r.offset - r.onset;
  const double off_tol = std::max(0.2 * dur, 0.05);
  const double d_on = g.pick({0.0, 0.05, -0.05, 0.0499, -0.0499, 0.0501, 0.05005, -0.05005, 0.04995,
                              g.time(-0.08, 0.08, grid), g.time(-0.02, 0.02, grid)});
  const double d_off = g.pick({0.0, off_tol, -off_tol, off_tol + 0.0001, -(off_tol + 0.0001), off_tol - 0.0001,
                               g.time(-0.3, 0.3, grid), 0.05, -0.05});
  const int d_pitch = g.chance(0.85) ? 0 : g.pick({-1, 1, 12, -12});
  return make(r.onset + d_on, r.offset + d_off, r.pitch + d_pitch);
}

qs::NoteList make_estimate(Gen& g, const qs::NoteList& ref, double grid) {
  qs::NoteList est;
  const double keep = g.uniform(0.3, 1.0);
  for (const qs::Note& r : ref) {
    if (!g.chance(keep)) continue;
    est.push_back(perturb(g, r, grid));
    if (g.chance(0.1)) est.push_back(perturb(g, r, grid));  // duplicate estimate
  }
  const int extra = g.chance(0.1) ? g.integer(1, 40) : g.integer(0, 5);  // incl. est-only cases
  for (int i = 0; i < extra; ++i) {
    const double on = g.time(0.0, 9.0, grid);
    est.push_back(make(on, on + g.time(0.02, 1.5, grid), g.integer(24, 100)));
  }
  if (g.chance(0.05)) est.clear();
  return est;
}

json notes_json(const qs::NoteList& notes) {
  json a = json::array();
  for (const qs::Note& n : notes) a.push_back({n.onset, n.offset, n.pitch});
  return a;
}

json prf(const qs::PRF& p) { return {{"P", p.precision}, {"R", p.recall}, {"F1", p.f1}}; }

json scores_json(const qs::Scores& s) {
  return {{"note", prf(s.note)},
          {"note_offset", prf(s.note_offset)},
          {"frame", prf(s.frame)},
          {"exact_frame_acc", {{"k0", s.exact_accuracy[0]}, {"k1", s.exact_accuracy[1]}, {"k2", s.exact_accuracy[2]}}},
          {"note_overlap", s.note_overlap},
          {"note_offset_overlap", s.note_offset_overlap}};
}

json matching_json(const qs::NoteList& ref, const qs::NoteList& est, bool offsets) {
  json a = json::array();
  const auto params = offsets ? qs::NoteMatchParams::with_offset() : qs::NoteMatchParams::onset_only();
  for (const auto& m : qs::match_notes(ref, est, params)) a.push_back({m.first, m.second});
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: qs_metrics_crosscheck OUT.json [N_CASES [SEED]]\n";
    return 2;
  }
  const int n_cases = argc > 2 ? std::stoi(argv[2]) : 300;
  Gen g(argc > 3 ? std::stoull(argv[3]) : 20240601);

  json cases = json::array();
  std::vector<qs::PieceCounts> counts;
  std::vector<qs::PieceNotes> pieces;
  for (int i = 0; i < n_cases; ++i) {
    const double grid = g.pick({0.0, 0.001, 0.01});
    qs::PieceNotes p;
    p.ref = make_reference(g, grid);
    p.est = make_estimate(g, p.ref, grid);
    // Durations: from the notes (no WAV), a clean length, or one that cuts notes off.
    const int kind = g.integer(0, 2);
    p.duration_s = kind == 0 ? -1.0 : kind == 1 ? 10.0 : std::round(g.uniform(2.0, 9.0) * 22050.0) / 22050.0;
    if (p.ref.empty() && p.est.empty()) p.duration_s = 3.0;
    const qs::PieceCounts c = qs::evaluate_piece(p.ref, p.est, p.duration_s);
    // The matchings themselves, on unclipped notes: they must equal mir_eval's pair for pair.
    cases.push_back({{"name", "case" + std::to_string(1000 + i)},
                     {"ref", notes_json(p.ref)},
                     {"est", notes_json(p.est)},
                     {"duration", p.duration_s},
                     {"ours", scores_json(qs::scores_of(c))},
                     {"matching", matching_json(p.ref, p.est, false)},
                     {"matching_offset", matching_json(p.ref, p.est, true)}});
    counts.push_back(c);
    pieces.push_back(std::move(p));
  }
  const json out = {{"cases", cases},
                    {"pooled", scores_json(qs::scores_of(qs::evaluate_pooled(pieces)))},
                    {"pooled_from_counts", scores_json(qs::pooled_scores(counts))},
                    {"mean", scores_json(qs::mean_scores(counts))}};
  std::ofstream f(argv[1]);
  f << out.dump();
  if (!f) {
    std::cerr << argv[1] << ": cannot write\n";
    return 1;
  }
  return 0;
}
