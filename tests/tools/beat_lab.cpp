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
// appends every metrical level track_beats considered (factor, bpm, strength, its F, its beats) to FILE.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>

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

// One input: the notes the tracker is given, the reference grid and what the MIDI states.
struct Piece {
  qs::NoteList notes;
  Beats ref, ref_down;
  double duration = 0;
  std::string stated;  // the time signature in force longest, "" when the MIDI states none
  bool fits = true;    // the reference grid fits the notes (score_beats.py's test)
};

struct Options {
  double jitter_ms = 0, drop = 0;
  bool warp = false, oracle = false;
  unsigned seed = 1;
  std::string est_out;
  std::vector<std::string> files;
};

// The time signature in force longest among a list of (time_s, numerator, denominator).
template <class List, class Get>
std::string longest_signature(const List& ts, double end, Get get) {
  std::string out;
  double best = -1;
  for (std::size_t k = 0; k < ts.size(); ++k) {
    const auto [t, num, den] = get(ts[k]);
    const double stop = k + 1 < ts.size() ? std::get<0>(get(ts[k + 1])) : std::max(end, t);
    if (stop - t > best + 1e-9) best = stop - t, out = std::to_string(num) + "/" + std::to_string(den);
  }
  return out;
}

// DATA/est/SET/NAME.json: its transcribed notes (with --oracle the render's own label notes,
// DATA/ref/SET/NAME.mid: what a perfect transcription would give) against DATA/ref/SET/NAME.beats.tsv.
Piece load_transcription(const std::string& path, bool oracle) {
  Piece pc;
  nlohmann::json meta;
  pc.notes = qs::read_notes_json(path, &meta);
  pc.duration = meta.value("duration_s", 0.0);
  const std::size_t e = path.rfind("/est/");
  if (e == std::string::npos) throw std::runtime_error("not under DATA/est/");
  const std::string data = path.substr(0, e), rest = path.substr(e + 5);
  const std::string stem = data + "/ref/" + rest.substr(0, rest.size() - 5);
  pc.ref = read_beats_tsv(stem + ".beats.tsv", &pc.ref_down);
  std::ifstream mf(stem + ".meta.json");
  nlohmann::json m;
  mf >> m;
  if (m.value("stated_time_signature", false) && !m["time_signatures"].empty())
    pc.stated = longest_signature(m["time_signatures"], pc.ref.empty() ? 0.0 : pc.ref.back(), [](const nlohmann::json& t) {
      return std::make_tuple(t["time_s"].get<double>(), t["numerator"].get<int>(), t["denominator"].get<int>());
    });
  try {
    const qs::NoteList labels = qs::read_midi_file(stem + ".mid");
    pc.fits = grid_fits(labels, pc.ref);
    if (oracle) pc.notes = labels;
  } catch (const std::exception&) {
    if (oracle) throw;
  }
  return pc;
}

// FILE.mid read symbolically: its notes, perturbed as asked, against its own beat grid; only the
// first 90 s, as in the audio dev set.
Piece load_midi(const std::string& path, const Options& o) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  const qs::MidiContents c = qs::parse_midi(bytes.data(), bytes.size());
  Piece pc;
  if (c.notes.size() < 16) return pc;
  const qs::MidiBeatGrid grid = qs::midi_beat_grid(c);
  pc.fits = grid_fits(c.notes, grid.beats);
  pc.stated = longest_signature(c.time_signatures, c.end_time, [](const auto& t) {
    return std::make_tuple(t.time_s, t.numerator, t.denominator);
  });
  std::mt19937 rng(o.seed + std::hash<std::string>{}(base_name(path)) % 100000);
  const double clip = 90.0;
  Warp w;
  std::uniform_real_distribution<double> u(0, 1);
  if (o.warp) {
    w.g = std::exp(std::log(0.8) + u(rng) * (std::log(1.25) - std::log(0.8)));
    w.a = 0.03 + 0.04 * u(rng);
    w.p = 4 + 8 * u(rng);
  }
  std::normal_distribution<double> jit(0.0, o.jitter_ms / 1000.0);
  for (const auto& n : c.notes) {
    if (n.onset >= clip || u(rng) < o.drop) continue;
    qs::Note m = n;
    m.onset = std::max(0.0, w(n.onset) + (o.jitter_ms > 0 ? jit(rng) : 0.0));
    m.offset = std::max(m.onset + 0.03, w(std::min(n.offset, clip)));
    pc.notes.push_back(m);
  }
  qs::sort_notes(pc.notes);
  for (double t : grid.beats)
    if (t < clip) pc.ref.push_back(w(t));
  for (double t : grid.downbeats)
    if (t < clip) pc.ref_down.push_back(w(t));
  pc.duration = w(std::min(c.end_time, clip));
  return pc;
}

std::string dump_name(const std::string& path) {
  return base_name(path) + (path.find("/warped/") != std::string::npos ? ".w" : "");
}

