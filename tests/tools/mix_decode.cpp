// Ensemble lab: the weighted mean of several models' saved probabilities, decoded into notes.
// It answers "what would an ensemble of these networks score" for networks that cannot share one
// exported model, e.g. networks on different front ends (each is run on its own features by
// `qscribe transcribe --save-activations DIR`). Not part of the build:
//
//   g++ -O2 -std=c++17 -Ishared/include -Inative/src tests/tools/mix_decode.cpp native/src/data/npy.cpp \
//     build/native/shared/libqscribe_core.a build/native/libqs_kissfft.a -o /tmp/mix_decode
//   mix_decode MODEL.json OUT_DIR WEIGHT:DIR [WEIGHT:DIR ...]
//
// WEIGHT is one number for both outputs or FRAME_WEIGHT,ONSET_WEIGHT (e.g. "0,0.2:DIR" lends a
// network's onsets to the mix but not its frames).
// MODEL.json: a model sidecar whose decoding thresholds and note layout are used. Every
// NAME.frames.npy / NAME.onsets.npy in the first DIR is mixed with the same NAME in the others
// (weights normalised to sum 1; the frame counts must agree within 2 frames, the shorter wins)
// and written as OUT_DIR/NAME.tsv for ../shared/eval/score.py.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "data/npy.hpp"
#include "qscribe/error.hpp"
#include "qscribe/model_config.hpp"
#include "qscribe/model_windows.hpp"
#include "qscribe/note_io.hpp"

namespace fs = std::filesystem;

namespace {

struct Member {
  double frame_weight = 0, onset_weight = 0;
  std::string dir;
};

// The weighted mean of one kind of array ("frames" or "onsets") over the members.
qs::NpyArray mix(const std::vector<Member>& members, const std::string& name, const std::string& kind) {
  qs::NpyArray out;
  const bool frames = kind == "frames";
  double total = 0;
  for (const Member& m : members) total += frames ? m.frame_weight : m.onset_weight;
  for (const Member& m : members) {
    const double weight = frames ? m.frame_weight : m.onset_weight;
    qs::NpyArray a = qs::read_npy(m.dir + "/" + name + "." + kind + ".npy");
    if (out.data.empty()) {
      out.rows = a.rows;
      out.cols = a.cols;
      out.data.assign(a.rows * a.cols, 0.0f);
    }
    if (a.cols != out.cols || (a.rows > out.rows ? a.rows - out.rows : out.rows - a.rows) > 2)
      throw qs::Error(name + ": " + m.dir + " has " + std::to_string(a.rows) + " x " + std::to_string(a.cols) +
                      " probabilities, the first member " + std::to_string(out.rows) + " x " +
                      std::to_string(out.cols));
    out.rows = std::min(out.rows, a.rows);
    const float w = static_cast<float>(weight / total);
    for (std::size_t i = 0; i < out.rows * out.cols; ++i) out.data[i] += w * a.data[i];
  }
  out.data.resize(out.rows * out.cols);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: mix_decode MODEL.json OUT_DIR WEIGHT:DIR [WEIGHT:DIR ...]\n");
    return 2;
  }
  try {
    const qs::ModelConfig model = qs::load_model_config(argv[1]);
    const std::string out_dir = argv[2];
    std::vector<Member> members;
    for (int i = 3; i < argc; ++i) {
      const std::string a = argv[i];
      const auto colon = a.find(':');
      if (colon == std::string::npos) throw qs::Error("expected WEIGHT:DIR, got " + a);
      const std::string w = a.substr(0, colon);
      const auto comma = w.find(',');
      const double wf = std::stod(w.substr(0, comma)), wo = comma == std::string::npos ? wf : std::stod(w.substr(comma + 1));
      members.push_back({wf, wo, a.substr(colon + 1)});
    }
    fs::create_directories(out_dir);
    int n = 0;
    for (const auto& e : fs::directory_iterator(members[0].dir)) {
      const std::string file = e.path().filename().string(), suffix = ".frames.npy";
      if (file.size() <= suffix.size() || file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      const std::string name = file.substr(0, file.size() - suffix.size());
      qs::NpyArray fr = mix(members, name, "frames"), on = mix(members, name, "onsets");
      const std::size_t rows = std::min(fr.rows, on.rows);
      qs::NoteProbabilities p;
      p.n_notes = static_cast<int>(fr.cols);
      p.n_frames = rows;
      p.frames = std::move(fr.data);
      p.onsets = std::move(on.data);
      p.frames.resize(rows * fr.cols);
      p.onsets.resize(rows * on.cols);
      qs::write_notes_tsv(out_dir + "/" + name + ".tsv", qs::decode_probabilities(p, model, model.decoding));
      ++n;
    }
    std::fprintf(stderr, "mix_decode: %d pieces -> %s\n", n, out_dir.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mix_decode: %s\n", e.what());
    return 1;
  }
  return 0;
}
