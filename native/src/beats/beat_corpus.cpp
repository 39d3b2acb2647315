#include "beats/beat_corpus.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "qscribe/beat_activation.hpp"
#include "qscribe/error.hpp"
#include "qscribe/midi_file.hpp"

namespace qs {

namespace fs = std::filesystem;

void read_beats_tsv(const std::string& path, std::vector<double>& beats, std::vector<double>& downbeats) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot read");
  beats.clear();
  downbeats.clear();
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    double t = 0;
    int bar = 0, beat = 0;
    if (!(ss >> t >> bar >> beat) || !std::isfinite(t) || t < 0 || beat < 1)
      throw Error(path + ":" + std::to_string(no) + ": expected `time_s bar beat_in_bar`");
    if (!beats.empty() && t < beats.back()) throw Error(path + ":" + std::to_string(no) + ": beats out of order");
    beats.push_back(t);
    if (beat == 1) downbeats.push_back(t);
  }
}

bool grid_fits_notes(const std::vector<double>& onsets, const std::vector<double>& beats) {
  if (onsets.size() < 8 || beats.size() < 3) return true;
  std::vector<double> share(12, 0.0);
  for (double t : onsets) {
    // The onset's position in beats, interpolated (np.interp: clamped at both ends).
    double pos = 0;
    if (t <= beats.front()) pos = 0;
    else if (t >= beats.back()) pos = static_cast<double>(beats.size() - 1);
    else {
      const std::size_t k = static_cast<std::size_t>(std::upper_bound(beats.begin(), beats.end(), t) - beats.begin()) - 1;
      pos = k + (t - beats[k]) / (beats[k + 1] - beats[k]);
    }
    const double phase = pos - std::floor(pos);
    for (int s = 0; s < 12; ++s) {
      double d = phase - s / 12.0 + 0.5;
      d = d - std::floor(d) - 0.5;
      if (std::abs(d) < 0.08) share[s] += 1.0 / onsets.size();
    }
  }
  double mean = 0, other = 0;
  for (int s = 0; s < 12; ++s) mean += share[s] / 12;
  for (int s = 1; s < 12; ++s) other = std::max(other, share[s]);
  return share[0] >= 2.0 * mean && share[0] >= 0.8 * other;
}

namespace {

// The probabilities of NAME.wav: its cache beside it, or the model's (then cached).
NoteProbabilities piece_probabilities(const fs::path& stem, LoadedModel& model, const InferenceOptions& inference,
                                      const BeatCorpusOptions& o) {
  if (fs::exists(stem.string() + ".frames.npy")) return read_probabilities_npy(stem.string());
  const CheckpointInfo& info = model.checkpoint.info;
  TranscribeResult r = transcribe_file(stem.string() + ".wav", model.checkpoint.model, info, info.decoding, inference);
  write_probabilities_npy(stem.string(), r.activations);
  if (o.log) o.log("transcribed " + stem.string() + ".wav");
  return std::move(r.activations);
}

std::vector<fs::path> beat_files(const std::vector<std::string>& dirs) {
  std::vector<fs::path> out;
  for (const std::string& d : dirs) {
    if (!fs::is_directory(d)) throw Error(d + ": not a directory");
    for (const auto& e : fs::recursive_directory_iterator(d)) {
      const std::string name = e.path().filename().string();
      const std::string suffix = ".beats.tsv";
      if (e.is_regular_file() && name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<BeatPiece> load_beat_corpus(const std::vector<std::string>& dirs, LoadedModel& model,
                                        const InferenceOptions& inference, const BeatCorpusOptions& o) {
  std::vector<BeatPiece> pieces;
  for (const fs::path& tsv : beat_files(dirs)) {
    const std::string file = tsv.filename().string();
    const fs::path stem = tsv.parent_path() / file.substr(0, file.size() - std::string(".beats.tsv").size());
    if (!fs::exists(stem.string() + ".wav") && !fs::exists(stem.string() + ".frames.npy")) {
      if (o.log) o.log("skipped " + tsv.string() + ": no audio beside it");
      continue;
    }
    BeatPiece piece;
    piece.name = stem.string();
    read_beats_tsv(tsv.string(), piece.beats, piece.downbeats);
    if (o.skip_unfit && fs::exists(stem.string() + ".mid")) {
      std::vector<double> onsets;
      for (const Note& n : read_midi_file(stem.string() + ".mid")) onsets.push_back(n.onset);
      if (!grid_fits_notes(onsets, piece.beats)) {
        if (o.log) o.log("skipped " + piece.name + ": its beat grid does not fit its notes");
        continue;
      }
    }
    const NoteProbabilities p = piece_probabilities(stem, model, inference, o);
    piece.features = beat_features(p);
    piece.n_frames = p.n_frames;
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

}  // namespace qs
