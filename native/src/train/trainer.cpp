#include "train/trainer.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "cli/progress.hpp"
#include "model/ensemble.hpp"
#include "qscribe/atomic_file.hpp"
#include "qscribe/error.hpp"
#include "qscribe/json_fields.hpp"
#include "qscribe/model_config.hpp"
#include "qscribe/piano_roll.hpp"
#include "train/spectral_eq.hpp"
#include "train/svg_chart.hpp"

namespace qs {

namespace fs = std::filesystem;

// ---- sources -------------------------------------------------------------------------------

std::size_t PieceSource::total_frames() const {
  std::size_t n = 0;
  for (const auto& p : info().pieces) n += p.n_frames;
  return n;
}

DatasetSource::DatasetSource(const std::string& dir) : ds_(std::make_shared<Dataset>(dir)) {
  info_ = ds_->info();
  for (std::size_t i = 0; i < info_.pieces.size(); ++i) map_.push_back(i);
}

DatasetSource::DatasetSource(std::shared_ptr<const Dataset> ds, std::vector<std::size_t> pieces)
    : ds_(std::move(ds)), map_(std::move(pieces)) {
  info_ = ds_->info();
  info_.pieces.clear();
  for (std::size_t i : map_) info_.pieces.push_back(ds_->piece(i));
}

void DatasetSource::read(std::size_t p, std::size_t start, std::size_t n, float* cqt, float* fr, float* on) const {
  ds_->read(map_.at(p), start, n, cqt, fr, on);
}

NoteList DatasetSource::notes(std::size_t p) const { return ds_->notes(map_.at(p)); }

MemorySource::MemorySource(DatasetInfo info) : info_(std::move(info)) { info_.pieces.clear(); }

void MemorySource::add_piece(const std::string& name, std::vector<float> cqt, std::size_t n_frames,
                             const NoteList& notes) {
  const auto bins = static_cast<std::size_t>(info_.features.n_bins);
  if (cqt.size() != n_frames * bins) throw Error("MemorySource: cqt size does not match n_frames x n_bins");
  const RollLayout layout = info_.only_note_names ? RollLayout::note_names()
                                                  : RollLayout{info_.lowest_pitch, static_cast<std::size_t>(info_.n_notes), false};
  const double rate = info_.features.frame_rate();
  PianoRoll fr = notes_to_frame_roll(notes, n_frames, rate, layout);
  PianoRoll on = notes_to_onset_roll(notes, n_frames, rate, layout);
  PieceInfo pi;
  pi.name = name;
  pi.n_frames = n_frames;
  pi.offset = total_frames();
  info_.pieces.push_back(pi);
  cqt_.push_back(std::move(cqt));
  frames_.push_back(std::move(fr.data));
  onsets_.push_back(std::move(on.data));
  notes_.push_back(notes);
}

void MemorySource::read(std::size_t p, std::size_t start, std::size_t n, float* cqt, float* fr, float* on) const {
  const std::size_t total = info_.pieces.at(p).n_frames;
  const auto bins = static_cast<std::size_t>(info_.features.n_bins), notes = static_cast<std::size_t>(info_.n_notes);
  const std::size_t have = start < total ? std::min(n, total - start) : 0;
  auto copy = [&](float* dst, const std::vector<float>& src, std::size_t width) {
    if (!dst) return;
    if (have) std::memcpy(dst, src.data() + start * width, have * width * sizeof(float));
    std::fill(dst + have * width, dst + n * width, 0.0f);
  };
  copy(cqt, cqt_[p], bins);
  copy(fr, frames_[p], notes);
  copy(on, onsets_[p], notes);
}

void split_pieces(std::size_t n, double fraction, std::uint64_t seed, std::vector<std::size_t>& train,
                  std::vector<std::size_t>& val) {
  train.clear();
  val.clear();
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed ^ 0x5eed5a1117ULL);
  std::shuffle(order.begin(), order.end(), rng);
  std::size_t n_val = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
  if (fraction > 0 && n >= 2) n_val = std::clamp<std::size_t>(n_val, 1, n - 1);
  if (n < 2) n_val = 0;
  val.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_val));
  train.assign(order.begin() + static_cast<std::ptrdiff_t>(n_val), order.end());
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());
}

// ---- misc ----------------------------------------------------------------------------------

double peak_rss_mb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

