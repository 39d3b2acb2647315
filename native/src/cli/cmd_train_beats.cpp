// `qscribe train-beats DIR... -o beat_net.json`: the learned beat activation (qscribe/beat_activation.hpp)
// from renders with known beats.
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "beats/beat_corpus.hpp"
#include "beats/beat_trainer.hpp"
#include "cli/blas_check.hpp"
#include "cli/command.hpp"
#include "inference/inference.hpp"
#include "qscribe/atomic_file.hpp"
#include "qscribe/error.hpp"

namespace {

namespace fs = std::filesystem;

struct TrainBeatsArgs {
  std::vector<std::string> dirs;
  std::string out, model;
  int threads = 0;
  bool keep_unfit = false;
  qs::BeatTrainOptions train;
};

void run(TrainBeatsArgs& a) {
  if (fs::path(a.out).extension() != ".json") throw qs::Error("--out: the beat network is a JSON file: name it NAME.json");
  if (a.train.kernel % 2 == 0) throw qs::Error("--kernel: must be odd");
  qs::ensure_omp_passive();
  torch::set_num_threads(a.threads > 0 ? a.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  const std::string model_path = a.model.empty() ? qs::default_model_path() : a.model;
  qs::LoadedModel m = qs::load_model_for_inference(model_path);
  const double frame_rate = m.checkpoint.info.features.frame_rate();
  auto log = [](const std::string& s) { std::fprintf(stderr, "train-beats: %s\n", s.c_str()); };
  qs::BeatCorpusOptions co;
  co.skip_unfit = !a.keep_unfit;
  co.log = log;
  const std::vector<qs::BeatPiece> pieces = qs::load_beat_corpus(a.dirs, m, qs::InferenceOptions{}, co);
  if (pieces.empty()) throw qs::Error("train-beats: no NAME.beats.tsv with NAME.wav under the given folders");
  double frames = 0;
  for (const auto& p : pieces) frames += static_cast<double>(p.n_frames);
  std::fprintf(stderr, "train-beats: %zu pieces, %.1f h at %.2f frames/s\n", pieces.size(), frames / frame_rate / 3600,
               frame_rate);
  a.train.log = log;
  qs::BeatTrainResult r = qs::train_beat_net(pieces, frame_rate, a.train);
  r.net.trained_on = std::to_string(r.train_pieces) + " renders with known beats; " +
                     (r.val_pieces == 0 ? std::string("no validation (the last epoch)")
                                        : "validation beat F " + std::to_string(r.val_f).substr(0, 5) + " on " +
                                              std::to_string(r.val_pieces) + " held out (epoch " +
                                              std::to_string(r.best_epoch) + ")");
  if (fs::path(a.out).has_parent_path()) fs::create_directories(fs::path(a.out).parent_path());
  qs::write_file_atomically(a.out, qs::beat_net_to_json(r.net));
  std::fprintf(stderr, "train-beats: %s -> %s\n", r.net.trained_on.c_str(), a.out.c_str());
}

QS_COMMAND("train-beats", "Train the beat network from renders with known beats", 57, [](CLI::App& sub) {
  auto a = std::make_shared<TrainBeatsArgs>();
  sub.footer(
      "Reads every NAME.beats.tsv under the folders (what `qscribe synth` writes beside NAME.wav and\n"
      "NAME.mid) and the model's note probabilities of NAME.wav: NAME.frames.npy and NAME.onsets.npy\n"
      "beside it (as `transcribe --save-activations` writes them), or, when missing, transcribes the\n"
      "audio with the model and writes them there (delete them after changing the model). Pieces\n"
      "whose beat grid does not fit their notes (free-time MIDI files) are left out. The network\n"
      "learns which frames are beats from features of the probabilities (docs/score.md); the epoch\n"
      "with the best beat F of the tracker on the held-out pieces is written.");
  sub.add_option("dirs", a->dirs, "Folders of renders (searched recursively)")->required()->check(CLI::ExistingDirectory);
  sub.add_option("-o,--out", a->out, "Output network (.json; the browser and transcribe read models/beat_net.json)")->required();
  sub.add_option("-m,--model", a->model, "Transcription model whose probabilities the network reads (default: the shipped one)");
  sub.add_option("--epochs", a->train.epochs, "Epochs")->check(CLI::Range(1, 10000));
  sub.add_option("--steps", a->train.steps_per_epoch, "Batches per epoch")->check(CLI::Range(1, 1000000));
  sub.add_option("--batch", a->train.batch, "Crops per batch")->check(CLI::Range(1, 1024));
  sub.add_option("--crop-frames", a->train.crop_frames, "Frames per crop")->check(CLI::Range(16, 100000));
  sub.add_option("--lr", a->train.lr, "Adam's learning rate (cosine decay to 5 %)")->check(CLI::Range(1e-6, 1.0));
  sub.add_option("--channels", a->train.channels, "Channels of the network")->check(CLI::Range(1, 256));
  sub.add_option("--kernel", a->train.kernel, "Kernel size (odd)")->check(CLI::Range(1, 15));
  sub.add_option("--dilations", a->train.dilations, "Dilations, one layer each")->delimiter(',')->check(CLI::Range(1, 4096));
  sub.add_option("--dropout", a->train.dropout, "Dropout on the input features")->check(CLI::Range(0.0, 0.9));
  sub.add_option("--stretch", a->train.stretch, "Tempo augmentation: crops played 1/S..S times as fast")->check(CLI::Range(1.0, 3.0));
  sub.add_option("--val-share", a->train.val_share, "Share of the pieces held out")->check(CLI::Range(0.0, 0.9));
  sub.add_option("--seed", a->train.seed, "Random seed");
  sub.add_option("--threads", a->threads, "Threads (0: all cores)")->check(CLI::Range(0, 1024));
  sub.add_flag("--keep-unfit", a->keep_unfit, "Also train on pieces whose grid does not fit their notes");
  sub.callback([a] { run(*a); });
});

}  // namespace
