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
  // Sparse kernel spectra, CSR: row r uses entries [row_start[r], row_start[r+1]).
  std::vector<int> row_start;
  std::vector<int> fft_bin;
  std::vector<float> re, im;
  std::vector<float> scale;  // per row: 1 / sqrt(L_k) (librosa scale=True)
  std::size_t lookahead = 0;  // input samples needed after a frame's centre (see Cqt::lookahead_samples)
};

struct CqtKernels {
  CqtParams params;
  int n_levels = 1;                    // signal levels 0..n_levels-1 (0 = the input)
  std::vector<OctaveKernels> octaves;  // top octave first
  std::vector<int> octave_of_bin;      // bin -> index into octaves
};

CqtKernels build_cqt_kernels(const CqtParams& params);

}  // namespace qs