std::atomic<bool>& interrupt_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {
volatile std::sig_atomic_t g_interrupts = 0;
void on_sigint(int) {
  g_interrupts = g_interrupts + 1;
  interrupt_flag().store(true);
  if (g_interrupts >= 2) {  // a second Ctrl-C: stop now
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
}
}  // namespace

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// 1 where an onset label falls on a pitch whose frame label is on in the frame before, else 0.
static at::Tensor restrike_mask(const at::Tensor& frames, const at::Tensor& onsets) {
  at::Tensor before = torch::zeros_like(frames);
  const int64_t T = frames.size(1);
  if (T > 1) before.narrow(1, 1, T - 1).copy_(frames.narrow(1, 0, T - 1));
  return onsets * before;
}

// Pitch p of the result holds pitch p - d of `frames` (d > 0: the pitch d below; d < 0: the pitch
// |d| above), 0 where that pitch is off the range.
static at::Tensor pitch_shifted(const at::Tensor& frames, int64_t d) {
  const int64_t P = frames.size(2), n = std::abs(d);
  if (n >= P) return torch::zeros_like(frames);
  return d > 0 ? at::constant_pad_nd(frames.narrow(2, 0, P - n), {n, 0})
               : at::constant_pad_nd(frames.narrow(2, n, P - n), {0, n});
}

// 1 where a pitch is silent while the pitch an octave above or below it sounds, else 0: the
// cells where a model that hears a harmonic as a note writes an octave error.
static at::Tensor octave_mask(const at::Tensor& frames) {
  return torch::max(pitch_shifted(frames, -12), pitch_shifted(frames, 12)) * (1.0 - frames);
}

// 1 where a pitch sounds a semitone beside the 2nd, 3rd or 4th harmonic (12, 19 or 24 semitones
// up) of a lower sounding pitch, else 0: true notes that a louder partial of another hides (a
// major seventh or minor ninth over the bass). The harmonics themselves (octave doublings) are
// left out: weighting them doubled the octave errors (docs/training.md, chain I).
static at::Tensor partial_mask(const at::Tensor& frames) {
  at::Tensor hidden = torch::zeros_like(frames);
  for (const int64_t harmonic : {12, 19, 24})
    for (const int64_t d : {harmonic - 1, harmonic + 1}) hidden = torch::max(hidden, pitch_shifted(frames, d));
  return hidden * frames;
}

// The product of the defined weights; undefined when none is.
static at::Tensor product(std::initializer_list<at::Tensor> weights) {
  at::Tensor w;
  for (const at::Tensor& x : weights)
    if (x.defined()) w = w.defined() ? w * x : x;
  return w;
}

at::Tensor transcription_loss(const ModelOutput& out, const at::Tensor& frames, const at::Tensor& onsets,
                              const LossWeights& lw) {
  namespace F = torch::nn::functional;
  auto frame_opts = F::BinaryCrossEntropyWithLogitsFuncOptions();
  auto opts = F::BinaryCrossEntropyWithLogitsFuncOptions();
  // Each extra weight is 1 + (w - 1) x its mask; left undefined (no tensor work) when w is 1.
  auto weight = [](double w, const at::Tensor& mask) { return 1.0 + (w - 1.0) * mask; };
  at::Tensor octave, partial, partial_onset, restrike;
  if (lw.octave != 1.0) octave = weight(lw.octave, octave_mask(frames));
  if (lw.partial != 1.0) {
    const at::Tensor mask = partial_mask(frames);
    partial = weight(lw.partial, mask);
    partial_onset = weight(lw.partial, mask * onsets);  // the onset term only where the note starts
  }
  if (lw.restrike != 1.0) restrike = weight(lw.restrike, restrike_mask(frames, onsets));
  // The octave mask is on silent cells and the partial mask on sounding ones, so their product
  // weighs each cell by its own weight.
  if (const at::Tensor fw = product({octave, partial}); fw.defined()) frame_opts = frame_opts.weight(fw);
  auto frame_loss = F::binary_cross_entropy_with_logits(out.frame_logits, frames, frame_opts);
  if (lw.onset_pos != 1.0)
    opts = opts.pos_weight(torch::full({out.onset_logits.size(-1)}, lw.onset_pos, out.onset_logits.options()));
  if (const at::Tensor w = product({restrike, octave, partial_onset}); w.defined()) opts = opts.weight(w);
  auto onset_loss = F::binary_cross_entropy_with_logits(out.onset_logits, onsets, opts);
  return frame_loss + onset_loss;
}

nlohmann::json EpochStats::to_json() const {
  nlohmann::json acc = nlohmann::json::object();
  for (const auto& [k, a] : exact_accuracy) acc[std::to_string(k)] = a;
  return {{"epoch", epoch}, {"train_loss", train_loss}, {"val_loss", val_loss}, {"exact_accuracy", acc},
          {"frame_f1", frame_f1}, {"note_f1", note_f1}, {"note_precision", note_precision},
          {"note_recall", note_recall}, {"samples_per_s", samples_per_s}, {"frames_per_s", frames_per_s},
          {"epoch_seconds", epoch_seconds}, {"step_ms", step_ms}, {"peak_rss_mb", peak_rss_mb}, {"steps", steps}, {"lr", lr}};
}

// Strict: a resumed run's curves and its choice of best epoch depend on this history.
EpochStats EpochStats::from_json(const qs::JsonFields& f) {
  constexpr double kBig = 1e300;
  EpochStats s;
  f.integer("epoch", s.epoch, false, 0, 1 << 30);
  f.number("train_loss", s.train_loss, false, 0, kBig);
  f.number("val_loss", s.val_loss, false, -1, kBig);
  if (const nlohmann::json* acc = f.object("exact_accuracy", false)) {
    const qs::JsonFields a = f.nested(*acc, "exact_accuracy");
    for (const auto& item : acc->items()) {
      const std::string& k = item.key();
      if (k.empty() || k.size() > 3 || k.find_first_not_of("0123456789") != std::string::npos)
        a.fail(k, "the key must be a tolerance k of 0 to 999 notes");
      double v = 0;
      a.number(k, v, true, 0, 1);
      s.exact_accuracy.emplace_back(std::stoi(k), v);
    }
  }
  std::sort(s.exact_accuracy.begin(), s.exact_accuracy.end());
  for (auto [key, out] : {std::pair{"frame_f1", &s.frame_f1}, {"note_f1", &s.note_f1},
                          {"note_precision", &s.note_precision}, {"note_recall", &s.note_recall}})
    f.number(key, *out, false, 0, 1);
  for (auto [key, out] : {std::pair{"samples_per_s", &s.samples_per_s}, {"frames_per_s", &s.frames_per_s},
                          {"epoch_seconds", &s.epoch_seconds}, {"step_ms", &s.step_ms},
                          {"peak_rss_mb", &s.peak_rss_mb}, {"lr", &s.lr}})
    f.number(key, *out, false, 0, kBig);
  f.integer("steps", s.steps, false, 0, 1LL << 62);
  return s;
}

// ---- evaluation ----------------------------------------------------------------------------

NoteList fold_reference(NoteList notes, const CheckpointInfo& info) {
  if (!info.only_note_names) return notes;
  for (auto& n : notes) n.pitch = 60 + ((n.pitch % 12) + 12) % 12;
  sort_notes(notes);
  return notes;
}

void check_source_fits_model(const DatasetInfo& di, const CheckpointInfo& info, const std::string& what) {
  check_same_layout(info, di.layout(), "model", what, what + " does not fit the model");
}

namespace {

// One piece through the model's windows (ModelWindows, as `qscribe transcribe` runs them), one
// forward pass per request; with labels, also the summed loss of those windows.
struct PieceRun {
  NoteProbabilities act;
  double loss_sum = 0.0;
  std::size_t windows = 0;
};

PieceRun run_piece(Transcriber& model, const ModelConfig& config, const PieceSource& source, std::size_t p,
                   const InferenceOptions& inf, double onset_pos_weight, bool with_loss) {
  const std::size_t n = source.info().pieces[p].n_frames;
  const auto bins = static_cast<std::size_t>(config.features.n_bins), notes = static_cast<std::size_t>(config.n_notes);
  ModelWindows windows(config, inf);
  const auto W = static_cast<std::size_t>(windows.window());
  // Labels past the end are zero (read() pads), so every window's rows exist.
  std::vector<float> cqt((n + W) * bins), fr, on;
  if (with_loss) {
    fr.resize((n + W) * notes);
    on.resize((n + W) * notes);
  }
  source.read(p, 0, n + W, cqt.data(), with_loss ? fr.data() : nullptr, with_loss ? on.data() : nullptr);
  windows.push(cqt.data(), n);
  windows.finish();
  PieceRun run;
  while (ModelRequest* r = windows.next_request()) {
    const ModelOutput out = forward_request(model, *r, inf.device);
    if (with_loss) {
      const auto B = static_cast<int64_t>(r->batch);
      auto f = torch::empty({B, static_cast<int64_t>(W), static_cast<int64_t>(notes)});
      auto o = torch::empty_like(f);
      for (int64_t b = 0; b < B; ++b) {
        const std::size_t row = r->window_start[static_cast<std::size_t>(b)] * notes;
        std::copy_n(fr.data() + row, W * notes, f.data_ptr<float>() + static_cast<std::size_t>(b) * W * notes);
        std::copy_n(on.data() + row, W * notes, o.data_ptr<float>() + static_cast<std::size_t>(b) * W * notes);
      }
      c10::InferenceMode guard;
      run.loss_sum += transcription_loss(out, f.to(inf.device), o.to(inf.device), LossWeights{onset_pos_weight}).item<double>() *
                      static_cast<double>(B);
      run.windows += static_cast<std::size_t>(B);
    }
    write_outputs(out, *r);
    windows.answer();
  }
  run.act = std::move(windows.probabilities());
  return run;
}

}  // namespace

EvalResult evaluate_source(Transcriber& model, const CheckpointInfo& info, const PieceSource& source,
                           const DecoderParams& decoding, const InferenceOptions& inference, double onset_pos_weight,
                           bool with_loss) {
  const auto& di = source.info();
  check_source_fits_model(di, info, "evaluation data");
  const bool was_training = model->is_training();
  model->eval();
  const ModelConfig config = info.model_config();
  EvalResult r;
  double loss_sum = 0.0;
  std::size_t loss_windows = 0;
  for (std::size_t p = 0; p < source.n_pieces(); ++p) {
    const std::size_t n = source.info().pieces[p].n_frames;
    if (n == 0) continue;
    PieceRun run = run_piece(model, config, source, p, inference, onset_pos_weight, with_loss);
    loss_sum += run.loss_sum;
    loss_windows += run.windows;
    NoteList est = decode_probabilities(run.act, config, decoding);
    NoteList ref = fold_reference(source.notes(p), info);
    const double duration = static_cast<double>(n) / di.features.frame_rate();
    // Reference notes beyond the analysed audio cannot be found: clip like score.py does.
    PieceCounts pc = evaluate_piece(ref, est, duration);
    r.pooled += pc;
    r.pieces.push_back(pc);
    r.names.push_back(source.info().pieces[p].name);
    r.frames += n;
  }
  if (with_loss && loss_windows) r.loss = loss_sum / static_cast<double>(loss_windows);
  if (was_training) model->train();
  return r;
}

// ---- batch loading -------------------------------------------------------------------------

namespace {

struct Example {
  std::uint32_t piece;
  std::uint32_t start;
};

struct Batch {
  int n = 0;
  std::vector<float> cqt, frames, onsets;
};

// Assembles batches [first, last) of `examples` (batch b = examples [b*B, (b+1)*B)) on worker
// threads, at most `ahead` batches ahead of the consumer, handed out strictly in order.
class Loader {
 public:
  // `eq_db` > 0: each window gets random_eq_gains(..., eq_db, hash(eq_seed, its place in the epoch)).
  Loader(const PieceSource& src, const std::vector<Example>& examples, std::vector<std::size_t> batches, int batch_size,
         int T, int workers, double eq_db = 0.0, std::uint64_t eq_seed = 0)
      : src_(src), examples_(examples), batches_(std::move(batches)), B_(batch_size), T_(T), eq_db_(eq_db),
        eq_seed_(eq_seed) {
    ahead_ = static_cast<std::size_t>(std::max(2, 2 * workers));
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }
  ~Loader() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  std::size_t size() const { return batches_.size(); }

  // The i-th batch of the list (i = 0, 1, 2, ... in order).
  Batch get(std::size_t i) {
    if (threads_.empty()) return build(batches_[i]);
    std::unique_lock<std::mutex> lock(mu_);
    consumed_ = i;
    cv_.notify_all();
    cv_.wait(lock, [&] { return ready_.count(i) || !error_.empty(); });
    if (!error_.empty()) throw Error(error_);
    Batch b = std::move(ready_[i]);
    ready_.erase(i);
    consumed_ = i + 1;
    cv_.notify_all();
    return b;
  }

 private:
  Batch build(std::size_t b) const {
    const auto& info = src_.info();
    const std::size_t bins = static_cast<std::size_t>(info.features.n_bins), notes = static_cast<std::size_t>(info.n_notes);
    const std::size_t first = b * static_cast<std::size_t>(B_);
    const std::size_t last = std::min(examples_.size(), first + static_cast<std::size_t>(B_));
    Batch out;
    out.n = static_cast<int>(last - first);
    const std::size_t T = static_cast<std::size_t>(T_);
    out.cqt.resize(out.n * T * bins);
    out.frames.resize(out.n * T * notes);
    out.onsets.resize(out.n * T * notes);
    for (std::size_t e = first; e < last; ++e) {
      const std::size_t k = e - first;
      float* cqt = out.cqt.data() + k * T * bins;
      src_.read(examples_[e].piece, examples_[e].start, T, cqt, out.frames.data() + k * T * notes,
                out.onsets.data() + k * T * notes);
      if (eq_db_ > 0.0) {
        // Seeded by the window's place in the epoch's order, so a resumed epoch replays it.
        const auto g = random_eq_gains(static_cast<int>(bins), 12 * info.features.bins_per_semitone, eq_db_,
                                       (eq_seed_ ^ 0x5851F42D4C957F2DULL) * 0x9E3779B97F4A7C15ULL + e);
        for (std::size_t t = 0; t < T; ++t)
          for (std::size_t f = 0; f < bins; ++f) cqt[t * bins + f] *= g[f];
      }
    }
    return out;
  }

  void work() {
    for (;;) {
      std::size_t i;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || (next_ < batches_.size() && next_ < consumed_ + ahead_); });
        if (stop_) return;
        i = next_++;
      }
      Batch b;
      std::string err;
      try {
        b = build(batches_[i]);
      } catch (const std::exception& e) {
        err = e.what();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!err.empty()) error_ = err;
        else ready_[i] = std::move(b);
      }
      cv_.notify_all();
    }
  }

  const PieceSource& src_;
  const std::vector<Example>& examples_;
  std::vector<std::size_t> batches_;
  int B_, T_;
  double eq_db_ = 0.0;
  std::uint64_t eq_seed_ = 0;
  std::size_t ahead_ = 2, next_ = 0, consumed_ = 0;
  std::map<std::size_t, Batch> ready_;
  std::string error_;
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
};

