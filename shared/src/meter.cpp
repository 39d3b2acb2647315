#include "qscribe/meter.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "qscribe/error.hpp"

namespace qs {

Meter parse_time_signature(const std::string& text) {
  const std::string bad = "time signature \"" + text + "\": expected NUMERATOR/DENOMINATOR, e.g. 3/4 or 6/8";
  const auto slash = text.find('/');
  if (slash == std::string::npos) throw Error(bad);
  Meter m;
  try {
    std::size_t a = 0, b = 0;
    m.numerator = std::stoi(text.substr(0, slash), &a);
    m.denominator = std::stoi(text.substr(slash + 1), &b);
    if (a != slash || b != text.size() - slash - 1) throw Error(bad);
  } catch (const std::logic_error&) {
    throw Error(bad);
  }
  const int d = m.denominator;
  if (m.numerator < 1 || m.numerator > 32 || !(d == 1 || d == 2 || d == 4 || d == 8 || d == 16 || d == 32))
    throw Error(bad);
  m.compound = (d == 8 || d == 16) && m.numerator > 3 && m.numerator % 3 == 0;
  m.beats_per_bar = m.compound ? m.numerator / 3 : m.numerator;
  return m;
}

namespace {

double near(double phase, double target, double tol) { return std::abs(phase - target) < tol ? 1.0 : 0.0; }

// Index of the beat interval holding t (beats[i] <= t < beats[i+1]), or -1 outside.
long beat_interval(const std::vector<double>& beats, double t) {
  if (t < beats.front() || t >= beats.back()) return -1;
  return static_cast<long>(std::upper_bound(beats.begin(), beats.end(), t) - beats.begin()) - 1;
}

// Do the beats divide into three? Counts onsets near 1/3 and 2/3 against 1/2, 1/4 and 3/4.
bool is_compound(const NoteList& notes, const std::vector<double>& beats) {
  double w2 = 0, w13 = 0, w23 = 0;
  for (const Note& n : notes) {
    const long i = beat_interval(beats, n.onset);
    if (i < 0) continue;
    const double phase = (n.onset - beats[static_cast<std::size_t>(i)]) / (beats[static_cast<std::size_t>(i) + 1] - beats[static_cast<std::size_t>(i)]);
    w2 += near(phase, 0.5, 0.07) + 0.5 * (near(phase, 0.25, 0.05) + near(phase, 0.75, 0.05));
    w13 += near(phase, 1.0 / 3, 0.06);
    w23 += near(phase, 2.0 / 3, 0.06);
  }
  // Swung eighths fall at 2/3 of the beat and rarely at 1/3: that is 4/4 with swing, not 12/8.
  const double w3 = w13 + w23;
  return w3 > 1.3 * w2 && w3 > 0.05 * static_cast<double>(notes.size()) && w13 > 0.4 * w23;
}

void standardise(std::vector<double>& v) {
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  for (double x : v) s += (x - m) * (x - m);
  s = std::sqrt(s / static_cast<double>(v.size()));
  for (double& x : v) x = s > 0 ? (x - m) / s : 0.0;
}

// Per-beat evidence for a bar line: onsets on the beat (log of a weighted count, so a chord is
// not ten downbeats), bass onsets (weighted by length), and the pitch classes sounding in the beat.
struct BeatEvidence {
  std::vector<double> onset, bass;
  std::vector<std::array<double, 12>> chroma;
};

BeatEvidence beat_evidence(const NoteList& notes, const std::vector<double>& beats) {
  const std::size_t B = beats.size();
  BeatEvidence e{std::vector<double>(B, 0.0), std::vector<double>(B, 0.0), std::vector<std::array<double, 12>>(B, std::array<double, 12>{})};
  for (const Note& n : notes) {
    // The beat nearest to the onset, if within 15 % of a beat of it.
    const auto it = std::lower_bound(beats.begin(), beats.end(), n.onset);
    std::size_t i = static_cast<std::size_t>(it - beats.begin());
    if (i == B || (i > 0 && n.onset - beats[i - 1] < beats[i] - n.onset)) --i;
    const double ibi = i + 1 < B ? beats[i + 1] - beats[i] : beats[i] - beats[i - 1];
    const double dur_beats = std::min((n.offset - n.onset) / ibi, 4.0);
    if (std::abs(n.onset - beats[i]) < 0.15 * ibi) {
      e.onset[i] += 1.0 + 0.5 * dur_beats;
      if (n.pitch < 55) e.bass[i] += 1.0 + dur_beats;
    }
    // Pitch classes sounding in each beat the note spans.
    for (long k = std::max(0L, beat_interval(beats, n.onset)); k >= 0 && k + 1 < static_cast<long>(B) && beats[static_cast<std::size_t>(k)] < n.offset; ++k)
      e.chroma[static_cast<std::size_t>(k)][static_cast<std::size_t>(n.pitch % 12)] += n.pitch < 55 ? 2.0 : 1.0;
  }
  for (double& v : e.onset) v = std::log1p(v);
  standardise(e.onset);
  standardise(e.bass);
  return e;
}

// Mean over bar lines of how much the harmony changes there: 1 - cosine between the pitch
// classes of the bar before and the bar after.
double harmonic_change(const BeatEvidence& e, int m, int p) {
  const long B = static_cast<long>(e.chroma.size());
  double sum = 0;
  int n = 0;
  for (long b = p + m; b + m <= B; b += m) {
    std::array<double, 12> before{}, after{};
    for (long k = 0; k < m; ++k)
      for (int c = 0; c < 12; ++c) {
        before[static_cast<std::size_t>(c)] += e.chroma[static_cast<std::size_t>(b - m + k)][static_cast<std::size_t>(c)];
        after[static_cast<std::size_t>(c)] += e.chroma[static_cast<std::size_t>(b + k)][static_cast<std::size_t>(c)];
      }
    double ab = 0, aa = 0, bb = 0;
    for (int c = 0; c < 12; ++c)
      ab += before[static_cast<std::size_t>(c)] * after[static_cast<std::size_t>(c)], aa += before[static_cast<std::size_t>(c)] * before[static_cast<std::size_t>(c)],
          bb += after[static_cast<std::size_t>(c)] * after[static_cast<std::size_t>(c)];
    if (aa > 0 && bb > 0) sum += 1.0 - ab / std::sqrt(aa * bb), ++n;
  }
  return n > 0 ? sum / n : 0.0;
}

// Accent contrast of bar length m at phase p: mean of bar starts minus mean of the other beats.
double contrast(const std::vector<double>& v, int m, int p) {
  double on = 0, off = 0;
  int n_on = 0, n_off = 0;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (static_cast<int>(i % static_cast<std::size_t>(m)) == p) on += v[i], ++n_on;
    else off += v[i], ++n_off;
  return n_on > 0 && n_off > 0 ? on / n_on - off / n_off : 0.0;
}

// How well bars of m beats starting at beat p fit: bass and onset accents on bar lines, and
// harmony changing at bar lines more than at the other phases of the same bar length.
double grouping_score(const BeatEvidence& e, int m, int p) {
  double mean_change = 0;
  for (int q = 0; q < m; ++q) mean_change += harmonic_change(e, m, q) / m;
  return contrast(e.bass, m, p) + 0.5 * contrast(e.onset, m, p) + 4.0 * (harmonic_change(e, m, p) - mean_change);
}

// Index of the beat nearest the first onset.
std::size_t first_onset_beat(const NoteList& notes, const std::vector<double>& beats) {
  double t0 = notes.front().onset;
  for (const Note& n : notes) t0 = std::min(t0, n.onset);
  const auto it = std::min_element(beats.begin(), beats.end(),
                                   [t0](double a, double b) { return std::abs(a - t0) < std::abs(b - t0); });
  return static_cast<std::size_t>(it - beats.begin());
}

// The downbeat phase for bars of m beats: the best grouping score, the beat of the first onset
// getting `prior` more. Most pieces start on a bar line (a pickup is the exception), and where
// two phases of 4/4 carry the same bass and harmony (beats 1 and 3, or a chord held across
// the bar), the accent evidence alone tips either way between two renders of the same notes.
int downbeat_phase(const BeatEvidence& e, int m, std::size_t first_beat, double prior) {
  const int first_phase = static_cast<int>(first_beat % static_cast<std::size_t>(m));
  int best_p = 0;
  double best = -1e300;
  for (int p = 0; p < m; ++p) {
    const double s = grouping_score(e, m, p) + (p == first_phase ? prior : 0.0);
    if (s > best) best = s, best_p = p;
  }
  return best_p;
}

}  // namespace

Meter estimate_meter(const NoteList& notes, const std::vector<double>& beats, const MeterOptions& options) {
  const bool given = !options.time_signature.empty();
  Meter m = given ? parse_time_signature(options.time_signature) : Meter{};
  if (beats.size() < 4 || notes.empty()) return m;
  const BeatEvidence acc = beat_evidence(notes, beats);
  const bool compound = given ? m.compound : is_compound(notes, beats);
  // 4 beats per bar wins unless 2 or 3 is clearly better: 2/4 and 4/4 differ only in beat 3, and
  // 4/4 is by far the more common (all 77 held-out training renders that state a meter, 24 of
  // 26 on the dev set): in simple meter 2 must score 1.5 times as well (1.15 put a third of
  // them in 2/4: docs/score.md, "Two beats or four"). In compound meter 6/8 is the common one
  // (jigs, barcarolles) and 12/8 the rarer: 1.15.
  const std::array<double, 3> bias{compound ? 1.15 : 1.5, 1.1, 1.0};  // for 2, 3, 4
  // And 3 must also beat the noise of a short piece: the accent contrasts are means over
  // beats / 3 bars, so it costs sqrt(3 / beats) (0.27 for 22 s at 130 bpm, 0.13 for 90 s): a
  // bossa excerpt of 13 bars is not 3/4 by chance (docs/score.md). Not for 2, which differs from
  // 4 in notation more than in the bar lines (2/4 or 4/4, 6/8 or 12/8: half of them are shared).
  const double short_piece_prior = 1.0;
  double best = -1e300;
  int best_m = 4, best_p = 0;
  for (int bpb = 2; bpb <= 4; ++bpb) {
    if (given && bpb != m.beats_per_bar) continue;
    for (int p = 0; p < bpb; ++p) {
      const double s = grouping_score(acc, bpb, p);
      const double scaled = (s > 0 ? s / bias[static_cast<std::size_t>(bpb - 2)] : s * bias[static_cast<std::size_t>(bpb - 2)]) -
                            (bpb == 3 ? short_piece_prior * std::sqrt(bpb / static_cast<double>(beats.size())) : 0.0);
      if (scaled > best) best = scaled, best_m = bpb, best_p = p;
    }
  }
  if (given && (m.beats_per_bar < 2 || m.beats_per_bar > 4)) {  // 5/4, 7/8, ...: phase of the biggest accent
    best_p = 0;
    for (int p = 1; p < m.beats_per_bar; ++p)
      if (grouping_score(acc, m.beats_per_bar, p) > grouping_score(acc, m.beats_per_bar, best_p)) best_p = p;
    m.first_downbeat = best_p;
    return m;
  }
  // The number of beats per bar is chosen without the prior on the phase (with it, the meter was
  // worse: docs/score.md); then the phase for that number with it.
  best_p = downbeat_phase(acc, best_m, first_onset_beat(notes, beats), options.first_onset_prior);
  if (!given) {
    m.beats_per_bar = best_m;
    m.compound = compound;
    m.numerator = compound ? 3 * best_m : best_m;
    m.denominator = compound ? 8 : 4;
  }
  m.first_downbeat = best_p;
  return m;
}

}  // namespace qs
