// CQT against librosa's reference output (tests/fixtures/librosa-cqt, see its README for the
// tolerances), streaming == batch, latency, parameters.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <cstdio>
#include <cstring>

#include "qscribe/cqt.hpp"
#include "qscribe/error.hpp"
#include "qscribe/halfband.hpp"
#include "test_support.hpp"

namespace {

struct Fixture {
  std::vector<float> input;
  std::vector<float> ref;  // [bin][frame]
  std::size_t n_bins = 0, n_frames = 0;
  double filter_scale = 1.0;
};

Fixture load_fixture(const std::string& name, const std::string& input_name) {
  const std::string dir = qs::test::fixtures_dir() + "/librosa-cqt/";
  std::ifstream js(dir + name + ".json");
  const auto meta = nlohmann::json::parse(js);
  Fixture f;
  f.input = qs::test::read_f32(dir + input_name + ".input.f32");
  f.ref = qs::test::read_f32(dir + name + ".cqt.f32");
  f.n_bins = meta["cqt"]["shape"][0];
  f.n_frames = meta["cqt"]["shape"][1];
  f.filter_scale = meta["librosa"]["params"]["filter_scale"];
  return f;
}

struct ErrorStats {
  double max_all = 0, max_interior = 0, max_db_interior = 0, ref_max = 0;
};

ErrorStats compare(const qs::Spectrogram& c, const Fixture& f) {
  ErrorStats s;
  for (float v : f.ref) s.ref_max = std::max<double>(s.ref_max, v);
  const double db_floor = s.ref_max * std::pow(10.0, -20.0 / 20.0);
  for (std::size_t b = 0; b < f.n_bins; ++b) {
    for (std::size_t t = 0; t < f.n_frames; ++t) {
      const double ref = f.ref[b * f.n_frames + t];
      const double got = c.at(t, b);
      const double err = std::abs(got - ref);
      s.max_all = std::max(s.max_all, err);
      if (t >= 10 && t + 11 <= f.n_frames) {
        s.max_interior = std::max(s.max_interior, err);
        if (ref >= db_floor)
          s.max_db_interior = std::max(s.max_db_interior, std::abs(20.0 * std::log10(std::max(got, 1e-30) / ref)));
      }
    }
  }
  s.max_all /= s.ref_max;
  s.max_interior /= s.ref_max;
  return s;
}

class LibrosaFixture : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(LibrosaFixture, MatchesLibrosaWithinDocumentedTolerance) {
  const auto [name, input] = GetParam();
  const Fixture f = load_fixture(name, input);
  qs::CqtParams p;
  p.filter_scale = f.filter_scale;
  const qs::Cqt cqt(p);
  const qs::Spectrogram c = cqt.transform(f.input);
  ASSERT_EQ(c.n_frames, f.n_frames);
  ASSERT_EQ(c.n_bins, f.n_bins);
  const ErrorStats s = compare(c, f);
  // Tolerance for an implementation with its own half-band decimator (fixtures README).
  EXPECT_LE(s.max_all, 2.5e-2) << name;
  EXPECT_LE(s.max_interior, 1e-2) << name;
  EXPECT_LE(s.max_db_interior, 0.6) << name;
  std::printf("[ measure  ] %-14s max|err|/max: all %.2e  interior %.2e  interior dB %.3f\n", name, s.max_all,
              s.max_interior, s.max_db_interior);
}

INSTANTIATE_TEST_SUITE_P(Cqt, LibrosaFixture,
                         ::testing::Values(std::make_pair("sine440", "sine440"), std::make_pair("chord5", "chord5"),
                                           std::make_pair("chord5_fs0.5", "chord5"),
                                           std::make_pair("chirp30-4000", "chirp30-4000"),
                                           std::make_pair("music_joplin", "music_joplin")),
                         [](const auto& info) {
                           std::string n = info.param.first;
                           std::replace_if(n.begin(), n.end(), [](char ch) { return !std::isalnum(ch); }, '_');
                           return n;
                         });

}  // namespace

namespace {

std::vector<float> noisy_chord(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.02f);
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = i / 22050.0;
    x[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 110.0 * t) + 0.2 * std::sin(2 * M_PI * 1318.5 * t)) + noise(rng);
  }
  return x;
}

