// Beat-network lab: the tracker on a beat network's activation against the notes' onset envelope,
// on renders whose probabilities are cached (NAME.frames.npy, NAME.onsets.npy beside NAME.beats.tsv,
// as `qscribe train-beats` and `transcribe --save-activations` leave them). Not part of the build:
//
//   g++ -O2 -std=c++17 -Ishared/include -Inative/src tests/tools/beat_net_lab.cpp native/src/data/npy.cpp \
//     build/native/shared/libqscribe_core.a build/native/libqs_kissfft.a -o /tmp/beat_net_lab
//   beat_net_lab MODEL.json NET.json [--held-out SHARE] DIR...
//
// MODEL.json: a model sidecar (its decoding turns the probabilities into notes for the envelope).
// With --held-out, only the pieces train-beats holds out for validation (same hash). Prints per
// piece and the mean beat F where the grid fits the notes, for: the notes' envelope (what ships
// without a network), the activation, and mixtures of both. LAB_DOWNBEATS=1 adds the downbeat F of
// the meter step and of the network's downbeat output, and the meter against a single stated time
// signature (NAME.meta.json): with the network's beats, the notes' beats, and the downbeat output.
// LAB_TTA="0.8,1.25": the activation averaged with the network run on the features played at
// those speeds (test-time augmentation). LAB_VARIANTS="oracle_octaves=0.3": a bound, the tempo
// prior centred on the reference's median tempo (what a perfect choice of metrical level buys).
#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/npy.hpp"
#include "qscribe/beat_activation.hpp"
#include "qscribe/metrics.hpp"
#include "qscribe/midi_file.hpp"
#include "qscribe/model_config.hpp"
#include "qscribe/model_windows.hpp"
#include "qscribe/music_analysis.hpp"

namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool held_out(const std::string& name, double share) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : fs::path(name).filename().string()) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return static_cast<double>(h % 10000) < share * 10000;
}

bool grid_fits(const std::vector<double>& onsets, const std::vector<double>& beats) {
  if (onsets.size() < 8 || beats.size() < 3) return true;
  std::vector<double> share(12, 0.0);
  for (double t : onsets) {
    double pos = 0;
    if (t <= beats.front()) pos = 0;
    else if (t >= beats.back()) pos = beats.size() - 1;
    else {
      const std::size_t k = std::upper_bound(beats.begin(), beats.end(), t) - beats.begin() - 1;
      pos = k + (t - beats[k]) / (beats[k + 1] - beats[k]);
    }
    const double ph = pos - std::floor(pos);
    for (int s = 0; s < 12; ++s) {
      double d = ph - s / 12.0 + 0.5;
      d = d - std::floor(d) - 0.5;
      if (std::abs(d) < 0.08) share[s] += 1.0;
    }
  }
  double mean = 0, other = 0;
  for (int s = 0; s < 12; ++s) mean += share[s] / 12;
  for (int s = 1; s < 12; ++s) other = std::max(other, share[s]);
  return share[0] >= 2 * mean && share[0] >= 0.8 * other;
}

