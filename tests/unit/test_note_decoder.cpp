// Note decoder: hand-made activations with known notes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "qscribe/error.hpp"
#include "qscribe/note_decoder.hpp"

namespace {

// A small [frames x notes] activation pair with helpers to paint values.
struct Grid {
  std::size_t n_frames;
  int n_notes;
  std::vector<float> frames, onsets;
  Grid(std::size_t f, int n) : n_frames(f), n_notes(n), frames(f * n, 0.0f), onsets(f * n, 0.0f) {}
  void frame(std::size_t j0, std::size_t j1, int k, float v) {
    for (std::size_t j = j0; j < j1; ++j) frames[j * n_notes + k] = v;
  }
  void onset(std::size_t j, int k, float v) { onsets[j * n_notes + k] = v; }
  qs::Activations act(bool with_onsets = true) const {
    qs::Activations a;
    a.frames = frames.data();
    a.onsets = with_onsets ? onsets.data() : nullptr;
    a.n_frames = n_frames;
    a.n_notes = n_notes;
    a.lowest_pitch = 21;
    a.frame_rate = 22050.0 / 512.0;
    return a;
  }
};

constexpr double kHop = 512.0 / 22050.0;

// Decoding any activations with `p` must fail with a qs::Error that names `field`.
void expect_rejected(const qs::DecoderParams& p, const std::string& field) {
  const Grid g(4, 4);
  try {
    qs::decode_notes(g.act(), p);
    ADD_FAILURE() << "expected qs::Error naming " << field;
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(NoteDecoder, OnsetPeakStartsNoteFramesSustainIt) {
  Grid g(20, 88);
  g.onset(3, 39, 0.6f);
  g.onset(4, 39, 0.9f);  // the peak
  g.onset(5, 39, 0.7f);
  g.frame(4, 12, 39, 0.8f);
  const qs::NoteList notes = qs::decode_notes(g.act());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].pitch, 60);
  EXPECT_DOUBLE_EQ(notes[0].onset, 4 * kHop);
  EXPECT_DOUBLE_EQ(notes[0].offset, 12 * kHop);
  EXPECT_EQ(notes[0].velocity, 1 + static_cast<int>(std::lround(126 * 0.8)));
}

TEST(NoteDecoder, OnsetFrameBelowFrameThresholdStillBelongsToNote) {
  Grid g(10, 88);
  g.onset(2, 0, 0.9f);
  g.frame(3, 6, 0, 0.5f);  // frame prob rises one frame after the onset
  const qs::NoteList notes = qs::decode_notes(g.act());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].pitch, 21);
  EXPECT_DOUBLE_EQ(notes[0].onset, 2 * kHop);
  EXPECT_DOUBLE_EQ(notes[0].offset, 6 * kHop);
  // mean of (0, 0.5, 0.5, 0.5) = 0.375
  EXPECT_EQ(notes[0].velocity, 1 + static_cast<int>(std::lround(126 * 0.375)));
}

TEST(NoteDecoder, RestrikeSplitsSoundingNote) {
  Grid g(30, 88);
  g.frame(0, 25, 10, 0.9f);
  g.onset(0, 10, 0.8f);
  g.onset(12, 10, 0.8f);
  const qs::NoteList notes = qs::decode_notes(g.act());
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_DOUBLE_EQ(notes[0].onset, 0.0);
  EXPECT_DOUBLE_EQ(notes[0].offset, 12 * kHop);
  EXPECT_DOUBLE_EQ(notes[1].onset, 12 * kHop);
  EXPECT_DOUBLE_EQ(notes[1].offset, 25 * kHop);
}

TEST(NoteDecoder, PlateauPeakCountsOnce) {
  Grid g(20, 4);
  g.frame(5, 15, 1, 0.9f);
  for (int j = 5; j < 9; ++j) g.onset(j, 1, 0.7f);
  EXPECT_EQ(qs::decode_notes(g.act()).size(), 1u);
}

