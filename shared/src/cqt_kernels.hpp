// Internal: the precomputed, immutable kernels of one CQT configuration.
#pragma once
#include <cstddef>
#include <vector>

#include "qscribe/cqt_params.hpp"

namespace qs {

// One octave of bins, evaluated at one decimation level of the signal.
struct OctaveKernels {
  int first_bin = 0;  // global index of the octave's lowest bin
  int n_bins = 0;     // bins in this octave (the lowest octave may be partial)
  int level = 0;      // signal level: rate = sample_rate / 2^level
  int hop = 0;        // hop length at that level
  int n_fft = 0;      // FFT size (power of two)
  // Where a frame's centre sits in its FFT window: n_fft / 2 for symmetric kernels; kernels with a
  // short future (CqtParams::future_fraction) put it late, so the window holds their long past.
  int centre = 0;
  // Sparse kernel spectra, CSR: row r uses entries [row_start[r], row_start[r+1]).
  std::vector<int> row_start;
  std::vector<int> fft_bin;
  std::vector<float> re, im;
  std::vector<float> scale;  // per row: 1 / sqrt(L_k) (librosa scale=True)
  int group = 0;      // index into CqtKernels::groups
  std::size_t lookahead = 0;  // input samples needed after a frame's centre (see Cqt::lookahead_samples)
  std::size_t past = 0;       // input samples read before a frame's centre
};

// Up to four octaves evaluated together: KissFFT's SIMD build transforms the four octaves' frame
// windows (one per lane) in one call, and the sparse products run on all lanes at once. Rows are
// aligned at the top of the octave, where all octaves have the same kernels relative to their
// rate, so the lanes share one sparsity pattern (the union, where rounding makes them differ).
struct LaneGroup {
  static constexpr int kLanes = 4;
  int n_fft = 0;
  int n_lanes = 0;           // octaves in use (the last group may have fewer)
  int octave[kLanes] = {};   // index into CqtKernels::octaves, per lane
  int n_rows = 0;            // rows = bins per octave; lane l uses rows [n_rows - n_bins_l, n_rows)
  std::vector<int> row_start;  // CSR over rows
  std::vector<int> fft_bin;
  std::vector<float> re, im;   // kLanes coefficients per entry (0 where a lane has none)
  std::vector<float> scale;    // kLanes per row: 1 / sqrt(L_k)
};

struct CqtKernels {
  CqtParams params;
  int n_levels = 1;                    // signal levels 0..n_levels-1 (0 = the input)
  std::vector<OctaveKernels> octaves;  // top octave first
  std::vector<LaneGroup> groups;       // consecutive octaves with equal n_fft, up to 4 each
  std::vector<int> octave_of_bin;      // bin -> index into octaves
};

CqtKernels build_cqt_kernels(const CqtParams& params);

}  // namespace qs