// Mean-normalised sum of two envelopes at 100 frames/s: w_net of the activation's.
qs::OnsetEnvelope mix(const qs::OnsetEnvelope& notes, const qs::OnsetEnvelope& net, double w_net) {
  auto mean = [](const qs::OnsetEnvelope& e) {
    double s = 0;
    for (float v : e.strength) s += v;
    return e.strength.empty() ? 1.0 : std::max(1e-9, s / e.strength.size());
  };
  const double mn = mean(notes), ma = mean(net);
  qs::OnsetEnvelope out;
  out.strength.assign(std::max(notes.strength.size(), net.strength.size()), 0.0f);
  for (std::size_t i = 0; i < notes.strength.size(); ++i) out.strength[i] += (1 - w_net) * notes.strength[i] / mn;
  for (std::size_t i = 0; i < net.strength.size(); ++i) out.strength[i] += w_net * net.strength[i] / ma;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return std::fprintf(stderr, "usage: beat_net_lab MODEL.json NET.json [--held-out SHARE] DIR...\n"), 2;
  const qs::ModelConfig model = qs::load_model_config(argv[1]);
  const qs::BeatNet net = qs::parse_beat_net(slurp(argv[2]), argv[2]);
  std::vector<qs::BeatNet> extra;
  if (const char* v = std::getenv("LAB_NETS")) {
    std::stringstream ss(v);
    for (std::string f; std::getline(ss, f, ',');) extra.push_back(qs::parse_beat_net(slurp(f), f));
  }
  double share = -1;
  int first = 3;
  if (std::string(argv[3]) == "--held-out") share = std::atof(argv[4]), first = 5;
  // LAB_VARIANTS="prior_bpm=100,tightness=200;swing_ratio=0": more tracker settings on the
  // activation, one variant per ';'-separated list of BeatTrackerOptions fields.
  std::vector<std::string> variants = {"notes", "net", "net-nolevel"};
  if (const char* v = std::getenv("LAB_VARIANTS")) {
    std::stringstream ss(v);
    for (std::string item; std::getline(ss, item, ';');) variants.push_back(item);
  }
  std::map<std::string, double> sum;
  int n = 0;
  for (int a = first; a < argc; ++a)
    for (const auto& e : fs::recursive_directory_iterator(argv[a])) {
      const std::string f = e.path().string();
      if (f.size() < 11 || f.compare(f.size() - 10, 10, ".beats.tsv") != 0) continue;
      const std::string stem = f.substr(0, f.size() - 10);
      if (!fs::exists(stem + ".frames.npy") || (share >= 0 && !held_out(stem, share))) continue;
      std::vector<double> beats;
      std::ifstream tsv(f);
      for (std::string line; std::getline(tsv, line);)
        if (!line.empty() && line[0] != '#') beats.push_back(std::stod(line));
      if (fs::exists(stem + ".mid")) {
        std::vector<double> on;
        for (const auto& nt : qs::read_midi_file(stem + ".mid")) on.push_back(nt.onset);
        if (!grid_fits(on, beats)) continue;
      }
      qs::NpyArray fr = qs::read_npy(stem + ".frames.npy"), on = qs::read_npy(stem + ".onsets.npy");
      qs::NoteProbabilities p;
      p.n_notes = static_cast<int>(fr.cols);
      p.n_frames = fr.rows;
      p.frames = fr.data;
      p.onsets = on.data;
      const qs::NoteList notes = qs::decode_probabilities(p, model, model.decoding);
      const double dur = p.n_frames / model.features.frame_rate();
      const std::vector<float> feat = qs::beat_features(p);
      qs::BeatActivation act = qs::beat_activation(net, feat, model.features.frame_rate());
      if (const char* tta = std::getenv("LAB_TTA")) {  // the mean activation over features played at other speeds
        const std::size_t F = qs::kBeatFeatures, T = feat.size() / F;
        std::stringstream ss(tta);
        int count = 1;
        for (std::string item; std::getline(ss, item, ',');) {
          const double speed = std::stod(item);
          const std::size_t T2 = static_cast<std::size_t>(T / speed);
          std::vector<float> f2(T2 * F);
          for (std::size_t j = 0; j < T2; ++j) {
            const double src = std::min<double>(j * speed, T - 1);
            const std::size_t i = static_cast<std::size_t>(src), k = std::min(i + 1, T - 1);
            const double w = src - i;
            for (std::size_t c = 0; c < F; ++c) f2[j * F + c] = static_cast<float>((1 - w) * feat[i * F + c] + w * feat[k * F + c]);
          }
          const qs::BeatActivation b = qs::beat_activation(net, f2, model.features.frame_rate());
          for (std::size_t t = 0; t < act.beat.size(); ++t) {
            const double pos = std::min<double>(t / speed, T2 - 1);
            const std::size_t i = static_cast<std::size_t>(pos), k = std::min(i + 1, T2 - 1);
            const double w = pos - i;
            act.beat[t] += static_cast<float>((1 - w) * b.beat[i] + w * b.beat[k]);
            act.downbeat[t] += static_cast<float>((1 - w) * b.downbeat[i] + w * b.downbeat[k]);
          }
          ++count;
        }
        for (std::size_t t = 0; t < act.beat.size(); ++t) act.beat[t] /= count, act.downbeat[t] /= count;
      }
      for (const qs::BeatNet& other : extra) {  // LAB_NETS: the mean activation of several networks
        const qs::BeatActivation b = qs::beat_activation(other, feat, model.features.frame_rate());
        for (std::size_t t = 0; t < act.beat.size(); ++t) act.beat[t] += b.beat[t], act.downbeat[t] += b.downbeat[t];
      }
      for (std::size_t t = 0; t < act.beat.size(); ++t)
        act.beat[t] /= 1 + extra.size(), act.downbeat[t] /= 1 + extra.size();
      const qs::OnsetEnvelope env_notes = qs::onset_envelope(notes, dur), env_net = qs::beat_envelope(act);
      if (const char* dump = std::getenv("LAB_DUMP")) {  // DIR/NAME.act.npy: [frames x 2] beat, downbeat
        std::vector<float> both;
        for (std::size_t t = 0; t < act.beat.size(); ++t) both.push_back(act.beat[t]), both.push_back(act.downbeat[t]);
        qs::write_npy(std::string(dump) + "/" + fs::path(stem).parent_path().filename().string() + "_" +
                      fs::path(stem).filename().string() + ".act.npy", both.data(), act.beat.size(), 2);
      }
      std::printf("%-60s", stem.substr(stem.size() > 60 ? stem.size() - 60 : 0).c_str());
      for (const std::string& v : variants) {
        qs::BeatTrackerOptions o;
        qs::OnsetEnvelope env = env_net;
        if (v == "notes") env = env_notes;
        if (v == "mix0.5") env = mix(env_notes, env_net, 0.5);
        if (v == "mix0.75") env = mix(env_notes, env_net, 0.75);
        if (v == "net-nolevel") o.choose_level = false;
        if (v.find('=') != std::string::npos) {
          std::stringstream kv(v);
          for (std::string f; std::getline(kv, f, ',');) {
            const std::string key = f.substr(0, f.find('=')), val = f.substr(f.find('=') + 1);
            const double x = std::stod(val);
            if (key == "prior_bpm") o.prior_bpm = x;
            else if (key == "prior_octaves") o.prior_octaves = x;
            else if (key == "tightness") o.tightness = x;
            else if (key == "tempo_change_penalty") o.tempo_change_penalty = x;
            else if (key == "level_prior_bpm") o.level_prior_bpm = x;
            else if (key == "level_prior_octaves") o.level_prior_octaves = x;
            else if (key == "swing_ratio") o.swing_ratio = x;
            else if (key == "choose_level") o.choose_level = x != 0;
            else if (key == "window_s") o.window_s = x;
            else if (key == "min_bpm") o.min_bpm = x;
            else if (key == "max_bpm") o.max_bpm = x;
            else if (key == "mix") env = mix(env_notes, env_net, x);
            else if (key == "oracle_octaves") {  // a bound: the prior centred on the reference tempo
              o.prior_bpm = qs::median_tempo(beats), o.prior_octaves = x;
              o.choose_level = false;
            }
            else throw std::runtime_error("unknown option " + key);
          }
        }
        const std::vector<double> tb = qs::track_beats(env, o).beats;
        const double fm = qs::beat_f_measure(beats, tb);
        if (v == "net") {  // the activation's contrast: at the tracked beats against its mean
          double on = 0, all = 0;
          for (double t : tb) on += act.beat[std::min(act.beat.size() - 1, static_cast<std::size_t>(std::lround(t * act.frame_rate)))];
          for (float x : act.beat) all += x;
          std::printf(" contrast %.2f", tb.empty() ? 0.0 : (on / tb.size()) / std::max(1e-9, all / act.beat.size()));
        }
        sum[v] += fm;
        std::printf(" %s %.2f", v.c_str(), fm);
      }
      if (std::getenv("LAB_DOWNBEATS")) {  // downbeat F: the meter's phase against the network's downbeat output
        std::vector<double> ref_down;
        std::ifstream t2(f);
        for (std::string line; std::getline(t2, line);) {
          if (line.empty() || line[0] == '#') continue;
          std::stringstream ls(line);
          double t; int bar, bib;
          ls >> t >> bar >> bib;
          if (bib == 1) ref_down.push_back(t);
        }
        const qs::MusicAnalysis an = qs::analyse_music(notes, dur, {}, &act);
        const int m = std::max(1, an.meter.beats_per_bar);
        int best = 0; double best_s = -1;
        for (int ph = 0; ph < m; ++ph) {
          double s = 0; int c = 0;
          for (std::size_t i = ph; i < an.beats.size(); i += m)
            s += act.downbeat[std::min(act.downbeat.size() - 1, static_cast<std::size_t>(std::lround(an.beats[i] * act.frame_rate)))], ++c;
          if (c && s / c > best_s) best_s = s / c, best = ph;
        }
        std::vector<double> netdown;
        for (std::size_t i = best; i < an.beats.size(); i += m) netdown.push_back(an.beats[i]);
        const double f1 = qs::beat_f_measure(ref_down, an.downbeats), f2 = qs::beat_f_measure(ref_down, netdown);
        sum["down_meter"] += f1, sum["down_net"] += f2;
        std::printf(" down_meter %.2f down_net %.2f", f1, f2);
        // Meter against the one a single stated time signature gives (NAME.meta.json).
        std::ifstream mj(stem + ".meta.json");
        const nlohmann::json meta = mj ? nlohmann::json::parse(mj) : nlohmann::json::object();
        if (meta.value("stated_time_signature", false) && meta["time_signatures"].size() == 1) {
          const auto& ts = meta["time_signatures"][0];
          const std::string ref = std::to_string(ts["numerator"].get<int>()) + "/" + std::to_string(ts["denominator"].get<int>());
          const std::string with = an.meter.time_signature(), without = qs::analyse_music(notes, dur).meter.time_signature();
          // Beats per bar from the downbeat output: the grouping whose bar lines carry the most
          // downbeat activation against the other beats (ties to 4); compound when the meter step says so.
          int best_m = 4; double best_c = -1e9;
          for (int mm : {4, 2, 3}) {
            double bestp = -1e9;
            for (int ph = 0; ph < mm; ++ph) {
              double on = 0, off = 0; int con = 0, coff = 0;
              for (std::size_t i = 0; i < an.beats.size(); ++i) {
                const float v = act.downbeat[std::min(act.downbeat.size() - 1, static_cast<std::size_t>(std::lround(an.beats[i] * act.frame_rate)))];
                if (static_cast<int>(i % mm) == ph) on += v, ++con; else off += v, ++coff;
              }
              bestp = std::max(bestp, con && coff ? on / con - off / coff : -1e9);
            }
            if (bestp > best_c) best_c = bestp, best_m = mm;
          }
          std::string mine = an.meter.time_signature();
          if (!an.meter.compound) mine = std::to_string(best_m) + "/" + std::to_string(an.meter.denominator);
          sum["meter_down"] += mine == ref;
          sum["meter_n"] += 1, sum["meter_net"] += with == ref, sum["meter_notes"] += without == ref;
          std::printf(" meter ref %s net %s notes %s", ref.c_str(), with.c_str(), without.c_str());
        }
      }
      std::printf("\n");
      ++n;
    }
  std::printf("MEAN over %d:", n);
  for (const std::string& v : variants) std::printf(" %s %.3f", v.c_str(), sum[v] / std::max(1, n));
  std::printf("\n");
  if (std::getenv("LAB_DOWNBEATS")) {
    std::printf("METER from the downbeat output %.3f\n", sum["meter_down"] / std::max(1.0, sum["meter_n"]));
    std::printf("DOWNBEATS over %d: meter %.3f net %.3f; METER of %.0f stated: with the network %.3f, notes only %.3f\n", n,
                sum["down_meter"] / std::max(1, n), sum["down_net"] / std::max(1, n), sum["meter_n"],
                sum["meter_net"] / std::max(1.0, sum["meter_n"]), sum["meter_notes"] / std::max(1.0, sum["meter_n"]));
  }
  std::printf("\n");
}