TEST(NoteDecoder, OnsetBelowThresholdDoesNotStrike) {
  Grid g(20, 4);
  g.frame(0, 15, 1, 0.9f);
  g.onset(0, 1, 0.9f);
  g.onset(8, 1, 0.5f);  // not above 0.5
  EXPECT_EQ(qs::decode_notes(g.act()).size(), 1u);
}

TEST(NoteDecoder, FrameRiseFallbackIsSwitchable) {
  Grid g(20, 4);
  g.frame(5, 15, 2, 0.6f);  // no onset at all
  qs::DecoderParams p;
  ASSERT_EQ(qs::decode_notes(g.act(), p).size(), 1u);
  EXPECT_DOUBLE_EQ(qs::decode_notes(g.act(), p)[0].onset, 5 * kHop);
  p.frame_fallback = false;
  EXPECT_TRUE(qs::decode_notes(g.act(), p).empty());
  // Without onsets the fallback is always on: frame-only models decode from frames.
  EXPECT_EQ(qs::decode_notes(g.act(false), p).size(), 1u);
}

TEST(NoteDecoder, FrameOnlyIgnoresOnsetMatrix) {
  Grid g(30, 4);
  g.frame(0, 25, 3, 0.9f);
  g.onset(12, 3, 0.9f);
  const qs::NoteList notes = qs::decode_notes(g.act(false));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_DOUBLE_EQ(notes[0].offset, 25 * kHop);
}

TEST(NoteDecoder, MinimumLengthDropsShortNotes) {
  Grid g(20, 4);
  g.frame(1, 3, 0, 0.9f);   // 2 frames: 46 ms < 58 ms
  g.frame(6, 9, 1, 0.9f);   // 3 frames: 70 ms
  qs::NoteList notes = qs::decode_notes(g.act());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].pitch, 22);
  qs::DecoderParams p;
  p.min_note_length_s = 0.0;
  EXPECT_EQ(qs::decode_notes(g.act(), p).size(), 2u);
  p.min_note_length_s = 3 * kHop;  // exactly 3 frames: kept
  EXPECT_EQ(qs::decode_notes(g.act(), p).size(), 1u);
}

TEST(NoteDecoder, NoteRunningToTheEndIsClosed) {
  Grid g(10, 4);
  g.frame(4, 10, 3, 0.9f);
  const qs::NoteList notes = qs::decode_notes(g.act());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_DOUBLE_EQ(notes[0].offset, 10 * kHop);
}

TEST(NoteDecoder, OutputSortedByOnsetThenPitch) {
  Grid g(40, 8);
  g.frame(20, 30, 1, 0.9f);
  g.frame(5, 30, 6, 0.9f);
  g.frame(5, 10, 2, 0.9f);
  const qs::NoteList notes = qs::decode_notes(g.act());
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0].pitch, 23);
  EXPECT_EQ(notes[1].pitch, 27);
  EXPECT_EQ(notes[2].pitch, 22);
}

TEST(NoteDecoder, AllZerosAndEmptyGiveNoNotes) {
  Grid g(50, 88);
  qs::DecoderParams p;
  p.onset_threshold = 0.0f;
  p.frame_threshold = 0.0f;
  EXPECT_TRUE(qs::decode_notes(g.act(), p).empty());
  qs::Activations empty;
  empty.n_frames = 0;
  EXPECT_TRUE(qs::decode_notes(empty).empty());
}

TEST(NoteDecoder, NanAndNegativeCountAsZero) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Grid g(20, 4);
  g.frame(0, 20, 0, nan);
  g.frame(0, 20, 1, -1.0f);
  g.frame(2, 10, 2, 0.9f);
  g.frame(5, 6, 2, nan);  // a NaN hole ends the note: 3 frames, then a new rise
  g.onset(3, 2, nan);
  const qs::NoteList notes = qs::decode_notes(g.act());
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_DOUBLE_EQ(notes[0].offset, 5 * kHop);
  EXPECT_DOUBLE_EQ(notes[1].onset, 6 * kHop);
}

