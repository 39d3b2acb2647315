#include "synth/recording_chain.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "synth/one_pole.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/error.hpp"

namespace qs::synth {

namespace {

constexpr double kMaxIrSeconds = 2.5;

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// The room's impulse response at `rate`: 1 at t = 0, reflections and the decaying tail after it.
std::vector<float> room_response(const RecordingDraws& d, double rate) {
  Rng r(d.room_seed);
  const auto len = static_cast<std::size_t>(std::min(kMaxIrSeconds, 1.2 * d.rt60 + d.predelay + 0.05) * rate);
  std::vector<double> tail(len, 0.0);
  // Late tail: Gaussian noise under a -60 dB / RT60 envelope, low-passed harder as it decays.
  const auto start = static_cast<std::size_t>((d.predelay + 0.005) * rate);
  double y = 0.0;
  for (std::size_t i = start; i < len; ++i) {
    const double t = double(i - start) / rate;
    const double cutoff = 9000.0 * std::exp(-t / std::max(0.1, 0.6 * d.rt60)) + 800.0;
    const double a = one_pole_coefficient(cutoff, rate);
    y += a * (r.gaussian() - y);
    tail[i] = y * std::exp(-6.9078 * t / d.rt60);
  }
  // Early reflections: a few discrete echoes between 3 and 40 ms.
  const int reflections = r.integer(3, 8);
  for (int k = 0; k < reflections; ++k) {
    const auto at = static_cast<std::size_t>(r.uniform(0.003, 0.040) * rate);
    if (at < len) tail[at] += (r.chance(0.5) ? 1.0 : -1.0) * r.uniform(0.2, 0.7) * std::sqrt(double(start + 1) / rate);
  }
  // Scale the reverberant part to the drawn direct-to-reverberant energy ratio.
  double energy = 0.0;
  for (double v : tail) energy += v * v;
  const double scale = energy > 0 ? std::sqrt(std::pow(10.0, -d.drr_db / 10.0) / energy) : 0.0;
  std::vector<float> ir(len);
  for (std::size_t i = 0; i < len; ++i) ir[i] = static_cast<float>(tail[i] * scale);
  ir[0] += 1.0f;
  return ir;
}

// Linear convolution by FFT overlap-add (LibTorch's FFT), cut to the input's length.
std::vector<float> convolve(const std::vector<float>& x, const std::vector<float>& h) {
  if (x.empty() || h.empty()) return x;
  std::int64_t n = 1;
  while (n < 2 * static_cast<std::int64_t>(h.size())) n <<= 1;
  n = std::max<std::int64_t>(n, 1 << 16);
  const std::int64_t block = n - static_cast<std::int64_t>(h.size()) + 1;
  torch::NoGradGuard no_grad;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  const torch::Tensor H = torch::fft::rfft(torch::from_blob(const_cast<float*>(h.data()),
                                                            {static_cast<std::int64_t>(h.size())}, opts), n);
  std::vector<float> y(x.size(), 0.0f);
  const auto total = static_cast<std::int64_t>(x.size());
  for (std::int64_t s = 0; s < total; s += block) {
    const std::int64_t m = std::min(block, total - s);
    const torch::Tensor X = torch::fft::rfft(torch::from_blob(const_cast<float*>(x.data()) + s, {m}, opts), n);
    const torch::Tensor part = torch::fft::irfft(X * H, n).contiguous();
    const float* p = part.data_ptr<float>();
    const std::int64_t keep = std::min(n, total - s);
    for (std::int64_t i = 0; i < keep; ++i) y[static_cast<std::size_t>(s + i)] += p[i];
  }
  return y;
}

// RBJ cookbook biquad, transposed direct form II.
struct Biquad {
  double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0, z1 = 0, z2 = 0;
  static Biquad make(double b0, double b1, double b2, double a0, double a1, double a2) {
    return Biquad{b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0};
  }
  static Biquad highpass(double f, double q, double rate) {
    const double w = 2 * M_PI * f / rate, c = std::cos(w), al = std::sin(w) / (2 * q);
    return make((1 + c) / 2, -(1 + c), (1 + c) / 2, 1 + al, -2 * c, 1 - al);
  }
  static Biquad lowpass(double f, double q, double rate) {
    const double w = 2 * M_PI * f / rate, c = std::cos(w), al = std::sin(w) / (2 * q);
    return make((1 - c) / 2, 1 - c, (1 - c) / 2, 1 + al, -2 * c, 1 - al);
  }
  static Biquad peak(double f, double db, double q, double rate) {
    const double A = std::pow(10.0, db / 40), w = 2 * M_PI * f / rate, c = std::cos(w), al = std::sin(w) / (2 * q);
    return make(1 + al * A, -2 * c, 1 - al * A, 1 + al / A, -2 * c, 1 - al / A);
  }
  static Biquad shelf(double f, double db, bool high, double rate) {  // shelf slope 1
    const double A = std::pow(10.0, db / 40), w = 2 * M_PI * f / rate, c = std::cos(w);
    const double al = std::sin(w) / 2 * std::sqrt(2.0), sq = 2 * std::sqrt(A) * al;
    if (high)
      return make(A * ((A + 1) + (A - 1) * c + sq), -2 * A * ((A - 1) + (A + 1) * c), A * ((A + 1) + (A - 1) * c - sq),
                  (A + 1) - (A - 1) * c + sq, 2 * ((A - 1) - (A + 1) * c), (A + 1) - (A - 1) * c - sq);
    return make(A * ((A + 1) - (A - 1) * c + sq), 2 * A * ((A - 1) - (A + 1) * c), A * ((A + 1) - (A - 1) * c - sq),
                (A + 1) + (A - 1) * c + sq, -2 * ((A - 1) + (A + 1) * c), (A + 1) + (A - 1) * c - sq);
  }
  void run(std::vector<float>& x) {
    for (float& v : x) {
      const double in = v, out = b0 * in + z1;
      z1 = b1 * in - a1 * out + z2;
      z2 = b2 * in - a2 * out;
      v = static_cast<float>(out);
    }
  }
};

// The lag (in samples, decoded later than original when positive) that best aligns two signals,
// searched within +-max_lag over the loudest stretch of up to 2^17 samples.
std::int64_t codec_delay(const std::vector<float>& original, const std::vector<float>& decoded, std::int64_t max_lag) {
  const std::int64_t n = std::min<std::int64_t>(static_cast<std::int64_t>(std::min(original.size(), decoded.size())), 1 << 17);
  if (n < 4 * max_lag) return 0;
  torch::NoGradGuard no_grad;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  const std::int64_t fft = 2 * n;
  const torch::Tensor a = torch::fft::rfft(torch::from_blob(const_cast<float*>(original.data()), {n}, opts), fft);
  const torch::Tensor b = torch::fft::rfft(torch::from_blob(const_cast<float*>(decoded.data()), {n}, opts), fft);
  const torch::Tensor xc = torch::fft::irfft(b * torch::conj(a), fft);  // xc[k] = sum decoded[t + k] original[t]
  const torch::Tensor window = torch::cat({xc.slice(0, fft - max_lag, fft), xc.slice(0, 0, max_lag + 1)});
  return window.argmax().item<std::int64_t>() - max_lag;
}

}  // namespace

RecordingDraws draw_recording(Rng& r, const RecordingOptions& o) {
  RecordingDraws d;
  d.room = r.chance(o.room_prob);
  d.rt60 = std::exp(r.uniform(std::log(0.15), std::log(2.2)));
  d.drr_db = r.uniform(-6.0, 12.0);
  d.predelay = r.uniform(0.0, 0.02);
  d.room_seed = r.next();
  d.eq = r.chance(o.eq_prob);
  d.highpass_hz = std::exp(r.uniform(std::log(20.0), std::log(180.0)));
  d.low_shelf_hz = r.uniform(80.0, 400.0);
  d.low_shelf_db = r.uniform(-8.0, 6.0);
  d.high_shelf_hz = r.uniform(2000.0, 8000.0);
  d.high_shelf_db = r.uniform(-10.0, 6.0);
  d.peak_hz = std::exp(r.uniform(std::log(200.0), std::log(5000.0)));
  d.peak_db = r.uniform(-6.0, 6.0);
  d.peak_q = r.uniform(0.7, 2.5);
  const bool lowpass = r.chance(0.25);
  const double lowpass_hz = r.uniform(3500.0, 9000.0);
  d.lowpass_hz = lowpass ? lowpass_hz : 0.0;
  const bool codec = r.chance(o.codec_prob);
  const bool mp3 = r.chance(0.5);
  d.codec = codec ? (mp3 ? Codec::Mp3 : Codec::Vorbis) : Codec::None;
  d.codec_level = r.uniform(0.3, 0.95);
  return d;
}

void apply_room(AudioBuffer& audio, const RecordingDraws& d) {
  if (!d.room || audio.samples.empty()) return;
  audio.samples = convolve(audio.samples, room_response(d, audio.sample_rate));
}

void apply_microphone(AudioBuffer& audio, const RecordingDraws& d) {
  if (!d.eq || audio.samples.empty()) return;
  const double rate = audio.sample_rate, nyq = 0.45 * rate;
  std::vector<Biquad> chain{Biquad::highpass(d.highpass_hz, 0.707, rate),
                            Biquad::shelf(d.low_shelf_hz, d.low_shelf_db, false, rate),
                            Biquad::shelf(std::min(d.high_shelf_hz, nyq), d.high_shelf_db, true, rate),
                            Biquad::peak(std::min(d.peak_hz, nyq), d.peak_db, d.peak_q, rate)};
  if (d.lowpass_hz > 0 && d.lowpass_hz < nyq) chain.push_back(Biquad::lowpass(d.lowpass_hz, 0.707, rate));
  for (Biquad& b : chain) b.run(audio.samples);
}

void codec_round_trip(AudioBuffer& audio, const RecordingDraws& d) {
  if (d.codec == Codec::None || audio.samples.empty()) return;
  // Encoders clip: keep a little headroom, and restore the level afterwards.
  float peak = 0.0f;
  for (float v : audio.samples) peak = std::max(peak, std::fabs(v));
  const float g = peak > 0.9f ? 0.9f / peak : 1.0f;
  AudioBuffer in = audio;
  for (float& v : in.samples) v *= g;
  const auto bytes = encode_lossy(in, d.codec == Codec::Mp3 ? LossyCodec::Mp3 : LossyCodec::Vorbis, d.codec_level);
  AudioBuffer out = load_audio_memory(bytes.data(), bytes.size(), audio.sample_rate, "codec round trip");
  const std::int64_t lag = codec_delay(in.samples, out.samples, 4096);
  const auto n = static_cast<std::int64_t>(audio.samples.size());
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t j = i + lag;
    audio.samples[static_cast<std::size_t>(i)] =
        j >= 0 && j < static_cast<std::int64_t>(out.samples.size()) ? out.samples[static_cast<std::size_t>(j)] / g : 0.0f;
  }
}

std::string describe(const RecordingDraws& d) {
  std::string s;
  auto add = [&](const std::string& part) { s += (s.empty() ? "" : ",") + part; };
  if (d.room) add(fmt("room=%.2fs", d.rt60) + fmt("/%.0fdB", d.drr_db));
  if (d.eq) add(fmt("mic=hp%.0f", d.highpass_hz) + fmt("/hs%+.0f", d.high_shelf_db) + (d.lowpass_hz > 0 ? fmt("/lp%.0f", d.lowpass_hz) : ""));
  if (d.codec != Codec::None) add(std::string(d.codec == Codec::Mp3 ? "mp3" : "vorbis") + fmt("@%.2f", d.codec_level));
  return s.empty() ? "-" : s;
}

}  // namespace qs::synth
