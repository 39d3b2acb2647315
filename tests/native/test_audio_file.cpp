// Audio file loading: formats, mixing, resampling, error paths and a fuzz-like robustness check.
// Every test file is generated here with libsndfile itself (MP3 through its LAME encoder).
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "qscribe/audio_file.hpp"
#include "qscribe/error.hpp"
#include "test_support.hpp"

namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<float> sine(double freq, double amp, double rate, std::size_t n) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(amp * std::sin(2 * kPi * freq * i / rate));
  return x;
}

// Writes interleaved samples with libsndfile; the test fails (returns false) if it cannot.
bool write_sound(const std::string& path, int format, int rate, int channels, const std::vector<float>& interleaved) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (!f) {
    ADD_FAILURE() << "libsndfile cannot write " << path << ": " << sf_strerror(nullptr);
    return false;
  }
  const sf_count_t frames = static_cast<sf_count_t>(interleaved.size() / static_cast<std::size_t>(channels));
  const sf_count_t wrote = sf_writef_float(f, interleaved.data(), frames);
  sf_close(f);
  EXPECT_EQ(wrote, frames);
  return wrote == frames;
}

// Amplitude of the component at `freq` over [begin, begin + len): one DFT bin.
double tone_amplitude(const std::vector<float>& x, double rate, double freq, std::size_t begin, std::size_t len) {
  std::complex<double> acc = 0.0;
  for (std::size_t i = 0; i < len; ++i)
    acc += static_cast<double>(x[begin + i]) * std::polar(1.0, -2 * kPi * freq * static_cast<double>(i) / rate);
  return 2.0 * std::abs(acc) / static_cast<double>(len);
}

double rms(const std::vector<float>& x, std::size_t begin, std::size_t len) {
  double s = 0.0;
  for (std::size_t i = 0; i < len; ++i) s += static_cast<double>(x[begin + i]) * x[begin + i];
  return std::sqrt(s / static_cast<double>(len));
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes, std::size_t n) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(std::min(n, bytes.size())));
}

// Expects a qs::Error naming the file and containing `phrase`.
void expect_error(const std::function<void()>& f, const std::string& name, const std::string& phrase) {
  try {
    f();
    ADD_FAILURE() << "no error for " << name << " (expected \"" << phrase << "\")";
  } catch (const qs::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(name + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(phrase), std::string::npos) << msg;
  }
}

class AudioFileTest : public ::testing::Test {
 protected:
  std::string dir_ = qs::test::temp_dir("audio");
  std::string path(const std::string& leaf) const { return dir_ + "/" + leaf; }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
};

// ---- decoding, mixing, resampling -------------------------------------------------------