TEST(NoteDecoder, VelocityRange) {
  Grid g(20, 2);
  g.frame(0, 10, 0, 1.0f);
  g.onset(0, 0, 1.0f);
  g.frame(0, 10, 1, 50.0f);  // out-of-range probabilities are clamped for the velocity
  const qs::NoteList notes = qs::decode_notes(g.act());
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].velocity, 127);
  EXPECT_EQ(notes[1].velocity, 127);
}

TEST(NoteDecoder, PitchClassModel) {
  Grid g(20, 12);
  g.frame(0, 10, 11, 0.9f);
  qs::Activations a = g.act();
  a.lowest_pitch = 60;
  const qs::NoteList notes = qs::decode_notes(a);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].pitch, 71);
}

TEST(NoteDecoder, ReusesOutputBuffer) {
  Grid g(20, 4);
  g.frame(0, 10, 0, 0.9f);
  qs::NoteList out(5);
  qs::decode_notes(g.act(), {}, out);
  EXPECT_EQ(out.size(), 1u);
}

TEST(NoteDecoder, RejectsBadShapesAndParameters) {
  Grid g(4, 4);
  qs::Activations a = g.act();
  a.n_notes = 0;
  EXPECT_THROW(qs::decode_notes(a), qs::Error);
  a = g.act();
  a.n_notes = 129;
  EXPECT_THROW(qs::decode_notes(a), qs::Error);
  a = g.act();
  a.lowest_pitch = 125;
  EXPECT_THROW(qs::decode_notes(a), qs::Error);
  a = g.act();
  a.frame_rate = 0.0;
  EXPECT_THROW(qs::decode_notes(a), qs::Error);
  a = g.act();
  a.frames = nullptr;
  EXPECT_THROW(qs::decode_notes(a), qs::Error);

  qs::DecoderParams p;
  p.onset_threshold = 1.5f;
  EXPECT_THROW(qs::decode_notes(g.act(), p), qs::Error);
  p = {};
  p.frame_threshold = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(qs::decode_notes(g.act(), p), qs::Error);
  p = {};
  p.min_note_length_s = -1.0;
  expect_rejected(p, "min_note_length_s");
}

TEST(NoteDecoder, SigmoidMapsLogits) {
  std::vector<float> v{0.0f, 100.0f, -100.0f};
  qs::sigmoid_inplace(v.data(), v.size());
  EXPECT_FLOAT_EQ(v[0], 0.5f);
  EXPECT_FLOAT_EQ(v[1], 1.0f);
  EXPECT_NEAR(v[2], 0.0f, 1e-30);
}

TEST(NoteDecoder, WeakPeakOnSoundingNoteDoesNotRestrike) {
  // A held note whose onset probability wavers (0.45 at frame 12, a vibrato's swell): with a
  // re-strike threshold of 0.6 it stays one note; a fresh note with the same peak still starts.
  Grid g(40, 88);
  g.frame(0, 25, 10, 0.9f);
  g.onset(0, 10, 0.8f);
  g.onset(12, 10, 0.45f);
  g.frame(30, 38, 20, 0.9f);
  g.onset(30, 20, 0.45f);
  qs::DecoderParams p;
  p.onset_threshold = 0.4f;
  EXPECT_EQ(qs::decode_notes(g.act(), p).size(), 3u);  // default: every peak re-strikes
  p.restrike_threshold = 0.6f;
  const qs::NoteList notes = qs::decode_notes(g.act(), p);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].pitch, 31);
  EXPECT_DOUBLE_EQ(notes[0].onset, 0.0);
  EXPECT_DOUBLE_EQ(notes[0].offset, 25 * kHop);
  EXPECT_EQ(notes[1].pitch, 41);
  EXPECT_DOUBLE_EQ(notes[1].onset, 30 * kHop);
  g.onset(12, 10, 0.7f);  // a strong peak re-strikes
  EXPECT_EQ(qs::decode_notes(g.act(), p).size(), 3u);
  p.restrike_threshold = 0.2f;  // below the onset threshold: the onset threshold rules
  g.onset(12, 10, 0.35f);
  EXPECT_EQ(qs::decode_notes(g.act(), p).size(), 2u);
}

