#include "qscribe/beat_activation.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cmath>

#include <nlohmann/json.hpp>

#include "qscribe/error.hpp"
#include "qscribe/json_fields.hpp"

namespace qs {

namespace {

constexpr int kBands = 8;
constexpr int kHarmonyFrames = 4;

using Profile = std::array<double, 12>;

double profile_cosine(const Profile& a, const Profile& b) {
  double ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < 12; ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return aa > 1e-12 && bb > 1e-12 ? ab / std::sqrt(aa * bb) : 0.0;
}

// Pitch-class profiles of the frame probabilities summed over frames [0, t) as prefix sums, so
// any span's profile is a difference. Pitch classes are counted from the lowest note: the cosine
// does not depend on where the circle starts.
std::vector<Profile> profile_prefix(const NoteProbabilities& p) {
  const std::size_t N = static_cast<std::size_t>(p.n_notes);
  std::vector<Profile> pre(p.n_frames + 1, Profile{});
  for (std::size_t t = 0; t < p.n_frames; ++t) {
    pre[t + 1] = pre[t];
    for (std::size_t n = 0; n < N; ++n) pre[t + 1][n % 12] += p.frames[t * N + n];
  }
  return pre;
}

Profile span_profile(const std::vector<Profile>& pre, std::size_t a, std::size_t b) {
  Profile out{};
  for (int i = 0; i < 12; ++i) out[i] = pre[b][i] - pre[a][i];
  return out;
}

}  // namespace

std::vector<float> beat_features(const NoteProbabilities& p) {
  const std::size_t T = p.n_frames, N = static_cast<std::size_t>(p.n_notes), F = kBeatFeatures;
  std::vector<float> out(T * F, 0.0f);
  if (T == 0 || N == 0) return out;
  const std::vector<Profile> pre = profile_prefix(p);
  for (std::size_t t = 0; t < T; ++t) {
    std::array<double, kBands> onset{}, rise{}, sounding{};
    for (std::size_t n = 0; n < N; ++n) {
      const std::size_t band = n * kBands / N;
      const float f = p.frames[t * N + n];
      const float before = t > 0 ? p.frames[(t - 1) * N + n] : 0.0f;
      const double up = std::max(0.0f, f - before);
      rise[band] += up;
      onset[band] += p.has_onsets ? p.onsets[t * N + n] : up;
      sounding[band] += f;
    }
    float* row = &out[t * F];
    for (int b = 0; b < kBands; ++b) {
      row[b] = static_cast<float>(std::log1p(4.0 * onset[b]));
      row[kBands + b] = static_cast<float>(std::log1p(4.0 * rise[b]));
      row[2 * kBands + b] = static_cast<float>(std::log1p(sounding[b]));
    }
    const std::size_t a = t >= kHarmonyFrames ? t - kHarmonyFrames : 0;
    const std::size_t z = std::min(T, t + kHarmonyFrames);
    row[3 * kBands] = static_cast<float>(1.0 - profile_cosine(span_profile(pre, a, t), span_profile(pre, t, z)));
  }
  return out;
}

namespace {

float elu(float x) { return x > 0.0f ? x : std::expm1(x); }
float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// y[o][t] = b[o] + sum_i sum_k w[o][i][k] x[i][t + (k - kernel/2) * d], zero outside; channel-major.
std::vector<float> dilated_conv(const std::vector<float>& x, std::size_t T, int C, int kernel, int d,
                                const std::vector<float>& w, const std::vector<float>& b) {
  std::vector<float> y(static_cast<std::size_t>(C) * T);
  for (int o = 0; o < C; ++o) {
    float* yo = &y[static_cast<std::size_t>(o) * T];
    std::fill(yo, yo + T, b[o]);
    for (int i = 0; i < C; ++i) {
      const float* xi = &x[static_cast<std::size_t>(i) * T];
      for (int k = 0; k < kernel; ++k) {
        const float wk = w[(static_cast<std::size_t>(o) * C + i) * kernel + k];
        const long shift = static_cast<long>(k - kernel / 2) * d;
        const std::size_t lo = shift < 0 ? std::min<std::size_t>(T, -shift) : 0;
        const std::size_t hi = shift > 0 ? (T > std::size_t(shift) ? T - shift : 0) : T;
        for (std::size_t t = lo; t < hi; ++t) yo[t] += wk * xi[t + shift];
      }
    }
  }
  return y;
}

}  // namespace

BeatActivation beat_activation(const BeatNet& net, const std::vector<float>& features, double frame_rate) {
  const std::size_t F = kBeatFeatures, T = features.size() / F;
  const int C = net.channels;
  BeatActivation a;
  a.frame_rate = frame_rate;
  if (T == 0) return a;
  std::vector<float> x(static_cast<std::size_t>(C) * T);
  for (int o = 0; o < C; ++o)
    for (std::size_t t = 0; t < T; ++t) {
      float s = net.in_b[o];
      for (std::size_t f = 0; f < F; ++f)
        s += net.in_w[o * F + f] * (features[t * F + f] - net.input_mean[f]) / net.input_std[f];
      x[static_cast<std::size_t>(o) * T + t] = elu(s);
    }
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    const std::vector<float> y = dilated_conv(x, T, C, net.kernel, net.dilations[l], net.layers[l].w, net.layers[l].b);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += elu(y[i]);
  }
  a.beat.resize(T);
  a.downbeat.resize(T);
  for (std::size_t t = 0; t < T; ++t) {
    float s[kBeatOutputs];
    for (int o = 0; o < kBeatOutputs; ++o) {
      s[o] = net.out_b[o];
      for (int i = 0; i < C; ++i) s[o] += net.out_w[o * C + i] * x[static_cast<std::size_t>(i) * T + t];
    }
    a.beat[t] = sigmoid(s[0]);
    a.downbeat[t] = sigmoid(s[1]);
  }
  return a;
}

