#include "qscribe/cqt.hpp"

#include <kiss_fftr.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "cqt_kernels.hpp"
#include "qscribe/error.hpp"
#include "qscribe/halfband.hpp"

namespace qs {

// ---------------------------------------------------------------------------------------------
// Cqt

Cqt::Cqt(const CqtParams& params)
    : params_(params), kernels_(std::make_shared<const CqtKernels>(build_cqt_kernels(params))) {}

std::size_t Cqt::n_frames(std::size_t n_samples) const {
  // librosa trims all octaves to the shortest: octave at level l holds ceil(n / 2^l) samples.
  std::size_t frames = std::numeric_limits<std::size_t>::max();
  for (const auto& oct : kernels_->octaves) {
    std::size_t len = n_samples;
    for (int l = 0; l < oct.level; ++l) len = (len + 1) / 2;
    frames = std::min(frames, 1 + len / static_cast<std::size_t>(oct.hop));
  }
  return frames;
}

Spectrogram Cqt::transform(const float* samples, std::size_t n) const {
  StreamingCqt stream(*this);
  Spectrogram out;
  out.n_bins = n_bins();
  out.data.reserve(n_frames(n) * out.n_bins);
  stream.push(samples, n, out.data);
  stream.finish(out.data);
  out.n_frames = out.data.size() / out.n_bins;
  return out;
}

Spectrogram Cqt::transform(const AudioBuffer& audio) const {
  if (audio.sample_rate != params_.sample_rate)
    throw Error("CQT expects audio at " + std::to_string(params_.sample_rate) + " Hz, got " +
                std::to_string(audio.sample_rate) + " Hz (resample it first)");
  return transform(audio.samples.data(), audio.samples.size());
}

std::size_t Cqt::lookahead_samples(int bin) const {
  if (bin < 0 || bin >= params_.n_bins) throw Error("CQT bin " + std::to_string(bin) + " out of range");
  return kernels_->octaves[kernels_->octave_of_bin[bin]].lookahead;
}

std::size_t Cqt::frame_lookahead_samples() const {
  std::size_t a = 0;
  for (const auto& oct : kernels_->octaves) a = std::max(a, oct.lookahead);
  return a;
}

// ---------------------------------------------------------------------------------------------
// StreamingCqt

namespace {

constexpr std::size_t kUnknown = std::numeric_limits<std::size_t>::max();

// The signal at one decimation level: a sliding window over samples [offset, offset + size).
struct Level {
  std::vector<float> buf;
  std::size_t offset = 0;       // global index of buf[0]
  std::size_t count = 0;        // samples produced so far (= offset + buf.size())
  std::size_t final_len = kUnknown;  // known once the stream is finished

  void drop_before(std::size_t keep_from) {
    if (keep_from <= offset) return;
    const std::size_t n = std::min(keep_from - offset, buf.size());
    // Compact only when it pays: amortised O(1) per sample.
    if (n < 4096 && n * 2 < buf.size()) return;
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    offset += n;
  }
};

// Magnitudes an octave has computed but not yet released in a whole frame.
struct Pending {
  std::vector<float> rows;
  std::size_t head = 0;  // index into rows of the oldest unreleased row
};

}  // namespace

struct StreamingCqt::Impl {
  std::shared_ptr<const CqtKernels> k;
  HalfbandDecimator decimator;
  std::vector<Level> levels;
  std::vector<kiss_fftr_cfg> fft;       // per octave
  std::vector<std::size_t> next_frame;  // per octave: next frame to compute
  std::vector<Pending> pending;         // per octave
  std::size_t emitted = 0;
  std::size_t total_frames = kUnknown;  // known once finished
  bool finished = false;
  std::vector<float> window;
  std::vector<kiss_fft_cpx> spectrum;

  explicit Impl(std::shared_ptr<const CqtKernels> kernels) : k(std::move(kernels)) {
    int max_fft = 2;
    for (const auto& oct : k->octaves) {
      kiss_fftr_cfg cfg = kiss_fftr_alloc(oct.n_fft, 0, nullptr, nullptr);
      if (!cfg) throw Error("CQT: out of memory allocating an FFT of size " + std::to_string(oct.n_fft));
      fft.push_back(cfg);
      max_fft = std::max(max_fft, oct.n_fft);
    }
    window.resize(max_fft);
    spectrum.resize(max_fft / 2 + 1);
    reset();
  }
  ~Impl() {
    for (auto cfg : fft) kiss_fftr_free(cfg);
  }