TEST(Cqt, StreamingFramesAreBitIdenticalToBatchForAnyBlockSizes) {
  const qs::Cqt cqt;
  const auto x = noisy_chord(22050 * 3 + 123, 1);
  const qs::Spectrogram batch = cqt.transform(x);
  std::mt19937 rng(42);
  for (int trial = 0; trial < 3; ++trial) {
    qs::StreamingCqt stream(cqt);
    std::vector<float> frames;
    std::size_t i = 0;
    while (i < x.size()) {
      const std::size_t block = std::min<std::size_t>(x.size() - i, 1 + rng() % (trial == 0 ? 7 : 5000));
      stream.push(x.data() + i, block, frames);
      i += block;
    }
    stream.finish(frames);
    ASSERT_EQ(frames.size(), batch.data.size()) << "trial " << trial;
    EXPECT_EQ(0, std::memcmp(frames.data(), batch.data.data(), frames.size() * sizeof(float))) << "trial " << trial;
    EXPECT_EQ(stream.frames_emitted(), batch.n_frames);
  }
}

TEST(Cqt, StreamReleasesEachFrameExactlyAtItsLookahead) {
  const qs::Cqt cqt;
  const std::size_t lookahead = cqt.frame_lookahead_samples();
  const std::size_t hop = 512;
  const auto x = noisy_chord(lookahead + 5 * hop + 17, 2);
  qs::StreamingCqt stream(cqt);
  std::vector<float> frames;
  for (std::size_t i = 0; i < x.size(); ++i) {
    stream.push(&x[i], 1, frames);
    const std::size_t pushed = i + 1;
    // Frame j is out once j*hop + lookahead samples are in, and not before.
    const std::size_t expected = pushed >= lookahead ? (pushed - lookahead) / hop + 1 : 0;
    ASSERT_EQ(stream.frames_emitted(), expected) << "after " << pushed << " samples";
  }
}

TEST(Cqt, LookaheadPerBinFollowsTheOctaveStructure) {
  const qs::Cqt cqt;
  // Top octave: half of its 1024-sample FFT window; each octave down doubles it (plus the
  // decimator's reach). A0 needs about 1.5 s of future audio at filter_scale 1: its kernel alone
  // spans 2.5 s, and librosa's octave FFT rounds the window up to a power of two.
  EXPECT_EQ(cqt.lookahead_samples(351), 512u);
  EXPECT_EQ(cqt.lookahead_samples(304), 512u);
  EXPECT_EQ(cqt.lookahead_samples(303), 2u * 512u + qs::HalfbandDecimator::kHalfLength - 1);
  for (int b = 1; b < 352; ++b) EXPECT_LE(cqt.lookahead_samples(b), cqt.lookahead_samples(b - 1));
  EXPECT_EQ(cqt.frame_lookahead_samples(), cqt.lookahead_samples(0));
  EXPECT_GT(cqt.lookahead_seconds(0), 1.2);
  EXPECT_LT(cqt.lookahead_seconds(0), 1.7);
  // C3 (MIDI 48) shares its octave's window with the F2 kernel, ~0.76 s; the top octave 23 ms.
  EXPECT_NEAR(cqt.lookahead_seconds(4 * (48 - 21)), 0.763, 0.01);
  EXPECT_NEAR(cqt.lookahead_seconds(351), 0.0232, 0.001);
  EXPECT_THROW(cqt.lookahead_samples(352), qs::Error);
}

TEST(Cqt, SineAmplitudeAndPitchAtEveryResolution) {
  for (int bps = 1; bps <= 8; ++bps) {
    qs::CqtParams p;
    p.bins_per_semitone = bps;
    p.n_bins = 88 * bps;
    const qs::Cqt cqt(p);
    std::vector<float> x(22050 * 2);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 440.0 * i / 22050.0));
    const qs::Spectrogram c = cqt.transform(x);
    ASSERT_EQ(c.n_bins, static_cast<std::size_t>(88 * bps));
    const std::size_t mid = c.n_frames / 2;
    const float* row = c.frame(mid);
    const std::size_t peak = std::max_element(row, row + c.n_bins) - row;
    EXPECT_EQ(peak, static_cast<std::size_t>(bps * (69 - 21))) << "bins per semitone " << bps;
    // A steady sinusoid of amplitude A at a bin centre gives (A/2) sqrt(L_k).
    const double r2 = std::pow(2.0, 2.0 / (12 * bps));
    const double length = (1.0 / ((r2 - 1) / (r2 + 1))) * 22050.0 / 440.0;
    EXPECT_NEAR(row[peak], 0.25 * std::sqrt(length), 0.01 * 0.25 * std::sqrt(length)) << "bins per semitone " << bps;
  }
}