// LAB_DUMP=DIR: the notes, reference beats and the estimate, for offline analysis.
void dump(const std::string& path, const Piece& pc, const qs::MusicAnalysis& an) {
  const char* dir = std::getenv("LAB_DUMP");
  if (!dir) return;
  nlohmann::json d;
  for (const auto& n : pc.notes) d["notes"].push_back({n.onset, n.offset, n.pitch, n.velocity});
  d["ref"] = pc.ref;
  d["stated"] = pc.stated;
  d["fits"] = pc.fits;
  std::ofstream(std::string(dir) + "/" + dump_name(path) + ".json") << d.dump();
  nlohmann::json e;
  e["beats"] = an.beats;
  e["downbeats"] = an.downbeats;
  e["meter"] = an.meter.time_signature();
  std::ofstream(std::string(dir) + "/" + dump_name(path) + ".est.json") << e.dump();
}

// LAB_LEVELS=FILE: every metrical level track_beats considered, with its F (for tuning the level choice).
void log_levels(const std::string& path, const Piece& pc) {
  const char* lv = std::getenv("LAB_LEVELS");
  if (!lv) return;
  std::ofstream out(lv, std::ios::app);
  for (const auto& l : qs::track_beats(qs::onset_envelope(pc.notes, pc.duration)).levels)
    out << base_name(path) << '\t' << pc.fits << '\t' << l.factor << '\t' << l.bpm << '\t' << l.strength << '\t'
        << f_measure(pc.ref, l.beats) << '\t' << nlohmann::json(l.beats).dump() << '\n';
}

// The analysis in the `metadata` of a transcribe JSON, as DIR/SET/NAME.json for score_beats.py.
void write_estimate(const std::string& path, const std::string& est_out, const qs::MusicAnalysis& an) {
  if (est_out.empty() || path.rfind("/est/") == std::string::npos) return;
  const std::string out = est_out + "/" + path.substr(path.rfind("/est/") + 5);
  nlohmann::json md;
  md["beats"] = an.beats;
  md["downbeats"] = an.downbeats;
  md["tempo_bpm"] = an.tempo_bpm;
  md["meter"] = {{"numerator", an.meter.numerator}, {"denominator", an.meter.denominator}};
  md["key"] = {{"tonic", an.key.tonic_name()}, {"mode", an.key.minor ? "minor" : "major"}, {"fifths", an.key.fifths}};
  std::ofstream(out) << nlohmann::json{{"metadata", md}}.dump();
}

// One line per piece: its F, the F of the same beats against the reference at half and double
// tempo and on the off-beat (what went wrong), tempo and meter; adds it to the sums.
void report(const std::string& path, const Piece& pc, const qs::MusicAnalysis& an, Sums& s) {
  const Beats& ref = pc.ref;
  const double f = f_measure(ref, an.beats), f_down = f_measure(pc.ref_down, an.downbeats);
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
  std::printf("%-40s F %.3f  down %.2f  half %.2f double %.2f off %.2f  %-7s tempo %6.1f/%6.1f  meter %s/%s %s\n",
              base_name(path).c_str(), f, f_down, fh, fd, fo, kind.c_str(), an.tempo_bpm, rt, meter.c_str(),
              pc.stated.empty() ? "-" : pc.stated.c_str(), pc.fits ? "" : "(grid does not fit)");
  s.n++, s.f += f;
  if (pc.fits) s.n_fit++, s.f_fit += f, s.fd_fit += f_down, s.kinds[kind]++;
  if (!pc.stated.empty()) s.n_stated++, s.meter_ok += meter == pc.stated;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--jitter") o.jitter_ms = std::atof(argv[++i]);
    else if (a == "--drop") o.drop = std::atof(argv[++i]);
    else if (a == "--warp") o.warp = true;
    else if (a == "--seed") o.seed = unsigned(std::atoi(argv[++i]));
    else if (a == "--est-out") o.est_out = argv[++i];
    else if (a == "--oracle") o.oracle = true;
    else o.files.push_back(a);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  Sums s;
  for (const std::string& path : o.files) {
    Piece pc;
    try {
      const bool json = path.size() > 5 && path.substr(path.size() - 5) == ".json";
      pc = json ? load_transcription(path, o.oracle) : load_midi(path, o);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), e.what());
      continue;
    }
    if (pc.notes.empty() && pc.ref.empty()) continue;  // a MIDI file too short to score
    const qs::MusicAnalysis an = qs::analyse_music(pc.notes, pc.duration);
    dump(path, pc, an);
    log_levels(path, pc);
    report(path, pc, an, s);
    write_estimate(path, o.est_out, an);
  }
  std::printf("MEAN n %d F %.4f | grid fits n %d F %.4f down %.3f | meter %d/%d = %.3f |", s.n, s.n ? s.f / s.n : 0, s.n_fit,
              s.n_fit ? s.f_fit / s.n_fit : 0, s.n_fit ? s.fd_fit / s.n_fit : 0, s.meter_ok, s.n_stated, s.n_stated ? double(s.meter_ok) / s.n_stated : 0);
  for (const auto& [k, v] : s.kinds) std::printf(" %s %d", k.c_str(), v);
  std::printf("\n");
}
