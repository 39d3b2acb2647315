#include "qscribe/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "qscribe/error.hpp"

namespace qs {
namespace {

using Pairs = std::vector<std::pair<std::size_t, std::size_t>>;

// np.around(x, 4): scale, round half to even (nearbyint in the default rounding mode), unscale.
double round4(double x) { return std::nearbyint(x * 10000.0) / 10000.0; }

// mir_eval works on Hz and compares 1200 * |log2(f_ref) - log2(f_est)|; keep its arithmetic.
double log2_hz(int midi) { return std::log2(440.0 * std::pow(2.0, (midi - 69.0) / 12.0)); }

void validate_notes(const NoteList& notes, const char* which) {
  for (std::size_t i = 0; i < notes.size(); ++i) {
    const Note& n = notes[i];
    const std::string where = std::string(which) + " note " + std::to_string(i);
    if (!std::isfinite(n.onset) || !std::isfinite(n.offset))
      throw Error("metrics: " + where + " has a non-finite time");
    if (n.onset < 0.0 || n.offset < 0.0) throw Error("metrics: " + where + " has a negative time");
    if (n.offset <= n.onset) throw Error("metrics: " + where + " does not end after it starts");
  }
}

// The note hit graph in mir_eval's shape: estimates (left side) in order of first appearance
// when scanning the hit matrix row by row (reference-major), each with its hit references in
// ascending order. mir_eval builds a Python dict this way and its matching depends on it.
struct HitGraph {
  std::vector<std::size_t> order;    // estimate indices, first-appearance order
  std::vector<std::size_t> begin;    // per estimate: CSR offsets into refs (size n_est + 1)
  std::vector<std::size_t> refs;     // hit reference indices
};

// Row-major (ref, est) hit pairs. Candidates come from estimates sorted by (pitch, onset); the
// exact mir_eval predicates decide.
Pairs find_hits(const NoteList& ref, const NoteList& est, const NoteMatchParams& p) {
  auto within = [&](double d, double tol) { return p.strict ? d < tol : d <= tol; };
  std::vector<std::size_t> by_pitch(est.size());
  for (std::size_t j = 0; j < est.size(); ++j) by_pitch[j] = j;
  std::sort(by_pitch.begin(), by_pitch.end(), [&](std::size_t a, std::size_t b) {
    return est[a].pitch < est[b].pitch || (est[a].pitch == est[b].pitch && est[a].onset < est[b].onset);
  });
  std::vector<double> est_log2(est.size());
  for (std::size_t j = 0; j < est.size(); ++j) est_log2[j] = log2_hz(est[j].pitch);

  // Integer pitches closer than the tolerance: |dp| <= tol / 100 (+1 for rounding safety).
  const int dp_max = static_cast<int>(std::floor(std::max(0.0, p.pitch_tolerance) / 100.0)) + 1;
  const double window = p.onset_tolerance + 1e-3;  // rounding to 4 decimals moves <= 5e-5
  Pairs hits;
  std::vector<std::size_t> row;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const Note& r = ref[i];
    const double r_log2 = log2_hz(r.pitch);
    const double off_tol = std::max(p.offset_ratio * std::fabs(r.offset - r.onset), p.offset_min_tolerance);
    row.clear();
    for (int pitch = r.pitch - dp_max; pitch <= r.pitch + dp_max; ++pitch) {
      auto lo = std::lower_bound(by_pitch.begin(), by_pitch.end(), 0, [&](std::size_t j, int) {
        return est[j].pitch < pitch || (est[j].pitch == pitch && est[j].onset < r.onset - window);
      });
      for (auto it = lo; it != by_pitch.end(); ++it) {
        const Note& e = est[*it];
        if (e.pitch != pitch || e.onset > r.onset + window) break;
        if (!within(round4(std::fabs(r.onset - e.onset)), p.onset_tolerance)) continue;
        if (!within(std::fabs(1200.0 * (r_log2 - est_log2[*it])), p.pitch_tolerance)) continue;
        if (p.with_offsets && !within(round4(std::fabs(r.offset - e.offset)), off_tol)) continue;
        row.push_back(*it);
      }
    }
    std::sort(row.begin(), row.end());
    for (std::size_t j : row) hits.emplace_back(i, j);
  }
  return hits;
}

HitGraph build_graph(const Pairs& hits, std::size_t n_est) {
  HitGraph g;
  g.begin.assign(n_est + 1, 0);
  std::vector<char> seen(n_est, 0);
  for (const auto& h : hits) {
    ++g.begin[h.second + 1];
    if (!seen[h.second]) {
      seen[h.second] = 1;
      g.order.push_back(h.second);
    }
  }
  for (std::size_t j = 0; j < n_est; ++j) g.begin[j + 1] += g.begin[j];
  g.refs.resize(hits.size());
  std::vector<std::size_t> fill(g.begin.begin(), g.begin.end() - 1);
  for (const auto& h : hits) g.refs[fill[h.second]++] = h.first;  // row-major: refs ascending
  return g;
}

// A step-by-step replica of mir_eval.util._bipartite_match (Eppstein's Hopcroft-Karp): greedy
// start, then phases of layered BFS from free estimates and DFS back from the free references of
// the last layer. Same visiting order, hence the same matching. Left = estimates (u), right =
// references (v).
class Matcher {
 public:
  Matcher(const HitGraph& g, std::size_t n_ref, std::size_t n_est)
      : g_(g), match_(n_ref, kNone), pred_(n_est, kAbsent), in_preds_(n_ref, 0), in_new_(n_ref, 0),
        preds_(n_ref) {}

