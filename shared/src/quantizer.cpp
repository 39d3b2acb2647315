#include "qscribe/quantizer.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "qscribe/beat_tracker.hpp"
#include "qscribe/error.hpp"

namespace qs {

double Score::seconds_at(double tick) const {
  const double b = tick / beat_ticks;
  const long n = static_cast<long>(beat_times.size());
  if (n < 2) return b * 0.5;
  const long i = std::clamp(static_cast<long>(std::floor(b)), 0L, n - 2);
  const double t0 = beat_times[static_cast<std::size_t>(i)], t1 = beat_times[static_cast<std::size_t>(i) + 1];
  return t0 + (b - static_cast<double>(i)) * (t1 - t0);
}

namespace {

// Beat times from a bar line at or before the first onset to past the last offset: the tracked
// beats, extended at both ends with the first and last beat intervals.
std::vector<double> bar_aligned_beats(const NoteList& notes, const std::vector<double>& beats, const Meter& meter) {
  double t_min = notes.empty() ? beats.front() : notes.front().onset, t_max = notes.empty() ? beats.back() : 0.0;
  for (const Note& n : notes) t_min = std::min(t_min, n.onset), t_max = std::max(t_max, n.offset);
  const double first_ibi = beats[1] - beats[0], last_ibi = beats[beats.size() - 1] - beats[beats.size() - 2];
  if (!(first_ibi > 0) || !(last_ibi > 0)) throw Error("quantize: beat times must increase");
  std::vector<double> b;
  const int m = std::max(1, meter.beats_per_bar);
  // Prepend whole bars until the first bar line is at or before the first onset (with a quarter
  // of a beat of slack: a downbeat played early is still the downbeat).
  long lead = 0;
  while (beats.front() - static_cast<double>(lead) * first_ibi > t_min + 0.25 * first_ibi) lead += m;
  for (long k = lead; k > 0; --k) b.push_back(beats.front() - static_cast<double>(k) * first_ibi);
  b.insert(b.end(), beats.begin(), beats.end());
  long start = lead + ((meter.first_downbeat % m) + m) % m;
  while (static_cast<long>(b.size()) <= start + 1) b.push_back(b.back() + last_ibi);
  while (start - m >= 0 && b[static_cast<std::size_t>(start)] > t_min + 0.25 * first_ibi) start -= m;
  b.erase(b.begin(), b.begin() + start);
  while (b.back() < t_max + last_ibi || (b.size() - 1) % static_cast<std::size_t>(m) != 0) b.push_back(b.back() + last_ibi);
  return b;
}

// Position of time t in beats (beat k at bt[k]; linear in between; extrapolated at the ends).
double beat_position(const std::vector<double>& bt, double t) {
  const long n = static_cast<long>(bt.size());
  long i = static_cast<long>(std::upper_bound(bt.begin(), bt.end(), t) - bt.begin()) - 1;
  i = std::clamp(i, 0L, n - 2);
  const double t0 = bt[static_cast<std::size_t>(i)], t1 = bt[static_cast<std::size_t>(i) + 1];
  return static_cast<double>(i) + (t - t0) / (t1 - t0);
}

struct GridChoice {
  int per_beat;
  double cost_per_note;
};

std::vector<GridChoice> grid_candidates(const Meter& m, const QuantizeOptions& o) {
  if (o.fixed_grid > 0) return {{o.fixed_grid, 0.0}};
  if (m.compound) return {{3, 0.0}, {6, 0.15}};
  std::vector<GridChoice> c{{2, 0.0}, {4, 0.15}};
  if (o.triplets) c.push_back({3, 0.4});
  return c;
}

// Grid per bar: the candidate of least cost for the bar's onsets.
std::vector<int> choose_grids(const std::vector<double>& onset_pos, int m, int n_bars, const std::vector<GridChoice>& cands) {
  const double sigma = 0.06;
  std::vector<std::vector<double>> cost(static_cast<std::size_t>(n_bars), std::vector<double>(cands.size(), 0.0));
  for (double p : onset_pos) {
    const long bar = std::clamp(static_cast<long>(std::floor((p + 1.0 / 24) / m)), 0L, static_cast<long>(n_bars) - 1);
    for (std::size_t c = 0; c < cands.size(); ++c) {
      const double g = cands[c].per_beat;
      const double e = (p * g - std::round(p * g)) / g / sigma;
      cost[static_cast<std::size_t>(bar)][c] += 0.5 * e * e + cands[c].cost_per_note;
    }
  }
  std::vector<int> grid(static_cast<std::size_t>(n_bars));
  for (int b = 0; b < n_bars; ++b) {
    const auto& row = cost[static_cast<std::size_t>(b)];
    grid[static_cast<std::size_t>(b)] = cands[static_cast<std::size_t>(std::min_element(row.begin(), row.end()) - row.begin())].per_beat;
  }
  return grid;
}

long snap(double pos, const Score& s) {
  const long bar = std::clamp(static_cast<long>(std::floor((pos + 1.0 / 24) / s.meter.beats_per_bar)), 0L,
                              static_cast<long>(s.n_bars) - 1);
  const int g = s.bar_grid[static_cast<std::size_t>(bar)];
  return std::lround(pos * g) * (s.beat_ticks / g);
}

// Clefs, staves and voices (see the header).
void lay_out(Score& s) {
  std::vector<int> pitches;
  for (const ScoreNote& n : s.notes) pitches.push_back(n.pitch);
  std::nth_element(pitches.begin(), pitches.begin() + static_cast<long>(pitches.size() / 2), pitches.end());
  const long below = std::count_if(s.notes.begin(), s.notes.end(), [](const ScoreNote& n) { return n.pitch < 60; });
  const double low_share = s.notes.empty() ? 0.0 : static_cast<double>(below) / static_cast<double>(s.notes.size());
  const bool grand = low_share >= 0.1 && low_share <= 0.9;
  if (grand) s.clefs = {Clef::Treble, Clef::Bass};
  else s.clefs = {!pitches.empty() && pitches[pitches.size() / 2] < 57 ? Clef::Bass : Clef::Treble};
  for (ScoreNote& n : s.notes) n.staff = grand && n.pitch < 60 ? 2 : 1;

  // Chords (same staff, start and duration) go to the first free voice of their staff.
  std::stable_sort(s.notes.begin(), s.notes.end(), [](const ScoreNote& a, const ScoreNote& b) {
    return a.staff != b.staff ? a.staff < b.staff : a.start != b.start ? a.start < b.start : a.duration > b.duration;
  });
  std::size_t i = 0;
  while (i < s.notes.size()) {
    const int staff = s.notes[i].staff;
    std::vector<long> voice_end;                       // per voice of this staff: end of its last chord
    std::vector<std::vector<std::size_t>> voice_last;  // ... and that chord's notes
    for (; i < s.notes.size() && s.notes[i].staff == staff;) {
      std::size_t j = i;
      while (j < s.notes.size() && s.notes[j].staff == staff && s.notes[j].start == s.notes[i].start &&
             s.notes[j].duration == s.notes[i].duration)
        ++j;
      const long start = s.notes[i].start;
      std::size_t v = 0;
      while (v < voice_end.size() && voice_end[v] > start) ++v;
      if (v == 4) {
        // Four busy voices: the one that frees up first is cut short here, or, when its chord
        // starts here too, this chord joins it with its duration.
        v = static_cast<std::size_t>(std::min_element(voice_end.begin(), voice_end.end()) - voice_end.begin());
        const long last_start = s.notes[voice_last[v].front()].start;
        if (last_start < start) {
          for (std::size_t k : voice_last[v]) s.notes[k].duration = start - last_start;
        } else {
          for (std::size_t k = i; k < j; ++k) s.notes[k].duration = s.notes[voice_last[v].front()].duration;
          for (std::size_t k = i; k < j; ++k) s.notes[k].voice = s.notes[voice_last[v].front()].voice, voice_last[v].push_back(k);
          i = j;
          continue;
        }
      }
      if (v == voice_end.size()) voice_end.push_back(0), voice_last.emplace_back();
      voice_last[v].clear();
      for (std::size_t k = i; k < j; ++k) {
        s.notes[k].voice = static_cast<int>(v) + 1 + (staff == 2 ? 4 : 0);
        voice_last[v].push_back(k);
      }
      voice_end[v] = start + s.notes[i].duration;
      i = j;
    }
  }
  std::sort(s.notes.begin(), s.notes.end(), [](const ScoreNote& a, const ScoreNote& b) {
    return a.start != b.start ? a.start < b.start : a.pitch < b.pitch;
  });
}

}  // namespace

Score quantize(const NoteList& notes, const std::vector<double>& beats, const Meter& meter, const Key& key,
               const QuantizeOptions& o) {
  if (beats.size() < 2) throw Error("quantize: at least two beats are needed");
  Score s;
  s.meter = meter;
  s.key = key;
  s.beat_ticks = meter.compound ? 18 : 12;
  s.divisions = static_cast<int>(std::lround(s.beat_ticks / meter.quarters_per_beat()));
  s.bar_ticks = s.beat_ticks * meter.beats_per_bar;
  s.beat_times = bar_aligned_beats(notes, beats, meter);
  s.n_bars = static_cast<int>((s.beat_times.size() - 1) / static_cast<std::size_t>(meter.beats_per_bar));
  s.tempo_bpm = median_tempo(s.beat_times) * meter.quarters_per_beat();
  std::vector<double> on(notes.size()), off(notes.size());
  for (std::size_t i = 0; i < notes.size(); ++i) {
    on[i] = beat_position(s.beat_times, notes[i].onset);
    off[i] = beat_position(s.beat_times, notes[i].offset);
  }
  s.bar_grid = choose_grids(on, meter.beats_per_bar, s.n_bars, grid_candidates(meter, o));

  // Snap; a pitch struck again (or twice on one tick) keeps one note per start.
  std::map<std::pair<int, long>, ScoreNote> by_pitch_start;
  for (std::size_t i = 0; i < notes.size(); ++i) {
    ScoreNote n;
    n.pitch = notes[i].pitch;
    n.velocity = notes[i].velocity;
    n.start = std::max(0L, snap(on[i], s));
    const long bar = std::min<long>(n.start / s.bar_ticks, s.n_bars - 1);
    const long step = s.beat_ticks / s.bar_grid[static_cast<std::size_t>(bar)];
    n.duration = std::max(step, snap(off[i], s) - n.start);
    auto [it, fresh] = by_pitch_start.emplace(std::make_pair(n.pitch, n.start), n);
    if (!fresh) it->second.duration = std::max(it->second.duration, n.duration);
  }
  for (auto it = by_pitch_start.begin(); it != by_pitch_start.end(); ++it) {
    auto next = std::next(it);
    if (next != by_pitch_start.end() && next->first.first == it->first.first)
      it->second.duration = std::min(it->second.duration, next->second.start - it->second.start);
    s.notes.push_back(it->second);
  }
  // Bars up to the end of the last note, at least one.
  long end = 1;
  for (const ScoreNote& n : s.notes) end = std::max(end, n.start + n.duration);
  const int n_bars = static_cast<int>((end + s.bar_ticks - 1) / s.bar_ticks);
  while (s.n_bars < n_bars) {
    for (int k = 0; k < meter.beats_per_bar; ++k)
      s.beat_times.push_back(2 * s.beat_times.back() - s.beat_times[s.beat_times.size() - 2]);
    s.bar_grid.push_back(s.bar_grid.back());
    ++s.n_bars;
  }
  s.n_bars = n_bars;
  s.beat_times.resize(static_cast<std::size_t>(n_bars * meter.beats_per_bar + 1));
  s.bar_grid.resize(static_cast<std::size_t>(n_bars));
  lay_out(s);
  return s;
}

NoteList score_notes_in_seconds(const Score& s) {
  NoteList out;
  for (const ScoreNote& n : s.notes)
    out.push_back({s.seconds_at(static_cast<double>(n.start)), s.seconds_at(static_cast<double>(n.start + n.duration)),
                   n.pitch, n.velocity});
  sort_notes(out);
  return out;
}

}  // namespace qs