std::string now_iso() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

void write_text_atomic(const std::string& path, const std::string& text) {
  write_file_atomically(path, text);
}

void write_curves(const std::string& path, const std::vector<EpochStats>& history) {
  std::vector<ChartSeries> loss, acc;
  ChartSeries tl{"train loss", {}}, vl{"validation loss", {}}, ff{"frame F1", {}}, nf{"note F1", {}};
  std::map<int, ChartSeries> exact;
  for (const auto& h : history) {
    tl.points.emplace_back(h.epoch, h.train_loss);
    if (h.val_loss >= 0) {
      vl.points.emplace_back(h.epoch, h.val_loss);
      ff.points.emplace_back(h.epoch, h.frame_f1);
      nf.points.emplace_back(h.epoch, h.note_f1);
      for (const auto& [k, a] : h.exact_accuracy) {
        auto& s = exact[k];
        s.name = "exact-frame accuracy k=" + std::to_string(k);
        s.points.emplace_back(h.epoch, a);
      }
    }
  }
  loss.push_back(tl);
  if (!vl.points.empty()) loss.push_back(vl);
  for (auto& [k, s] : exact) acc.push_back(s);
  if (!ff.points.empty()) acc.push_back(ff);
  if (!nf.points.empty()) acc.push_back(nf);
  std::vector<ChartPanel> panels{{"Loss", "epoch", "BCE loss", loss, false}};
  if (!acc.empty()) panels.push_back({"Validation metrics", "epoch", "score", acc, true});
  write_text_atomic(path, render_svg_chart(panels, "qscribe training curves"));
}

}  // namespace