TEST(NoteDecoder, RestrikeNeedsTheMinimumGap) {
  // Peaks 3 and 8 frames after the start; a gap of 5 frames (0.116 s) lets only the second re-strike.
  Grid g(30, 88);
  g.frame(0, 25, 10, 0.9f);
  g.onset(0, 10, 0.8f);
  g.onset(3, 10, 0.8f);
  g.onset(11, 10, 0.8f);
  qs::DecoderParams p;
  p.min_note_length_s = 0.0;
  EXPECT_EQ(qs::decode_notes(g.act(), p).size(), 3u);
  p.min_restrike_gap_s = 5 * kHop;
  const qs::NoteList notes = qs::decode_notes(g.act(), p);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_DOUBLE_EQ(notes[0].offset, 11 * kHop);
  EXPECT_DOUBLE_EQ(notes[1].onset, 11 * kHop);
  EXPECT_DOUBLE_EQ(notes[1].offset, 25 * kHop);
}

TEST(NoteDecoder, PeakTooWeakToRestrikeWhereTheNoteEndsStartsTheNext) {
  // The note's frames fall below the threshold at frame 10, where a peak too weak to re-strike a
  // sounding note sits: the note ends there and the peak starts the next one.
  Grid g(30, 88);
  g.frame(0, 10, 10, 0.9f);
  g.frame(11, 20, 10, 0.9f);
  g.onset(0, 10, 0.8f);
  g.onset(10, 10, 0.6f);
  qs::DecoderParams p;
  p.restrike_threshold = 0.9f;
  p.frame_fallback = false;  // only the peak may start the second note
  const qs::NoteList notes = qs::decode_notes(g.act(), p);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_DOUBLE_EQ(notes[0].offset, 10 * kHop);
  EXPECT_DOUBLE_EQ(notes[1].onset, 10 * kHop);
  EXPECT_DOUBLE_EQ(notes[1].offset, 20 * kHop);
}

TEST(NoteDecoder, RejectsBadRestrikeParameters) {
  Grid g(4, 4);
  qs::DecoderParams p;
  p.restrike_threshold = 1.5f;
  EXPECT_THROW(qs::decode_notes(g.act(), p), qs::Error);
  p = {};
  p.min_restrike_gap_s = -0.1;
  expect_rejected(p, "min_restrike_gap_s");
}

TEST(NoteDecoder, ConfidentRiseWithoutPeakStartsANoteFromItsFirstFrame) {
  // A slur: pitch 40 takes over from pitch 39 with no onset peak. Its frame probability climbs
  // 0.3, 0.6, 0.95 from frame 10 and holds; a weaker hump on pitch 50 never passes 0.6.
  Grid g(30, 88);
  g.onset(0, 39, 0.9f);
  g.frame(0, 10, 39, 0.9f);
  g.frame(10, 11, 40, 0.3f);
  g.frame(11, 12, 40, 0.6f);
  g.frame(12, 25, 40, 0.95f);
  g.frame(5, 20, 50, 0.6f);
  qs::DecoderParams p;
  p.frame_threshold = 0.2f;
  p.frame_fallback = false;
  EXPECT_EQ(qs::decode_notes(g.act(), p).size(), 1u);  // rise threshold 0: onset peaks alone
  p.rise_threshold = 0.9f;
  const qs::NoteList notes = qs::decode_notes(g.act(), p);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[1].pitch, 61);
  EXPECT_DOUBLE_EQ(notes[1].onset, 10 * kHop);  // backdated to the rise's first frame above 0.2
  EXPECT_DOUBLE_EQ(notes[1].offset, 25 * kHop);
  const double mean = (0.3 + 0.6 + 13 * 0.95) / 15.0;
  EXPECT_EQ(notes[1].velocity, 1 + static_cast<int>(std::lround(126 * mean)));
  p.rise_threshold = 0.5f;  // now the hump on pitch 50 passes too
  const qs::NoteList more = qs::decode_notes(g.act(), p);
  ASSERT_EQ(more.size(), 3u);
  EXPECT_EQ(more[1].pitch, 71);
  EXPECT_DOUBLE_EQ(more[1].onset, 5 * kHop);
}

