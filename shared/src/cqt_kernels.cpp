// Kernel design, following librosa.filters.wavelet + librosa.core.constantq.__vqt_filter_fft.
#include "cqt_kernels.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <map>
#include <numeric>

#include "qscribe/error.hpp"
#include "qscribe/halfband.hpp"

namespace qs {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kHannBandwidth = 1.50018310546875;  // librosa's equivalent noise bandwidth of 'hann'

using cd = std::complex<double>;

// In-place iterative radix-2 FFT (forward, e^{-i...}), double precision: only used at set-up.
void fft_pow2(std::vector<cd>& a) {
  const std::size_t n = a.size();
  for (std::size_t i = 1, j = 0; i < n; ++i) {
    std::size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const double ang = -2.0 * kPi / static_cast<double>(len);
    for (std::size_t i = 0; i < n; i += len) {
      for (std::size_t k = 0; k < len / 2; ++k) {
        const cd w = std::polar(1.0, ang * static_cast<double>(k));
        const cd u = a[i + k], v = a[i + k + len / 2] * w;
        a[i + k] = u + v;
        a[i + k + len / 2] = u - v;
      }
    }
  }
}

int count_two_factors(int x) {
  int n = 0;
  while (x > 0 && x % 2 == 0) { x /= 2; ++n; }
  return n;
}

// A bin's time-domain kernel and where it starts, in samples from its frame's centre.
struct Wavelet {
  std::vector<cd> sig;
  long start = 0;
};

// librosa.filters.wavelet for one bin: Hann-windowed complex exponential over n in
// arange(floor(-L/2), floor(L/2)), L1-normalised.
Wavelet symmetric_wavelet(double freq, double length, double sr) {
  const double start = std::floor(-length / 2.0);
  const std::size_t n = static_cast<std::size_t>(std::floor(length / 2.0) - start);
  Wavelet w{std::vector<cd>(n), static_cast<long>(start)};
  double l1 = 0.0;
  for (std::size_t j = 0; j < n; ++j) {
    const double h = 0.5 - 0.5 * std::cos(2.0 * kPi * static_cast<double>(j) / static_cast<double>(n));  // periodic Hann
    w.sig[j] = std::polar(h, 2.0 * kPi * freq * (start + static_cast<double>(j)) / sr);
    l1 += h;
  }
  if (l1 > 0) for (auto& s : w.sig) s /= l1;
  return w;
}

// The same with `future` of the length L after the frame's centre: half a Hann over the past
// (1 - future) L samples and half a Hann over the future L, both 1 at the centre. The transform
// multiplies spectra (a convolution), so kernel sample n weighs the audio n samples *before* the
// centre: the past lies at positive n.
Wavelet asymmetric_wavelet(double freq, double length, double future, double sr) {
  const double past_len = (1.0 - future) * length, future_len = future * length;
  const long start = static_cast<long>(std::floor(-future_len));
  const long end = static_cast<long>(std::floor(past_len));
  Wavelet w{std::vector<cd>(static_cast<std::size_t>(end - start + 1)), start};
  double l1 = 0.0;
  for (long n = start; n <= end; ++n) {
    const double t = static_cast<double>(n);
    const double h = n < 0 ? 0.5 + 0.5 * std::cos(kPi * t / future_len) : 0.5 + 0.5 * std::cos(kPi * t / past_len);
    w.sig[static_cast<std::size_t>(n - start)] = std::polar(h, 2.0 * kPi * freq * t / sr);
    l1 += h;
  }
  if (l1 > 0) for (auto& s : w.sig) s /= l1;
  return w;
}

Wavelet wavelet(const CqtParams& p, double freq, double length, double sr) {
  return p.symmetric() ? symmetric_wavelet(freq, length, sr) : asymmetric_wavelet(freq, length, p.future_fraction, sr);
}

// librosa.util.sparsify_rows: drop the smallest entries whose summed magnitude stays below
// `quantile` of the row's L1 norm.
std::vector<std::size_t> sparse_support(const std::vector<cd>& row, double quantile) {
  std::vector<double> mags(row.size());
  for (std::size_t i = 0; i < row.size(); ++i) mags[i] = std::abs(row[i]);
  std::vector<std::size_t> keep;
  if (quantile <= 0.0) {
    keep.resize(row.size());
    std::iota(keep.begin(), keep.end(), 0);
    return keep;
  }
  std::vector<double> sorted = mags;
  std::sort(sorted.begin(), sorted.end());
  const double norm = std::accumulate(sorted.begin(), sorted.end(), 0.0);
  double cum = 0.0, threshold = sorted.back();
  for (double m : sorted) {
    cum += m / norm;
    if (cum >= quantile) { threshold = m; break; }
  }
  for (std::size_t i = 0; i < mags.size(); ++i)
    if (mags[i] >= threshold) keep.push_back(i);
  return keep;
}

// Consecutive octaves with the same FFT size share a group (up to four lanes).
void build_lane_groups(CqtKernels& k) {
  const int n_octaves = static_cast<int>(k.octaves.size());
  for (int g0 = 0; g0 < n_octaves;) {
    LaneGroup g;
    g.n_fft = k.octaves[g0].n_fft;
    while (g.n_lanes < LaneGroup::kLanes && g0 + g.n_lanes < n_octaves && k.octaves[g0 + g.n_lanes].n_fft == g.n_fft)
      ++g.n_lanes;
    for (int l = 0; l < g.n_lanes; ++l) {
      g.octave[l] = g0 + l;
      g.n_rows = std::max(g.n_rows, k.octaves[g0 + l].n_bins);
    }
    g.scale.assign(static_cast<std::size_t>(g.n_rows) * LaneGroup::kLanes, 0.0f);
    g.row_start.push_back(0);
    for (int row = 0; row < g.n_rows; ++row) {
      std::map<int, std::pair<std::array<float, LaneGroup::kLanes>, std::array<float, LaneGroup::kLanes>>> entries;
      for (int l = 0; l < g.n_lanes; ++l) {
        const OctaveKernels& oct = k.octaves[g.octave[l]];
        const int r = row - (g.n_rows - oct.n_bins);
        if (r < 0) continue;
        for (int e = oct.row_start[r]; e < oct.row_start[r + 1]; ++e) {
          auto& entry = entries[oct.fft_bin[e]];
          entry.first[l] = oct.re[e];
          entry.second[l] = oct.im[e];
        }
        g.scale[static_cast<std::size_t>(row) * LaneGroup::kLanes + l] = oct.scale[r];
      }
      for (const auto& [bin, coef] : entries) {
        g.fft_bin.push_back(bin);
        g.re.insert(g.re.end(), coef.first.begin(), coef.first.end());
        g.im.insert(g.im.end(), coef.second.begin(), coef.second.end());
      }
      g.row_start.push_back(static_cast<int>(g.fft_bin.size()));
    }
    for (int l = 0; l < g.n_lanes; ++l) k.octaves[g.octave[l]].group = static_cast<int>(k.groups.size());
    g0 += g.n_lanes;
    k.groups.push_back(std::move(g));
  }
}

}  // namespace