  std::vector<long> run() {
    for (std::size_t u : g_.order)
      for (std::size_t k = g_.begin[u]; k < g_.begin[u + 1]; ++k)
        if (match_[g_.refs[k]] == kNone) {
          match_[g_.refs[k]] = static_cast<long>(u);
          break;
        }
    while (layer_phase())
      for (std::size_t v : unmatched_) recurse(v);
    return match_;
  }

 private:
  static constexpr long kNone = -1;      // reference unmatched
  static constexpr long kAbsent = -2;    // estimate not in `pred`
  static constexpr long kFree = -3;      // estimate in the first layer (mir_eval's `unmatched` flag)

  // Builds the layers; false when no augmenting path is left.
  bool layer_phase() {
    for (std::size_t u : g_.order) pred_[u] = kFree;
    for (long u : match_)
      if (u != kNone) pred_[u] = kAbsent;
    for (std::size_t v : touched_) in_preds_[v] = 0;
    touched_.clear();
    unmatched_.clear();
    layer_.clear();
    for (std::size_t u : g_.order)
      if (pred_[u] == kFree) layer_.push_back(u);

    while (!layer_.empty() && unmatched_.empty()) {
      new_keys_.clear();
      for (std::size_t u : layer_)
        for (std::size_t k = g_.begin[u]; k < g_.begin[u + 1]; ++k) {
          const std::size_t v = g_.refs[k];
          if (in_preds_[v]) continue;
          if (!in_new_[v]) {
            in_new_[v] = 1;
            preds_[v].clear();
            new_keys_.push_back(v);
          }
          preds_[v].push_back(u);
        }
      layer_.clear();
      for (std::size_t v : new_keys_) {
        in_new_[v] = 0;
        in_preds_[v] = 1;
        touched_.push_back(v);
        if (match_[v] != kNone) {
          layer_.push_back(static_cast<std::size_t>(match_[v]));
          pred_[match_[v]] = static_cast<long>(v);
        } else {
          unmatched_.push_back(v);
        }
      }
    }
    return !unmatched_.empty();
  }

  bool recurse(std::size_t v) {
    if (!in_preds_[v]) return false;
    in_preds_[v] = 0;
    for (std::size_t u : preds_[v]) {
      if (pred_[u] == kAbsent) continue;
      const long pu = pred_[u];
      pred_[u] = kAbsent;
      if (pu == kFree || recurse(static_cast<std::size_t>(pu))) {
        match_[v] = static_cast<long>(u);
        return true;
      }
    }
    return false;
  }

