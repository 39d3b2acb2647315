// Beat-tracker lab: runs qs::analyse_music on notes and scores its beats, fast, without audio.
// Not part of the build (docs/score.md says how it was used); compile it with the core sources:
//
//   g++ -O2 -std=c++17 -Ishared/include tests/tools/beat_lab.cpp -o /tmp/beat_lab
//     shared/src/{beat_tracker,meter,key_finder,quantizer,music_analysis,note,midi_file,note_io,atomic_file}.cpp
//
//   beat_lab [--jitter MS] [--drop P] [--warp] [--seed N] [--est-out DIR] FILE...
//
// FILE.mid: its notes (perturbed: onsets jittered by a Gaussian of MS ms, a share P of the notes
//   dropped, with --warp a global tempo factor 0.8-1.25 and a +-5 % rubato of 6 s period applied
//   to notes and grid alike) against its own beat grid (qs::midi_beat_grid).
// FILE.json under DATA/est/SET/NAME.json (a `qscribe transcribe --format json`): its transcribed
//   notes against DATA/ref/SET/NAME.beats.tsv; with --est-out the new analysis is written as
//   DIR/SET/NAME.json for tests/tools/score_beats.py.
// Prints per file: beat F (mir_eval's: +-70 ms after dropping the first 5 s), the downbeat F, the F of the
// same beats against the reference at double and half tempo and on the off-beat (what went
// wrong), tempo estimated/reference, meter estimated/stated, whether the reference grid fits its
// notes (score_beats.py's test); then the means (the error kinds over the pieces whose grid fits).
// LAB_DUMP=DIR writes each input's notes and reference beats to DIR/NAME.json; LAB_LEVELS=FILE
// appends every metrical level track_beats considered (factor, bpm, strength, its F) to FILE.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "qscribe/midi_file.hpp"
#include "qscribe/music_analysis.hpp"
#include "qscribe/note_io.hpp"