// ---- training ------------------------------------------------------------------------------

namespace {

// Refuses bad options and incompatible data before anything is created or written. Returns the
// validation source to use: none when it holds no piece.
const PieceSource* check_training_inputs(const TrainOptions& opt, const PieceSource& train, const PieceSource* val) {
  if (opt.out_dir.empty()) throw Error("train: an output directory (--out) is required");
  if (opt.batch_size < 1) throw Error("train: --batch-size must be at least 1");
  if (opt.num_workers < 0) throw Error("train: --num-workers must be >= 0");
  if (!(opt.lr > 0) || !std::isfinite(opt.lr)) throw Error("train: --lr must be a positive number");
  if (opt.epochs < 1) throw Error("train: --epochs must be at least 1");
  if (opt.lr_schedule.kind != "constant" && opt.lr_schedule.kind != "cosine")
    throw Error("train: --lr-schedule must be constant or cosine");
  if (!(opt.lr_schedule.final_fraction > 0 && opt.lr_schedule.final_fraction <= 1))
    throw Error("train: --lr-final must be in (0, 1]");
  if (!(opt.eq_augment_db >= 0.0 && opt.eq_augment_db <= 24.0)) throw Error("train: --eq-augment must be in [0, 24] dB");
  if (!(opt.lr_schedule.decay_start_epoch >= 0) || opt.lr_schedule.decay_start_epoch >= opt.epochs)
    throw Error("train: --lr-decay-start must be at least 0 and below --epochs");
  for (int k : opt.allowed_errors)
    if (k < 0 || k > 128) throw Error("train: --allowed-errors values must be 0..128");
  if (train.n_pieces() == 0 || train.total_frames() == 0) throw Error("train: the training data holds no frames");
  if (!opt.partner.empty() && !(opt.partner_weight > 0 && opt.partner_weight < 1))
    throw Error("train: --partner-weight must be in (0, 1)");
  if (!val) return nullptr;
  const DatasetInfo &di = train.info(), &vi = val->info();
  check_same_layout(di.layout(), vi.layout(), "training data", "validation data",
                    "train: the validation data was preprocessed with other features or notes than the training data");
  return val->n_pieces() == 0 ? nullptr : val;
}

// The frozen partner of --partner: one network (not an ensemble) on the data's features and notes.
Transcriber load_partner(const TrainOptions& opt, const DatasetInfo& di, torch::Device device) {
  if (opt.partner.empty()) return nullptr;
  LoadedCheckpoint ck = load_checkpoint(opt.partner);
  check_same_layout(ck.info, di.layout(), "partner", "data",
                    "train --partner: " + opt.partner + " was trained on other features or notes than this data");
  if (ck.model->is_ensemble())
    throw Error("train --partner: " + opt.partner + " is an ensemble; give one network (qscribe export --drop-members)");
  ck.model->to(device);
  ck.model->eval();
  for (auto& p : ck.model->parameters()) p.set_requires_grad(false);
  return ck.model;
}

torch::Device training_device(const std::string& name) {
  if (name == "cuda") {
    if (!torch::cuda::is_available())
      throw Error("train: --device cuda: no CUDA device is available to this LibTorch build");
    return torch::Device(torch::kCUDA, 0);
  }
  if (name != "cpu") throw Error("train: --device must be cpu or cuda");
  return torch::Device(torch::kCPU);
}

// The files of a run in OUT.
struct RunFiles {
  std::string checkpoint, best, log, curves;
  explicit RunFiles(const std::string& out)
      : checkpoint((fs::path(out) / "checkpoint.pt").string()),
        best((fs::path(out) / "best.pt").string()),
        log((fs::path(out) / "log.jsonl").string()),
        curves((fs::path(out) / "curves.svg").string()) {}

