// Trainer, checkpoints and distributed training: learning synthesised tones, exact resume after
// SIGKILL, NaN refusal, two ranks ending with identical weights.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "model/checkpoint.hpp"
#include "model/ensemble.hpp"
#include "data/dataset.hpp"
#include "train/lr_schedule.hpp"
#include "qscribe/cqt.hpp"
#include "qscribe/error.hpp"
#include "qscribe/piano_roll.hpp"
#include "train/spectral_eq.hpp"
#include "train/svg_chart.hpp"
#include "test_support.hpp"
#include "tone_pieces.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;

namespace {

using qs::test::TonePiece;

// Harmonic tones with a percussive envelope: one or two notes at a time, MIDI 48..71.
TonePiece make_tones(std::uint64_t seed, double seconds, double sr = 22050.0) {
  return qs::test::make_tone_piece(seed, seconds, sr);
}

qs::DatasetInfo tone_info() {
  qs::DatasetInfo info;
  info.segment_frames = 43;
  info.split = "train";
  info.source = "test tones";
  return info;
}

qs::MemorySource tone_source(std::uint64_t seed, int pieces, double seconds) {
  qs::MemorySource src(tone_info());
  qs::Cqt cqt(src.info().features);
  for (int i = 0; i < pieces; ++i) {
    TonePiece p = make_tones(seed * 1000 + i, seconds);
    qs::Spectrogram s = cqt.transform(p.audio);
    src.add_piece("tones" + std::to_string(i), std::move(s.data), s.n_frames, p.notes);
  }
  return src;
}

qs::ModelHyper tiny_hyper() {
  qs::ModelHyper h;
  h.c = 2;
  h.embed_dim = 48;
  h.n_layers = 1;
  h.n_heads = 2;
  h.head_dim = 16;
  h.mlp_hidden = 48;
  h.dropout = 0.0;
  return h;
}

qs::TrainOptions tiny_options(const std::string& out) {
  qs::TrainOptions o;
  o.out_dir = out;
  o.hyper = tiny_hyper();
  o.batch_size = 4;
  o.num_workers = 1;
  o.lr = 3e-3;
  o.epochs = 20;
  o.threads = 1;  // OpenMP spin-waiting threads would fight the loader on a 2-core CI box
  o.progress = false;
  o.verbose = false;
  o.seed = 7;
  return o;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(f, l))
    if (!l.empty()) lines.push_back(l);
  return lines;
}

// Writes a source to disk as a preprocessed data set.
void write_dataset(const qs::PieceSource& src, const std::string& dir) {
  qs::DatasetInfo info = src.info();
  info.pieces.clear();
  qs::DatasetWriter w(dir, info);
  const auto bins = static_cast<std::size_t>(info.features.n_bins), notes = static_cast<std::size_t>(info.n_notes);
  for (std::size_t p = 0; p < src.n_pieces(); ++p) {
    const std::size_t n = src.info().pieces[p].n_frames;
    std::vector<float> cqt(n * bins), fr(n * notes), on(n * notes);
    src.read(p, 0, n, cqt.data(), fr.data(), on.data());
    std::vector<std::uint8_t> fr8(fr.begin(), fr.end()), on8(on.begin(), on.end());
    w.add_piece(src.info().pieces[p].name, cqt.data(), fr8.data(), on8.data(), n, src.notes(p));
  }
  w.finish();
}

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "w");
    if (f) {
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool same_weights(qs::Transcriber& a, qs::Transcriber& b) {
  auto pb = b->named_parameters();
  for (const auto& p : a->named_parameters())
    if (!torch::equal(p.value(), pb[p.key()])) return false;
  return true;
}

// Whether a's parameters equal b's of the same names within 1e-6 (a run at a vanishing rate).
void expect_close_weights(qs::Transcriber& a, qs::Transcriber& b) {
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pb) EXPECT_TRUE(torch::allclose(pa[p.key()], p.value(), 0.0, 1e-6)) << p.key();
}

// How far two models' weights are apart: how many parameter tensors differ at all, and the sum
// of squared differences over all parameters but the output biases (which the trainer sets from
// the data's label rates after the random initialisation).
struct WeightDiff {
  double sq = 0.0;
  int changed = 0, total = 0;
};
WeightDiff weight_diff(qs::Transcriber& a, qs::Transcriber& b) {
  WeightDiff d;
  auto pb = b->named_parameters();
  for (const auto& p : a->named_parameters()) {
    const at::Tensor delta = p.value().detach() - pb[p.key()].detach();
    d.changed += delta.abs().max().item<double>() > 0.0;
    ++d.total;
    if (p.key() != "frame_head.2.bias" && p.key() != "onset_head.2.bias") d.sq += delta.pow(2).sum().item<double>();
  }
  return d;
}

