#include "qscribe/cqt.hpp"

#include <kiss_fftr.h>  // built with USE_SIMD: kiss_fft_scalar is __m128 (four lanes)

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
  // Blocks keep the stream's buffers small and cache-resident; the result is the same.
  constexpr std::size_t kBlock = 16384;
  for (std::size_t i = 0; i < n; i += kBlock) stream.push(samples + i, std::min(kBlock, n - i), out.data);
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

std::size_t Cqt::frame_past_samples() const {
  std::size_t a = 0;
  for (const auto& oct : kernels_->octaves) a = std::max(a, oct.past);
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
  std::vector<kiss_fftr_cfg> fft;       // per lane group
  std::vector<std::size_t> next_frame;  // per lane group: next frame to compute
  std::vector<Pending> pending;         // per octave
  std::size_t emitted = 0;
  std::size_t total_frames = kUnknown;  // known once finished
  bool finished = false;
  // kiss_fft_scalar is __m128: wrap it so the vector's element type carries no attributes
  // (std::vector<__m128> draws -Wignored-attributes); alignas keeps the 16-byte alignment.
  struct alignas(16) Lanes {
    kiss_fft_scalar v;
  };
  static_assert(sizeof(Lanes) == sizeof(kiss_fft_scalar), "lane vector layout");
  std::vector<Lanes> window_store;  // lane l = the frame window of the group's octave l
  kiss_fft_scalar* window = nullptr;
  std::vector<kiss_fft_cpx> spectrum;
  std::vector<float> lane_scratch[LaneGroup::kLanes];

  explicit Impl(std::shared_ptr<const CqtKernels> kernels) : k(std::move(kernels)) {
    int max_fft = 2;
    for (const auto& g : k->groups) {
      kiss_fftr_cfg cfg = kiss_fftr_alloc(g.n_fft, 0, nullptr, nullptr);
      if (!cfg) throw Error("CQT: out of memory allocating an FFT of size " + std::to_string(g.n_fft));
      fft.push_back(cfg);
      max_fft = std::max(max_fft, g.n_fft);
    }
    window_store.resize(max_fft);
    window = &window_store[0].v;
    spectrum.resize(max_fft / 2 + 1);
    reset();
  }
  ~Impl() {
    for (auto cfg : fft) kiss_fftr_free(cfg);
  }

  void reset() {
    levels.assign(k->n_levels, Level{});
    next_frame.assign(k->groups.size(), 0);
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
    const std::size_t ahead = static_cast<std::size_t>(oct.n_fft - oct.centre);
    return lev.count >= ahead ? (lev.count - ahead) / oct.hop + 1 : 0;
  }

  // Octave `oct`'s frame-f window (zero-padded outside the signal): a pointer into the level's
  // buffer when the window lies inside it, else a copy in `scratch`.
  const float* window_of(const OctaveKernels& oct, std::size_t f, std::vector<float>& scratch) const {
    const Level& lev = levels[oct.level];
    const std::ptrdiff_t n_fft = oct.n_fft;
    const std::ptrdiff_t start = static_cast<std::ptrdiff_t>(f) * oct.hop - oct.centre;
    const std::ptrdiff_t lo = static_cast<std::ptrdiff_t>(lev.offset);
    const std::ptrdiff_t hi = static_cast<std::ptrdiff_t>(std::min(lev.count, lev.final_len));
    if (start >= lo && start + n_fft <= hi) return lev.buf.data() + (start - lo);
    scratch.resize(static_cast<std::size_t>(n_fft));
    for (std::ptrdiff_t i = 0; i < n_fft; ++i) {
      const std::ptrdiff_t s = start + i;
      scratch[i] = (s < 0 || s >= hi) ? 0.0f : lev.buf[s - lo];
    }
    return scratch.data();
  }

  // Frame f of every octave in lane group gi: one 4-lane FFT, then the sparse kernel products.
  void compute_group_frame(std::size_t gi, std::size_t f) {
    const LaneGroup& g = k->groups[gi];
    // Interleave the four windows into lanes, four samples at a time (4x4 transposes).
    const float* src[LaneGroup::kLanes];
    for (int l = 0; l < LaneGroup::kLanes; ++l) {
      if (l < g.n_lanes) {
        src[l] = window_of(k->octaves[g.octave[l]], f, lane_scratch[l]);
      } else {
        lane_scratch[l].assign(static_cast<std::size_t>(g.n_fft), 0.0f);
        src[l] = lane_scratch[l].data();
      }
    }
    for (int i = 0; i < g.n_fft; i += 4) {
      __m128 r0 = _mm_loadu_ps(src[0] + i), r1 = _mm_loadu_ps(src[1] + i);
      __m128 r2 = _mm_loadu_ps(src[2] + i), r3 = _mm_loadu_ps(src[3] + i);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      window[i] = r0;
      window[i + 1] = r1;
      window[i + 2] = r2;
      window[i + 3] = r3;
    }
    kiss_fftr(fft[gi], window, spectrum.data());

    float* dest[LaneGroup::kLanes] = {};
    for (int l = 0; l < g.n_lanes; ++l) {
      std::vector<float>& rows = pending[g.octave[l]].rows;
      rows.resize(rows.size() + static_cast<std::size_t>(k->octaves[g.octave[l]].n_bins));
      dest[l] = rows.data() + rows.size() - k->octaves[g.octave[l]].n_bins;
    }
    alignas(16) float mag[LaneGroup::kLanes];
    const kiss_fft_cpx* X = spectrum.data();
    for (int row = 0; row < g.n_rows; ++row) {
      __m128 acc_re = _mm_setzero_ps(), acc_im = _mm_setzero_ps();
      for (int e = g.row_start[row]; e < g.row_start[row + 1]; ++e) {
        const kiss_fft_cpx x = X[g.fft_bin[e]];
        const __m128 re = _mm_loadu_ps(&g.re[static_cast<std::size_t>(e) * LaneGroup::kLanes]);
        const __m128 im = _mm_loadu_ps(&g.im[static_cast<std::size_t>(e) * LaneGroup::kLanes]);
        acc_re = _mm_add_ps(acc_re, _mm_sub_ps(_mm_mul_ps(re, x.r), _mm_mul_ps(im, x.i)));
        acc_im = _mm_add_ps(acc_im, _mm_add_ps(_mm_mul_ps(re, x.i), _mm_mul_ps(im, x.r)));
      }
      const __m128 m = _mm_sqrt_ps(_mm_add_ps(_mm_mul_ps(acc_re, acc_re), _mm_mul_ps(acc_im, acc_im)));
      _mm_store_ps(mag, _mm_mul_ps(m, _mm_loadu_ps(&g.scale[static_cast<std::size_t>(row) * LaneGroup::kLanes])));
      for (int l = 0; l < g.n_lanes; ++l) {
        const int r = row - (g.n_rows - k->octaves[g.octave[l]].n_bins);
        if (r >= 0) dest[l][r] = mag[l];
      }
    }
  }

  std::size_t release(std::vector<float>& out) {
    std::size_t ready = kUnknown;
    for (std::size_t gi = 0; gi < next_frame.size(); ++gi) ready = std::min(ready, next_frame[gi]);
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
          keep = std::min(keep, static_cast<std::ptrdiff_t>(next_frame[oct.group]) * oct.hop - oct.centre);
      }
      if (l + 1 < levels.size())
        keep = std::min(keep, 2 * static_cast<std::ptrdiff_t>(levels[l + 1].count) - reach);
      if (keep > 0 && keep != std::numeric_limits<std::ptrdiff_t>::max())
        levels[l].drop_before(static_cast<std::size_t>(keep));
    }
  }

  std::size_t advance(std::vector<float>& out) {
    decimate_levels();
    for (std::size_t gi = 0; gi < k->groups.size(); ++gi) {
      const LaneGroup& g = k->groups[gi];
      std::size_t end = kUnknown;
      for (int l = 0; l < g.n_lanes; ++l) end = std::min(end, ready_frames(k->octaves[g.octave[l]]));
      for (; next_frame[gi] < end; ++next_frame[gi]) compute_group_frame(gi, next_frame[gi]);
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