  // A run killed while writing one of these leaves its temporary file; a rerun may not rewrite
  // that file (best.pt only changes on a better score), so it is cleared at the start.
  void remove_abandoned_temps() const {
    for (const std::string* f : {&checkpoint, &best, &log, &curves}) remove_abandoned_temp(*f);
  }
};

// Where training stands; a checkpoint stores it and --resume restores it.
struct TrainProgress {
  int start_epoch = 0;
  std::size_t start_batch = 0, step = 0;
  std::uint64_t seed = 0;
  std::vector<EpochStats> history;
  double best_score = -1e300;
  int best_epoch = 0;
};

// The model a new run trains, described from the data and the options.
CheckpointInfo model_from_data(const TrainOptions& opt, const DatasetInfo& di) {
  CheckpointInfo info;
  info.hyper = opt.hyper;
  info.hyper.n_bins = di.features.n_bins;
  info.hyper.bins_per_note = di.features.bins_per_semitone;
  info.hyper.n_notes = di.n_notes;
  info.features = di.features;
  info.lowest_pitch = di.lowest_pitch;
  info.n_notes = di.n_notes;
  info.only_note_names = di.only_note_names;
  info.segment_frames = opt.window_frames > 0 ? opt.window_frames : di.segment_frames;
  info.decoding = opt.decoding;
  return info;
}

// An ensemble (model/ensemble.hpp) is for inference: its networks train apart. (--load-weights
// starts from its first network.)
void refuse_ensemble(const LoadedCheckpoint& ck, const std::string& path, const char* option) {
  if (!ck.info.hyper.members.empty())
    throw Error(std::string("train ") + option + ": " + path +
                " is an ensemble of several networks (qscribe export --member); train one of its networks instead");
}

// --resume: the checkpoint's model description (its hyper-parameters, context and decoding win
// over the command line's) and its progress.
void restore_progress(const std::string& ckpt_path, const DatasetInfo& di, CheckpointInfo& info, TrainProgress& p) {
  if (!fs::exists(ckpt_path))
    throw Error("train --resume: " + ckpt_path + " does not exist (nothing to resume; drop --resume to start)");
  LoadedCheckpoint ck = load_checkpoint(ckpt_path);
  refuse_ensemble(ck, ckpt_path, "--resume");
  check_same_layout(ck.info, di.layout(), "checkpoint", "data",
                    "train --resume: " + ckpt_path + " was trained on other features or notes than this data");
  info.hyper = ck.info.hyper;
  info.segment_frames = ck.info.segment_frames;
  info.decoding = ck.info.decoding;
  const nlohmann::json& meta = ck.info.training;
  const qs::JsonFields f(meta, "training", ckpt_path);
  f.integer("epoch", p.start_epoch, false, 0, 1 << 30);
  f.integer("batch_in_epoch", p.start_batch, false, 0, 1LL << 62);
  f.integer("step", p.step, false, 0, 1LL << 62);
  if (const nlohmann::json* seed = f.find("seed")) {  // the full uint64 range, as --seed takes
    if (!seed->is_number_unsigned()) f.fail_got("seed", "must be a non-negative integer", *seed);
    p.seed = seed->get<std::uint64_t>();
  }
  if (const nlohmann::json* history = f.array("history", false)) {
    const qs::JsonFields h = f.nested(*history, "history");
    for (std::size_t i = 0; i < history->size(); ++i) {
      const std::string at = std::to_string(i);
      if (!(*history)[i].is_object()) h.fail(at, "must be an object");
      p.history.push_back(EpochStats::from_json(h.nested((*history)[i], at)));
    }
  }
  if (const nlohmann::json* best = f.object("best", false)) {
    const qs::JsonFields b = f.nested(*best, "best");
    b.number("score", p.best_score, false, -1e300, 1e300);
    b.integer("epoch", p.best_epoch, false, 0, 1 << 30);
  }
}

// The starting weights of a resumed run or of --load-weights. (Loading builds a model, which draws
// from the torch generator: it stays after the new model's construction, as the runs depend on it.)
void load_starting_weights(Transcriber& model, const TrainOptions& opt, const DatasetInfo& di, const std::string& ckpt_path) {
  if (opt.resume) {
    LoadedCheckpoint ck = load_checkpoint(ckpt_path);
    copy_weights(model, ck.model);
    return;
  }
  if (opt.init_weights.empty()) return;
  LoadedCheckpoint ck = load_checkpoint(opt.init_weights);
  ModelConfig from = ck.info;
  if (opt.new_front_end) {  // other kernels over the same bins: the network learns their spectra from here
    from.features.filter_scale = di.layout().features.filter_scale;
    from.features.future_fraction = di.layout().features.future_fraction;
  }
  check_same_layout(from, di.layout(), "checkpoint", "data",
                    "train --load-weights: " + opt.init_weights + " was trained on other features or notes than this data");
  if (ck.model->is_ensemble()) {  // e.g. the shipped model: its networks train apart
    ck.model = first_network(ck.model);
    std::fprintf(stderr, "train --load-weights: %s is an ensemble: starting from its first network\n",
                 opt.init_weights.c_str());
  }
  try {
    copy_weights(model, ck.model);
  } catch (const Error&) {
    // A smaller model of the same family grows into the requested one, keeping its outputs.
    const struct {
      bool (*grow)(Transcriber&, Transcriber&);
      const char* what;
    } growths[] = {{copy_weights_adding_harmonics, "has no harmonic stacking: the new channels start at zero"},
                   {copy_weights_deepening, "has fewer Transformer layers: the new ones start as identities"},
                   {copy_weights_widening, "has fewer frequency-convolution channels (--c): the new ones start unconnected"}};
    for (const auto& g : growths)
      if (g.grow(model, ck.model)) {
        std::fprintf(stderr, "train --load-weights: %s %s\n", opt.init_weights.c_str(), g.what);
        return;
      }
    throw Error("train --load-weights: " + opt.init_weights +
                " has other model hyper-parameters (--n-layers, --embed-dim, --harmonics, ...) than requested"
                " (a model grows into one with more --c channels, more --n-layers or --harmonics, one at a time)");
  }
}

// Output biases start at the log-odds of the label rates (a note sounds in ~1-3 % of the cells,
// starts in far fewer): the model then does not spend its first epochs learning to say "silent"
// everywhere before it learns pitch. The rates come from up to 2e6 cells, every 4th window.
void init_output_biases(Transcriber& model, const PieceSource& train, int T, double onset_pos_weight) {
  const std::size_t nn = static_cast<std::size_t>(train.info().n_notes);
  double fsum = 0, osum = 0, cells = 0;
  std::vector<float> fr(static_cast<std::size_t>(T) * nn), on(fr.size());
  for (std::size_t p = 0; p < train.n_pieces() && cells < 2e6; ++p) {
    const std::size_t n = train.info().pieces[p].n_frames;
    for (std::size_t s = 0; s < n && cells < 2e6; s += static_cast<std::size_t>(T) * 4) {
      train.read(p, s, static_cast<std::size_t>(T), nullptr, fr.data(), on.data());
      for (std::size_t i = 0; i < fr.size(); ++i) {
        fsum += fr[i];
        osum += on[i];
      }
      cells += static_cast<double>(fr.size());
    }
  }
  if (cells <= 0) return;
  auto logit = [](double rate) {
    rate = std::clamp(rate, 1e-4, 0.5);
    return std::log(rate / (1.0 - rate));
  };
  torch::NoGradGuard ng;
  model->frame_head[2]->as<torch::nn::Linear>()->bias.fill_(logit(fsum / cells));
  model->onset_head[2]->as<torch::nn::Linear>()->bias.fill_(logit(osum / cells * onset_pos_weight));
}

// Examples: windows on the context grid of every piece.
std::vector<Example> training_windows(const PieceSource& train, int T) {
  std::vector<Example> all;
  for (std::size_t p = 0; p < train.n_pieces(); ++p) {
    const std::size_t n = train.info().pieces[p].n_frames;
    for (std::size_t s = 0; s < n; s += static_cast<std::size_t>(T))
      all.push_back({static_cast<std::uint32_t>(p), static_cast<std::uint32_t>(s)});
  }
  return all;
}

// One rank's share of an epoch's batches, capped by --max-batches.
std::size_t count_steps_per_epoch(std::size_t n_examples, const TrainOptions& opt, int world_size) {
  const std::size_t n_batches_global = (n_examples + static_cast<std::size_t>(opt.batch_size) - 1) / opt.batch_size;
  std::size_t steps = n_batches_global / static_cast<std::size_t>(world_size);
  if (steps == 0)
    throw Error("train: too little data for " + std::to_string(world_size) + " ranks (" +
                std::to_string(n_batches_global) + " batches)");
  if (opt.max_batches > 0) steps = std::min(steps, opt.max_batches);
  return steps;
}

// A training batch as tensors on the device.
struct BatchTensors {
  torch::Tensor cqt, frames, onsets;
};

BatchTensors to_tensors(Batch& b, int T, std::size_t bins, std::size_t notes, const torch::Device& device) {
  const int64_t n = b.n;
  BatchTensors t{torch::from_blob(b.cqt.data(), {n, T, static_cast<int64_t>(bins)}).to(device),
                 torch::from_blob(b.frames.data(), {n, T, static_cast<int64_t>(notes)}).to(device),
                 torch::from_blob(b.onsets.data(), {n, T, static_cast<int64_t>(notes)}).to(device)};
  if (device.is_cpu()) {  // from_blob does not own: keep the batch alive by cloning
    t.cqt = t.cqt.clone();
    t.frames = t.frames.clone();
    t.onsets = t.onsets.clone();
  }
  return t;
}

// Sums over one rank's batches of an epoch.
struct EpochTotals {
  double loss_sum = 0.0;
  std::size_t loss_count = 0, samples = 0;
};

// One training run: the model, its optimiser and progress, and the steps of an epoch.
class Trainer {
 public:
  Trainer(const TrainOptions& opt, const PieceSource& train, const PieceSource* val)
      : opt_(opt), train_(train), val_(check_training_inputs(opt, train, val)), device_(training_device(opt.device)),
        torch_threads_(set_torch_threads(opt.threads)), dist_(opt.dist), main_rank_(dist_.rank() == 0), files_(opt.out_dir),
        info_(model_from_data(opt, train.info())), partner_(load_partner(opt, train.info(), device_)) {
    fs::create_directories(opt.out_dir);
    if (main_rank_) files_.remove_abandoned_temps();
    progress_.seed = opt.seed;
    if (opt.resume) restore_progress(files_.checkpoint, train.info(), info_, progress_);
    info_.hyper.validate();
    T_ = info_.segment_frames;
  }