TEST(Cqt, OtherHopsFminAndFilterScales) {
  qs::CqtParams p;
  p.hop_length = 256;
  p.fmin = 32.703;  // C1
  p.n_bins = 4 * 84;
  p.filter_scale = 0.5;
  const qs::Cqt cqt(p);
  std::vector<float> x(22050);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 261.63 * i / 22050.0));
  const qs::Spectrogram c = cqt.transform(x);
  EXPECT_EQ(c.n_frames, 1 + x.size() / 256);
  const float* row = c.frame(c.n_frames / 2);
  EXPECT_EQ(std::max_element(row, row + c.n_bins) - row, 4 * 36);  // C4 is 36 semitones above C1
  // Shorter kernels: less look-ahead than filter_scale 1.
  EXPECT_LT(cqt.lookahead_samples(0), qs::Cqt(qs::CqtParams{}).lookahead_samples(16));
}

// Kernels with a long past and a short future (future_fraction < 0.5).
qs::CqtParams asymmetric_params() {
  qs::CqtParams p;
  p.filter_scale = 0.5;
  p.future_fraction = 0.25;  // the future of a symmetric kernel of filter_scale 0.25
  return p;
}

qs::CqtParams filter_scale(double s) {
  qs::CqtParams p;
  p.filter_scale = s;
  return p;
}

std::vector<float> sine(double hz, std::size_t n, std::size_t start = 0) {
  std::vector<float> x(n, 0.0f);
  for (std::size_t i = start; i < n; ++i) x[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * hz * (i - start) / 22050.0));
  return x;
}

// The first frame whose magnitude at `bin` reaches `share` of the last frame's.
std::size_t first_frame_reaching(const qs::Spectrogram& c, std::size_t bin, double share) {
  const double steady = c.frame(c.n_frames - 1)[bin];
  for (std::size_t f = 0; f < c.n_frames; ++f)
    if (c.frame(f)[bin] >= share * steady) return f;
  return c.n_frames;
}

TEST(CqtAsymmetric, SteadyToneKeepsItsPitchAndAmplitude) {
  const qs::Cqt cqt(asymmetric_params());
  const qs::Spectrogram c = cqt.transform(sine(440.0, 22050 * 2));
  const float* row = c.frame(c.n_frames / 2);
  const std::size_t peak = std::max_element(row, row + c.n_bins) - row;
  EXPECT_EQ(peak, static_cast<std::size_t>(4 * (69 - 21)));
  const double r2 = std::pow(2.0, 2.0 / 48), alpha = (r2 - 1) / (r2 + 1);
  const double length = 0.5 / alpha * 22050.0 / 440.0;  // the whole kernel, past and future
  EXPECT_NEAR(row[peak], 0.25 * std::sqrt(length), 0.02 * 0.25 * std::sqrt(length));
}

TEST(CqtAsymmetric, HearsAnOnsetNoSoonerThanTheShortSymmetricKernel) {
  // A4 from 1 s on: the kernel's future is that of filter_scale 0.25, so the onset shows in the
  // same frames as there, and later than with the symmetric kernel of the same length.
  const std::size_t bin = 4 * (69 - 21);
  const auto x = sine(440.0, 22050 * 2, 22050);
  const std::size_t asym = first_frame_reaching(qs::Cqt(asymmetric_params()).transform(x), bin, 0.02);
  const std::size_t short_sym = first_frame_reaching(qs::Cqt(filter_scale(0.25)).transform(x), bin, 0.02);
  const std::size_t long_sym = first_frame_reaching(qs::Cqt(filter_scale(0.5)).transform(x), bin, 0.02);
  EXPECT_GE(asym, short_sym);
  EXPECT_GT(asym, long_sym);
  EXPECT_LE(asym, short_sym + 1);
}

TEST(CqtAsymmetric, ResolvesTheSemitoneBelowBetterThanTheShortSymmetricKernel) {
  // A steady E-flat 4: how much of it leaks into D4's bin, a semitone (4 bins) below.
  const std::size_t eb4 = 4 * (63 - 21), d4 = eb4 - 4;
  auto leak = [&](const qs::CqtParams& p) {
    const qs::Spectrogram c = qs::Cqt(p).transform(sine(311.127, 22050 * 2));
    const float* row = c.frame(c.n_frames / 2);
    return row[d4] / row[eb4];
  };
  const double asym = leak(asymmetric_params()), short_sym = leak(filter_scale(0.25));
  EXPECT_LT(asym, 0.5 * short_sym) << asym << " vs " << short_sym;
}