TEST(NoteDecoder, RiseRestartsAfterADipAndIsIgnoredWithTheFallbackOn) {
  // A run that dips to the frame threshold starts over: only its second stretch is above 0.8.
  Grid g(30, 88);
  g.frame(2, 6, 20, 0.5f);
  g.frame(6, 7, 20, 0.1f);
  g.frame(7, 9, 20, 0.4f);
  g.frame(9, 20, 20, 0.9f);
  qs::DecoderParams p;
  p.frame_threshold = 0.3f;
  p.frame_fallback = false;
  p.rise_threshold = 0.8f;
  qs::NoteList notes = qs::decode_notes(g.act(), p);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_DOUBLE_EQ(notes[0].onset, 7 * kHop);
  EXPECT_DOUBLE_EQ(notes[0].offset, 20 * kHop);
  p.frame_fallback = true;  // every rise starts a note: two notes, the first from frame 2
  notes = qs::decode_notes(g.act(), p);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_DOUBLE_EQ(notes[0].onset, 2 * kHop);
  EXPECT_DOUBLE_EQ(notes[1].onset, 7 * kHop);
}

TEST(NoteDecoder, OnsetPeakDuringARiseStartsTheNoteAtThePeak) {
  Grid g(30, 88);
  g.frame(3, 20, 30, 0.95f);
  g.onset(6, 30, 0.8f);  // the model hears the attack late in a swell: the peak rules
  qs::DecoderParams p;
  p.frame_fallback = false;
  p.rise_threshold = 0.99f;
  qs::NoteList notes = qs::decode_notes(g.act(), p);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_DOUBLE_EQ(notes[0].onset, 6 * kHop);
  p.rise_threshold = 0.9f;  // confident from frame 3: the rise starts it, the peak re-strikes it
  p.restrike_threshold = 0.9f;  // ... unless too weak to re-strike
  notes = qs::decode_notes(g.act(), p);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_DOUBLE_EQ(notes[0].onset, 3 * kHop);
}

TEST(NoteDecoder, RejectsABadRiseThreshold) {
  qs::DecoderParams p;
  p.rise_threshold = -0.5f;
  expect_rejected(p, "rise_threshold");
}

TEST(NoteDecoder, FrameRiseAroundAPeakHelpsItRestrike) {
  // Two held notes, each with a 0.45 onset peak at frame 12 (re-strike threshold 0.6). On pitch 10
  // the frame probability dips to 0.5 before the peak and is back at 0.9 two frames after it (a
  // note struck again); pitch 20 stays flat at 0.9 (a held note's wavering onset).
  Grid g(40, 88);
  for (int k : {10, 20}) {
    g.frame(0, 30, k, 0.9f);
    g.onset(0, k, 0.8f);
    g.onset(12, k, 0.45f);
  }
  g.frame(9, 13, 10, 0.5f);
  qs::DecoderParams p;
  p.onset_threshold = 0.4f;
  p.restrike_threshold = 0.6f;
  EXPECT_EQ(qs::decode_notes(g.act(), p).size(), 2u);  // weight 0: the onset alone, neither re-strikes
  p.restrike_rise_weight = 0.5f;                        // 0.45 + 0.5 * (0.9 - 0.5) = 0.65 > 0.6
  const qs::NoteList notes = qs::decode_notes(g.act(), p);
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0].pitch, 31);
  EXPECT_DOUBLE_EQ(notes[0].offset, 12 * kHop);
  EXPECT_EQ(notes[1].pitch, 41);  // the flat note sounds on
  EXPECT_DOUBLE_EQ(notes[1].offset, 30 * kHop);
  EXPECT_EQ(notes[2].pitch, 31);
  EXPECT_DOUBLE_EQ(notes[2].onset, 12 * kHop);
  p.restrike_rise_weight = 0.3f;  // 0.45 + 0.3 * 0.4 = 0.57: too little
  EXPECT_EQ(qs::decode_notes(g.act(), p).size(), 2u);
}