  void reset() {
    levels.assign(k->n_levels, Level{});
    next_frame.assign(k->octaves.size(), 0);
    pending.assign(k->octaves.size(), Pending{});
    emitted = 0;
    total_frames = kUnknown;
    finished = false;
  }

  // Produces every decimated sample whose inputs are known.
  void decimate_levels() {
    const std::size_t reach = HalfbandDecimator::kHalfLength;
    for (std::size_t l = 1; l < levels.size(); ++l) {
      Level& src = levels[l - 1];
      Level& dst = levels[l];
      std::size_t end;
      if (finished) {
        dst.final_len = (src.final_len + 1) / 2;  // librosa: ceil(n / 2) samples
        end = dst.final_len;
      } else {
        end = src.count > reach ? (src.count - 1 - reach) / 2 + 1 : 0;
      }
      if (end <= dst.count) continue;
      const std::size_t first = dst.count;
      dst.buf.resize(dst.buf.size() + (end - first));
      decimator.decimate_window(src.buf.data(), static_cast<std::ptrdiff_t>(src.offset), src.buf.size(),
                                finished ? src.final_len : kUnknown, first, end,
                                dst.buf.data() + (first - dst.offset));
      dst.count = end;
    }
  }

  // Frames of octave o whose window lies inside the known signal.
  std::size_t ready_frames(const OctaveKernels& oct) const {
    if (finished) return total_frames;
    const Level& lev = levels[oct.level];
    const std::size_t half = static_cast<std::size_t>(oct.n_fft / 2);
    return lev.count >= half ? (lev.count - half) / oct.hop + 1 : 0;
  }

  void compute_frame(std::size_t o, std::size_t f) {
    const OctaveKernels& oct = k->octaves[o];
    const Level& lev = levels[oct.level];
    const std::ptrdiff_t n_fft = oct.n_fft;
    const std::ptrdiff_t start = static_cast<std::ptrdiff_t>(f) * oct.hop - n_fft / 2;
    const std::ptrdiff_t lo = static_cast<std::ptrdiff_t>(lev.offset);
    const std::ptrdiff_t hi = static_cast<std::ptrdiff_t>(std::min(lev.count, lev.final_len));
    float* w = window.data();
    if (start >= lo && start + n_fft <= hi) {
      std::memcpy(w, lev.buf.data() + (start - lo), sizeof(float) * n_fft);
    } else {
      // Zero padding before the signal and after its end (centred frames, pad_mode constant).
      for (std::ptrdiff_t i = 0; i < n_fft; ++i) {
        const std::ptrdiff_t s = start + i;
        w[i] = (s < 0 || s >= hi) ? 0.0f : lev.buf[s - lo];
      }
    }
    kiss_fftr(fft[o], w, spectrum.data());

    Pending& pend = pending[o];
    const kiss_fft_cpx* X = spectrum.data();
    for (int r = 0; r < oct.n_bins; ++r) {
      float acc_re = 0.0f, acc_im = 0.0f;
      for (int e = oct.row_start[r]; e < oct.row_start[r + 1]; ++e) {
        const kiss_fft_cpx x = X[oct.fft_bin[e]];
        acc_re += oct.re[e] * x.r - oct.im[e] * x.i;
        acc_im += oct.re[e] * x.i + oct.im[e] * x.r;
      }
      pend.rows.push_back(std::sqrt(acc_re * acc_re + acc_im * acc_im) * oct.scale[r]);
    }
  }