  const HitGraph& g_;
  std::vector<long> match_;  // per reference: matched estimate or kNone
  std::vector<long> pred_;   // per estimate: kAbsent, kFree or the reference before it
  std::vector<char> in_preds_, in_new_;
  std::vector<std::vector<std::size_t>> preds_;  // per reference: estimates of the layer before
  std::vector<std::size_t> touched_, unmatched_, layer_, new_keys_;
};

double overlap_ratio(const Note& r, const Note& e) {
  return (std::min(r.offset, e.offset) - std::max(r.onset, e.onset)) /
         (std::max(r.offset, e.offset) - std::min(r.onset, e.onset));
}

double safe_div(double a, double b) { return b > 0 ? a / b : 0.0; }
double f_measure(double p, double r) { return p + r > 0 ? 2.0 * p * r / (p + r) : 0.0; }

// One roll frame: bit k set when MIDI pitch k is active.
struct PitchSet {
  std::uint64_t w[2] = {0, 0};
};

std::vector<PitchSet> make_roll(const NoteList& notes, std::size_t n_frames, double hop_s) {
  std::vector<PitchSet> roll(n_frames);
  for (const Note& n : notes) {
    if (n.pitch < 0 || n.pitch >= 128) continue;
    // score.py: a = max(0, ceil(on/hop - 1e-9)), b = min(n, ceil(off/hop - 1e-9)).
    const double a = std::max(0.0, std::ceil(n.onset / hop_s - 1e-9));
    const double b = std::min(static_cast<double>(n_frames), std::ceil(n.offset / hop_s - 1e-9));
    const std::uint64_t bit = std::uint64_t{1} << (n.pitch & 63);
    for (std::size_t i = static_cast<std::size_t>(a); static_cast<double>(i) < b; ++i) roll[i].w[n.pitch >> 6] |= bit;
  }
  return roll;
}

int popcount64(std::uint64_t x) {
  int c = 0;
  for (; x; x &= x - 1) ++c;
  return c;
}

int popcount(const PitchSet& s) { return popcount64(s.w[0]) + popcount64(s.w[1]); }

}  // namespace

Pairs match_notes(const NoteList& ref, const NoteList& est, const NoteMatchParams& params) {
  validate_notes(ref, "reference");
  validate_notes(est, "estimated");
  if (ref.empty() || est.empty()) return {};
  const HitGraph g = build_graph(find_hits(ref, est, params), est.size());
  const std::vector<long> match = Matcher(g, ref.size(), est.size()).run();
  Pairs out;
  for (std::size_t i = 0; i < match.size(); ++i)
    if (match[i] >= 0) out.emplace_back(i, static_cast<std::size_t>(match[i]));
  return out;
}

NoteCounts note_counts(const NoteList& ref, const NoteList& est, const NoteMatchParams& params) {
  NoteCounts c;
  c.n_ref = ref.size();
  c.n_est = est.size();
  for (const auto& m : match_notes(ref, est, params)) {
    ++c.n_matched;
    c.overlap_sum += overlap_ratio(ref[m.first], est[m.second]);
  }
  return c;
}

double NoteCounts::precision() const { return safe_div(static_cast<double>(n_matched), static_cast<double>(n_est)); }
double NoteCounts::recall() const { return safe_div(static_cast<double>(n_matched), static_cast<double>(n_ref)); }
double NoteCounts::f1() const { return f_measure(precision(), recall()); }
double NoteCounts::average_overlap_ratio() const { return safe_div(overlap_sum, static_cast<double>(n_matched)); }

NoteCounts& NoteCounts::operator+=(const NoteCounts& o) {
  n_ref += o.n_ref;
  n_est += o.n_est;
  n_matched += o.n_matched;
  overlap_sum += o.overlap_sum;
  return *this;
}