namespace {

using Beats = std::vector<double>;

Beats trim(const Beats& b) {
  Beats o;
  for (double t : b)
    if (t >= 5.0) o.push_back(t);
  return o;
}

// mir_eval.beat.f_measure after trim_beats (greedy matching is optimal on a line).
double f_measure(const Beats& ref0, const Beats& est0) {
  const Beats ref = trim(ref0), est = trim(est0);
  if (ref.empty() || est.empty()) return 0.0;
  std::size_t i = 0, j = 0, hits = 0;
  while (i < ref.size() && j < est.size()) {
    if (std::abs(ref[i] - est[j]) <= 0.07) ++hits, ++i, ++j;
    else if (ref[i] < est[j]) ++i;
    else ++j;
  }
  const double p = double(hits) / est.size(), r = double(hits) / ref.size();
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

Beats midpoints(const Beats& b) {
  Beats o;
  for (std::size_t i = 0; i + 1 < b.size(); ++i) o.push_back(0.5 * (b[i] + b[i + 1]));
  return o;
}

Beats every_other(const Beats& b, std::size_t start) {
  Beats o;
  for (std::size_t i = start; i < b.size(); i += 2) o.push_back(b[i]);
  return o;
}

double median_ibi(const Beats& b) {
  if (b.size() < 2) return 0;
  Beats d;
  for (std::size_t i = 1; i < b.size(); ++i) d.push_back(b[i] - b[i - 1]);
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  return d[d.size() / 2];
}

// score_beats.py's grid_alignment: the share of onsets within 0.08 beat of the grid against the
// shares at the eleven other twelfths of a beat.
bool grid_fits(const qs::NoteList& notes, const Beats& grid) {
  if (notes.size() < 8 || grid.size() < 3) return true;
  std::vector<double> phase;
  for (const auto& n : notes) {
    double pos;
    if (n.onset <= grid.front()) pos = 0;
    else if (n.onset >= grid.back()) pos = double(grid.size() - 1);
    else {
      const std::size_t k = std::upper_bound(grid.begin(), grid.end(), n.onset) - grid.begin() - 1;
      pos = k + (n.onset - grid[k]) / (grid[k + 1] - grid[k]);
    }
    phase.push_back(pos - std::floor(pos));
  }
  double shares[12], mean = 0, other = 0;
  for (int k = 0; k < 12; ++k) {
    int c = 0;
    for (double p : phase) {
      double d = std::fmod(p - k / 12.0 + 1.5, 1.0) - 0.5;
      if (std::abs(d) < 0.08) ++c;
    }
    shares[k] = double(c) / phase.size();
    mean += shares[k] / 12;
    if (k) other = std::max(other, shares[k]);
  }
  return shares[0] >= 2 * mean && shares[0] >= 0.8 * other;
}

// A smooth time map: t -> g * (t + A * P / 2pi * sin(2pi t / P)).
struct Warp {
  double g = 1, a = 0, p = 6;
  double operator()(double t) const { return g * (t + a * p / (2 * M_PI) * std::sin(2 * M_PI * t / p)); }
};

struct Sums {
  int n = 0, n_fit = 0, n_stated = 0, meter_ok = 0;
  double f = 0, f_fit = 0, best_alt = 0, fd_fit = 0;
  std::map<std::string, int> kinds;
};

std::string base_name(const std::string& path) {
  std::string b = path.substr(path.find_last_of('/') + 1);
  return b.substr(0, b.find_last_of('.'));
}

Beats read_beats_tsv(const std::string& path, Beats* down) {
  std::ifstream f(path);
  Beats b;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    double t;
    int bar, beat;
    s >> t >> bar >> beat;
    b.push_back(t);
    if (down && beat == 1) down->push_back(t);
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  double jitter_ms = 0, drop = 0;
  bool warp = false;
  unsigned seed = 1;
  std::string est_out;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--jitter") jitter_ms = std::atof(argv[++i]);
    else if (a == "--drop") drop = std::atof(argv[++i]);
    else if (a == "--warp") warp = true;
    else if (a == "--seed") seed = unsigned(std::atoi(argv[++i]));
    else if (a == "--est-out") est_out = argv[++i];
    else files.push_back(a);
  }
  Sums s;
  for (const std::string& path : files) {
    qs::NoteList notes;
    Beats ref, ref_down;
    double duration = 0;
    std::string stated;
    bool fits = true;
    std::mt19937 rng(seed + std::hash<std::string>{}(base_name(path)) % 100000);
    if (path.size() > 5 && path.substr(path.size() - 5) == ".json") {
      nlohmann::json meta;
      try {
        notes = qs::read_notes_json(path, &meta);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", path.c_str(), e.what());
        continue;
      }
      duration = meta.value("duration_s", 0.0);
      const std::size_t e = path.rfind("/est/");
      const std::string data = path.substr(0, e), rest = path.substr(e + 5);
      const std::string stem = data + "/ref/" + rest.substr(0, rest.size() - 5);
      ref = read_beats_tsv(stem + ".beats.tsv", &ref_down);
      std::ifstream mf(stem + ".meta.json");
      nlohmann::json m;
      mf >> m;
      if (m.value("stated_time_signature", false) && !m["time_signatures"].empty()) {
        // the one in force longest
        const auto& ts = m["time_signatures"];
        double best = -1;
        for (std::size_t k = 0; k < ts.size(); ++k) {
          const double stop = k + 1 < ts.size() ? ts[k + 1]["time_s"].get<double>() : std::max(ref.empty() ? 0.0 : ref.back(), ts[k]["time_s"].get<double>());
          if (stop - ts[k]["time_s"].get<double>() > best + 1e-9)
            best = stop - ts[k]["time_s"].get<double>(), stated = std::to_string(ts[k]["numerator"].get<int>()) + "/" + std::to_string(ts[k]["denominator"].get<int>());
        }
      }
      try {
        fits = grid_fits(qs::read_midi_file(stem + ".mid"), ref);
      } catch (...) {
      }
    } else {
      qs::MidiContents c;
      try {
        std::ifstream in(path, std::ios::binary);
        std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
        c = qs::parse_midi(bytes.data(), bytes.size());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", path.c_str(), e.what());
        continue;
      }
      if (c.notes.size() < 16) continue;
      const qs::MidiBeatGrid grid = qs::midi_beat_grid(c);
      ref = grid.beats;
      ref_down = grid.downbeats;
      fits = grid_fits(c.notes, ref);
      if (!c.time_signatures.empty()) {
        double best = -1;
        for (std::size_t k = 0; k < c.time_signatures.size(); ++k) {
          const auto& t = c.time_signatures[k];
          const double stop = k + 1 < c.time_signatures.size() ? c.time_signatures[k + 1].time_s : std::max(c.end_time, t.time_s);
          if (stop - t.time_s > best + 1e-9) best = stop - t.time_s, stated = std::to_string(t.numerator) + "/" + std::to_string(t.denominator);
        }
      }
      // Only the first 90 s, as in the audio dev set.
      const double clip = 90.0;
      Warp w;
      if (warp) {
        std::uniform_real_distribution<double> u(0, 1);
        w.g = std::exp(std::log(0.8) + u(rng) * (std::log(1.25) - std::log(0.8)));
        w.a = 0.03 + 0.04 * u(rng);
        w.p = 4 + 8 * u(rng);
      }
      std::normal_distribution<double> jit(0.0, jitter_ms / 1000.0);
      std::uniform_real_distribution<double> u(0, 1);
      for (const auto& n : c.notes) {
        if (n.onset >= clip || u(rng) < drop) continue;
        qs::Note m = n;
        m.onset = std::max(0.0, w(n.onset) + (jitter_ms > 0 ? jit(rng) : 0.0));
        m.offset = std::max(m.onset + 0.03, w(std::min(n.offset, clip)));
        notes.push_back(m);
      }
      qs::sort_notes(notes);
      Beats r;
      for (double t : ref)
        if (t < clip) r.push_back(w(t));
      ref = r;
      r.clear();
      for (double t : ref_down)
        if (t < clip) r.push_back(w(t));
      ref_down = r;
      duration = w(std::min(c.end_time, clip));
    }
    if (const char* dump = std::getenv("LAB_DUMP")) {  // notes and reference beats for offline analysis
      nlohmann::json d;
      for (const auto& n : notes) d["notes"].push_back({n.onset, n.offset, n.pitch, n.velocity});
      d["ref"] = ref;
      d["stated"] = stated;
      d["fits"] = fits;
      std::ofstream(std::string(dump) + "/" + base_name(path) + (path.find("/warped/") != std::string::npos ? ".w" : "") + ".json") << d.dump();
    }
    const qs::MusicAnalysis an = qs::analyse_music(notes, duration);
    if (const char* dump = std::getenv("LAB_DUMP")) {  // the estimate beside them
      nlohmann::json d;
      d["beats"] = an.beats;
      d["downbeats"] = an.downbeats;
      d["meter"] = an.meter.time_signature();
      std::ofstream(std::string(dump) + "/" + base_name(path) + (path.find("/warped/") != std::string::npos ? ".w" : "") + ".est.json") << d.dump();
    }
    if (const char* lv = std::getenv("LAB_LEVELS")) {  // every level's evidence and F, for tuning LevelWeights
      std::ofstream out(lv, std::ios::app);
      for (const auto& l : qs::track_beats(qs::onset_envelope(notes, duration)).levels)
        out << base_name(path) << '\t' << fits << '\t' << l.factor << '\t' << l.bpm << '\t' << l.strength << '\t'
            << f_measure(ref, l.beats) << '\n';
    }
    const double f = f_measure(ref, an.beats), f_down = f_measure(ref_down, an.downbeats);
    // est at half the reference tempo: compare est with every other ref beat (either phase)
    const double fh = std::max(f_measure(every_other(ref, 0), an.beats), f_measure(every_other(ref, 1), an.beats));
    // est at double tempo: est's every other beat against ref
    const double fd = std::max(f_measure(ref, every_other(an.beats, 0)), f_measure(ref, every_other(an.beats, 1)));
    const double fo = f_measure(midpoints(ref), an.beats);
    std::string kind = "ok";
    const double alt = std::max({fh, fd, fo});
    if (f < 0.8) kind = alt < 0.6 ? "other" : alt == fh ? "half" : alt == fd ? "double" : "offbeat";
    const double rt = median_ibi(ref) > 0 ? 60 / median_ibi(ref) : 0;
    const std::string meter = an.meter.time_signature();
    const bool m_ok = !stated.empty() && meter == stated;
    std::printf("%-40s F %.3f  down %.2f  half %.2f double %.2f off %.2f  %-7s tempo %6.1f/%6.1f  meter %s/%s %s\n",
                base_name(path).c_str(), f, f_down, fh, fd, fo, kind.c_str(), an.tempo_bpm, rt, meter.c_str(),
                stated.empty() ? "-" : stated.c_str(), fits ? "" : "(grid does not fit)");
    s.n++, s.f += f;
    if (fits) s.n_fit++, s.f_fit += f, s.fd_fit += f_down, s.kinds[kind]++;
    if (!stated.empty()) s.n_stated++, s.meter_ok += m_ok;
    if (!est_out.empty() && path.rfind("/est/") != std::string::npos) {
      const std::string rest = path.substr(path.rfind("/est/") + 5);
      const std::string out = est_out + "/" + rest;
      nlohmann::json md;
      md["beats"] = an.beats;
      md["downbeats"] = an.downbeats;
      md["tempo_bpm"] = an.tempo_bpm;
      md["meter"] = {{"numerator", an.meter.numerator}, {"denominator", an.meter.denominator}};
      md["key"] = {{"tonic", an.key.tonic_name()}, {"mode", an.key.minor ? "minor" : "major"}, {"fifths", an.key.fifths}};
      std::ofstream(out) << nlohmann::json{{"metadata", md}}.dump();
    }
  }
  std::printf("MEAN n %d F %.4f | grid fits n %d F %.4f down %.3f | meter %d/%d = %.3f |", s.n, s.n ? s.f / s.n : 0, s.n_fit,
              s.n_fit ? s.f_fit / s.n_fit : 0, s.n_fit ? s.fd_fit / s.n_fit : 0, s.meter_ok, s.n_stated, s.n_stated ? double(s.meter_ok) / s.n_stated : 0);
  for (const auto& [k, v] : s.kinds) std::printf(" %s %d", k.c_str(), v);
  std::printf("\n");
}