  std::size_t release(std::vector<float>& out) {
    std::size_t ready = kUnknown;
    for (std::size_t o = 0; o < next_frame.size(); ++o) ready = std::min(ready, next_frame[o]);
    const std::size_t n_bins = static_cast<std::size_t>(k->params.n_bins);
    const std::size_t added = ready > emitted ? ready - emitted : 0;
    std::size_t base = out.size();
    out.resize(base + added * n_bins);
    for (std::size_t f = 0; f < added; ++f, base += n_bins) {
      for (std::size_t o = 0; o < k->octaves.size(); ++o) {
        const OctaveKernels& oct = k->octaves[o];
        Pending& pend = pending[o];
        std::memcpy(out.data() + base + oct.first_bin, pend.rows.data() + pend.head, sizeof(float) * oct.n_bins);
        pend.head += static_cast<std::size_t>(oct.n_bins);
      }
    }
    emitted += added;
    for (auto& pend : pending) {
      if (pend.head > 4096 && pend.head * 2 > pend.rows.size()) {
        pend.rows.erase(pend.rows.begin(), pend.rows.begin() + static_cast<std::ptrdiff_t>(pend.head));
        pend.head = 0;
      }
    }
    return added;
  }

  // Forgets samples no octave frame or decimation step will read again.
  void trim() {
    const std::ptrdiff_t reach = HalfbandDecimator::kHalfLength;
    for (std::size_t l = 0; l < levels.size(); ++l) {
      std::ptrdiff_t keep = std::numeric_limits<std::ptrdiff_t>::max();
      for (std::size_t o = 0; o < k->octaves.size(); ++o) {
        const OctaveKernels& oct = k->octaves[o];
        if (static_cast<std::size_t>(oct.level) == l)
          keep = std::min(keep, static_cast<std::ptrdiff_t>(next_frame[o]) * oct.hop - oct.n_fft / 2);
      }
      if (l + 1 < levels.size())
        keep = std::min(keep, 2 * static_cast<std::ptrdiff_t>(levels[l + 1].count) - reach);
      if (keep > 0 && keep != std::numeric_limits<std::ptrdiff_t>::max())
        levels[l].drop_before(static_cast<std::size_t>(keep));
    }
  }

  std::size_t advance(std::vector<float>& out) {
    decimate_levels();
    for (std::size_t o = 0; o < k->octaves.size(); ++o) {
      const std::size_t end = ready_frames(k->octaves[o]);
      for (; next_frame[o] < end; ++next_frame[o]) compute_frame(o, next_frame[o]);
    }
    const std::size_t added = release(out);
    trim();
    return added;
  }
};

StreamingCqt::StreamingCqt(const Cqt& cqt) : impl_(std::make_unique<Impl>(cqt.kernels())) {}
StreamingCqt::~StreamingCqt() = default;
StreamingCqt::StreamingCqt(StreamingCqt&&) noexcept = default;
StreamingCqt& StreamingCqt::operator=(StreamingCqt&&) noexcept = default;

std::size_t StreamingCqt::push(const float* samples, std::size_t n, std::vector<float>& frames) {
  if (impl_->finished) throw Error("StreamingCqt: push() after finish(); call reset() to start a new signal");
  Level& in = impl_->levels[0];
  in.buf.insert(in.buf.end(), samples, samples + n);
  in.count += n;
  return impl_->advance(frames);
}

std::size_t StreamingCqt::finish(std::vector<float>& frames) {
  if (impl_->finished) return 0;
  impl_->finished = true;
  Level& in = impl_->levels[0];
  in.final_len = in.count;
  // Same frame count as the batch transform (librosa trims octaves to the shortest).
  std::size_t frames_total = kUnknown;
  for (const auto& oct : impl_->k->octaves) {
    std::size_t len = in.count;
    for (int l = 0; l < oct.level; ++l) len = (len + 1) / 2;
    frames_total = std::min(frames_total, 1 + len / static_cast<std::size_t>(oct.hop));
  }
  impl_->total_frames = frames_total;
  return impl_->advance(frames);
}

void StreamingCqt::reset() { impl_->reset(); }
std::size_t StreamingCqt::samples_pushed() const { return impl_->levels[0].count; }
std::size_t StreamingCqt::frames_emitted() const { return impl_->emitted; }
std::size_t StreamingCqt::n_bins() const { return static_cast<std::size_t>(impl_->k->params.n_bins); }

}  // namespace qs
