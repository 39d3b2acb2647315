// Constant-Q transform magnitudes, numerically following librosa.cqt (librosa >= 0.10).
//
// Algorithm (multi-rate, as librosa): the top octave of bins is computed at the input rate, then
// the signal is halved (HalfbandDecimator) and the hop with it, for each lower octave. In each
// octave every frame is one real FFT (KissFFT, n_fft = the octave's longest kernel rounded up to a
// power of two, rectangular window, centred, zero-padded) multiplied by a sparse matrix of kernel
// spectra: Hann-windowed complex exponentials of length L_k = filter_scale * sr / (alpha * f_k),
// L1-normalised, with the smallest 1 % of each kernel's spectral mass dropped. Magnitudes are
// divided by sqrt(L_k) (librosa's scale=True).
//
// Shapes and units: input mono float32 at params.sample_rate; output Spectrogram [frames × bins],
// frame j centred on sample j * hop_length (time j * hop / sr), n_frames = 1 + n_samples / hop,
// bin k at fmin * 2^(k / bins_per_octave) Hz. The signal is zero-padded at both ends.
//
// Batch and streaming share one engine, so streamed frames are bit-identical to batch frames.
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "qscribe/audio.hpp"
#include "qscribe/cqt_params.hpp"
#include "qscribe/spectrogram.hpp"

namespace qs {

struct CqtKernels;  // immutable, shared between transforms

class Cqt {
 public:
  explicit Cqt(const CqtParams& params = {});  // throws qs::Error on invalid parameters

  const CqtParams& params() const { return params_; }
  std::size_t n_bins() const { return static_cast<std::size_t>(params_.n_bins); }
  // Frames the batch transform returns for a signal of n samples (1 + n / hop).
  std::size_t n_frames(std::size_t n_samples) const;

  // Magnitude CQT of a whole signal.
  Spectrogram transform(const float* samples, std::size_t n) const;
  Spectrogram transform(const std::vector<float>& samples) const { return transform(samples.data(), samples.size()); }
  // As above; throws qs::Error unless audio.sample_rate equals params().sample_rate.
  Spectrogram transform(const AudioBuffer& audio) const;

  // Latency: samples after a frame's centre that must have been pushed before a streaming
  // transform can finish bin `bin` of that frame (librosa's octave FFT window + decimation
  // filters). Frames are released whole, so a frame waits for frame_lookahead_samples().
  std::size_t lookahead_samples(int bin) const;
  std::size_t frame_lookahead_samples() const;
  // Samples before a frame's centre that its longest window reads (equal to the look-ahead for
  // symmetric kernels; more with a long past, CqtParams::future_fraction).
  std::size_t frame_past_samples() const;
  double lookahead_seconds(int bin) const { return lookahead_samples(bin) / params_.sample_rate; }

  const std::shared_ptr<const CqtKernels>& kernels() const { return kernels_; }

 private:
  CqtParams params_;
  std::shared_ptr<const CqtKernels> kernels_;
};

// Streaming CQT: push any number of samples, receive each frame as soon as every bin of it is
// final. Frame j is released once samples up to j * hop + frame_lookahead_samples() have been
// pushed; finish() zero-pads the end exactly as the batch transform does.
class StreamingCqt {
 public:
  explicit StreamingCqt(const Cqt& cqt);
  ~StreamingCqt();
  StreamingCqt(StreamingCqt&&) noexcept;
  StreamingCqt& operator=(StreamingCqt&&) noexcept;

  // Appends each finished frame (n_bins magnitudes) to `frames`; returns the number appended.
  std::size_t push(const float* samples, std::size_t n, std::vector<float>& frames);
  // Declares the end of the signal and appends the remaining frames; afterwards only reset()
  // makes the stream usable again.
  std::size_t finish(std::vector<float>& frames);
  void reset();

  std::size_t samples_pushed() const;
  std::size_t frames_emitted() const;
  std::size_t n_bins() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs
