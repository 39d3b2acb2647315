#include "qscribe/beat_tracker.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qs {

OnsetEnvelope onset_envelope(const NoteList& notes, double duration_s, double frame_rate) {
  OnsetEnvelope env;
  env.frame_rate = frame_rate;
  if (duration_s <= 0.0)
    for (const Note& n : notes) duration_s = std::max(duration_s, n.offset + 1.0);
  const long n_frames = static_cast<long>(std::ceil(std::max(0.0, duration_s) * frame_rate)) + 1;
  env.strength.assign(static_cast<std::size_t>(n_frames), 0.0f);
  const double sigma = 0.02 * frame_rate;  // a 20 ms bump: the timing spread of one "event"
  const int reach = static_cast<int>(std::ceil(3.0 * sigma));
  for (const Note& n : notes) {
    if (!(n.onset >= 0.0) || n.onset * frame_rate >= static_cast<double>(n_frames)) continue;
    const double register_weight = n.pitch < 48 ? 1.5 : n.pitch < 60 ? 1.2 : 1.0;
    // Long notes start on beats more often than short ones (off-beat chords are short).
    const double length_weight = 0.5 + std::min(1.0, n.offset - n.onset);
    const double w = (0.5 + std::clamp(n.velocity, 1, 127) / 127.0) * register_weight * length_weight;
    const double c = n.onset * frame_rate;
    const long j0 = std::max(0L, static_cast<long>(c) - reach), j1 = std::min(n_frames - 1, static_cast<long>(c) + reach);
    for (long j = j0; j <= j1; ++j) {
      const double d = (static_cast<double>(j) - c) / sigma;
      env.strength[static_cast<std::size_t>(j)] += static_cast<float>(w * std::exp(-0.5 * d * d));
    }
  }
  // Square-root compression: a ten-note chord is a stronger event than one note, but not ten times.
  for (float& v : env.strength) v = std::sqrt(v);
  return env;
}

double median_tempo(const std::vector<double>& beats) {
  if (beats.size() < 2) return 0.0;
  std::vector<double> ibi;
  for (std::size_t i = 1; i < beats.size(); ++i) ibi.push_back(beats[i] - beats[i - 1]);
  std::nth_element(ibi.begin(), ibi.begin() + static_cast<long>(ibi.size() / 2), ibi.end());
  const double m = ibi[ibi.size() / 2];
  return m > 0 ? 60.0 / m : 0.0;
}