std::vector<std::string> train_cmd(const std::string& data, const std::string& out) {
  return {QSCRIBE_BIN, "train", data, "-o", out, "--epochs", "5", "--batch-size", "4", "--num-workers", "2",
          "--n-layers", "1", "--n-heads", "2", "--head-dim", "8", "--embed-dim", "16", "--mlp-hidden", "16",
          "--c", "1", "--lr", "2e-3", "--lr-schedule", "cosine", "--lr-decay-start", "1", "--eq-augment", "6", "--threads", "1", "--seed", "3", "--no-progress", "--val-fraction", "0.25"};
}

}  // namespace

TEST(Trainer, DefaultModelHasAbout1_8MParameters) {
  qs::Transcriber m{qs::ModelHyper{}};
  const double n = static_cast<double>(m->parameter_count());
  EXPECT_GT(n, 1.5e6);
  EXPECT_LT(n, 2.1e6);
}

TEST(Trainer, LearnsSynthesisedTones) {
  qs::MemorySource train = tone_source(1, 10, 8.0);
  qs::MemorySource val = tone_source(2, 3, 8.0);
  const std::string out = qs::test::temp_dir("train_tones");
  qs::TrainOptions o = tiny_options(out);
  qs::TrainResult r = qs::train_model(o, train, &val);
  ASSERT_EQ(r.history.size(), static_cast<std::size_t>(o.epochs));
  const auto& last = r.history.back();
  EXPECT_LT(last.train_loss, r.history.front().train_loss);
  EXPECT_GE(last.note_f1, 0.9) << "val note F1 after " << o.epochs << " epochs";
  EXPECT_GT(last.frame_f1, 0.8);
  ASSERT_EQ(last.exact_accuracy.size(), 3u);
  EXPECT_GT(last.exact_accuracy[2].second, last.exact_accuracy[0].second - 1e-12);
  EXPECT_GT(last.samples_per_s, 0.0);
  // Time per step and windows per second agree: a step is one batch of o.batch_size windows.
  EXPECT_NEAR(last.step_ms, 1000.0 * o.batch_size / last.samples_per_s, 0.2 * last.step_ms);
  // Outputs.
  EXPECT_EQ(read_lines(out + "/log.jsonl").size(), static_cast<std::size_t>(o.epochs));
  auto first = nlohmann::json::parse(read_lines(out + "/log.jsonl").front());
  EXPECT_TRUE(first.contains("note_f1") && first.contains("exact_accuracy") && first.contains("samples_per_s"));
  EXPECT_GT(first.value("step_ms", 0.0), 0.0);
  const std::string svg = slurp(out + "/curves.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("note F1"), std::string::npos);
  qs::LoadedCheckpoint ck = qs::load_checkpoint(out + "/checkpoint.pt");
  EXPECT_EQ(ck.info.training.value("epoch", 0), o.epochs);
  EXPECT_EQ(ck.info.hyper.embed_dim, 48);
  qs::LoadedCheckpoint best = qs::load_checkpoint(out + "/best.pt");
  // The best checkpoint transcribes held-out tones as well as training reported.
  qs::EvalResult ev = qs::evaluate_source(best.model, best.info, val, best.info.decoding, {}, 5.0, false);
  EXPECT_NEAR(qs::scores_of(ev.pooled).note.f1, ck.info.training["best"]["score"].get<double>(), 1e-9);
}

TEST(Trainer, NonFiniteLossStopsWithoutCheckpoint) {
  qs::MemorySource src(tone_info());
  std::vector<float> cqt(100 * 352, std::nanf(""));
  src.add_piece("nan", cqt, 100, {{0.1, 0.5, 60, 64}});
  const std::string out = qs::test::temp_dir("train_nan");
  qs::TrainOptions o = tiny_options(out);
  o.epochs = 1;
  try {
    qs::train_model(o, src, nullptr);
    FAIL() << "expected an error";
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--lr"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out + "/checkpoint.pt"));
}

// --load-weights of an ensemble (the shipped model is one, since release 12) starts from its first
// network: the run trains one network, and at a vanishing rate it keeps the first one's weights.
TEST(Trainer, LoadWeightsOfAnEnsembleStartsFromItsFirstNetwork) {
  torch::manual_seed(11);
  qs::Transcriber a(tiny_hyper()), b(tiny_hyper());
  qs::Transcriber ens = qs::make_ensemble(a, {b}, {0.3});
  qs::CheckpointInfo info;
  info.hyper = ens->hyper();
  info.segment_frames = tone_info().segment_frames;
  const std::string dir = qs::test::temp_dir("train_from_ensemble");
  qs::save_checkpoint(dir + "/ensemble.pt", ens, info);
  qs::MemorySource train = tone_source(5, 2, 4.0);
  qs::TrainOptions o = tiny_options(dir + "/run");
  o.epochs = 1;
  o.lr = 1e-12;
  o.init_weights = dir + "/ensemble.pt";
  ASSERT_NO_THROW(qs::train_model(o, train, nullptr));
  qs::LoadedCheckpoint ck = qs::load_checkpoint(dir + "/run/checkpoint.pt");
  EXPECT_TRUE(ck.info.hyper.members.empty());
  expect_close_weights(ck.model, a);
}

// --partner trains a member for an ensemble: the loss and the validation are on the mix with the
// frozen partner, and the checkpoints hold the member alone. The partner here writes silence
// (its output biases at -6), so the mix's loss is far below the random member's own.
TEST(Trainer, PartnerTrainsAMemberOnTheirMix) {
  torch::manual_seed(12);
  qs::Transcriber partner(tiny_hyper()), member(tiny_hyper());
  {
    torch::NoGradGuard ng;
    partner->frame_head[2]->as<torch::nn::Linear>()->bias.fill_(-6.0);
    partner->onset_head[2]->as<torch::nn::Linear>()->bias.fill_(-6.0);
  }
  qs::CheckpointInfo info;
  info.hyper = tiny_hyper();
  info.segment_frames = tone_info().segment_frames;
  const std::string dir = qs::test::temp_dir("train_partner");
  qs::save_checkpoint(dir + "/partner.pt", partner, info);
  qs::save_checkpoint(dir + "/member.pt", member, info);
  const std::string partner_bytes = slurp(dir + "/partner.pt");
  qs::MemorySource data = tone_source(6, 2, 4.0);
  qs::TrainOptions o = tiny_options(dir + "/run");
  o.epochs = 1;
  o.lr = 1e-12;  // the member stays as it was: the logged losses are its starting point's
  o.init_weights = dir + "/member.pt";
  o.partner = dir + "/partner.pt";
  o.partner_weight = 0.3;
  qs::TrainResult r;
  ASSERT_NO_THROW(r = qs::train_model(o, data, &data));
  ASSERT_EQ(r.history.size(), 1u);

  qs::Transcriber mix = qs::make_ensemble(partner, {member}, {0.3});
  const double mix_loss = qs::evaluate_source(mix, info, data, info.decoding, {}, 5.0, true).loss;
  const double own_loss = qs::evaluate_source(member, info, data, info.decoding, {}, 5.0, true).loss;
  ASSERT_GT(own_loss, 2.0 * mix_loss);
  EXPECT_NEAR(r.history[0].val_loss, mix_loss, 1e-4 * mix_loss);
  // The training loss is the mix's too (other windows, so only near it).
  EXPECT_LT(std::abs(r.history[0].train_loss - mix_loss), 0.25 * mix_loss)
      << r.history[0].train_loss << " vs mix " << mix_loss << ", member alone " << own_loss;

  qs::LoadedCheckpoint ck = qs::load_checkpoint(dir + "/run/checkpoint.pt");
  EXPECT_TRUE(ck.info.hyper.members.empty());
  expect_close_weights(ck.model, member);
  EXPECT_EQ(ck.info.training["options"]["partner"], o.partner);
  EXPECT_EQ(slurp(dir + "/partner.pt"), partner_bytes);

  // At a real rate the member learns and the partner stays frozen.
  o.out_dir = dir + "/run2";
  o.lr = 3e-3;
  o.epochs = 2;
  ASSERT_NO_THROW(qs::train_model(o, data, &data));
  qs::LoadedCheckpoint learnt = qs::load_checkpoint(dir + "/run2/checkpoint.pt");
  EXPECT_FALSE(same_weights(learnt.model, member));
  qs::LoadedCheckpoint p = qs::load_checkpoint(dir + "/partner.pt");
  EXPECT_TRUE(same_weights(p.model, partner));

  // Refused: a partner that is an ensemble, and weights outside (0, 1).
  qs::CheckpointInfo ens_info = info;
  ens_info.hyper = mix->hyper();
  qs::save_checkpoint(dir + "/ensemble.pt", mix, ens_info);
  o.out_dir = dir + "/run3";
  o.partner = dir + "/ensemble.pt";
  EXPECT_THROW(qs::train_model(o, data, &data), qs::Error);
  o.partner = dir + "/partner.pt";
  for (double w : {0.0, 1.0, -0.5}) {
    o.partner_weight = w;
    EXPECT_THROW(qs::train_model(o, data, &data), qs::Error) << w;
  }
}

TEST(Checkpoint, RoundTripAndErrors) {
  torch::manual_seed(1);
  qs::CheckpointInfo info;
  info.hyper = tiny_hyper();
  info.segment_frames = 20;
  info.training = {{"epoch", 3}};
  qs::Transcriber m(info.hyper);
  const std::string dir = qs::test::temp_dir("ckpt");
  qs::save_checkpoint(dir + "/a.pt", m, info);
  qs::LoadedCheckpoint l = qs::load_checkpoint(dir + "/a.pt");
  EXPECT_EQ(l.info.segment_frames, 20);
  EXPECT_EQ(l.info.training["epoch"], 3);
  EXPECT_TRUE(same_weights(m, l.model));
  qs::ModelConfig cfg = l.info.model_config();
  EXPECT_NO_THROW(cfg.validate());
  EXPECT_EQ(cfg.segment_frames, 20);
  // No temp files left behind.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  {
    std::ofstream(dir + "/junk.pt") << "not a checkpoint";
  }
  try {
    qs::load_checkpoint(dir + "/junk.pt");
    FAIL();
  } catch (const qs::Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir + "/junk.pt: ", 0), 0u) << e.what();
  }
  EXPECT_THROW(qs::load_checkpoint(dir + "/missing.pt"), qs::Error);
}

