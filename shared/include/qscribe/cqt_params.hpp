// Parameters of the Constant-Q transform (librosa's names and defaults of the original project).
#pragma once
#include <cmath>
#include <cstddef>

namespace qs {

struct CqtParams {
  double sample_rate = 22050.0;  // Hz: the rate audio is resampled to before the transform
  int hop_length = 512;          // samples between frames (frame rate = sample_rate / hop_length)
  double fmin = 27.5;            // Hz, centre of bin 0 (A0 = MIDI 21)
  int bins_per_semitone = 4;     // 1..8 (librosa bins_per_octave = 12 * this)
  int n_bins = 352;              // 88 * bins_per_semitone covers A0..C8
  double filter_scale = 1.0;     // kernel length factor (<1: shorter kernels, less latency)
  double sparsity = 0.01;        // fraction of each kernel's spectral L1 mass that may be dropped
  // Part of each kernel after its frame's centre. 0.5 is librosa's symmetric Hann; less keeps the
  // look-ahead of a shorter kernel while the longer past sharpens the frequency resolution (the
  // window rises over the past as half a Hann and falls over the future as the other half).
  double future_fraction = 0.5;  // (0, 0.5]

  bool symmetric() const { return future_fraction == 0.5; }
  int bins_per_octave() const { return 12 * bins_per_semitone; }
  double frame_rate() const { return sample_rate / hop_length; }
  // Centre frequency of bin k in Hz: fmin * 2^(k / bins_per_octave).
  double bin_frequency(int k) const { return fmin * std::pow(2.0, static_cast<double>(k) / bins_per_octave()); }
  // Throws qs::Error naming the offending field when the parameters make no transform.
  void validate() const;
};

}  // namespace qs