namespace {

// Tempo salience of every lag in one window: autocorrelation enhanced by 2x, 3x and 4x lags,
// times the tempo prior, divided by the window's variance (its lag 0; all zeros for a silent
// window). So a window whose onsets repeat clearly votes strongly for its period, and one with
// weak periodicity (slow attacks, a fill, rubato) hardly at all: the path keeps its tempo there
// instead of following a level that merely peaks. (Scaled to a maximum of 1 per window, every
// window voted alike: docs/score.md.)
std::vector<double> window_salience(const std::vector<float>& x, long a, long b, int lag_min, int lag_max,
                                    const BeatTrackerOptions& o, double fr) {
  const long n = b - a;
  double mean = 0.0;
  for (long t = a; t < b; ++t) mean += x[static_cast<std::size_t>(t)];
  mean /= std::max(1L, n);
  const int max_lag = std::min<long>(4L * lag_max, n - 1);
  auto autocorrelation = [&](int l) {
    double s = 0.0;
    for (long t = a; t + l < b; ++t) s += (x[static_cast<std::size_t>(t)] - mean) * (x[static_cast<std::size_t>(t + l)] - mean);
    return s / static_cast<double>(n - l);
  };
  // Lag 0 (the window's variance) and the lags the salience reads; those between are never used.
  std::vector<double> ac(static_cast<std::size_t>(std::max(0, max_lag) + 1), 0.0);
  ac[0] = autocorrelation(0);
  for (int l = lag_min; l <= max_lag; ++l) ac[static_cast<std::size_t>(l)] = autocorrelation(l);
  auto at = [&](int l) { return l <= max_lag ? std::max(0.0, ac[static_cast<std::size_t>(l)]) : 0.0; };
  // Of the lags l, 2l, 3l, 4l. A beat's 4x lag is a 4/4 bar and its 2x a half bar, so a figure
  // that repeats every bar (a 3-3-2 groove, whose dotted eighth beats the beat at lag 1x) still
  // tells the beat; 3x (a 3/4 bar) weighs less, as triple bars are rarer (docs/score.md).
  constexpr double kWeights[] = {1.0, 0.5, 0.2, 0.5};
  double weight_sum = 0.0;
  for (double w : kWeights) weight_sum += w;
  const double most = ac[0] * weight_sum;  // a lag's score when every multiple repeats the window exactly
  std::vector<double> sal(static_cast<std::size_t>(lag_max - lag_min + 1), 0.0);
  if (!(most > 0)) return sal;
  for (int l = lag_min; l <= lag_max; ++l) {
    const double bpm = 60.0 * fr / l;
    const double z = std::log2(bpm / o.prior_bpm) / o.prior_octaves;
    double s = 0.0;
    for (int h = 0; h < 4; ++h) s += kWeights[h] * at((h + 1) * l);
    sal[static_cast<std::size_t>(l - lag_min)] = s * std::exp(-0.5 * z * z) / most;
  }
  return sal;
}

// The Viterbi tempo path: one beat period (frames) per analysis window.
std::vector<int> tempo_path(const std::vector<float>& x, double fr, const BeatTrackerOptions& o, long& win, long& hop) {
  const long T = static_cast<long>(x.size());
  const int lag_min = std::max(2, static_cast<int>(std::lround(60.0 * fr / o.max_bpm)));
  const int lag_max = std::max(lag_min, static_cast<int>(std::lround(60.0 * fr / o.min_bpm)));
  win = std::min(T, static_cast<long>(std::lround(o.window_s * fr)));
  hop = std::max(1L, static_cast<long>(std::lround(o.hop_s * fr)));
  const long n_win = T <= win ? 1 : 1 + (T - win + hop - 1) / hop;
  const int L = lag_max - lag_min + 1;
  std::vector<std::vector<double>> score(static_cast<std::size_t>(n_win));
  std::vector<std::vector<int>> back(static_cast<std::size_t>(n_win), std::vector<int>(static_cast<std::size_t>(L), 0));
  std::vector<double> log_lag(static_cast<std::size_t>(L));
  for (int i = 0; i < L; ++i) log_lag[static_cast<std::size_t>(i)] = std::log(static_cast<double>(lag_min + i));
  for (long w = 0; w < n_win; ++w) {
    const long a = std::min(w * hop, std::max(0L, T - win));
    std::vector<double> sal = window_salience(x, a, std::min(T, a + win), lag_min, lag_max, o, fr);
    if (w == 0) {
      score[0] = sal;
      continue;
    }
    const auto& prev = score[static_cast<std::size_t>(w - 1)];
    score[static_cast<std::size_t>(w)].resize(static_cast<std::size_t>(L));
    for (int i = 0; i < L; ++i) {
      double best = -std::numeric_limits<double>::infinity();
      int arg = i;
      for (int j = 0; j < L; ++j) {
        const double d = log_lag[static_cast<std::size_t>(i)] - log_lag[static_cast<std::size_t>(j)];
        const double v = prev[static_cast<std::size_t>(j)] - o.tempo_change_penalty * d * d;
        if (v > best) best = v, arg = j;
      }
      score[static_cast<std::size_t>(w)][static_cast<std::size_t>(i)] = best + sal[static_cast<std::size_t>(i)];
      back[static_cast<std::size_t>(w)][static_cast<std::size_t>(i)] = arg;
    }
  }
  const auto& last = score.back();
  int s = static_cast<int>(std::max_element(last.begin(), last.end()) - last.begin());
  std::vector<int> path(static_cast<std::size_t>(n_win));
  for (long w = n_win - 1; w >= 0; --w) {
    path[static_cast<std::size_t>(w)] = lag_min + s;
    s = back[static_cast<std::size_t>(w)][static_cast<std::size_t>(s)];
  }
  return path;
}

// Moves each beat onto the centre of mass of the onset strength within 60 ms (or a tenth of a
// beat) of it: the DP works on whole frames, and played notes scatter around the beat; the
// centroid puts the beat where its notes are, so snapping them moves them least.
void refine_beats(std::vector<double>& beats, const OnsetEnvelope& env) {
  const double fr = env.frame_rate;
  const long T = static_cast<long>(env.strength.size());
  for (std::size_t i = 0; i < beats.size(); ++i) {
    const double ibi = beats.size() > 1 ? (i + 1 < beats.size() ? beats[i + 1] - beats[i] : beats[i] - beats[i - 1]) : 0.5;
    const double reach = std::min(0.06, 0.1 * ibi) * fr;
    const double c = beats[i] * fr;
    const long a = std::max(0L, static_cast<long>(std::floor(c - reach))), b = std::min(T - 1, static_cast<long>(std::ceil(c + reach)));
    double w = 0.0, wt = 0.0, peak = 0.0;
    for (long t = a; t <= b; ++t) peak = std::max(peak, static_cast<double>(env.strength[static_cast<std::size_t>(t)]));
    for (long t = a; t <= b; ++t) {
      const double v = env.strength[static_cast<std::size_t>(t)];
      const double x = v > 0.5 * peak ? v * v : 0.0;  // the peak(s), not the tails of neighbours
      w += x;
      wt += x * static_cast<double>(t);
    }
    if (w > 0 && peak > 1e-3) beats[i] = wt / w / fr;
  }
  for (std::size_t i = 1; i < beats.size(); ++i) beats[i] = std::max(beats[i], beats[i - 1] + 1e-3);
}

}  // namespace