TEST(Trainer, ResumesExactlyAfterSigkill) {
  const std::string root = qs::test::temp_dir("train_kill");
  write_dataset(tone_source(5, 8, 6.0), root + "/data");
  // Reference: uninterrupted.
  const pid_t ref = spawn(train_cmd(root + "/data", root + "/ref"), root + "/ref.log");
  ASSERT_EQ(wait_exit(ref), 0) << slurp(root + "/ref.log");
  // Killed once the first epoch's checkpoint exists, then resumed.
  const pid_t run = spawn(train_cmd(root + "/data", root + "/run"), root + "/run.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(root + "/run/checkpoint.pt") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(fs::exists(root + "/run/checkpoint.pt")) << slurp(root + "/run.log");
  kill(run, SIGKILL);
  EXPECT_EQ(wait_exit(run), 128 + SIGKILL);
  const int epochs_done = qs::load_checkpoint(root + "/run/checkpoint.pt").info.training.value("epoch", 0);
  EXPECT_LT(epochs_done, 5) << "the run finished before it could be killed";
  auto cmd = train_cmd(root + "/data", root + "/run");
  cmd.push_back("--resume");
  const pid_t resumed = spawn(cmd, root + "/resume.log");
  ASSERT_EQ(wait_exit(resumed), 0) << slurp(root + "/resume.log");
  EXPECT_NE(slurp(root + "/resume.log").find("resuming"), std::string::npos);
  qs::LoadedCheckpoint a = qs::load_checkpoint(root + "/ref/checkpoint.pt");
  qs::LoadedCheckpoint b = qs::load_checkpoint(root + "/run/checkpoint.pt");
  EXPECT_EQ(b.info.training.value("epoch", 0), 5);
  EXPECT_TRUE(same_weights(a.model, b.model)) << "resumed training differs from the uninterrupted run";
  EXPECT_EQ(read_lines(root + "/run/log.jsonl").size(), 5u);

  // A kill while best.pt was being written leaves its temporary file, and a rerun may never
  // write best.pt again (no better score; here: no epoch left). The rerun clears it.
  const std::string stale_temp = root + "/ref/.best.pt.qs-tmp.pt";
  std::ofstream(stale_temp) << "half a checkpoint";
  auto finished = train_cmd(root + "/data", root + "/ref");
  finished.push_back("--resume");
  ASSERT_EQ(wait_exit(spawn(finished, root + "/finished.log")), 0) << slurp(root + "/finished.log");
  EXPECT_FALSE(fs::exists(stale_temp)) << "the rerun left a killed write's temporary file";

  // Ctrl-C in the middle of an epoch: the batch in flight finishes, the state is saved with the
  // position inside the epoch, exit status 130; --resume again ends identical to the reference.
  // The signal goes out as soon as the run prints "model:" (its handler is installed before that
  // line, and the first epoch's batches are all still to come), so it lands inside the first
  // epoch. Should a loaded machine still let the run get past that point (finish, or stop on an
  // epoch boundary), the attempt is repeated; after three such attempts the test fails instead
  // of passing without having tested the resume.
  std::string attempts;
  bool resumed_mid_epoch = false;
  for (int attempt = 1; attempt <= 3 && !resumed_mid_epoch; ++attempt) {
    const std::string dir = root + "/intr" + std::to_string(attempt), log = dir + ".log";
    const pid_t intr = spawn(train_cmd(root + "/data", dir), log);
    const auto started = std::chrono::steady_clock::now();
    while (slurp(log).find("model:") == std::string::npos &&
           std::chrono::steady_clock::now() - started < std::chrono::seconds(60))
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    kill(intr, SIGINT);
    int status = 0;
    waitpid(intr, &status, 0);
    const bool exited_130 = WIFEXITED(status) && WEXITSTATUS(status) == 130;  // not killed by the signal
    const int batch = exited_130 && fs::exists(dir + "/checkpoint.pt")
                          ? qs::load_checkpoint(dir + "/checkpoint.pt").info.training.value("batch_in_epoch", 0)
                          : 0;
    attempts += "attempt " + std::to_string(attempt) + ": " +
                (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                   : "signal " + std::to_string(WTERMSIG(status))) +
                ", batch_in_epoch " + std::to_string(batch) + "\n" + slurp(log) + "\n";
    if (batch == 0) continue;  // finished, or stopped on an epoch boundary: not what is tested
    EXPECT_NE(slurp(log).find("--resume"), std::string::npos) << slurp(log);
    auto cmd2 = train_cmd(root + "/data", dir);
    cmd2.push_back("--resume");
    ASSERT_EQ(wait_exit(spawn(cmd2, dir + "-resume.log")), 0) << slurp(dir + "-resume.log");
    EXPECT_NE(slurp(dir + "-resume.log").find("+ " + std::to_string(batch) + " batches"), std::string::npos)
        << "the resumed run does not say it continues inside the epoch:\n" << slurp(dir + "-resume.log");
    qs::LoadedCheckpoint c = qs::load_checkpoint(dir + "/checkpoint.pt");
    EXPECT_EQ(c.info.training.value("epoch", 0), 5);
    EXPECT_TRUE(same_weights(a.model, c.model)) << "resumed after Ctrl-C differs from the uninterrupted run";
    resumed_mid_epoch = true;
    std::printf("Ctrl-C: attempt %d stopped after batch %d of its epoch; the resumed run matches\n", attempt, batch);
  }
  EXPECT_TRUE(resumed_mid_epoch) << "Ctrl-C never landed inside an epoch, so the resume was not tested:\n"
                                 << attempts;
}

namespace {

// Two `qscribe train` processes, ranks 0 and 1 on 127.0.0.1; returns rank 0's log.
std::string train_two_ranks(const std::string& tag, const char* backend) {
  const std::string root = qs::test::temp_dir(tag);
  write_dataset(tone_source(9, 8, 4.0), root + "/data");
  const int port = 20000 + static_cast<int>((getpid() * 7 + (backend ? 1 : 0)) % 20000);
  if (backend) setenv("QSCRIBE_DIST_BACKEND", backend, 1);
  std::vector<pid_t> pids;
  for (int rank = 0; rank < 2; ++rank) {
    auto cmd = train_cmd(root + "/data", root + "/rank" + std::to_string(rank));
    cmd[6] = "2";  // --epochs 2
    for (const char* a : {"--world-size", "2", "--master-addr", "127.0.0.1"}) cmd.push_back(a);
    cmd.push_back("--rank");
    cmd.push_back(std::to_string(rank));
    cmd.push_back("--master-port");
    cmd.push_back(std::to_string(port));
    pids.push_back(spawn(cmd, root + "/rank" + std::to_string(rank) + ".log"));
  }
  if (backend) unsetenv("QSCRIBE_DIST_BACKEND");
  for (int rank = 0; rank < 2; ++rank)
    EXPECT_EQ(wait_exit(pids[rank]), 0) << slurp(root + "/rank" + std::to_string(rank) + ".log");
  qs::LoadedCheckpoint a = qs::load_checkpoint(root + "/rank0/checkpoint.pt");
  qs::LoadedCheckpoint b = qs::load_checkpoint(root + "/rank1/final-rank1.pt");
  EXPECT_TRUE(same_weights(a.model, b.model));
  EXPECT_EQ(a.info.training["options"].value("world_size", 0), 2);
  EXPECT_EQ(a.info.training.value("epoch", 0), 2);
  // The weights moved away from the (broadcast) initialisation of rank 0: training happened.
  // That initialisation is rebuilt here as the trainer makes it (torch::manual_seed(seed), then
  // the model); it is the right one if the trained weights lie nearer to it than to another
  // seed's, which two short epochs at --lr 2e-3 cannot undo.
  const auto seed = a.info.training.value("seed", std::uint64_t{0});
  torch::manual_seed(seed);
  qs::Transcriber init(a.info.hyper);
  torch::manual_seed(seed + 1);
  qs::Transcriber other(a.info.hyper);
  const WeightDiff moved = weight_diff(a.model, init), from_other = weight_diff(a.model, other);
  EXPECT_GT(moved.total, 0);
  EXPECT_EQ(moved.changed, moved.total) << moved.changed << " of " << moved.total << " parameters moved";
  EXPECT_GT(moved.sq, 0.0);
  EXPECT_LT(moved.sq, 0.25 * from_other.sq) << "the rebuilt initialisation is not where training started ("
                                             << moved.sq << " from it, " << from_other.sq << " from another seed's)";
  std::printf("weights moved: %d of %d parameters, %.4g squared from the initialisation (%.4g from another seed's)\n",
              moved.changed, moved.total, moved.sq, from_other.sq);
  return slurp(root + "/rank0.log");
}

}  // namespace

TEST(Trainer, TwoRanksEndWithIdenticalWeights) {
  const std::string log = train_two_ranks("train_dist", nullptr);
  EXPECT_NE(log.find("2 ranks"), std::string::npos) << log;
}

TEST(Trainer, TwoRanksOverTcpStoreCollectives) {
  const std::string log = train_two_ranks("train_dist_store", "tcpstore");
  EXPECT_NE(log.find("2 ranks (tcpstore)"), std::string::npos) << log;
}

TEST(SvgChart, RendersSeriesAndEscapes) {
  const std::string svg = qs::render_svg_chart(
      {{"Loss <x>", "epoch", "loss", {{"train", {{1, 0.5}, {2, 0.25}, {3, NAN}}}}, false}}, "t & c");
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(svg.find("Loss &lt;x&gt;"), std::string::npos);
  EXPECT_NE(svg.find("t &amp; c"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

// ---- learning-rate schedule ----

TEST(LrSchedule, ConstantIgnoresTheStep) {
  qs::LrSchedule s;
  EXPECT_EQ(qs::scheduled_lr(s, 1e-3, 0, 100, 10), 1e-3);
  EXPECT_EQ(qs::scheduled_lr(s, 1e-3, 999, 100, 10), 1e-3);
}

TEST(LrSchedule, CosineHoldsThenDecaysToTheFinalFraction) {
  qs::LrSchedule s{"cosine", 4.0, 0.1};
  const double base = 2e-3;
  // Constant through the first 4 epochs of 10 (100 steps each).
  EXPECT_DOUBLE_EQ(qs::scheduled_lr(s, base, 0, 100, 10), base);
  EXPECT_DOUBLE_EQ(qs::scheduled_lr(s, base, 400, 100, 10), base);
  // Halfway through the decay (epoch 7): the mean of base and the floor.
  EXPECT_NEAR(qs::scheduled_lr(s, base, 700, 100, 10), base * (0.1 + 0.9 * 0.5), 1e-12);
  // The end, and past it (no overshoot).
  EXPECT_NEAR(qs::scheduled_lr(s, base, 1000, 100, 10), base * 0.1, 1e-12);
  EXPECT_NEAR(qs::scheduled_lr(s, base, 5000, 100, 10), base * 0.1, 1e-12);
  // Strictly decreasing inside the decay.
  double prev = base;
  for (std::size_t step = 401; step <= 1000; step += 37) {
    const double lr = qs::scheduled_lr(s, base, step, 100, 10);
    EXPECT_LT(lr, prev) << "step " << step;
    prev = lr;
  }
}

TEST(LrSchedule, TrainerFollowsItAndRejectsBadOptions) {
  qs::MemorySource train = tone_source(1, 4, 4.0);
  const std::string out = qs::test::temp_dir("train_lr_schedule");
  qs::TrainOptions o = tiny_options(out);
  o.epochs = 4;
  o.lr_schedule = {"cosine", 1.0, 0.05};
  qs::TrainResult r = qs::train_model(o, train, nullptr);
  ASSERT_EQ(r.history.size(), 4u);
  // The logged rate is the one of each epoch's last step: constant for epoch 1, then falling
  // to the floor (the last step is one step short of the end).
  EXPECT_DOUBLE_EQ(r.history[0].lr, o.lr);
  EXPECT_LT(r.history[1].lr, o.lr);
  EXPECT_LT(r.history[2].lr, r.history[1].lr);
  EXPECT_LT(r.history[3].lr, r.history[2].lr);
  EXPECT_LT(r.history[3].lr, o.lr * 0.2);
  EXPECT_GE(r.history[3].lr, o.lr * 0.05);

  o.lr_schedule = {"cosine", 4.0, 0.05};  // the decay would start at the end
  EXPECT_THROW(qs::train_model(o, train, nullptr), qs::Error);
  o.lr_schedule = {"linear", 0.0, 0.05};
  EXPECT_THROW(qs::train_model(o, train, nullptr), qs::Error);
}

// ---- spectral EQ augmentation ----

TEST(SpectralEq, OffIsIdentityAndCurvesAreSeededBoundedAndSmooth) {
  const int bins = 352, bpo = 48;  // 88 notes x 4 bins
  for (float g : qs::random_eq_gains(bins, bpo, 0.0, 7)) EXPECT_EQ(g, 1.0f);
  const auto a = qs::random_eq_gains(bins, bpo, 6.0, 7);
  EXPECT_EQ(a, qs::random_eq_gains(bins, bpo, 6.0, 7));  // seeded
  EXPECT_NE(a, qs::random_eq_gains(bins, bpo, 6.0, 8));
  double spread = 0.0;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    const auto g = qs::random_eq_gains(bins, bpo, 6.0, seed);
    ASSERT_EQ(g.size(), static_cast<std::size_t>(bins));
    double lo = 1e9, hi = -1e9;
    for (int i = 0; i < bins; ++i) {
      const double db = 20.0 * std::log10(g[i]);
      EXPECT_LE(std::abs(db), 18.0 + 1e-6);  // tilt + two bumps, each within +-6 dB
      if (i > 0) EXPECT_LT(std::abs(db - 20.0 * std::log10(g[i - 1])), 1.0) << "not smooth at bin " << i;
      lo = std::min(lo, db);
      hi = std::max(hi, db);
    }
    spread += hi - lo;
  }
  EXPECT_GT(spread / 50, 4.0) << "the curves hardly change the spectrum";
}

TEST(SpectralEq, TrainerAppliesItReproduciblyAndRejectsBadValues) {
  qs::MemorySource train = tone_source(1, 4, 4.0);
  auto run = [&](double db, const std::string& tag) {
    qs::TrainOptions o = tiny_options(qs::test::temp_dir("train_eq_" + tag));
    o.epochs = 1;
    o.eq_augment_db = db;
    return qs::train_model(o, train, nullptr).history.at(0).train_loss;
  };
  const double plain = run(0.0, "off"), eq = run(9.0, "on"), eq_again = run(9.0, "again");
  EXPECT_NE(plain, eq) << "the EQ did not change what the model saw";
  EXPECT_EQ(eq, eq_again) << "the same seed must give the same augmented windows";
  qs::TrainOptions bad = tiny_options(qs::test::temp_dir("train_eq_bad"));
  bad.eq_augment_db = -1.0;
  EXPECT_THROW(qs::train_model(bad, train, nullptr), qs::Error);
}

TEST(TranscriptionLoss, RestrikeWeightScalesOnlyOnsetsOfASoundingPitch) {
  // One window of 4 frames, 2 pitches. Pitch 0: struck at frame 0, struck again at frame 2 while
  // it sounds (a re-strike). Pitch 1: silent, then struck at frame 3 (a fresh onset).
  auto frames = torch::tensor({1.f, 0.f, 1.f, 0.f, 1.f, 0.f, 1.f, 1.f}).reshape({1, 4, 2});
  auto onsets = torch::tensor({1.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 1.f}).reshape({1, 4, 2});
  qs::ModelOutput out{torch::zeros({1, 4, 2}), torch::linspace(-2.f, 2.f, 8).reshape({1, 4, 2})};
  const double plain = qs::transcription_loss(out, frames, onsets, qs::LossWeights{5.0}).item<double>();
  EXPECT_DOUBLE_EQ(qs::transcription_loss(out, frames, onsets, qs::LossWeights{5.0, 1.0}).item<double>(), plain);
  // The re-strike's onset term alone, as the mean over the 8 cells adds it: pos_weight * softplus(-x).
  const double x = out.onset_logits[0][2][0].item<double>();
  const double restrike_term = 5.0 * std::log1p(std::exp(-x)) / 8.0;
  EXPECT_NEAR(qs::transcription_loss(out, frames, onsets, qs::LossWeights{5.0, 3.0}).item<double>(), plain + 2.0 * restrike_term, 1e-6);
  // Frame 0's onset (no frame before it in the window) and pitch 1's fresh onset are not re-strikes.
  auto fresh_only = onsets.clone();
  fresh_only[0][2][0] = 0.f;
  EXPECT_NEAR(qs::transcription_loss(out, frames, fresh_only, qs::LossWeights{5.0, 3.0}).item<double>(),
              qs::transcription_loss(out, frames, fresh_only, qs::LossWeights{5.0}).item<double>(), 1e-7);
}

TEST(TranscriptionLoss, OctaveWeightScalesOnlySilentCellsAnOctaveFromASoundingPitch) {
  // One frame, 26 pitches: pitch 12 sounds (and starts). Pitches 0 and 24 are an octave below and
  // above it and silent; every other cell is silent and no octave from anything.
  auto frames = torch::zeros({1, 1, 26});
  frames[0][0][12] = 1.f;
  auto onsets = frames.clone();
  qs::ModelOutput out{torch::linspace(-1.f, 1.f, 26).reshape({1, 1, 26}), torch::linspace(1.f, -1.f, 26).reshape({1, 1, 26})};
  const double plain = qs::transcription_loss(out, frames, onsets, qs::LossWeights{5.0}).item<double>();
  EXPECT_DOUBLE_EQ(qs::transcription_loss(out, frames, onsets, qs::LossWeights{5.0, 1.0, 1.0}).item<double>(), plain);
  // A silent cell's terms, as the means over 26 cells add them: softplus(x) for frame and onset.
  auto silent_term = [&](int p) {
    return (std::log1p(std::exp(out.frame_logits[0][0][p].item<double>())) +
            std::log1p(std::exp(out.onset_logits[0][0][p].item<double>()))) / 26.0;
  };
  EXPECT_NEAR(qs::transcription_loss(out, frames, onsets, qs::LossWeights{5.0, 1.0, 4.0}).item<double>(),
              plain + 3.0 * (silent_term(0) + silent_term(24)), 1e-6);
  // The sounding pitch itself is not weighted: with it silent, nothing is an octave from anything.
  auto none = torch::zeros_like(frames);
  EXPECT_NEAR(qs::transcription_loss(out, none, none, qs::LossWeights{5.0, 1.0, 4.0}).item<double>(),
              qs::transcription_loss(out, none, none, qs::LossWeights{5.0}).item<double>(), 1e-7);
}

TEST(TranscriptionLoss, PartialWeightScalesOnlySoundingPitchesASemitoneFromALowerPitchsHarmonics) {
  // Two frames, 40 pitches. The bass, pitch 3 (harmonics at 15, 22 and 27), sounds in both, and so
  // do pitch 9 (a tritone above it) and pitch 15 (its octave: a doubling, on the harmonic itself).
  // Pitch 14 (the major seventh, a semitone under the 2nd harmonic) starts in frame 0 and sounds
  // on; pitch 23 (a semitone over the 3rd harmonic) sounds in frame 1 only, without an onset.
  // Only 14 and 23 are weighted: no other pair of them is 11, 13, 18, 20, 23 or 25 apart.
  auto frames = torch::zeros({1, 2, 40});
  for (int t = 0; t < 2; ++t) frames[0][t][3] = frames[0][t][9] = frames[0][t][14] = frames[0][t][15] = 1.f;
  frames[0][1][23] = 1.f;
  auto onsets = torch::zeros_like(frames);
  onsets[0][0][3] = onsets[0][0][9] = onsets[0][0][14] = onsets[0][0][15] = 1.f;
  qs::ModelOutput out{torch::linspace(-1.f, 1.f, 80).reshape({1, 2, 40}), torch::linspace(1.f, -1.f, 80).reshape({1, 2, 40})};
  const double plain = qs::transcription_loss(out, frames, onsets, qs::LossWeights{5.0}).item<double>();
  EXPECT_DOUBLE_EQ(qs::transcription_loss(out, frames, onsets, qs::LossWeights{5.0, 1.0, 1.0, 1.0}).item<double>(), plain);
  // A sounding cell's frame term and a starting cell's onset term, as the means over 80 cells add them.
  auto frame_term = [&](int t, int p) { return std::log1p(std::exp(-out.frame_logits[0][t][p].item<double>())) / 80.0; };
  auto onset_term = [&](int t, int p) { return 5.0 * std::log1p(std::exp(-out.onset_logits[0][t][p].item<double>())) / 80.0; };
  const double weighted = frame_term(0, 14) + frame_term(1, 14) + frame_term(1, 23) + onset_term(0, 14);
  EXPECT_NEAR(qs::transcription_loss(out, frames, onsets, qs::LossWeights{5.0, 1.0, 1.0, 3.0}).item<double>(),
              plain + 2.0 * weighted, 1e-6);
  // Alone, the bass is nobody's neighbour: nothing is weighted.
  auto bass = torch::zeros_like(frames);
  bass[0][0][3] = 1.f;
  EXPECT_NEAR(qs::transcription_loss(out, bass, bass, qs::LossWeights{5.0, 1.0, 1.0, 3.0}).item<double>(),
              qs::transcription_loss(out, bass, bass, qs::LossWeights{5.0}).item<double>(), 1e-7);
}