TEST_F(AudioFileTest, FloatWavAtTargetRateIsBitExact) {
  const auto x = sine(440, 0.5, 22050, 5000);
  ASSERT_TRUE(write_sound(path("a.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050, 1, x));
  const auto a = qs::load_audio(path("a.wav"));
  EXPECT_EQ(a.sample_rate, 22050.0);
  EXPECT_EQ(a.samples, x);
}

TEST_F(AudioFileTest, TargetRateZeroKeepsNativeRate) {
  ASSERT_TRUE(write_sound(path("a.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, sine(440, 0.5, 44100, 4410)));
  const auto a = qs::load_audio(path("a.wav"), 0);
  EXPECT_EQ(a.sample_rate, 44100.0);
  EXPECT_EQ(a.size(), 4410u);
}

class AudioFileRateTest : public AudioFileTest, public ::testing::WithParamInterface<int> {};

TEST_P(AudioFileRateTest, ToneSurvivesResamplingTo22050) {
  const int rate = GetParam();
  ASSERT_TRUE(write_sound(path("a.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, rate, 1, sine(440, 0.5, rate, rate)));
  const auto a = qs::load_audio(path("a.wav"));
  EXPECT_EQ(a.sample_rate, 22050.0);
  EXPECT_NEAR(static_cast<double>(a.size()), 22050.0, 2.0);  // one second, rate-correct
  // 0.5 s in the middle: a whole number of periods, away from the filter's edges.
  EXPECT_NEAR(tone_amplitude(a.samples, 22050, 440, 5512, 11025), 0.5, 0.005);
  EXPECT_NEAR(rms(a.samples, 5512, 11025), 0.5 / std::sqrt(2.0), 0.003);  // nothing else in there
}

INSTANTIATE_TEST_SUITE_P(Rates, AudioFileRateTest, ::testing::Values(44100, 48000, 16000));

TEST_F(AudioFileTest, StereoIsMixedToTheMeanOfChannels) {
  const int rate = 44100;
  const auto left = sine(440, 0.4, rate, rate), right = sine(660, 0.2, rate, rate);
  std::vector<float> stereo;
  for (int i = 0; i < rate; ++i) stereo.insert(stereo.end(), {left[i], right[i]});
  ASSERT_TRUE(write_sound(path("s.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, rate, 2, stereo));
  const auto a = qs::load_audio(path("s.wav"));
  EXPECT_NEAR(tone_amplitude(a.samples, 22050, 440, 5512, 11025), 0.2, 0.002);
  EXPECT_NEAR(tone_amplitude(a.samples, 22050, 660, 5512, 11025), 0.1, 0.002);
}

struct FormatCase {
  const char* name;
  const char* ext;
  int format;
  int rate;
  bool lossy;
};

void PrintTo(const FormatCase& fc, std::ostream* os) { *os << fc.name; }

class AudioFileFormatTest : public AudioFileTest, public ::testing::WithParamInterface<FormatCase> {};

TEST_P(AudioFileFormatTest, DecodesToneAtTheRightPitchLengthAndLevel) {
  const FormatCase& fc = GetParam();
  const std::string file = path(std::string("tone.") + fc.ext);
  ASSERT_TRUE(write_sound(file, fc.format, fc.rate, 1, sine(440, 0.5, fc.rate, fc.rate)));
  const auto a = qs::load_audio(file);
  EXPECT_EQ(a.sample_rate, 22050.0);
  // Lossy codecs may add or trim a little padding around the one second.
  EXPECT_NEAR(static_cast<double>(a.size()), 22050.0, fc.lossy ? 1200.0 : 2.0);
  ASSERT_GE(a.size(), 5512u + 11025u);
  const double amp = tone_amplitude(a.samples, 22050, 440, 5512, 11025);
  EXPECT_NEAR(amp, 0.5, fc.lossy ? 0.05 : 0.005);
  // Most of the energy sits in the tone: not silence, not garbage.
  const double tone_power = amp * amp / 2, total_power = std::pow(rms(a.samples, 5512, 11025), 2);
  EXPECT_GT(tone_power / total_power, 0.95);

  // The memory loader decodes the same bytes to the same audio.
  const auto bytes = qs::test::read_bytes(file);
  const auto m = qs::load_audio_memory(bytes.data(), bytes.size(), 22050, "mem");
  EXPECT_EQ(m.samples, a.samples);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, AudioFileFormatTest,
    ::testing::Values(FormatCase{"Wav", "wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 48000, false},
                      FormatCase{"Flac", "flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, false},
                      FormatCase{"OggVorbis", "ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, true},
                      FormatCase{"Opus", "opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, true},
                      FormatCase{"Mp3", "mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, true}),
    [](const ::testing::TestParamInfo<FormatCase>& p) { return std::string(p.param.name); });

TEST_F(AudioFileTest, LongFileIsStreamedAcrossManyBlocks) {
  // 20 s stereo at 44.1 kHz: several decode blocks and resampler chunks, block edges included.
  const int rate = 44100, seconds = 20;
  const auto tone = sine(1000, 0.25, rate, static_cast<std::size_t>(rate) * seconds);
  std::vector<float> stereo;
  stereo.reserve(tone.size() * 2);
  for (float v : tone) stereo.insert(stereo.end(), {v, v});
  ASSERT_TRUE(write_sound(path("long.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, rate, 2, stereo));
  const auto a = qs::load_audio(path("long.wav"));
  EXPECT_NEAR(static_cast<double>(a.size()), 22050.0 * seconds, 2.0);
  for (double t : {1.0, 7.3, 13.0, 18.5})
    EXPECT_NEAR(tone_amplitude(a.samples, 22050, 1000, static_cast<std::size_t>(t * 22050), 2205), 0.25, 0.003) << t;
}

TEST(AudioResample, MatchesRateAndKeepsTone) {
  qs::AudioBuffer in{sine(440, 0.5, 44100, 44100), 44100};
  const auto out = qs::resample(in, 22050);
  EXPECT_EQ(out.sample_rate, 22050.0);
  EXPECT_NEAR(static_cast<double>(out.size()), 22050.0, 2.0);
  EXPECT_NEAR(tone_amplitude(out.samples, 22050, 440, 5512, 11025), 0.5, 0.005);

  EXPECT_EQ(qs::resample(in, 44100).samples, in.samples);  // same rate: a copy
  EXPECT_TRUE(qs::resample(qs::AudioBuffer{{}, 44100}, 22050).empty());
  EXPECT_THROW(qs::resample(in, -1), qs::Error);
  EXPECT_THROW(qs::resample(qs::AudioBuffer{{0.f}, 0.0}, 22050), qs::Error);
}

TEST(AudioMix, MeanOfChannels) {
  const std::vector<float> x = {1, 3, -2, 2, 0.5f, 0.5f};
  EXPECT_EQ(qs::mix_to_mono(x.data(), 3, 2), (std::vector<float>{2, 0, 0.5f}));
  EXPECT_EQ(qs::mix_to_mono(x.data(), 2, 3), (std::vector<float>{2.0f / 3, 1}));
  EXPECT_EQ(qs::mix_to_mono(x.data(), 6, 1), x);
  EXPECT_TRUE(qs::mix_to_mono(nullptr, 0, 2).empty());
  EXPECT_THROW(qs::mix_to_mono(x.data(), 3, 0), qs::Error);
}

// ---- writing -----------------------------------------------------------------------------

TEST_F(AudioFileTest, SaveWavFloat32RoundTripsExactly) {
  qs::AudioBuffer a{sine(440, 1.5, 16000, 3000), 16000};  // float keeps values beyond ±1
  qs::save_wav(path("f.wav"), a);
  const auto b = qs::load_audio(path("f.wav"), 0);
  EXPECT_EQ(b.sample_rate, 16000.0);
  EXPECT_EQ(b.samples, a.samples);
}

TEST_F(AudioFileTest, SaveWavPcm16QuantisesAndClips) {
  qs::AudioBuffer a{{0.0f, 0.25f, -0.5f, 2.0f, -2.0f, 0.999f}, 22050};
  qs::save_wav(path("p.wav"), a, qs::WavEncoding::Pcm16);
  const auto b = qs::load_audio(path("p.wav"), 0);
  ASSERT_EQ(b.size(), a.size());
  for (std::size_t i : {0u, 1u, 2u, 5u}) EXPECT_NEAR(b.samples[i], a.samples[i], 1.0 / 32768) << i;
  EXPECT_NEAR(b.samples[3], 1.0f, 1e-4);  // clipped, not wrapped to negative
  EXPECT_NEAR(b.samples[4], -1.0f, 1e-4);
}

TEST_F(AudioFileTest, SaveWavRejectsBadInput) {
  expect_error([&] { qs::save_wav(path("x.wav"), qs::AudioBuffer{{0.f}, 22050.5}); }, path("x.wav"), "sample rate");
  expect_error([&] { qs::save_wav(path("x.wav"), qs::AudioBuffer{{NAN}, 22050}); }, path("x.wav"), "non-finite");
  expect_error([&] { qs::save_wav(path("no/such/dir/x.wav"), qs::AudioBuffer{{0.f}, 22050}); },
               path("no/such/dir/x.wav"), "cannot write");
}

// ---- error paths -------------------------------------------------------------------------

TEST_F(AudioFileTest, MissingFile) {
  expect_error([&] { qs::load_audio(path("nope.wav")); }, path("nope.wav"), "file not found");
}

TEST_F(AudioFileTest, Directory) {
  expect_error([&] { qs::load_audio(dir_); }, dir_, "is a directory");
}

TEST_F(AudioFileTest, TextFileNamedWav) {
  write_text(path("notes.wav"), "These are my notes, not audio.\nC D E F G\n");
  expect_error([&] { qs::load_audio(path("notes.wav")); }, path("notes.wav"), "not an audio file");
}

TEST_F(AudioFileTest, EmptyFile) {
  write_text(path("empty.wav"), "");
  expect_error([&] { qs::load_audio(path("empty.wav")); }, path("empty.wav"), "empty");
  expect_error([&] { qs::load_audio_memory("", 0); }, "<memory>", "empty");
}

TEST_F(AudioFileTest, ZeroLengthWav) {
  ASSERT_TRUE(write_sound(path("zero.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, {}));
  expect_error([&] { qs::load_audio(path("zero.wav")); }, path("zero.wav"), "contains no audio samples");
}

TEST_F(AudioFileTest, TruncatedWavHeader) {
  ASSERT_TRUE(write_sound(path("a.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, sine(440, 0.5, 44100, 1000)));
  const auto bytes = qs::test::read_bytes(path("a.wav"));
  for (std::size_t n : {4u, 12u, 20u, 30u, 40u}) {
    write_bytes(path("cut.wav"), bytes, n);
    EXPECT_THROW(qs::load_audio(path("cut.wav")), qs::Error) << n << " bytes";
  }
}

// Documented policy: libsndfile clamps a WAV's data length to the bytes present, and the loader
// returns that audio (whole frames) rather than failing or padding.
TEST_F(AudioFileTest, TruncatedWavDataGivesTheAudioThatIsThere) {
  const auto x = sine(440, 0.5, 22050, 2000);
  ASSERT_TRUE(write_sound(path("a.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050, 1, x));
  const auto bytes = qs::test::read_bytes(path("a.wav"));
  const std::size_t cut = bytes.size() - 4 * 1000 - 2;  // 1000.5 frames short
  write_bytes(path("cut.wav"), bytes, cut);
  const auto a = qs::load_audio(path("cut.wav"));
  ASSERT_EQ(a.size(), 999u);
  EXPECT_TRUE(std::equal(a.samples.begin(), a.samples.end(), x.begin()));
}

TEST_F(AudioFileTest, TruncatedFlacIsAnError) {
  ASSERT_TRUE(write_sound(path("a.flac"), SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, sine(440, 0.5, 44100, 44100)));
  const auto bytes = qs::test::read_bytes(path("a.flac"));
  write_bytes(path("cut.flac"), bytes, bytes.size() / 2);
  expect_error([&] { qs::load_audio(path("cut.flac")); }, path("cut.flac"), "truncated or corrupt");
}

// MP3 lengths may be estimates, so a cut MP3 gives the frames that decode: real audio, no garbage.
TEST_F(AudioFileTest, TruncatedMp3GivesCleanAudioOrAnError) {
  ASSERT_TRUE(write_sound(path("a.mp3"), SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 1, sine(440, 0.5, 44100, 44100)));
  const auto bytes = qs::test::read_bytes(path("a.mp3"));
  write_bytes(path("cut.mp3"), bytes, bytes.size() / 2);
  try {
    const auto a = qs::load_audio(path("cut.mp3"));
    ASSERT_GT(a.size(), 4000u);
    ASSERT_LT(a.size(), 16000u);
    EXPECT_NEAR(tone_amplitude(a.samples, 22050, 440, 2205, 2205), 0.5, 0.05);
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated or corrupt"), std::string::npos) << e.what();
  }
}

TEST_F(AudioFileTest, TooManyChannels) {
  ASSERT_TRUE(write_sound(path("many.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 65, std::vector<float>(65 * 10)));
  expect_error([&] { qs::load_audio(path("many.wav")); }, path("many.wav"), "65 channels");
}

TEST_F(AudioFileTest, AbsurdSampleRate) {
  ASSERT_TRUE(write_sound(path("slow.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 5, 1, std::vector<float>(10)));
  expect_error([&] { qs::load_audio(path("slow.wav")); }, path("slow.wav"), "unsupported sample rate");
}

TEST_F(AudioFileTest, NonFiniteSamples) {
  std::vector<float> x(100, 0.1f);
  x[50] = INFINITY;
  ASSERT_TRUE(write_sound(path("inf.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050, 1, x));
  expect_error([&] { qs::load_audio(path("inf.wav")); }, path("inf.wav"), "non-finite");
}

TEST_F(AudioFileTest, InvalidTargetRate) {
  ASSERT_TRUE(write_sound(path("a.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, std::vector<float>(10)));
  for (double sr : {-1.0, 1.0, 1e9, static_cast<double>(NAN)})
    expect_error([&] { qs::load_audio(path("a.wav"), sr); }, path("a.wav"), "invalid target sample rate");
}

// ---- fuzz-like robustness ---------------------------------------------------------------

// Loads bytes from memory: either a qs::Error or finite audio at a sane rate, never a crash.
void load_must_be_safe(const std::vector<std::uint8_t>& bytes, double target_sr) {
  try {
    const auto a = qs::load_audio_memory(bytes.data(), bytes.size(), target_sr, "fuzz");
    ASSERT_FALSE(a.empty());
    ASSERT_GT(a.sample_rate, 0.0);
    for (float v : a.samples) ASSERT_TRUE(std::isfinite(v));
  } catch (const qs::Error&) {
  }
}

TEST_F(AudioFileTest, FuzzRandomBuffersAndMutations) {
  // Random buffers, some starting with real magic numbers so the parsers go past the first bytes.
  const std::vector<std::string> magics = {"RIFF", "fLaC", "OggS", "ID3", "FORM", ".snd", ""};
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    auto bytes = qs::test::random_bytes(seed, 1 + seed * 37 % 3000);
    const std::string& m = magics[seed % magics.size()];
    for (std::size_t i = 0; i < m.size() && i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(m[i]);
    load_must_be_safe(bytes, 0);
  }

  // Mutations and truncations of valid short files.
  const auto x = sine(440, 0.5, 22050, 2000);
  ASSERT_TRUE(write_sound(path("s.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1, x));
  ASSERT_TRUE(write_sound(path("s.flac"), SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 1, x));
  std::mt19937_64 rng(1234);
  for (const std::string leaf : {"s.wav", "s.flac"}) {
    const auto valid = qs::test::read_bytes(path(leaf));
    for (int iter = 0; iter < 250; ++iter) {
      auto bytes = valid;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < flips; ++k) {
        // Most mutations hit the header, where the parsing is.
        const std::size_t span = rng() % 4 ? std::min<std::size_t>(bytes.size(), 96) : bytes.size();
        bytes[rng() % span] = static_cast<std::uint8_t>(rng());
      }
      if (iter % 3 == 0) bytes.resize(1 + rng() % bytes.size());
      load_must_be_safe(bytes, iter % 2 ? 22050.0 : 0.0);
    }
  }
}

}  // namespace

// ---- lossy encoding in memory (training audio's codec round trip) -------------------------

// Each codec encodes a tone in memory that decodes back (through load_audio_memory) at its pitch,
// level and length; Opus refuses a rate it does not have.
TEST(AudioEncodeLossy, RoundTripsAToneThroughEachCodec) {
  struct Case {
    qs::LossyCodec codec;
    double rate;
  };
  for (const Case c : {Case{qs::LossyCodec::Vorbis, 22050}, Case{qs::LossyCodec::Mp3, 22050}, Case{qs::LossyCodec::Opus, 48000}}) {
    SCOPED_TRACE(static_cast<int>(c.codec));
    qs::AudioBuffer in;
    in.sample_rate = c.rate;
    in.samples = sine(440.0, 0.5, c.rate, static_cast<std::size_t>(2 * c.rate));
    const std::vector<unsigned char> bytes = qs::encode_lossy(in, c.codec, 0.5);
    ASSERT_GT(bytes.size(), 100u);
    EXPECT_LT(bytes.size(), in.samples.size() * 2 / 4);  // well under 16-bit PCM
    const qs::AudioBuffer out = qs::load_audio_memory(bytes.data(), bytes.size(), c.rate, "encoded");
    EXPECT_NEAR(static_cast<double>(out.samples.size()), static_cast<double>(in.samples.size()), 0.1 * c.rate);
    const auto mid = static_cast<std::size_t>(0.5 * c.rate), len = static_cast<std::size_t>(0.5 * c.rate);
    EXPECT_NEAR(tone_amplitude(out.samples, c.rate, 440.0, mid, len), 0.5, 0.05);
    EXPECT_LT(tone_amplitude(out.samples, c.rate, 660.0, mid, len), 0.02);
  }
  qs::AudioBuffer odd;
  odd.sample_rate = 22050;
  odd.samples = sine(440.0, 0.5, 22050, 22050);
  EXPECT_THROW(qs::encode_lossy(odd, qs::LossyCodec::Opus, 0.5), qs::Error);
}
