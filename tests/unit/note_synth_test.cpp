#include <gtest/gtest.h>

#include <cmath>

#include "qscribe/cqt.hpp"
#include "qscribe/note_synth.hpp"

namespace {

// The rendering must put energy at the note's pitch, only while the note sounds.
TEST(NoteSynth, RendersThePitchAtTheRightTime) {
  qs::NoteList notes{{0.5, 1.0, 69, 100}};
  const auto audio = qs::render_notes(notes, 2.0);
  ASSERT_EQ(audio.size(), 44100u);
  auto rms = [&](double t0, double t1) {
    double s = 0;
    std::size_t a = t0 * 22050, b = t1 * 22050;
    for (std::size_t i = a; i < b; ++i) s += audio[i] * audio[i];
    return std::sqrt(s / (b - a));
  };
  EXPECT_LT(rms(0.0, 0.49), 1e-6);
  EXPECT_GT(rms(0.55, 0.95), 0.02);
  EXPECT_LT(rms(1.2, 2.0), 1e-6);
  const qs::Cqt cqt;
  const auto spec = cqt.transform(audio);
  const std::size_t frame = static_cast<std::size_t>(0.75 * 22050 / 512);
  std::size_t best = 0;
  for (std::size_t b = 0; b < spec.n_bins; ++b)
    if (spec.data[frame * spec.n_bins + b] > spec.data[frame * spec.n_bins + best]) best = b;
  EXPECT_EQ(std::lround(best / 4.0) + 21, 69);  // 4 bins per semitone from A0
}

TEST(NoteSynth, LengthFromNotesWhenNoDuration) {
  const auto audio = qs::render_notes({{0.0, 1.0, 60, 64}}, 0.0);
  EXPECT_NEAR(audio.size(), (1.0 + qs::NoteSynthOptions{}.release_s) * 22050, 2);
  for (float s : audio) ASSERT_LE(std::fabs(s), 1.0f);
}

}  // namespace