  TrainResult run() {
    Transcriber model = build_model();
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(opt_.lr));
    if (opt_.resume) load_training_state(files_.checkpoint, optimizer, device_);  // the rate is set before every step
    windows_ = training_windows(train_, T_);
    steps_per_epoch_ = count_steps_per_epoch(windows_.size(), opt_, dist_.world_size());
    if (main_rank_ && opt_.resume) rewrite_log();
    if (main_rank_ && opt_.verbose) print_summary(model);

    TrainResult result;
    result.checkpoint = files_.checkpoint;
    lr_now_ = scheduled_lr(opt_.lr_schedule, opt_.lr, progress_.step, steps_per_epoch_, opt_.epochs);
    for (int epoch = progress_.start_epoch; epoch < opt_.epochs; ++epoch) {
      const auto t0 = std::chrono::steady_clock::now();
      EpochTotals totals;
      if (!train_epoch(model, optimizer, epoch, totals)) {
        result.interrupted = true;
        result.history = progress_.history;
        return result;
      }
      EpochStats st = epoch_stats(epoch, totals, t0);
      if (val_) validate(model, st);
      st.epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      st.peak_rss_mb = peak_rss_mb();
      record_epoch(model, optimizer, epoch, st);
      dist_.barrier();
      if (interrupt_flag().load() && !dist_.active()) {
        result.interrupted = epoch + 1 < opt_.epochs;
        break;
      }
    }
    // Ranks other than 0 write nothing during training; their final weights go to
    // OUT/final-rankR.pt so that a run can be checked for identical weights across ranks.
    if (dist_.active() && !main_rank_)
      save_checkpoint((fs::path(opt_.out_dir) / ("final-rank" + std::to_string(dist_.rank()) + ".pt")).string(), model,
                      meta(static_cast<int>(progress_.history.size()), 0));
    result.history = progress_.history;
    return result;
  }

 private:
  // Sets LibTorch's threads (0: all cores) in the member initialisers, where the original order of
  // the setup steps (before the distributed context) is kept; returns the count set.
  static int set_torch_threads(int threads) {
    const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(n);
    return n;
  }

  // The model seeded, with its starting weights and biases, on the device and equal on all ranks.
  Transcriber build_model() {
    torch::manual_seed(progress_.seed);
    Transcriber model(info_.hyper);
    load_starting_weights(model, opt_, train_.info(), files_.checkpoint);
    if (!opt_.resume && opt_.init_weights.empty()) init_output_biases(model, train_, T_, opt_.loss.onset_pos);
    model->to(device_);
    model->train();
    auto params = model->parameters();
    std::vector<at::Tensor> ps(params.begin(), params.end());
    dist_.broadcast(ps, 0);
    return model;
  }