std::size_t roll_frame_count(double duration_s, double hop_s) {
  const double n = std::ceil(duration_s / hop_s - 1e-9);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

FrameCounts frame_counts(const NoteList& ref, const NoteList& est, std::size_t n_frames, double hop_s) {
  if (!(hop_s > 0.0)) throw Error("metrics: the frame hop must be positive");
  const std::vector<PitchSet> r = make_roll(ref, n_frames, hop_s);
  const std::vector<PitchSet> e = make_roll(est, n_frames, hop_s);
  FrameCounts c;
  c.n_frames = n_frames;
  for (std::size_t i = 0; i < n_frames; ++i) {
    const PitchSet both{{r[i].w[0] & e[i].w[0], r[i].w[1] & e[i].w[1]}};
    const PitchSet diff{{r[i].w[0] ^ e[i].w[0], r[i].w[1] ^ e[i].w[1]}};
    c.n_ref_active += popcount(r[i]);
    c.n_est_active += popcount(e[i]);
    c.n_true_positive += popcount(both);
    ++c.diff_histogram[popcount(diff)];
  }
  return c;
}

double FrameCounts::precision() const {
  return safe_div(static_cast<double>(n_true_positive), static_cast<double>(n_est_active));
}
double FrameCounts::recall() const {
  return safe_div(static_cast<double>(n_true_positive), static_cast<double>(n_ref_active));
}
double FrameCounts::f1() const { return f_measure(precision(), recall()); }

double FrameCounts::exact_accuracy(int k) const {
  std::uint64_t ok = 0;
  for (int d = 0; d <= std::min(k, 128); ++d) ok += diff_histogram[d];
  return safe_div(static_cast<double>(ok), static_cast<double>(n_frames));
}

FrameCounts& FrameCounts::operator+=(const FrameCounts& o) {
  n_frames += o.n_frames;
  n_ref_active += o.n_ref_active;
  n_est_active += o.n_est_active;
  n_true_positive += o.n_true_positive;
  for (std::size_t d = 0; d < diff_histogram.size(); ++d) diff_histogram[d] += o.diff_histogram[d];
  return *this;
}

PieceCounts& PieceCounts::operator+=(const PieceCounts& o) {
  duration_s += o.duration_s;
  note += o.note;
  note_offset += o.note_offset;
  frame += o.frame;
  exact += o.exact;
  return *this;
}

namespace {

// score.py without a WAV: the latest offset of either list.
double piece_duration(const NoteList& ref, const NoteList& est, double duration_s) {
  if (duration_s >= 0.0) return duration_s;
  double dur = 0.0;
  for (const Note& n : ref) dur = std::max(dur, n.offset);
  for (const Note& n : est) dur = std::max(dur, n.offset);
  return dur;
}

// The audio ends at `dur`: clip estimates the way score.py does.
NoteList clip_estimates(const NoteList& est, double dur) {
  NoteList clipped;
  clipped.reserve(est.size());
  for (Note n : est) {
    if (!(n.onset < dur && n.offset > 0.0)) continue;
    n.onset = std::max(n.onset, 0.0);
    n.offset = std::min(n.offset, dur);
    if (n.offset > n.onset) clipped.push_back(n);
  }
  return clipped;
}

}  // namespace

PieceCounts evaluate_pooled(const std::vector<PieceNotes>& pieces) {
  constexpr double kGap = 10.0;  // score.py's GAP
  PieceCounts total;
  NoteList ref, est;
  double shift = 0.0;
  for (const PieceNotes& p : pieces) {
    const double dur = piece_duration(p.ref, p.est, p.duration_s);
    const PieceCounts c = evaluate_piece(p.ref, p.est, dur);
    total.duration_s += dur;
    total.frame += c.frame;
    total.exact += c.exact;
    for (Note n : p.ref) {
      n.onset += shift;
      n.offset += shift;
      ref.push_back(n);
    }
    for (Note n : clip_estimates(p.est, dur)) {
      n.onset += shift;
      n.offset += shift;
      est.push_back(n);
    }
    shift += dur + kGap;
  }
  total.note = note_counts(ref, est, NoteMatchParams::onset_only());
  total.note_offset = note_counts(ref, est, NoteMatchParams::with_offset());
  return total;
}

PieceCounts evaluate_piece(const NoteList& ref, const NoteList& est, double duration_s) {
  const double dur = piece_duration(ref, est, duration_s);
  const NoteList clipped = clip_estimates(est, dur);
  PieceCounts c;
  c.duration_s = dur;
  c.note = note_counts(ref, clipped, NoteMatchParams::onset_only());
  c.note_offset = note_counts(ref, clipped, NoteMatchParams::with_offset());
  c.frame = frame_counts(ref, clipped, roll_frame_count(dur, kFrameMetricHop), kFrameMetricHop);
  // score.py counts exact frames as ceil(dur * 22050 / 512 - 1e-9): keep its arithmetic.
  const double nx = std::ceil(dur * 22050.0 / 512.0 - 1e-9);
  c.exact = frame_counts(ref, clipped, nx > 0 ? static_cast<std::size_t>(nx) : 0, kExactFrameHop);
  return c;
}

Scores scores_of(const PieceCounts& c) {
  Scores s;
  s.note = {c.note.precision(), c.note.recall(), c.note.f1()};
  s.note_offset = {c.note_offset.precision(), c.note_offset.recall(), c.note_offset.f1()};
  s.frame = {c.frame.precision(), c.frame.recall(), c.frame.f1()};
  for (int k = 0; k < 3; ++k) s.exact_accuracy[k] = c.exact.exact_accuracy(k);
  s.note_overlap = c.note.average_overlap_ratio();
  s.note_offset_overlap = c.note_offset.average_overlap_ratio();
  return s;
}

Scores pooled_scores(const std::vector<PieceCounts>& pieces) {
  PieceCounts total;
  for (const PieceCounts& p : pieces) total += p;
  return scores_of(total);
}

Scores mean_scores(const std::vector<PieceCounts>& pieces) {
  Scores m;
  if (pieces.empty()) return m;
  auto add = [](PRF& a, const PRF& b) {
    a.precision += b.precision;
    a.recall += b.recall;
    a.f1 += b.f1;
  };
  for (const PieceCounts& p : pieces) {
    const Scores s = scores_of(p);
    add(m.note, s.note);
    add(m.note_offset, s.note_offset);
    add(m.frame, s.frame);
    for (int k = 0; k < 3; ++k) m.exact_accuracy[k] += s.exact_accuracy[k];
    m.note_overlap += s.note_overlap;
    m.note_offset_overlap += s.note_offset_overlap;
  }
  const double n = static_cast<double>(pieces.size());
  for (PRF* prf : {&m.note, &m.note_offset, &m.frame}) {
    prf->precision /= n;
    prf->recall /= n;
    prf->f1 /= n;
  }
  for (double& a : m.exact_accuracy) a /= n;
  m.note_overlap /= n;
  m.note_offset_overlap /= n;
  return m;
}

double beat_f_measure(const std::vector<double>& reference, const std::vector<double>& estimate, double tolerance_s,
                      double skip_s) {
  auto trimmed = [skip_s](const std::vector<double>& b) {
    std::vector<double> out;
    for (double t : b)
      if (t >= skip_s) out.push_back(t);
    std::sort(out.begin(), out.end());
    return out;
  };
  const std::vector<double> ref = trimmed(reference), est = trimmed(estimate);
  if (ref.empty() || est.empty()) return 0.0;
  // Greedy matching in time order is a maximum matching for intervals on a line.
  std::size_t i = 0, j = 0, hits = 0;
  while (i < ref.size() && j < est.size()) {
    if (std::abs(ref[i] - est[j]) <= tolerance_s) ++hits, ++i, ++j;
    else if (ref[i] < est[j]) ++i;
    else ++j;
  }
  const double p = double(hits) / est.size(), r = double(hits) / ref.size();
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

}  // namespace qs
