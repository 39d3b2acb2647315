// CQT against librosa's reference output (tests/fixtures/librosa-cqt, see its README for the
// tolerances), streaming == batch, latency, parameters.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "qscribe/cqt.hpp"
#include "qscribe/error.hpp"
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
