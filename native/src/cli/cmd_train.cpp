// `qscribe train`: trains the Transcriber on a preprocessed data set (docs/training.md).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "cli/blas_check.hpp"
#include "cli/cli_options.hpp"
#include "cli/command.hpp"
#include "inference/inference.hpp"
#include "qscribe/error.hpp"
#include "train/trainer.hpp"

namespace {

struct TrainArgs {
  std::string data, val, out, load_weights;
  double val_fraction = 0.1;
  double context_seconds = 0.0;
  int n_layers = 4, n_heads = 4, head_dim = 32, c = 3, embed_dim = 192, mlp_hidden = 192;
  int freq_layers = 0, freq_dim = 16, freq_heads = 2;
  std::vector<double> harmonics;
  double dropout = 0.1;
  qs::TrainOptions opt;
  bool no_progress = false;
};

std::string resolve_weights(const std::string& w) {
  if (w == "main") return qs::default_model_path();
  return w;
}

void run(TrainArgs& a) {
  qs::ensure_omp_passive();
  const qs::BlasReport blas = qs::warn_if_slow_blas();
  if (a.opt.dist.rank == 0)
    std::printf("BLAS: %s (%s), %.0f GFLOP/s sgemm on one thread\n", blas.kind.c_str(),
                blas.library.empty() ? "not found" : blas.library.c_str(), blas.gflops);
  qs::TrainOptions opt = a.opt;
  opt.out_dir = a.out;
  opt.hyper.n_layers = a.n_layers;
  opt.hyper.n_heads = a.n_heads;
  opt.hyper.head_dim = a.head_dim;
  opt.hyper.c = a.c;
  opt.hyper.embed_dim = a.embed_dim;
  opt.hyper.mlp_hidden = a.mlp_hidden;
  opt.hyper.freq_layers = a.freq_layers;
  opt.hyper.freq_dim = a.freq_dim;
  opt.hyper.freq_heads = a.freq_heads;
  opt.hyper.harmonics = a.harmonics;
  opt.hyper.dropout = a.dropout;
  opt.progress = !a.no_progress;
  if (!a.load_weights.empty()) opt.init_weights = resolve_weights(a.load_weights);
  if (opt.new_front_end && opt.init_weights.empty()) throw qs::Error("train --new-front-end needs --load-weights");
  if (!std::filesystem::is_directory(a.data)) throw qs::Error(a.data + ": no such data set directory");

  auto train_ds = std::make_shared<qs::Dataset>(a.data);
  std::unique_ptr<qs::PieceSource> train, val;
  std::string provenance = "train " + a.data;
  if (!a.val.empty()) {
    train = std::make_unique<qs::DatasetSource>(train_ds, [&] {
      std::vector<std::size_t> all(train_ds->n_pieces());
      for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
      return all;
    }());
    val = std::make_unique<qs::DatasetSource>(a.val);
    provenance += ", validation " + a.val;
  } else {
    std::vector<std::size_t> tr, va;
    qs::split_pieces(train_ds->n_pieces(), a.val_fraction, opt.seed, tr, va);
    train = std::make_unique<qs::DatasetSource>(train_ds, tr);
    if (!va.empty()) val = std::make_unique<qs::DatasetSource>(train_ds, va);
    char buf[96];
    std::snprintf(buf, sizeof buf, ", validation: %zu of its %zu pieces (--val-fraction %.3g)", va.size(),
                  train_ds->n_pieces(), a.val_fraction);
    provenance += buf;
  }
  if (a.context_seconds > 0) {
    const double rate = train->info().features.frame_rate();
    opt.window_frames = std::max(1, static_cast<int>(std::lround(a.context_seconds * rate)));
  }
  opt.provenance = provenance;
  qs::install_interrupt_handler();
  qs::TrainResult r = qs::train_model(opt, *train, val.get());
  if (r.interrupted) {
    std::fprintf(stderr, "qscribe: interrupted; state saved to %s — continue with the same command plus --resume\n",
                 r.checkpoint.c_str());
    std::exit(130);
  }
  if (opt.dist.rank == 0)
    std::printf("done: %s (last), %s/best.pt (best), %s/log.jsonl, %s/curves.svg\n", r.checkpoint.c_str(), a.out.c_str(),
                a.out.c_str(), a.out.c_str());
}

QS_COMMAND("train", "Train a transcription model on a preprocessed data set", 40, [](CLI::App& sub) {
  auto a = std::make_shared<TrainArgs>();
  sub.add_option("data", a->data, "Preprocessed training split (a directory written by `qscribe preprocess`)")
      ->required();
  sub.add_option("-o,--out", a->out,
                 "Output directory: checkpoint.pt (every epoch, on Ctrl-C), best.pt, log.jsonl, curves.svg")
      ->required();
  sub.add_option("--val", a->val,
                 "Preprocessed validation split; without it --val-fraction of the training pieces are held out");
  sub.add_option("--val-fraction", a->val_fraction,
                 "Fraction of the training pieces held out for validation when --val is not given (chosen with --seed)")
      ->capture_default_str()->check(CLI::Range(0.0, 0.9));
  sub.add_option("--batch-size", a->opt.batch_size, "Training windows per batch (per rank)")->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option("--num-workers", a->opt.num_workers, "Loader threads preparing batches ahead (0: none)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--lr", a->opt.lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--lr-schedule", a->opt.lr_schedule.kind,
                 "constant, or cosine: constant until --lr-decay-start, then a cosine decay to --lr-final x --lr at "
                 "the last epoch (resume a constant run with a later start to anneal it)")
      ->capture_default_str()->check(CLI::IsMember({"constant", "cosine"}));
  sub.add_option("--lr-decay-start", a->opt.lr_schedule.decay_start_epoch,
                 "Epoch at which the cosine decay starts (0: from the first step)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--lr-final", a->opt.lr_schedule.final_fraction,
                 "Learning rate at the end of the cosine decay, as a fraction of --lr")
      ->capture_default_str()->check(CLI::Range(1e-6, 1.0));
  sub.add_option("--epochs", a->opt.epochs, "Epochs to train (with --resume: the total to reach)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--allowed-errors", a->opt.allowed_errors,
                 "k values of the exact-frame accuracy (frames with at most k wrong pitches count as right)")
      ->capture_default_str()->expected(1, 16);
  sub.add_option("--n-layers", a->n_layers, "Transformer layers")->capture_default_str();
  sub.add_option("--n-heads", a->n_heads, "Attention heads per layer")->capture_default_str();
  sub.add_option("--head-dim", a->head_dim, "Dimension of each attention head")->capture_default_str();
  sub.add_option("--c", a->c, "Channels of the two frequency convolutions")->capture_default_str();
  sub.add_option("--embed-dim", a->embed_dim, "Width of the frame embedding / Transformer")->capture_default_str();
  sub.add_option("--mlp-hidden", a->mlp_hidden, "Hidden width of the frame and onset output MLPs")
      ->capture_default_str();
  sub.add_option("--dropout", a->dropout, "Dropout probability")->capture_default_str();
  sub.add_option("--freq-layers", a->freq_layers,
                 "Self-attention layers over the 88 notes of each frame, before the fully connected "
                 "frequency layer (0: none, the original model)")
      ->capture_default_str()->check(CLI::Range(0, 8));
  sub.add_option("--freq-dim", a->freq_dim, "Width of a note token of the note attention")->capture_default_str();
  sub.add_option("--freq-heads", a->freq_heads, "Heads of the note attention")->capture_default_str();
  sub.add_option("--harmonics", a->harmonics,
                 "Harmonic stacking: the CQT shifted by these multiples of each pitch becomes input channels "
                 "of the convolutions, e.g. 0.5,1,2,3,4,5 (default: none, the original model). With "
                 "--load-weights of a model without it (and 1 listed), the new channels start at zero")
      ->delimiter(',');
  sub.add_option("--load-weights", a->load_weights,
                 "Start from existing weights: main (the shipped model, models/qscribe-default.onnx), "
                 "a checkpoint (.pt) or an exported model (.onnx + its .json); the model options must match it, or grow it by one "
                 "of more --c channels, more --n-layers or --harmonics (training then starts from its outputs)");
  sub.add_flag("--new-front-end", a->opt.new_front_end,
               "With --load-weights: the data's CQT kernels may differ from the model's (--filter-scale, "
               "--future-fraction; same bins, rate and hop): training starts from its weights on the new front end");
  sub.add_flag("--resume", a->opt.resume, "Continue OUT/checkpoint.pt exactly where it stopped (Ctrl-C or kill)");
  sub.add_option("--device", a->opt.device, "cpu or cuda")->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
  sub.add_option("--seed", a->opt.seed, "Seed of initialisation, shuffling, validation split and dropout")
      ->capture_default_str();
  sub.add_option("--context-seconds", a->context_seconds,
                 "Attention span: length of each training window in seconds (0: the data set's segment length, "
                 "--batch-seconds of preprocess, 1 s = 43 frames by default)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--onset-pos-weight", a->opt.loss.onset_pos,
                 "Weight of positive onset labels in the onset loss (onsets are rare: ~1 frame per note)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--restrike-weight", a->opt.loss.restrike,
                 "Extra weight of the onset loss where a note is struck again while it still sounds (its frame "
                 "label on the frame before): such re-strikes are a small share of onsets and the hardest to hear "
                 "(1: no extra weight). Validation losses are computed without it")
      ->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--octave-weight", a->opt.loss.octave,
                 "Extra weight of the frame and onset losses where a pitch is silent while its octave above or below "
                 "sounds: the cells where hearing a harmonic as a note writes an octave error, the commonest false "
                 "note (1: no extra weight). Validation losses are computed without it")
      ->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--partial-weight", a->opt.loss.partial,
                 "Extra weight of the frame loss of a sounding pitch, and of its onset loss where it starts, when it "
                 "lies a semitone beside the 2nd, 3rd or 4th harmonic of a lower sounding pitch: sevenths and ninths "
                 "over the bass, the true notes a louder partial hides (1: no extra weight). Validation losses are "
                 "computed without it")
      ->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--partner", a->opt.partner,
                 "Train this network as a member of an ensemble with MODEL (a checkpoint or exported model, one "
                 "network, frozen): the loss and the validation are on their mix, (1 - W) x MODEL + W x this "
                 "network's probabilities, the way `qscribe export --member` mixes them, so the network learns what "
                 "MODEL misses. The checkpoints hold this network alone: export it with --member W beside MODEL")
      ->check(CLI::ExistingFile);
  sub.add_option("--partner-weight", a->opt.partner_weight, "W of --partner: this network's weight in the mix")
      ->capture_default_str();
  sub.add_option("--grad-clip", a->opt.grad_clip, "Clip the global gradient norm to this (0: off)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--eq-augment", a->opt.eq_augment_db,
                 "Random spectral EQ of each training window, in dB: the CQT is multiplied by a smooth random curve "
                 "over frequency (a tilt and two bumps, each up to +-DB) so the model sees other instrument "
                 "envelopes than the soundfonts'. 0: off")
      ->capture_default_str();
  sub.add_option("--threads", a->opt.threads, "LibTorch threads (0: all cores)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--max-batches", a->opt.max_batches, "Stop each epoch after this many batches (0: all; for quick runs)")
      ->capture_default_str();
  sub.add_option("--onset-threshold", a->opt.decoding.onset_threshold, "Decoder onset threshold used for validation")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  sub.add_option("--frame-threshold", a->opt.decoding.frame_threshold, "Decoder frame threshold used for validation")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  qs::cli::add_min_note_length(sub, a->opt.decoding.min_note_length_s, "Shortest decoded note in seconds")
      ->capture_default_str();
  sub.add_flag("--no-progress", a->no_progress, "No progress bar on stderr");
  sub.add_option("--world-size", a->opt.dist.world_size, "Processes training together (data parallel)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--rank", a->opt.dist.rank, "This process's rank, 0..world-size-1 (rank 0 writes the outputs)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--master-addr", a->opt.dist.master_addr, "Address of rank 0's rendezvous store")
      ->capture_default_str();
  sub.add_option("--master-port", a->opt.dist.master_port, "Port of rank 0's rendezvous store")->capture_default_str()
      ->check(CLI::Range(1, 65535));
  sub.callback([a] { run(*a); });
});

}  // namespace