  // The checkpoint's metadata after `epochs_done` epochs and `batch_in_epoch` batches of the next.
  CheckpointInfo meta(int epochs_done, std::size_t batch_in_epoch) const {
    CheckpointInfo c = info_;
    nlohmann::json hist = nlohmann::json::array();
    for (const auto& h : progress_.history) hist.push_back(h.to_json());
    nlohmann::json acc = nlohmann::json::array();
    for (int k : opt_.allowed_errors) acc.push_back(k);
    c.training = {{"epoch", epochs_done},
                  {"batch_in_epoch", batch_in_epoch},
                  {"step", progress_.step},
                  {"seed", progress_.seed},
                  {"date", now_iso()},
                  {"data", opt_.provenance},
                  {"options",
                   {{"batch_size", opt_.batch_size}, {"lr", opt_.lr}, {"epochs", opt_.epochs},
                    {"lr_schedule", opt_.lr_schedule.kind}, {"lr_decay_start", opt_.lr_schedule.decay_start_epoch},
                    {"lr_final", opt_.lr_schedule.final_fraction},
                    {"window_frames", T_}, {"onset_pos_weight", opt_.loss.onset_pos},
                    {"restrike_weight", opt_.loss.restrike}, {"octave_weight", opt_.loss.octave},
                    {"partial_weight", opt_.loss.partial},
                    {"grad_clip", opt_.grad_clip}, {"eq_augment_db", opt_.eq_augment_db}, {"init_weights", opt_.init_weights},
                    {"partner", opt_.partner}, {"partner_weight", opt_.partner.empty() ? 0.0 : opt_.partner_weight}, {"allowed_errors", acc}, {"world_size", dist_.world_size()}}},
                  {"history", hist},
                  {"best", {{"epoch", progress_.best_epoch}, {"score", progress_.best_score}}}};
    return c;
  }

  void rewrite_log() const {
    std::string text;
    for (const auto& h : progress_.history) text += h.to_json().dump() + "\n";
    write_text_atomic(files_.log, text);  // the checkpoint's history is authoritative
  }

  void print_summary(const Transcriber& model) const {
    const ModelHyper& h = info_.hyper;
    const std::string notes_attention =
        h.freq_layers > 0 ? ", note attention " + std::to_string(h.freq_layers) + " layers x " +
                                std::to_string(h.freq_heads) + " heads, d " + std::to_string(h.freq_dim)
                          : std::string();
    std::string harmonics;
    for (double x : h.harmonics) {
      char v[32];
      std::snprintf(v, sizeof v, "%g", x);
      harmonics += (harmonics.empty() ? ", harmonics " : "/") + std::string(v);
    }
    const std::string ranks =
        dist_.active() ? ", " + std::to_string(dist_.world_size()) + " ranks (" + dist_.backend() + ")" : "";
    const std::string resuming =
        opt_.resume ? ", resuming after epoch " + std::to_string(progress_.start_epoch) +
                          (progress_.start_batch ? " + " + std::to_string(progress_.start_batch) + " batches" : std::string())
                    : "";
    std::printf("model: %lld parameters (embed %d, %d layers x %d heads x %d, c %d%s); context %d frames (%.2f s); "
                "%zu training windows, %zu steps/epoch, %d threads%s%s\n",
                static_cast<long long>(model->parameter_count()), h.embed_dim, h.n_layers, h.n_heads, h.head_dim, h.c,
                (notes_attention + harmonics).c_str(), T_, T_ / train_.info().features.frame_rate(), windows_.size(),
                steps_per_epoch_, torch::get_num_threads(), ranks.c_str(), resuming.c_str());
    std::fflush(stdout);
  }