TEST(NoteDecoder, RestrikeRiseLooksOnlyWithinTheNoteAndTheSignal) {
  // The silence before the note's start (frame 5) is no dip, and a peak on the last frame reads
  // that frame as its "two frames after".
  Grid g(20, 88);
  g.frame(6, 20, 10, 0.9f);
  g.onset(6, 10, 0.8f);
  g.onset(11, 10, 0.45f);
  g.onset(19, 10, 0.45f);
  g.frame(17, 19, 10, 0.4f);
  qs::DecoderParams p;
  p.onset_threshold = 0.4f;
  p.restrike_threshold = 0.6f;
  p.min_note_length_s = 0.0;
  p.restrike_rise_weight = 1.0f;
  const qs::NoteList notes = qs::decode_notes(g.act(), p);
  // Frame 11: no dip within the note (0.45 + 0 < 0.6), no re-strike. Frame 19 (the last): the dip
  // to 0.4 at frames 17-18 and 0.9 at the last frame give 0.45 + 0.5 > 0.6: a re-strike.
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_DOUBLE_EQ(notes[0].onset, 6 * kHop);
  EXPECT_DOUBLE_EQ(notes[0].offset, 19 * kHop);
  EXPECT_DOUBLE_EQ(notes[1].onset, 19 * kHop);
}

TEST(NoteDecoder, RejectsABadRestrikeRiseWeight) {
  qs::DecoderParams p;
  for (float w : {-0.1f, 11.0f, std::numeric_limits<float>::quiet_NaN()}) {
    p.restrike_rise_weight = w;
    SCOPED_TRACE(w);
    expect_rejected(p, "restrike_rise_weight");
  }
}

TEST(NoteDecoder, WeakOnsetOnASilentPitchNeedsFrames) {
  // Two weak peaks (0.3) on silent pitches: pitch 10's frames average 0.6 over its first three
  // frames, pitch 20's only 0.2 (a blip the model is not sure sounds). With the weak-onset test
  // (at or below 0.4, frames above 0.35) only the first starts a note; a strong peak needs nothing.
  Grid g(30, 88);
  g.onset(5, 10, 0.3f);
  g.frame(5, 15, 10, 0.6f);
  g.onset(5, 20, 0.3f);
  g.frame(5, 15, 20, 0.2f);
  qs::DecoderParams p;
  p.onset_threshold = 0.2f;
  p.frame_threshold = 0.1f;
  p.frame_fallback = false;
  EXPECT_EQ(qs::decode_notes(g.act(), p).size(), 2u);  // off by default: both start
  p.weak_onset_threshold = 0.4f;
  p.weak_onset_frame = 0.35f;
  qs::NoteList notes = qs::decode_notes(g.act(), p);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].pitch, 31);
  g.onset(5, 20, 0.5f);  // above the weak-onset threshold: a note whatever its frames
  EXPECT_EQ(qs::decode_notes(g.act(), p).size(), 2u);
  p.weak_onset_frame = 1.0f;  // no frames are enough: pitch 10's weak peak starts nothing either
  notes = qs::decode_notes(g.act(), p);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].pitch, 41);
}

TEST(NoteDecoder, RejectsBadWeakOnsetParameters) {
  Grid g(4, 4);
  qs::DecoderParams p;
  p.weak_onset_threshold = 1.5f;
  EXPECT_THROW(qs::decode_notes(g.act(), p), qs::Error);
  p = {};
  p.weak_onset_frame = -0.1f;
  expect_rejected(p, "weak_onset_frame");
}