OnsetEnvelope beat_envelope(const BeatActivation& a, double out_rate) {
  OnsetEnvelope env;
  env.frame_rate = out_rate;
  if (a.beat.empty() || a.frame_rate <= 0) return env;
  const std::size_t n = static_cast<std::size_t>(std::ceil(a.beat.size() / a.frame_rate * out_rate));
  env.strength.resize(n);
  for (std::size_t j = 0; j < n; ++j) {
    const double pos = j / out_rate * a.frame_rate;
    const std::size_t i = std::min(static_cast<std::size_t>(pos), a.beat.size() - 1);
    const std::size_t k = std::min(i + 1, a.beat.size() - 1);
    const double w = std::min(1.0, pos - i);
    env.strength[j] = static_cast<float>((1 - w) * a.beat[i] + w * a.beat[k]);
  }
  return env;
}

// ---- the weights' JSON ----

namespace {

std::vector<float> float_array(const JsonFields& f, const std::string& key, std::size_t size) {
  const nlohmann::json& arr = *f.array(key, true);
  if (arr.size() != size)
    f.fail(key, "must have " + std::to_string(size) + " values, got " + std::to_string(arr.size()));
  std::vector<float> out;
  out.reserve(size);
  for (const auto& v : arr) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) f.fail_got(key, "must hold finite numbers", v);
    out.push_back(v.get<float>());
  }
  return out;
}

}  // namespace

BeatNet parse_beat_net(const std::string& text, const std::string& context) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(context + ": not JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw Error(context + ": not a JSON object");
  JsonFields f(j, "", context);
  std::string format;
  f.string("format", format, true);
  if (format != "qscribe-beat-net") f.fail("format", "must be \"qscribe-beat-net\"");
  int features = 0;
  f.integer("features", features, true, kBeatFeatures, kBeatFeatures, "the number of beat features of this build");
  BeatNet net;
  f.number("frame_rate", net.frame_rate, true, 1.0, 1000.0);
  f.integer("channels", net.channels, true, 1, 256);
  f.integer("kernel", net.kernel, true, 1, 15);
  if (net.kernel % 2 == 0) f.fail("kernel", "must be odd");
  f.string("trained_on", net.trained_on, false);
  const nlohmann::json& dil = *f.array("dilations", true);
  for (const auto& d : dil) {
    if (!d.is_number_integer() || d.get<long long>() < 1 || d.get<long long>() > 4096)
      f.fail_got("dilations", "must hold integers 1..4096", d);
    net.dilations.push_back(d.get<int>());
  }
  const std::size_t C = static_cast<std::size_t>(net.channels), K = static_cast<std::size_t>(net.kernel);
  net.input_mean = float_array(f, "input_mean", kBeatFeatures);
  net.input_std = float_array(f, "input_std", kBeatFeatures);
  for (float s : net.input_std)
    if (!(s > 0)) f.fail("input_std", "must be positive");
  net.in_w = float_array(f, "in_w", C * kBeatFeatures);
  net.in_b = float_array(f, "in_b", C);
  const nlohmann::json& layers = *f.array("layers", true);
  if (layers.size() != net.dilations.size()) f.fail("layers", "must have one entry per dilation");
  for (std::size_t l = 0; l < layers.size(); ++l) {
    if (!layers[l].is_object()) f.fail("layers", "must hold objects");
    JsonFields lf = f.nested(layers[l], "layers[" + std::to_string(l) + "]");
    net.layers.push_back({float_array(lf, "w", C * C * K), float_array(lf, "b", C)});
  }
  net.out_w = float_array(f, "out_w", kBeatOutputs * C);
  net.out_b = float_array(f, "out_b", kBeatOutputs);
  return net;
}

namespace {

// Each weight as the double nearest its 9-digit decimal form ("0.223874167", not
// "0.22387416660785675"): half the file, and 9 digits read back to the same float.
nlohmann::json compact(const std::vector<float>& v) {
  nlohmann::json a = nlohmann::json::array();
  char buf[32];
  for (float f : v) {
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(f));
    a.push_back(std::strtod(buf, nullptr));
  }
  return a;
}

}  // namespace

void check_beat_net_frame_rate(const BeatNet& net, double frame_rate, const std::string& context) {
  if (std::abs(net.frame_rate - frame_rate) > 1e-3 * frame_rate)
    throw Error(context + ": trained at " + std::to_string(net.frame_rate) + " frames/s, the model runs at " +
                std::to_string(frame_rate) + " (train it again for this model: qscribe train-beats -m MODEL)");
}

std::string beat_net_to_json(const BeatNet& net) {
  nlohmann::json j;
  j["format"] = "qscribe-beat-net";
  j["features"] = kBeatFeatures;
  j["frame_rate"] = net.frame_rate;
  j["channels"] = net.channels;
  j["kernel"] = net.kernel;
  j["dilations"] = net.dilations;
  j["trained_on"] = net.trained_on;
  j["input_mean"] = compact(net.input_mean);
  j["input_std"] = compact(net.input_std);
  j["in_w"] = compact(net.in_w);
  j["in_b"] = compact(net.in_b);
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : net.layers) layers.push_back({{"w", compact(l.w)}, {"b", compact(l.b)}});
  j["layers"] = layers;
  j["out_w"] = compact(net.out_w);
  j["out_b"] = compact(net.out_b);
  return j.dump();
}

}  // namespace qs