TEST(CqtAsymmetric, LooksAheadNoFurtherThanTheShortSymmetricKernel) {
  // The FFT window holds the long past before the frame's centre, so a frame is released as soon
  // as the short future is in: no later than filter_scale 0.25's frames, far sooner than 0.5's.
  const qs::Cqt asym(asymmetric_params()), short_sym(filter_scale(0.25)), long_sym(filter_scale(0.5));
  for (int note : {36, 48, 60, 72, 84, 96}) {
    const int bin = 4 * (note - 21);
    std::printf("[ measure  ] MIDI %d look-ahead: asymmetric %.1f ms, filter_scale 0.25 %.1f ms, 0.5 %.1f ms\n", note,
                1e3 * asym.lookahead_seconds(bin), 1e3 * short_sym.lookahead_seconds(bin), 1e3 * long_sym.lookahead_seconds(bin));
    EXPECT_LE(asym.lookahead_samples(bin), short_sym.lookahead_samples(bin)) << note;
    EXPECT_LT(asym.lookahead_samples(bin), long_sym.lookahead_samples(bin)) << note;
  }
}

TEST(CqtAsymmetric, StreamingFramesAreBitIdenticalToBatch) {
  const qs::Cqt cqt(asymmetric_params());
  const auto x = noisy_chord(22050 * 2 + 77, 3);
  const qs::Spectrogram batch = cqt.transform(x);
  qs::StreamingCqt stream(cqt);
  std::vector<float> frames;
  std::mt19937 rng(7);
  for (std::size_t i = 0; i < x.size();) {
    const std::size_t block = std::min<std::size_t>(x.size() - i, 1 + rng() % 3000);
    stream.push(x.data() + i, block, frames);
    i += block;
  }
  stream.finish(frames);
  ASSERT_EQ(frames.size(), batch.data.size());
  EXPECT_EQ(0, std::memcmp(frames.data(), batch.data.data(), frames.size() * sizeof(float)));
}

TEST(Cqt, EdgeCases) {
  const qs::Cqt cqt;
  EXPECT_EQ(cqt.transform(std::vector<float>{}).n_frames, 1u);
  EXPECT_EQ(cqt.transform(std::vector<float>(511, 0.1f)).n_frames, 1u);
  EXPECT_EQ(cqt.transform(std::vector<float>(512, 0.1f)).n_frames, 2u);
  const auto silent = cqt.transform(std::vector<float>(5000, 0.0f));
  for (float v : silent.data) EXPECT_EQ(v, 0.0f);
  qs::AudioBuffer wrong_rate{std::vector<float>(100, 0.0f), 44100.0};
  EXPECT_THROW(cqt.transform(wrong_rate), qs::Error);
  qs::StreamingCqt stream(cqt);
  std::vector<float> frames;
  stream.finish(frames);
  EXPECT_THROW(stream.push(frames.data(), 0, frames), qs::Error);
  stream.reset();
  EXPECT_EQ(stream.frames_emitted(), 0u);
}

TEST(Cqt, InvalidParametersNameTheField) {
  auto message = [](qs::CqtParams p) {
    try {
      qs::Cqt c(p);
    } catch (const qs::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  qs::CqtParams p;
  p.bins_per_semitone = 9;
  EXPECT_NE(message(p).find("bins_per_semitone"), std::string::npos);
  p = {};
  p.hop_length = 0;
  EXPECT_NE(message(p).find("hop_length"), std::string::npos);
  p = {};
  p.n_bins = 500;  // reaches past Nyquist at 22050 Hz
  EXPECT_NE(message(p).find("n_bins"), std::string::npos);
  p = {};
  p.fmin = -1;
  EXPECT_NE(message(p).find("fmin"), std::string::npos);
  p = {};
  p.filter_scale = 0;
  EXPECT_NE(message(p).find("filter_scale"), std::string::npos);
  for (double f : {0.0, 0.6}) {
    p = {};
    p.future_fraction = f;
    EXPECT_NE(message(p).find("future_fraction"), std::string::npos) << f;
  }
}

}  // namespace