  // Trains one epoch (from the saved batch when it is the resumed one). Returns false when
  // interrupted mid-epoch, after saving a checkpoint to resume from.
  bool train_epoch(Transcriber& model, torch::optim::Adam& optimizer, int epoch, EpochTotals& totals) {
    // The epoch's order depends only on (seed, epoch): resuming replays it exactly.
    std::vector<Example> examples = windows_;
    std::mt19937_64 rng(progress_.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(epoch) + 1);
    std::shuffle(examples.begin(), examples.end(), rng);
    const std::size_t first = epoch == progress_.start_epoch ? progress_.start_batch : 0;
    std::vector<std::size_t> my_batches;
    for (std::size_t s = first; s < steps_per_epoch_; ++s)
      my_batches.push_back(s * static_cast<std::size_t>(dist_.world_size()) + static_cast<std::size_t>(dist_.rank()));

    Loader loader(train_, examples, my_batches, opt_.batch_size, T_, opt_.num_workers, opt_.eq_augment_db,
                  progress_.seed * 0x2545F4914F6CDD1DULL + static_cast<std::uint64_t>(epoch));
    cli::ProgressBar bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt_.epochs), my_batches.size(),
                         "batches", opt_.progress && main_rank_);
    for (std::size_t i = 0; i < my_batches.size(); ++i) {
      Batch b = loader.get(i);
      train_step(model, optimizer, b, epoch, my_batches[i]);
      totals.samples += static_cast<std::size_t>(b.n);
      totals.loss_sum += last_loss_;
      ++totals.loss_count;
      bar.add();
      char suffix[64];
      std::snprintf(suffix, sizeof suffix, "loss %.4f", totals.loss_sum / totals.loss_count);
      bar.set_suffix(suffix);
      if (stop_requested() && i + 1 < my_batches.size()) {
        if (main_rank_) {
          bar.finish();
          save_checkpoint(files_.checkpoint, model, meta(epoch, first + i + 1), &optimizer, true);
        }
        return false;
      }
    }
    return true;
  }

  // One optimiser step on a batch; a non-finite loss on any rank stops training.
  void train_step(Transcriber& model, torch::optim::Adam& optimizer, Batch& b, int epoch, std::size_t batch) {
    const BatchTensors t = to_tensors(b, T_, static_cast<std::size_t>(train_.info().features.n_bins),
                                      static_cast<std::size_t>(train_.info().n_notes), device_);
    optimizer.zero_grad();
    lr_now_ = scheduled_lr(opt_.lr_schedule, opt_.lr, progress_.step, steps_per_epoch_, opt_.epochs);
    for (auto& g : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr_now_);
    auto out = with_partner(model->forward(t.cqt), t.cqt);
    auto loss = transcription_loss(out, t.frames, t.onsets, opt_.loss);
    last_loss_ = loss.item<double>();
    check_loss(epoch, batch);
    loss.backward();
    if (dist_.active()) {
      std::vector<at::Tensor> grads;
      for (auto& p : model->parameters())
        if (p.grad().defined()) grads.push_back(p.grad());
      dist_.all_reduce_mean(grads);
    }
    if (opt_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), opt_.grad_clip);
    optimizer.step();
    ++progress_.step;
  }

  // The training network's output mixed with the frozen partner's, as the ensemble will mix them.
  ModelOutput with_partner(ModelOutput own, const torch::Tensor& cqt) const {
    if (!partner_) return own;
    Transcriber partner = partner_;
    ModelOutput p;
    {
      torch::NoGradGuard ng;
      p = partner->forward(cqt);
    }
    return mean_probability_output({p, own}, {1.0 - opt_.partner_weight, opt_.partner_weight});
  }

  void check_loss(int epoch, std::size_t batch) {
    const double lv = last_loss_;
    double flags = std::isfinite(lv) ? 0.0 : 1.0;
    if (dist_.active()) flags = dist_.all_reduce_sum({flags})[0];
    if (flags <= 0) return;
    throw Error("loss became " + std::string(std::isnan(lv) ? "NaN" : (std::isfinite(lv) ? "non-finite on another rank" : "infinite")) +
                " at epoch " + std::to_string(epoch + 1) + ", batch " + std::to_string(batch + 1) +
                ": training diverged, no checkpoint was written for this epoch" +
                (fs::exists(files_.checkpoint) ? " (the last good one is " + files_.checkpoint + ")" : "") +
                "; try a lower --lr (now " + std::to_string(opt_.lr) + ")");
  }

  // Ctrl-C on this rank, or on any rank when training together.
  bool stop_requested() {
    bool want_stop = interrupt_flag().load();
    if (dist_.active()) want_stop = dist_.all_reduce_sum({want_stop ? 1.0 : 0.0})[0] > 0;
    return want_stop;
  }

  // The epoch's training figures, summed over the ranks.
  EpochStats epoch_stats(int epoch, const EpochTotals& totals, std::chrono::steady_clock::time_point t0) {
    const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EpochStats st;
    st.epoch = epoch + 1;
    std::vector<double> sums{totals.loss_sum, static_cast<double>(totals.loss_count), static_cast<double>(totals.samples)};
    if (dist_.active()) sums = dist_.all_reduce_sum(sums);
    st.train_loss = sums[1] > 0 ? sums[0] / sums[1] : 0.0;
    st.samples_per_s = train_seconds > 0 ? sums[2] / train_seconds : 0.0;
    st.frames_per_s = st.samples_per_s * T_;
    st.steps = totals.loss_count;
    st.step_ms = totals.loss_count > 0 ? 1000.0 * train_seconds / static_cast<double>(totals.loss_count) : 0.0;
    st.lr = lr_now_;
    return st;
  }

  void validate(Transcriber& model, EpochStats& st) const {
    InferenceOptions inf = opt_.inference;
    inf.device = device_;
    Transcriber partner = partner_;
    Transcriber mixed = model;
    if (partner) {
      mixed = make_ensemble(partner, {model}, {opt_.partner_weight});  // built on the CPU
      mixed->to(device_);
    }
    EvalResult ev = evaluate_source(mixed, info_, *val_, info_.decoding, inf, opt_.loss.onset_pos, true);
    Scores sc = scores_of(ev.pooled);
    st.val_loss = ev.loss;
    for (int k : opt_.allowed_errors) st.exact_accuracy.emplace_back(k, ev.pooled.exact.exact_accuracy(k));
    st.frame_f1 = sc.frame.f1;
    st.note_f1 = sc.note.f1;
    st.note_precision = sc.note.precision;
    st.note_recall = sc.note.recall;
  }

  // Adds the epoch to the history; rank 0 saves the checkpoints (best.pt when the score
  // improved), the log line and the curves, and prints the epoch's line.
  void record_epoch(Transcriber& model, torch::optim::Adam& optimizer, int epoch, const EpochStats& st) {
    progress_.history.push_back(st);
    const double score = val_ ? st.note_f1 : -st.train_loss;
    const bool improved = score > progress_.best_score;
    if (improved) {
      progress_.best_score = score;
      progress_.best_epoch = st.epoch;
    }
    if (!main_rank_) return;
    CheckpointInfo m = meta(epoch + 1, 0);
    if (improved) save_checkpoint(files_.best, model, m, nullptr, false);
    save_checkpoint(files_.checkpoint, model, m, &optimizer, true);
    {
      std::ofstream log(files_.log, std::ios::app);
      nlohmann::json line = st.to_json();
      line["time"] = now_iso();
      log << line.dump() << "\n";
    }
    write_curves(files_.curves, progress_.history);
    if (opt_.verbose) print_epoch(st, improved);
  }

  void print_epoch(const EpochStats& st, bool improved) const {
    std::string acc;
    for (const auto& [k, a] : st.exact_accuracy) {
      char buf[48];
      std::snprintf(buf, sizeof buf, " acc@%d %.3f", k, a);
      acc += buf;
    }
    if (val_)
      std::printf("epoch %d/%d: lr %.3g, train loss %.4f, val loss %.4f,%s, frame F1 %.3f, note F1 %.3f, "
                  "%.1f samples/s, %.1f s, peak %.0f MiB%s\n",
                  st.epoch, opt_.epochs, st.lr, st.train_loss, st.val_loss, acc.c_str(), st.frame_f1, st.note_f1,
                  st.samples_per_s, st.epoch_seconds, st.peak_rss_mb, improved ? " (best)" : "");
    else
      std::printf("epoch %d/%d: train loss %.4f (no validation data), %.1f samples/s, %.1f s, peak %.0f MiB\n",
                  st.epoch, opt_.epochs, st.train_loss, st.samples_per_s, st.epoch_seconds, st.peak_rss_mb);
    std::fflush(stdout);
  }

  const TrainOptions& opt_;
  const PieceSource& train_;
  const PieceSource* val_;
  torch::Device device_;
  int torch_threads_;
  DistributedContext dist_;
  bool main_rank_;
  RunFiles files_;
  CheckpointInfo info_;
  Transcriber partner_{nullptr};  // --partner, frozen
  TrainProgress progress_;
  int T_ = 0;  // context frames
  std::vector<Example> windows_;
  std::size_t steps_per_epoch_ = 0;
  double lr_now_ = 0.0;
  double last_loss_ = 0.0;
};

}  // namespace

TrainResult train_model(const TrainOptions& opt, const PieceSource& train, const PieceSource* val) {
  return Trainer(opt, train, val).run();
}

}  // namespace qs