namespace {

// The onset strength divided by its standard deviation (the scale the DP tightness assumes).
std::vector<double> normalised_strength(const OnsetEnvelope& env) {
  const std::size_t T = env.strength.size();
  double mean = 0.0, var = 0.0;
  for (float v : env.strength) mean += v;
  mean /= static_cast<double>(T);
  for (float v : env.strength) var += (v - mean) * (v - mean);
  const double sd = std::sqrt(var / static_cast<double>(T));
  std::vector<double> O(T);
  for (std::size_t t = 0; t < T; ++t) O[t] = sd > 0 ? env.strength[t] / sd : 0.0;
  return O;
}

// The beat period (frames) at every frame, from the Viterbi tempo path; the path's tempi go to
// local_bpm.
std::vector<double> frame_periods(const OnsetEnvelope& env, const BeatTrackerOptions& o, std::vector<double>& local_bpm) {
  const double fr = env.frame_rate;
  const long T = static_cast<long>(env.strength.size());
  long win = 0, hop = 1;
  const std::vector<int> path = tempo_path(env.strength, fr, o, win, hop);
  for (int l : path) local_bpm.push_back(60.0 * fr / l);
  std::vector<double> period(static_cast<std::size_t>(T));
  for (long t = 0; t < T; ++t) {
    const long w = std::clamp(static_cast<long>(std::lround(static_cast<double>(t - win / 2) / hop)), 0L,
                              static_cast<long>(path.size()) - 1);
    period[static_cast<std::size_t>(t)] = path[static_cast<std::size_t>(w)];
  }
  return period;
}

// Ellis's dynamic programme with the local period; the beats within half a period of the first
// and last onset frames, in seconds (not refined).
std::vector<double> dp_beats(const std::vector<double>& O, const std::vector<double>& period, double tightness,
                             long first, long last, double fr) {
  const long T = static_cast<long>(O.size());
  std::vector<double> C(static_cast<std::size_t>(T));
  std::vector<long> back(static_cast<std::size_t>(T), -1);
  for (long t = 0; t < T; ++t) {
    const double p = period[static_cast<std::size_t>(t)];
    const long lo = t - static_cast<long>(std::lround(2.0 * p)), hi = t - static_cast<long>(std::lround(0.5 * p));
    double best = 0.0;
    for (long tau = std::max(0L, lo); tau <= hi; ++tau) {
      const double r = std::log(static_cast<double>(t - tau) / p);
      const double v = C[static_cast<std::size_t>(tau)] - tightness * r * r;
      if (v > best) best = v, back[static_cast<std::size_t>(t)] = tau;
    }
    C[static_cast<std::size_t>(t)] = O[static_cast<std::size_t>(t)] + best;
  }
  // End at the best-scoring frame within one period of the last onset.
  const double p_end = period[static_cast<std::size_t>(last)];
  const long e0 = std::max(0L, last - static_cast<long>(p_end)), e1 = std::min(T - 1, last + static_cast<long>(p_end / 2));
  long t = e0;
  for (long k = e0; k <= e1; ++k)
    if (C[static_cast<std::size_t>(k)] > C[static_cast<std::size_t>(t)]) t = k;
  std::vector<double> beats, out;
  for (; t >= 0; t = back[static_cast<std::size_t>(t)]) beats.push_back(static_cast<double>(t) / fr);
  std::reverse(beats.begin(), beats.end());
  const double lead = 0.5 * period[static_cast<std::size_t>(first)] / fr;
  const double t_first = static_cast<double>(first) / fr, t_last = static_cast<double>(last) / fr;
  for (double b : beats)
    if (b >= t_first - lead && b <= t_last + lead) out.push_back(b);
  return out;
}

// A strictly steady grid at `bpm`, at the phase that best meets the onsets.
std::vector<double> steady_beats(const std::vector<float>& x, double bpm, long first, long last, double fr) {
  const long T = static_cast<long>(x.size());
  const double p = 60.0 * fr / bpm;
  const int steps = std::max(1, static_cast<int>(std::ceil(p)));
  double best = -1.0, best_phase = 0.0;
  for (int k = 0; k < steps; ++k) {
    const double phase = static_cast<double>(first) + p * k / steps - p;  // one period before the first onset, on
    double sum = 0.0;
    for (double t = phase; t < static_cast<double>(T); t += p)
      if (t >= 0) sum += x[static_cast<std::size_t>(std::lround(std::min(t, static_cast<double>(T - 1))))];
    if (sum > best) best = sum, best_phase = phase;
  }
  std::vector<double> beats;
  const double lead = 0.5 * p;
  for (double t = best_phase; t <= static_cast<double>(last) + lead; t += p)
    if (t >= static_cast<double>(first) - lead && t >= 0) beats.push_back(t / fr);
  return beats;
}

// First and last frames with onset strength (first = -1 when silent).
void onset_span(const OnsetEnvelope& env, long& first, long& last) {
  first = last = -1;
  for (long t = 0; t < static_cast<long>(env.strength.size()); ++t)
    if (env.strength[static_cast<std::size_t>(t)] > 1e-3f) {
      if (first < 0) first = t;
      last = t;
    }
}

// Mean normalised onset strength at the beats (the peak within 30 ms of each).
double beat_strength(const std::vector<double>& O, const std::vector<double>& beats, double fr) {
  if (beats.empty()) return 0.0;
  const long T = static_cast<long>(O.size());
  double sum = 0.0;
  for (double t : beats) {
    const long j = std::lround(t * fr), reach = std::lround(0.03 * fr);
    double peak = 0.0;
    for (long k = std::max(0L, j - reach); k <= std::min(T - 1, j + reach); ++k) peak = std::max(peak, O[static_cast<std::size_t>(k)]);
    sum += peak;
  }
  return sum / static_cast<double>(beats.size());
}

// The metrical level: the tempo path's and the levels twice, half, 3/2 and 2/3 as fast, each
// tracked by the DP; the level whose beats carry the most onset strength wins, less a
// log-normal prior on its tempo (slower levels keep only the strongest beats, so strength
// alone would always pick the slowest).
void choose_level(const OnsetEnvelope& env, const std::vector<double>& O, const std::vector<double>& period,
                  long first, long last, const BeatTrackerOptions& o, BeatTrack& out) {
  const double fr = env.frame_rate;
  for (const double f : {1.0, 0.5, 2.0, 2.0 / 3.0, 1.5}) {
    std::vector<double> p = period;
    for (double& v : p) v *= f;
    const double bpm0 = 60.0 * fr / p[static_cast<std::size_t>(first)];
    if (f != 1.0 && (bpm0 > o.max_bpm || bpm0 < o.min_bpm)) continue;
    BeatLevel lv;
    lv.factor = f;
    lv.beats = dp_beats(O, p, o.tightness, first, last, fr);
    refine_beats(lv.beats, env);
    lv.bpm = median_tempo(lv.beats);
    lv.strength = beat_strength(O, lv.beats, fr);
    const double z = lv.bpm > 0 ? std::log2(lv.bpm / o.level_prior_bpm) / o.level_prior_octaves : 0.0;
    lv.score = lv.beats.size() < 2 ? -1e300 : lv.strength - 0.5 * z * z;
    out.levels.push_back(std::move(lv));
  }
  const auto best = std::max_element(out.levels.begin(), out.levels.end(),
                                     [](const BeatLevel& a, const BeatLevel& b) { return a.score < b.score; });
  out.beats = best->beats;
}

// Mean peak of the normalised strength at fraction f of every beat interval (within 30 ms).
double strength_at_fraction(const std::vector<double>& O, const std::vector<double>& beats, double f, double fr) {
  const long T = static_cast<long>(O.size()), reach = std::lround(0.03 * fr);
  double sum = 0.0;
  for (std::size_t i = 0; i + 1 < beats.size(); ++i) {
    const long j = std::lround((beats[i] + f * (beats[i + 1] - beats[i])) * fr);
    double peak = 0.0;
    for (long k = std::max(0L, j - reach); k <= std::min(T - 1, j + reach); ++k) peak = std::max(peak, O[static_cast<std::size_t>(k)]);
    sum += peak;
  }
  return beats.size() > 1 ? sum / static_cast<double>(beats.size() - 1) : 0.0;
}

// Swing tracked on its off-beat: swung eighths fall at 2/3 of the beat (long-short), and where
// they outnumber the notes on the beat the DP follows them, so the beats carry onsets at 1/3
// of their interval (short-long) and hardly any at 2/3 or 1/2. Such beats move a third of a
// beat later, onto the long note. Returns whether it moved them.
bool correct_swing_phase(std::vector<double>& beats, const std::vector<double>& O, const BeatTrackerOptions& o,
                         double fr) {
  if (beats.size() < 8 || o.swing_ratio <= 0) return false;
  const double s0 = strength_at_fraction(O, beats, 0.0, fr), s13 = strength_at_fraction(O, beats, 1.0 / 3.0, fr),
               s12 = strength_at_fraction(O, beats, 0.5, fr), s23 = strength_at_fraction(O, beats, 2.0 / 3.0, fr);
  if (!(s13 > o.swing_ratio * std::max(s23, s12) && s13 > 0.3 * s0)) return false;
  std::vector<double> shifted;
  for (std::size_t i = 0; i < beats.size(); ++i) {
    const double ibi = i + 1 < beats.size() ? beats[i + 1] - beats[i] : beats[i] - beats[i - 1];
    shifted.push_back(beats[i] + ibi / 3.0);
  }
  beats = shifted;
  return true;
}

}  // namespace

BeatTrack track_beats(const OnsetEnvelope& env, const BeatTrackerOptions& o) {
  BeatTrack out;
  out.hop_s = o.hop_s;
  const double fr = env.frame_rate;
  long first = -1, last = -1;
  onset_span(env, first, last);
  if (first < 0 || env.strength.size() < 4) return out;
  if (o.fixed_bpm > 0) {  // a tempo given by the user
    out.beats = steady_beats(env.strength, o.fixed_bpm, first, last, fr);
    out.local_bpm.push_back(o.fixed_bpm);
  } else {
    const std::vector<double> period = frame_periods(env, o, out.local_bpm);
    const std::vector<double> O = normalised_strength(env);
    if (o.choose_level) {
      choose_level(env, O, period, first, last, o, out);
    } else {
      out.beats = dp_beats(O, period, o.tightness, first, last, fr);
      refine_beats(out.beats, env);
    }
    if (correct_swing_phase(out.beats, O, o, fr)) {
      refine_beats(out.beats, env);
      out.swing_shifted = true;
    }
  }
  out.tempo_bpm = median_tempo(out.beats);
  return out;
}

}  // namespace qs