CqtKernels build_cqt_kernels(const CqtParams& p) {
  p.validate();
  CqtKernels k;
  k.params = p;
  const int bpo = p.bins_per_octave();
  const int n_octaves = (p.n_bins + bpo - 1) / bpo;
  const double r2 = std::pow(2.0, 2.0 / bpo);
  const double alpha = (r2 - 1.0) / (r2 + 1.0);
  const double q = p.filter_scale / alpha;

  // librosa's early downsampling: skip rate halvings the top octave does not need.
  const double top_cutoff = p.bin_frequency(p.n_bins - 1) * (1.0 + 0.5 * kHannBandwidth / q);
  const int count1 = std::max(0, static_cast<int>(std::ceil(std::log2(p.sample_rate / 2.0 / top_cutoff))) - 1 - 1);
  const int count2 = std::max(0, count_two_factors(p.hop_length) - n_octaves + 1);
  const int early = std::min(count1, count2);
  const double sr_early = p.sample_rate / std::pow(2.0, early);
  const int hop_early = p.hop_length >> early;

  // Octave layout first: bins, level, hop and FFT size (librosa's: the octave's longest kernel
  // rounded up to a power of two).
  std::vector<double> sr_of(n_octaves);
  int halvings = 0;
  for (int o = 0; o < n_octaves; ++o) {
    OctaveKernels oct;
    const int hi = p.n_bins - bpo * o;
    oct.first_bin = std::max(0, hi - bpo);
    oct.n_bins = hi - oct.first_bin;
    oct.level = early + halvings;
    oct.hop = hop_early >> halvings;
    sr_of[o] = sr_early / std::pow(2.0, halvings);
    // The longest kernel, and for an asymmetric one a sample of slack at each end.
    const double max_len = q * sr_of[o] / p.bin_frequency(oct.first_bin);
    oct.n_fft = 1 << static_cast<int>(std::ceil(std::log2(p.symmetric() ? max_len : max_len + 3.0)));
    if (o > 0 && oct.n_bins < bpo && halvings > 0) {
      // A partial lowest octave whose FFT is half the octave above's: evaluate it one level up
      // (twice the rate, same FFT size as its neighbour) so it shares that octave's SIMD FFT
      // instead of paying for a 4-lane FFT alone. Same kernels, one decimation step fewer.
      const OctaveKernels& above = k.octaves[o - 1];
      if (oct.n_fft * 2 == above.n_fft && oct.level == above.level + 1) {
        oct.level = above.level;
        oct.hop = above.hop;
        oct.n_fft = above.n_fft;
        sr_of[o] = sr_of[o - 1];
      }
    }
    k.octaves.push_back(oct);
    if ((hop_early >> halvings) % 2 == 0 && o + 1 < n_octaves) ++halvings;
  }
  k.octave_of_bin.assign(p.n_bins, 0);
  for (int o = 0; o < n_octaves; ++o) {
    OctaveKernels& oct = k.octaves[o];
    const double sr_o = sr_of[o];
    std::vector<double> lengths(oct.n_bins);
    for (int r = 0; r < oct.n_bins; ++r) lengths[r] = q * sr_o / p.bin_frequency(oct.first_bin + r);
    const int n_fft = oct.n_fft;
    oct.centre = p.symmetric() ? n_fft / 2 : n_fft - static_cast<int>(std::ceil(p.future_fraction * lengths[0])) - 1;
    const double rate_gain = std::sqrt(sr_early / sr_o);  // compensates the decimation

    oct.row_start.push_back(0);
    for (int r = 0; r < oct.n_bins; ++r) {
      const int bin = oct.first_bin + r;
      const Wavelet w = wavelet(p, p.bin_frequency(bin), lengths[r], sr_o);
      std::vector<cd> padded(n_fft, cd(0.0, 0.0));
      // Multiplying spectra pairs kernel sample j with window sample -j (mod n_fft): the kernel's
      // centre goes to n_fft - centre so that it meets the frame's centre.
      const long lpad = (n_fft - oct.centre) + w.start;
      if (lpad < 0 || lpad + static_cast<long>(w.sig.size()) > n_fft) throw Error("CQT: a kernel does not fit its FFT window");
      const double norm = lengths[r] / n_fft;
      for (std::size_t j = 0; j < w.sig.size(); ++j) padded[static_cast<std::size_t>(lpad) + j] = w.sig[j] * norm;
      fft_pow2(padded);
      padded.resize(n_fft / 2 + 1);
      for (std::size_t idx : sparse_support(padded, p.sparsity)) {
        oct.fft_bin.push_back(static_cast<int>(idx));
        oct.re.push_back(static_cast<float>(padded[idx].real() * rate_gain));
        oct.im.push_back(static_cast<float>(padded[idx].imag() * rate_gain));
      }
      oct.row_start.push_back(static_cast<int>(oct.fft_bin.size()));
      oct.scale.push_back(static_cast<float>(1.0 / std::sqrt(q * sr_early / p.bin_frequency(bin))));
      k.octave_of_bin[bin] = o;
    }

    // Look-ahead and past at the input rate: the window's parts after and before the centre at
    // this level; each decimation step doubles them and adds the half-band filter's reach.
    auto at_input_rate = [&](std::size_t a) {
      for (int l = oct.level; l > 0; --l) a = 2 * a + HalfbandDecimator::kHalfLength - 1;
      return a;
    };
    oct.lookahead = at_input_rate(static_cast<std::size_t>(n_fft - oct.centre));
    oct.past = at_input_rate(static_cast<std::size_t>(oct.centre));

    k.n_levels = std::max(k.n_levels, oct.level + 1);
  }
  build_lane_groups(k);
  return k;
}

}  // namespace qs
