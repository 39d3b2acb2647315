#include "synth/synth.hpp"

#include <fluidsynth.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/progress.hpp"
#include "synth/expression.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/atomic_file.hpp"
#include "qscribe/error.hpp"
#include "qscribe/midi_file.hpp"

namespace fs = std::filesystem;

namespace qs::synth {

namespace {

constexpr int kBlock = 64;  // fluidsynth's internal block: events take effect on this grid
constexpr int kLowest = 21, kHighest = 108;

}  // namespace

Piece read_midi_piece(const std::vector<std::uint8_t>& bytes, MidiContents* contents) {
  MidiReadOptions options;
  options.by_channel = true;
  MidiContents all = parse_midi(bytes.data(), bytes.size(), options);  // throws on malformed input
  Piece piece;
  for (MidiChannelContents& channel : all.channels)  // in channel order; drums are already dropped
    if (!channel.notes.empty()) piece.parts.push_back(Part{std::max(0, channel.program), std::move(channel.notes)});
  all.channels.clear();
  if (contents) *contents = std::move(all);
  return piece;
}

Piece read_midi_piece_file(const std::string& path, MidiContents* contents) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return read_midi_piece(bytes, contents);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

// ---- augmentation --------------------------------------------------------------------------

std::uint64_t file_seed(std::uint64_t seed, const std::string& name, int variant) {
  return mix_hash(mix_hash(seed, fnv1a(name)), static_cast<std::uint64_t>(variant));
}

namespace {
// Index drawn with probability proportional to weights[i] (one draw of r).
int weighted_pick(Rng& r, const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += std::max(0.0, w);
  double u = r.uniform() * total;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    u -= std::max(0.0, weights[i]);
    if (u < 0) return static_cast<int>(i);
  }
  return static_cast<int>(weights.size()) - 1;
}
bool bowed_or_blown(int program) { return program >= 40 && program <= 79; }
bool sustained(int program) { return (program >= 16 && program <= 23) || (program >= 40 && program <= 95); }
}  // namespace

Augmentation draw_augmentation(std::uint64_t seed, const AugmentOptions& o, const Piece& piece, int n_sources,
                               const std::vector<double>& weights) {
  // Every value is always drawn, in a fixed order, so that changing one option does not change
  // the draws of the others; draws added later come after the earlier ones.
  Rng r(seed);
  Augmentation a;
  a.soundfont = static_cast<int>(weights.size()) == n_sources && n_sources > 0 ? weighted_pick(r, weights)
                                                                              : r.integer(0, std::max(0, n_sources - 1));
  a.transpose = r.integer(std::min(o.transpose_min, o.transpose_max), std::max(o.transpose_min, o.transpose_max));
  a.peak_db = r.uniform(o.peak_db_min, o.peak_db_max);
  a.reverb = r.chance(o.reverb_prob);
  a.reverb_room = r.uniform(0.2, 0.95);
  a.reverb_damp = r.uniform(0.0, 0.7);
  a.reverb_width = r.uniform(0.3, 1.0);
  a.reverb_level = r.uniform(0.2, 0.9);
  a.chorus = r.chance(o.chorus_prob);
  a.chorus_voices = r.integer(2, 5);
  a.chorus_level = r.uniform(0.5, 2.0);
  a.chorus_speed = r.uniform(0.2, 1.5);
  a.chorus_depth = r.uniform(2.0, 12.0);
  a.noise = r.chance(o.noise_prob) && o.noise;
  a.noise_snr = r.uniform(o.noise_snr_min, o.noise_snr_max);
  a.pink = r.chance(0.5);
  a.noise_seed = r.next();
  for (const auto& part : piece.parts) {
    const int random_program = r.integer(0, 111);
    a.programs.push_back(o.programs == ProgramMode::Random ? (part.program_chosen ? std::clamp(part.program, 0, 127) : random_program)
                         : o.programs == ProgramMode::Piano ? 0
                         : o.programs == ProgramMode::Fixed ? std::clamp(o.fixed_program, 0, 127)
                                                            : std::clamp(part.program, 0, 127));
  }
  // The performance.
  const double curve = std::max(1.0, o.velocity_curve);
  a.velocity_exponent = std::exp(r.uniform(-std::log(curve), std::log(curve)));
  const double tuning = r.uniform(-o.detune_cents, o.detune_cents);
  for (std::size_t k = 0; k < piece.parts.size(); ++k) {
    const double part_detune = r.uniform(-o.detune_cents, o.detune_cents) / 2;
    const bool vibrato = r.chance(o.vibrato_prob);
    const int depth = r.integer(20, 90);
    const bool slow = r.chance(o.slow_attack_prob);
    const int attack = r.integer(1200, 4800);
    a.detune.push_back(tuning + part_detune);
    a.vibrato.push_back(vibrato ? depth : 0);
    a.attack.push_back(slow && bowed_or_blown(a.programs[k]) ? attack : 0);
  }
  a.piano.velocity_exponent = r.uniform(1.3, 2.2);
  a.piano.brightness = std::exp(r.uniform(std::log(0.5), std::log(2.0)));
  a.piano.detune_cents = tuning;
  a.piano.detune_spread = o.detune_cents > 0 ? r.uniform(0.0, o.detune_cents / 2) : 0.0;
  a.piano.release_level = r.uniform(0.3, 1.0);
  a.piano.seed = r.next();
  a.recording = draw_recording(r, o.recording);
  double end = 0;
  for (const auto& part : piece.parts)
    for (const Note& n : part.notes) end = std::max(end, n.offset);
  a.tempo_warp = draw_tempo_warp(r, o.tempo_warp, end);
  for (std::size_t k = 0; k < piece.parts.size(); ++k) {  // drawn last: the earlier draws stay as they were
    const bool moves = r.chance(o.swell_prob);
    const int shape = r.integer(1, 2), floor = r.integer(30, 90);
    const bool on = moves && sustained(a.programs[k]);
    a.swell.push_back(on ? shape : 0);
    a.swell_floor.push_back(on ? floor : 127);
  }
  // The plucked strings' instrument, drawn after everything else for the same reason.
  a.pluck.velocity_exponent = r.uniform(1.2, 2.0);
  a.pluck.loop_lowpass = r.uniform(0.1, 0.5);
  a.pluck.decay_s = std::exp(r.uniform(std::log(2.5), std::log(10.0)));
  a.pluck.pick_position = r.uniform(0.07, 0.35);
  a.pluck.damping_s = std::exp(r.uniform(std::log(0.05), std::log(0.4)));
  a.pluck.body_mix = r.uniform(0.0, 0.6);
  a.pluck.body_hz = {r.uniform(80.0, 130.0), r.uniform(170.0, 260.0), r.uniform(320.0, 520.0)};
  a.pluck.body_q = r.uniform(4.0, 12.0);  // rings under 0.35 s at 80 Hz: no pitch of its own in the labels' gaps
  a.pluck.detune_cents = tuning;
  a.pluck.detune_spread = r.uniform(0.0, 0.5) * std::max(0.0, o.detune_cents);  // always drawn
  a.pluck.seed = r.next();
  a.sing.velocity_exponent = r.uniform(1.2, 2.0);
  a.sing.vibrato_hz = r.uniform(4.5, 6.8);
  a.sing.vibrato_cents = r.chance(0.15) ? 0.0 : r.uniform(15.0, 90.0);
  a.sing.vibrato_delay_s = r.uniform(0.1, 0.6);
  a.sing.jitter_cents = r.uniform(2.0, 15.0);
  a.sing.scoop_cents = r.uniform(0.0, 120.0);
  a.sing.glide_s = r.uniform(0.03, 0.15);
  a.sing.tilt = r.uniform(0.8, 1.8);
  a.sing.breath = r.uniform(0.0, 0.15);
  a.sing.formant_scale = r.uniform(0.85, 1.25);
  a.sing.attack_s = r.uniform(0.02, 0.15);
  a.sing.release_s = r.uniform(0.03, 0.12);
  a.sing.detune_cents = tuning;
  const bool sung_swell = r.chance(o.swell_prob);
  const int sung_shape = r.integer(kFade, kArch);  // always drawn: the draws after it stay put
  a.sing.swell = sung_swell ? sung_shape : kSteady;
  a.sing.swell_floor = r.integer(30, 90);
  a.sing.seed = r.next();
  // The sustained tones, drawn after everything else for the same reason (their instruments come
  // from their own seed).
  a.tone.velocity_exponent = r.uniform(1.2, 2.0);
  a.tone.detune_cents = tuning;
  const bool tone_swell = r.chance(o.swell_prob);
  const int tone_shape = r.integer(kFade, kArch);
  a.tone.swell = tone_swell ? tone_shape : kSteady;
  a.tone.swell_floor = r.integer(30, 90);
  a.tone.seed = r.next();
  return a;
}

// ---- tempo warp ----------------------------------------------------------------------------

TempoWarp draw_tempo_warp(Rng& r, bool enabled, double duration) {
  TempoWarp w;  // every value always drawn, in this order
  w.enabled = enabled;
  w.factor = std::exp(r.uniform(std::log(0.8), std::log(1.25)));
  w.change = r.chance(0.5);
  w.change_at = r.uniform(0.15, 0.7) * std::max(0.0, duration);
  w.change_length = r.uniform(2.0, 8.0);
  w.change_factor = std::exp(r.uniform(std::log(0.75), std::log(1.3)));
  w.rubato_depth = r.uniform(0.03, 0.08);
  w.rubato_period = r.uniform(4.0, 12.0);
  w.rubato_phase = r.uniform(0.0, 2 * M_PI);
  w.jitter_sigma = r.uniform(0.005, 0.020);
  w.jitter_seed = r.next();
  return w;
}

TempoWarpMap::TempoWarpMap(const TempoWarp& warp, double horizon) : w_(warp) {
  if (!w_.enabled) return;
  const auto n = static_cast<std::size_t>(std::ceil(std::clamp(horizon, 0.0, 1e7) / step_)) + 1;
  table_.resize(n + 1);
  table_[0] = 0.0;
  for (std::size_t k = 0; k < n; ++k)
    table_[k + 1] = table_[k] + step_ / tempo_factor((static_cast<double>(k) + 0.5) * step_);
}

double TempoWarpMap::tempo_factor(double s) const {
  if (!w_.enabled) return 1.0;
  double f = w_.factor * (1.0 + w_.rubato_depth * std::sin(2 * M_PI * s / w_.rubato_period + w_.rubato_phase));
  if (w_.change && s > w_.change_at) {
    const double x = std::min(1.0, (s - w_.change_at) / std::max(1e-9, w_.change_length));
    f *= std::exp(std::log(w_.change_factor) * 0.5 * (1.0 - std::cos(M_PI * x)));
  }
  return f;
}

double TempoWarpMap::operator()(double s) const {
  if (!w_.enabled) return s;
  if (s <= 0) return s / tempo_factor(0.0);
  const std::size_t last = table_.size() - 1;
  const auto k = std::min(static_cast<std::size_t>(s / step_), last);
  const double s0 = static_cast<double>(k) * step_, x = s - s0;
  if (k == last) return table_[k] + x / tempo_factor(s0);  // beyond the table: the last tempo
  return table_[k] + x / tempo_factor(s0 + x / 2);
}

void clip_piece(Piece& piece, MidiContents& contents, double seconds) {
  for (Part& part : piece.parts) {
    NoteList kept;
    for (Note n : part.notes)
      if (n.onset < seconds) {
        n.offset = std::min(n.offset, seconds);
        kept.push_back(n);
      }
    part.notes = std::move(kept);
  }
  piece.parts.erase(std::remove_if(piece.parts.begin(), piece.parts.end(), [](const Part& p) { return p.notes.empty(); }),
                    piece.parts.end());
  contents.end_time = std::min(contents.end_time, seconds);
  auto before = [&](auto& list) {
    list.erase(std::remove_if(list.begin(), list.end(), [&](const auto& e) { return e.time_s >= seconds; }), list.end());
  };
  before(contents.tempos);
  before(contents.time_signatures);
  before(contents.key_signatures);
}

Piece warp_piece(const Piece& piece, const TempoWarp& warp, const TempoWarpMap& map) {
  if (!warp.enabled) return piece;
  // Onsets of all parts, sorted; groups of onsets within 1 ms share one jitter draw.
  struct Ref {
    double onset;
    std::size_t part, note;
  };
  std::vector<Ref> refs;
  for (std::size_t p = 0; p < piece.parts.size(); ++p)
    for (std::size_t i = 0; i < piece.parts[p].notes.size(); ++i) refs.push_back({piece.parts[p].notes[i].onset, p, i});
  std::sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) {
    return std::tie(a.onset, a.part, a.note) < std::tie(b.onset, b.part, b.note);
  });
  std::vector<std::size_t> group(refs.size());
  std::vector<double> start;  // warped time of each group's first onset
  for (std::size_t k = 0; k < refs.size(); ++k) {
    if (k == 0 || refs[k].onset - refs[k - 1].onset > 0.001) start.push_back(map(refs[k].onset));
    group[k] = start.size() - 1;
  }
  Rng r(warp.jitter_seed);
  std::vector<double> jitter(start.size());
  for (std::size_t g = 0; g < start.size(); ++g) {
    double j = std::clamp(warp.jitter_sigma * r.gaussian(), -2.5 * warp.jitter_sigma, 2.5 * warp.jitter_sigma);
    double room = std::numeric_limits<double>::infinity();
    if (g > 0) room = std::min(room, 0.45 * (start[g] - start[g - 1]));
    if (g + 1 < start.size()) room = std::min(room, 0.45 * (start[g + 1] - start[g]));
    j = std::clamp(j, -room, room);
    jitter[g] = std::max(j, -start[g]);
  }
  Piece out = piece;
  for (std::size_t k = 0; k < refs.size(); ++k) {
    const Note& src = piece.parts[refs[k].part].notes[refs[k].note];
    Note& dst = out.parts[refs[k].part].notes[refs[k].note];
    const double on = map(src.onset), off = map(src.offset), j = jitter[group[k]];
    dst.onset = std::max(0.0, on + j);
    dst.offset = std::max(dst.onset + 1e-4, off + j);
  }
  return out;
}

int transpose_fifths(int fifths, int semitones) {
  if (semitones % 12 == 0) return fifths;
  int n = ((fifths + 7 * semitones) % 12 + 12) % 12;  // up a semitone = 7 fifths up
  return n > 6 ? n - 12 : n;
}

namespace {
std::string seconds_text(double t) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6f", t);
  return b;
}
double rounded(double t) { return std::round(t * 1e6) / 1e6; }
}  // namespace

void write_beats_tsv(const std::string& path, const MidiBeatGrid& grid, const TempoWarpMap& map, double duration) {
  std::ostringstream out;
  out << "# time_s\tbar\tbeat_in_bar (1 = downbeat): the source MIDI's beats in the time of the render\n";
  for (std::size_t i = 0; i < grid.beats.size(); ++i) {
    const double t = map(grid.beats[i]);
    if (t > duration + 1e-9) break;
    out << seconds_text(t) << '\t' << grid.bar[i] << '\t' << grid.beat_in_bar[i] << '\n';
  }
  write_file_atomically(path, out.str());
}

void write_meta_json(const std::string& path, const MidiContents& contents, const TempoWarp& warp,
                     const TempoWarpMap& map, int transpose) {
  nlohmann::ordered_json j;
  j["time_signatures"] = nlohmann::ordered_json::array();
  for (const auto& ts : contents.time_signatures)
    j["time_signatures"].push_back(
        {{"time_s", rounded(map(ts.time_s))}, {"numerator", ts.numerator}, {"denominator", ts.denominator}});
  j["key_signatures"] = nlohmann::ordered_json::array();
  for (const auto& ks : contents.key_signatures)
    j["key_signatures"].push_back(
        {{"time_s", rounded(map(ks.time_s))}, {"fifths", transpose_fifths(ks.fifths, transpose)}, {"minor", ks.minor}});
  j["stated_time_signature"] = !contents.time_signatures.empty();
  j["stated_key"] = !contents.key_signatures.empty();
  j["transpose"] = transpose;
  nlohmann::ordered_json w;
  w["enabled"] = warp.enabled;
  if (warp.enabled) {
    w["factor"] = warp.factor;
    w["change"] = warp.change;
    if (warp.change) {
      w["change_at_s"] = warp.change_at;  // score time
      w["change_length_s"] = warp.change_length;
      w["change_factor"] = warp.change_factor;
    }
    w["rubato_depth"] = warp.rubato_depth;
    w["rubato_period_s"] = warp.rubato_period;
    w["rubato_phase"] = warp.rubato_phase;
    w["jitter_ms"] = warp.jitter_sigma * 1e3;
  }
  j["tempo_warp"] = w;
  write_file_atomically(path, j.dump(1) + "\n");
}

// ---- preparation ---------------------------------------------------------------------------

PreparedPiece prepare_piece(const Piece& piece, int transpose, double render_rate, double tail) {
  PreparedPiece out;
  const std::size_t n_parts = std::min<std::size_t>(piece.parts.size(), 16);
  out.parts.resize(n_parts);
  for (std::size_t i = 0; i < n_parts; ++i) out.parts[i].program = piece.parts[i].program;
  auto grid = [&](double t) -> std::int64_t {
    const double blocks = std::max(0.0, t) * render_rate / kBlock;
    return static_cast<std::int64_t>(std::llround(blocks)) * kBlock;
  };
  auto seconds = [&](std::int64_t s) { return static_cast<double>(s) / render_rate; };
  std::int64_t last = 0;
  for (std::size_t i = 0; i < piece.parts.size(); ++i) {
    auto& dst = out.parts[i % 16].notes;
    for (const Note& n : piece.parts[i].notes) {
      const int p = n.pitch + transpose;
      if (p < kLowest || p > kHighest || !(n.offset > n.onset)) continue;
      const std::int64_t on = grid(n.onset);
      const std::int64_t off = std::max(grid(n.offset), on + kBlock);
      dst.push_back(Note{seconds(on), seconds(off), p, std::clamp(n.velocity, 1, 127)});
    }
  }
  // Within a part (one synth channel) a note-on of a sounding key ends the earlier note there.
  for (auto& part : out.parts) {
    sort_notes(part.notes);
    std::map<int, std::size_t> sounding;
    std::vector<bool> drop(part.notes.size(), false);
    for (std::size_t k = 0; k < part.notes.size(); ++k) {
      Note& n = part.notes[k];
      auto it = sounding.find(n.pitch);
      if (it != sounding.end()) {
        Note& prev = part.notes[it->second];
        if (prev.offset > n.onset) {
          if (prev.onset >= n.onset) {  // same onset: one note, the longer and louder
            n.offset = std::max(n.offset, prev.offset);
            n.velocity = std::max(n.velocity, prev.velocity);
            drop[it->second] = true;
          } else {
            prev.offset = n.onset;
          }
        }
      }
      sounding[n.pitch] = k;
    }
    NoteList kept;
    for (std::size_t k = 0; k < part.notes.size(); ++k)
      if (!drop[k]) kept.push_back(part.notes[k]);
    part.notes = std::move(kept);
    for (const Note& n : part.notes) last = std::max<std::int64_t>(last, std::llround(n.offset * render_rate));
  }
  // Labels: the union; where parts overlap on one pitch the later onset starts a new label note
  // that lasts as long as either sounds (what write_midi would otherwise cut).
  NoteList all;
  for (const auto& part : out.parts) all.insert(all.end(), part.notes.begin(), part.notes.end());
  sort_notes(all);
  std::map<int, std::size_t> sounding;
  std::vector<bool> drop(all.size(), false);
  for (std::size_t k = 0; k < all.size(); ++k) {
    Note& n = all[k];
    auto it = sounding.find(n.pitch);
    if (it != sounding.end()) {
      Note& prev = all[it->second];
      if (prev.offset > n.onset) {
        n.offset = std::max(n.offset, prev.offset);
        if (prev.onset >= n.onset) {
          n.velocity = std::max(n.velocity, prev.velocity);
          drop[it->second] = true;
        } else {
          prev.offset = n.onset;
        }
      }
    }
    sounding[n.pitch] = k;
  }
  for (std::size_t k = 0; k < all.size(); ++k)
    if (!drop[k]) out.labels.push_back(all[k]);
  const std::int64_t tail_samples =
      static_cast<std::int64_t>(std::ceil(std::max(0.0, tail) * render_rate / kBlock)) * kBlock;
  out.render_samples = last + tail_samples;
  return out;
}

void write_labels_midi(const std::string& path, const NoteList& labels, double render_rate) {
  MidiWriteOptions w;
  w.bpm = 120.0;  // a quarter note = 0.5 s
  const double half = render_rate / 2;
  if (half == std::floor(half) && half >= 1 && half <= 32767) w.ppq = static_cast<int>(half);  // tick = 1 sample
  else w.ppq = 960;
  write_midi_file(path, labels, w);
}

std::string default_soundfont() {
  for (const char* p : {"/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf2/FluidR3_GM.sf2",
                        "/usr/share/sounds/sf2/FluidR3Mono_GM.sf3", "/usr/share/sounds/sf2/FluidR3Mono_GM.sf2"}) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p;
  }
  return "";
}

// ---- rendering -----------------------------------------------------------------------------

struct Renderer::Impl {
  RenderOptions opt;
  std::unique_ptr<TimidityRenderer> timidity;  // when opt.timidity_config is set: after the soundfonts
  std::shared_ptr<const PianoSampler> piano;    // when opt.piano_samples is set: the last source
  fluid_settings_t* settings = nullptr;
  // Keeps the soundfonts loaded: fluidsynth's sample cache then lets each fresh per-piece synth
  // load them again without reading the sample data (the reset of a reused synth does not clear
  // every effect state, so only a fresh synth renders a piece the same whatever came before).
  fluid_synth_t* keeper = nullptr;
  ~Impl() {
    if (keeper) delete_fluid_synth(keeper);
    if (settings) delete_fluid_settings(settings);
  }
  // A synth with all soundfonts loaded; ids in load order. Throws naming the failing file.
  fluid_synth_t* make_synth(std::vector<int>& ids) const {
    fluid_synth_t* s = new_fluid_synth(settings);
    if (!s) throw Error("fluidsynth: cannot create a synthesiser");
    ids.clear();
    for (const auto& sf : opt.soundfonts) {
      std::error_code ec;
      const int id = fs::is_regular_file(sf, ec) ? fluid_synth_sfload(s, sf.c_str(), 0) : FLUID_FAILED;
      if (id == FLUID_FAILED) {
        delete_fluid_synth(s);
        throw Error(sf + ": cannot load soundfont");
      }
      ids.push_back(id);
    }
    return s;
  }
};

namespace {
void quiet_fluidsynth() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int level : {FLUID_ERR, FLUID_WARN, FLUID_INFO, FLUID_DBG}) fluid_set_log_function(level, nullptr, nullptr);
  });
}
struct SynthGuard {
  fluid_synth_t* s;
  ~SynthGuard() { delete_fluid_synth(s); }
};

// One sampler per sample set and rate for the whole process: the samples take ~60 MB.
std::shared_ptr<const PianoSampler> shared_piano(const std::string& node_modules, double rate) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, double>, std::shared_ptr<const PianoSampler>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& p = cache[{node_modules, rate}];
  if (!p)
    p = std::make_shared<PianoSampler>(PianoSampler::default_notes_dir(node_modules),
                                       PianoSampler::default_release_dir(node_modules), rate);
  return p;
}

int curved_velocity(int v, double exponent) {
  return std::clamp(static_cast<int>(std::lround(127.0 * std::pow(std::clamp(v, 1, 127) / 127.0, exponent))), 1, 127);
}

// Noise at the drawn SNR against the RMS of the whole signal.
void add_noise(AudioBuffer& audio, const Augmentation& aug) {
  double energy = 0;
  for (float x : audio.samples) energy += double(x) * x;
  const double rms = std::sqrt(energy / std::max<std::size_t>(1, audio.samples.size()));
  if (rms <= 0) return;
  Rng r(aug.noise_seed);
  std::vector<double> noise(audio.samples.size());
  double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;  // Kellett's pink filter
  for (auto& v : noise) {
    const double w = r.gaussian();
    if (!aug.pink) {
      v = w;
      continue;
    }
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.96900 * b2 + w * 0.1538520;
    b3 = 0.86650 * b3 + w * 0.3104856;
    b4 = 0.55000 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.0168980;
    v = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
  }
  double ne = 0;
  for (double v : noise) ne += v * v;
  const double nrms = std::sqrt(ne / std::max<std::size_t>(1, noise.size()));
  const double scale = nrms > 0 ? rms / std::pow(10.0, aug.noise_snr / 20.0) / nrms : 0.0;
  for (std::size_t i = 0; i < noise.size(); ++i) audio.samples[i] += static_cast<float>(noise[i] * scale);
}

// Peak-normalises to the drawn level.
void set_level(AudioBuffer& audio, double peak_db) {
  float peak = 0;
  for (float x : audio.samples) peak = std::max(peak, std::fabs(x));
  if (peak <= 0) return;
  const float g = static_cast<float>(std::pow(10.0, peak_db / 20.0) / peak);
  for (float& x : audio.samples) x *= g;
}
}  // namespace

namespace {

// The sound sources of `o` in Augmentation::soundfont's order: the soundfonts, then TiMidity++,
// the piano, the plucked strings, the singers and the sustained tones, those that are set. The one
// place that order is written.
enum class Source { kSoundfont, kTimidity, kPiano, kPluckedStrings, kSungVoices, kSustainedTones };
std::vector<Source> source_order(const RenderOptions& o) {
  std::vector<Source> order(o.soundfonts.size(), Source::kSoundfont);
  if (!o.timidity_config.empty()) order.push_back(Source::kTimidity);
  if (!o.piano_samples.empty()) order.push_back(Source::kPiano);
  if (o.plucked_strings) order.push_back(Source::kPluckedStrings);
  if (o.sung_voices) order.push_back(Source::kSungVoices);
  if (o.sustained_tones) order.push_back(Source::kSustainedTones);
  return order;
}

}  // namespace

Renderer::Renderer(const RenderOptions& options) : impl_(new Impl) {
  quiet_fluidsynth();
  Impl& m = *impl_;
  try {
    m.opt = options;
    if (!m.opt.piano_samples.empty()) m.piano = shared_piano(m.opt.piano_samples, m.opt.render_rate);
    if (!m.opt.timidity_config.empty()) m.timidity = std::make_unique<TimidityRenderer>(m.opt.timidity_config, m.opt.render_rate);
    if (source_order(m.opt).empty()) {
      const std::string d = default_soundfont();
      if (d.empty())
        throw Error("no soundfont given and none installed (apt-get install timgm6mb-soundfont or fluid-soundfont-gm)");
      m.opt.soundfonts.push_back(d);
    }
    m.settings = new_fluid_settings();
    if (!m.settings) throw Error("fluidsynth: cannot create settings");
    fluid_settings_setnum(m.settings, "synth.sample-rate", m.opt.render_rate);
    fluid_settings_setint(m.settings, "synth.polyphony", std::clamp(m.opt.polyphony, 16, 65535));
    fluid_settings_setint(m.settings, "synth.cpu-cores", 1);
    fluid_settings_setint(m.settings, "synth.threadsafe-api", 0);
    fluid_settings_setint(m.settings, "synth.reverb.active", 1);
    fluid_settings_setint(m.settings, "synth.chorus.active", 1);
    fluid_settings_setint(m.settings, "synth.drums-channel.active", 0);
    fluid_settings_setint(m.settings, "synth.midi-channels", 16);
    fluid_settings_setint(m.settings, "synth.dynamic-sample-loading", 0);
    fluid_settings_setnum(m.settings, "synth.gain", 0.2);
    std::vector<int> ids;
    m.keeper = m.make_synth(ids);
  } catch (...) {
    delete impl_;
    throw;
  }
}

Renderer::~Renderer() { delete impl_; }

int Renderer::sources() const { return static_cast<int>(source_order(impl_->opt).size()); }

std::string Renderer::source_name(int index) const {
  const std::vector<Source> order = source_order(impl_->opt);
  if (index < 0 || index >= static_cast<int>(order.size())) return "sound source " + std::to_string(index) + "?";
  switch (order[static_cast<std::size_t>(index)]) {
    case Source::kSoundfont: return fs::path(impl_->opt.soundfonts[static_cast<std::size_t>(index)]).filename().string();
    case Source::kTimidity: return "timidity:" + fs::path(impl_->opt.timidity_config).stem().string();
    case Source::kPiano: return "salamander-piano";
    case Source::kPluckedStrings: return "plucked-strings";
    case Source::kSungVoices: return "sung-voices";
    case Source::kSustainedTones: break;
  }
  return "sustained-tones";
}

namespace {

struct Event {
  std::int64_t sample;
  int on;  // -1 expression (CC11 = velocity), 0 off, 1 on: in this order at one instant
  int channel, key, velocity;
  bool operator<(const Event& o) const { return std::tie(sample, on, channel, key) < std::tie(o.sample, o.on, o.channel, o.key); }
};

// Note events of all parts, at `rate`, velocities through the drawn curve.
std::vector<Event> note_events(const PreparedPiece& piece, const Augmentation& aug, double rate) {
  std::vector<Event> events;
  for (std::size_t ch = 0; ch < piece.parts.size(); ++ch)
    for (const Note& n : piece.parts[ch].notes) {
      const int c = static_cast<int>(ch);
      events.push_back({static_cast<std::int64_t>(std::llround(n.onset * rate)), 1, c, n.pitch,
                        curved_velocity(n.velocity, aug.velocity_exponent)});
      events.push_back({static_cast<std::int64_t>(std::llround(n.offset * rate)), 0, c, n.pitch, 0});
    }
  for (std::size_t ch = 0; ch < piece.parts.size() && ch < aug.swell.size(); ++ch)
    for (const ExpressionPoint& p : expression_curve(piece.parts[ch].notes, aug.swell[ch], aug.swell_floor[ch]))
      events.push_back({static_cast<std::int64_t>(std::llround(p.time_s * rate)), -1, static_cast<int>(ch), 11, p.value});
  std::sort(events.begin(), events.end());
  return events;
}

// Per channel: tuning by pitch bend (range +-2 semitones), vibrato by the modulation wheel,
// slower attack by the attack generator's offset.
void set_performance(fluid_synth_t* s, std::size_t channels, const Augmentation& aug) {
  for (std::size_t ch = 0; ch < channels; ++ch) {
    const int c = static_cast<int>(ch);
    if (ch < aug.detune.size() && aug.detune[ch] != 0.0)
      fluid_synth_pitch_bend(s, c, std::clamp(8192 + static_cast<int>(std::lround(aug.detune[ch] / 200.0 * 8192)), 0, 16383));
    if (ch < aug.vibrato.size() && aug.vibrato[ch] > 0) fluid_synth_cc(s, c, 1, aug.vibrato[ch]);
    if (ch < aug.attack.size() && aug.attack[ch] > 0) fluid_synth_set_gen(s, c, GEN_VOLENVATTACK, static_cast<float>(aug.attack[ch]));
  }
}

}  // namespace

AudioBuffer Renderer::render_fluid(const PreparedPiece& piece, const Augmentation& aug) {
  Impl& m = *impl_;
  std::vector<int> sfont_ids;
  SynthGuard guard{m.make_synth(sfont_ids)};
  fluid_synth_t* s = guard.s;
  fluid_synth_reverb_on(s, -1, aug.reverb ? 1 : 0);
  fluid_synth_set_reverb_group_roomsize(s, -1, aug.reverb_room);
  fluid_synth_set_reverb_group_damp(s, -1, aug.reverb_damp);
  fluid_synth_set_reverb_group_width(s, -1, aug.reverb_width);
  fluid_synth_set_reverb_group_level(s, -1, aug.reverb_level);
  fluid_synth_chorus_on(s, -1, aug.chorus ? 1 : 0);
  fluid_synth_set_chorus_group_nr(s, -1, aug.chorus_voices);
  fluid_synth_set_chorus_group_level(s, -1, aug.chorus_level);
  fluid_synth_set_chorus_group_speed(s, -1, aug.chorus_speed);
  fluid_synth_set_chorus_group_depth(s, -1, aug.chorus_depth);
  const int index = std::clamp(aug.soundfont, 0, static_cast<int>(sfont_ids.size()) - 1);
  const int sfid = sfont_ids.at(static_cast<std::size_t>(index));
  for (std::size_t ch = 0; ch < piece.parts.size(); ++ch) {
    const int program = ch < aug.programs.size() ? aug.programs[ch] : piece.parts[ch].program;
    if (fluid_synth_program_select(s, static_cast<int>(ch), sfid, 0, program) != FLUID_OK &&
        fluid_synth_program_select(s, static_cast<int>(ch), sfid, 0, 0) != FLUID_OK)
      throw Error(m.opt.soundfonts[static_cast<std::size_t>(index)] + ": no melodic preset in bank 0");
  }
  set_performance(s, piece.parts.size(), aug);

  const std::int64_t total = piece.render_samples;
  std::vector<float> left(static_cast<std::size_t>(total)), right(static_cast<std::size_t>(total));
  std::int64_t pos = 0;
  auto write_to = [&](std::int64_t until) {
    until = std::min(until, total);
    while (pos < until) {
      const int len = static_cast<int>(std::min<std::int64_t>(until - pos, 1 << 16));
      fluid_synth_write_float(s, len, left.data(), static_cast<int>(pos), 1, right.data(), static_cast<int>(pos), 1);
      pos += len;
    }
  };
  for (const Event& e : note_events(piece, aug, m.opt.render_rate)) {
    write_to(e.sample);
    if (e.on > 0) fluid_synth_noteon(s, e.channel, e.key, e.velocity);
    else if (e.on == 0) fluid_synth_noteoff(s, e.channel, e.key);
    else fluid_synth_cc(s, e.channel, e.key, e.velocity);
  }
  write_to(total);
  AudioBuffer audio;
  audio.sample_rate = m.opt.render_rate;
  audio.samples.resize(static_cast<std::size_t>(total));
  for (std::size_t i = 0; i < audio.samples.size(); ++i) audio.samples[i] = 0.5f * (left[i] + right[i]);
  return audio;
}

namespace {

// The instruments of our own play every part: each part's notes, velocities through the drawn
// curve.
std::vector<NoteList> parts_curved(const PreparedPiece& piece, const Augmentation& aug) {
  std::vector<NoteList> parts;
  for (const Part& part : piece.parts) {
    parts.push_back(part.notes);
    for (Note& n : parts.back()) n.velocity = curved_velocity(n.velocity, aug.velocity_exponent);
  }
  return parts;
}

NoteList all_parts_curved(const PreparedPiece& piece, const Augmentation& aug) {
  NoteList notes;
  for (const NoteList& part : parts_curved(piece, aug)) notes.insert(notes.end(), part.begin(), part.end());
  return notes;
}

// Silence of the piece's length at `rate`, for a source of our own to add its notes into.
AudioBuffer silence(const PreparedPiece& piece, double rate) {
  AudioBuffer audio;
  audio.sample_rate = rate;
  audio.samples.assign(static_cast<std::size_t>(piece.render_samples), 0.0f);
  return audio;
}

}  // namespace

AudioBuffer Renderer::render_piano(const PreparedPiece& piece, const Augmentation& aug) {
  AudioBuffer audio = silence(piece, impl_->opt.render_rate);
  impl_->piano->render(all_parts_curved(piece, aug), aug.piano, audio.samples);
  return audio;
}

AudioBuffer Renderer::render_sung(const PreparedPiece& piece, const Augmentation& aug) {
  AudioBuffer audio = silence(piece, impl_->opt.render_rate);
  render_sung_voices(parts_curved(piece, aug), aug.sing, audio.sample_rate, audio.samples);  // each part's line: its slurs
  return audio;
}

AudioBuffer Renderer::render_tones(const PreparedPiece& piece, const Augmentation& aug) {
  AudioBuffer audio = silence(piece, impl_->opt.render_rate);
  render_sustained_tones(parts_curved(piece, aug), aug.tone, audio.sample_rate, audio.samples);  // one instrument a part
  return audio;
}

AudioBuffer Renderer::render_plucked(const PreparedPiece& piece, const Augmentation& aug) {
  AudioBuffer audio = silence(piece, impl_->opt.render_rate);
  render_plucked_strings(all_parts_curved(piece, aug), aug.pluck, audio.sample_rate, audio.samples);
  return audio;
}

AudioBuffer Renderer::render_timidity(const PreparedPiece& piece, const Augmentation& aug) {
  PreparedPiece curved = piece;
  for (Part& part : curved.parts)
    for (Note& n : part.notes) n.velocity = curved_velocity(n.velocity, aug.velocity_exponent);
  std::vector<std::vector<ExpressionPoint>> expression(curved.parts.size());
  for (std::size_t k = 0; k < curved.parts.size() && k < aug.swell.size(); ++k)
    expression[k] = expression_curve(curved.parts[k].notes, aug.swell[k], aug.swell_floor[k]);
  return impl_->timidity->render(curved.parts, aug.programs, aug.detune, aug.vibrato, piece.render_samples, expression);
}

AudioBuffer Renderer::render(const PreparedPiece& piece, const Augmentation& aug) {
  Impl& m = *impl_;
  const std::vector<Source> order = source_order(m.opt);
  if (aug.soundfont < 0 || aug.soundfont >= static_cast<int>(order.size()))
    throw Error("sound source " + std::to_string(aug.soundfont) + " out of range");
  AudioBuffer audio;
  switch (order[static_cast<std::size_t>(aug.soundfont)]) {
    case Source::kSoundfont: audio = render_fluid(piece, aug); break;
    case Source::kTimidity: audio = render_timidity(piece, aug); break;
    case Source::kPiano: audio = render_piano(piece, aug); break;
    case Source::kPluckedStrings: audio = render_plucked(piece, aug); break;
    case Source::kSungVoices: audio = render_sung(piece, aug); break;
    case Source::kSustainedTones: audio = render_tones(piece, aug); break;
  }
  if (m.opt.sample_rate != m.opt.render_rate) {
    const auto want = static_cast<std::size_t>(
        std::llround(static_cast<double>(piece.render_samples) * m.opt.sample_rate / m.opt.render_rate));
    audio = resample(audio, m.opt.sample_rate);
    audio.samples.resize(want, 0.0f);
  }
  apply_room(audio, aug.recording);
  apply_microphone(audio, aug.recording);
  if (aug.noise) add_noise(audio, aug);
  set_level(audio, aug.peak_db);
  codec_round_trip(audio, aug.recording);
  return audio;
}

// ---- batch driver --------------------------------------------------------------------------

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
bool is_midi_path(const fs::path& p) {
  const std::string e = lower(p.extension().string());
  return e == ".mid" || e == ".midi" || e == ".kar" || e == ".rmi";
}
std::string sanitize(const std::string& s) {
  std::string o;
  for (char c : s) o += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return o.empty() ? std::string("piece") : o;
}

struct Job {
  std::string name;        // output name (unique)
  std::string base;        // name of the piece (all variants share it: same split)
  std::string source;      // MIDI path, or "procedural"
  int variant = 0;
  std::uint64_t procedural_seed = 0;
};

struct Result {
  bool done = false, corrupt = false;
  double seconds = 0;
  std::string manifest_line;
};

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// The render options with the default soundfont filled in, every sound source checked early
// (before any output exists), and the number of sources.
RenderOptions checked_render_options(const RenderOptions& given, int& n_sources) {
  RenderOptions ro = given;
  if (source_order(ro).empty()) {
    const std::string d = default_soundfont();
    if (d.empty()) throw Error("no soundfont given and none installed (apt-get install timgm6mb-soundfont)");
    ro.soundfonts.push_back(d);
  }
  for (const auto& sf : ro.soundfonts) {
    std::error_code ec;
    if (!fs::is_regular_file(sf, ec)) throw Error(sf + ": soundfont not found");
  }
  n_sources = static_cast<int>(source_order(ro).size());
  if (!ro.timidity_config.empty()) TimidityRenderer check(ro.timidity_config, ro.render_rate);  // fail early
  if (!ro.source_weights.empty() && static_cast<int>(ro.source_weights.size()) != n_sources)
    throw Error("--source-weights: " + std::to_string(ro.source_weights.size()) + " weights for " +
                std::to_string(n_sources) + " sound sources");
  if (!ro.piano_samples.empty()) shared_piano(ro.piano_samples, ro.render_rate);  // fail early on missing samples
  return ro;
}

// (name, path) of every MIDI input: files as given, directories searched recursively and sorted;
// names are the path below the directory with '/' as '_'.
std::vector<std::pair<std::string, std::string>> list_midi_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::pair<std::string, std::string>> midi;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(in, fs::directory_options::follow_directory_symlink, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec) && is_midi_path(it->path())) found.push_back(it->path());
      std::sort(found.begin(), found.end());
      for (const auto& p : found) {
        fs::path rel = fs::relative(p, in, ec);
        std::string r = (ec ? p.filename() : rel).replace_extension().generic_string();
        std::replace(r.begin(), r.end(), '/', '_');
        midi.emplace_back(sanitize(r), p.string());
      }
    } else if (fs::is_regular_file(in, ec)) {
      midi.emplace_back(sanitize(fs::path(in).stem().string()), in);
    } else {
      throw Error(in + ": no such file or directory");
    }
  }
  return midi;
}

// The renders: every variant of every input, in a deterministic order with unique names.
std::vector<Job> make_jobs(const SynthOptions& o, const std::vector<std::pair<std::string, std::string>>& midi) {
  std::vector<Job> jobs;
  std::set<std::string> taken;
  const int variants = std::max(1, o.variants);
  auto add_jobs = [&](const std::string& name, const std::string& source, std::uint64_t pseed) {
    std::string base = name;
    for (int k = 2; taken.count(base); ++k) base = name + "_" + std::to_string(k);
    taken.insert(base);
    for (int v = 0; v < variants; ++v)
      jobs.push_back(Job{variants > 1 ? base + "_v" + std::to_string(v) : base, base, source, v, pseed});
  };
  for (const auto& [name, path] : midi) add_jobs(name, path, 0);
  for (int i = 0; i < o.procedural; ++i) {
    char b[32];
    std::snprintf(b, sizeof b, "proc_%05d", i);
    add_jobs(b, "procedural", file_seed(o.seed, b, -1));
  }
  return jobs;
}

// The output folders: OUT, or OUT/dev and OUT/train with --split-dev (whole pieces, by a hash of
// the piece's name).
struct OutputLayout {
  const SynthOptions& o;

  bool in_dev(const Job& j) const { return static_cast<double>(fnv1a(j.base) >> 11) * 0x1.0p-53 < o.split_dev; }
  std::string dir_of(const Job& j) const {
    if (o.split_dev <= 0) return o.out_dir;
    return (fs::path(o.out_dir) / (in_dev(j) ? "dev" : "train")).string();
  }
  void create() const {
    std::error_code ec;
    fs::create_directories(o.out_dir, ec);
    if (ec) throw Error(o.out_dir + ": cannot create directory: " + ec.message());
    for (const char* sub : {"dev", "train"})
      if (o.split_dev > 0 && !(o.only_dev && std::string(sub) == "train")) fs::create_directories(fs::path(o.out_dir) / sub, ec);
  }
};

// A piece ready to render, with its draws.
struct Draft {
  Piece piece;
  MidiContents contents;  // MIDI inputs: tempo map, meters, keys
  bool is_midi = false;
};

// One line of synth_manifest.tsv: the draws of a render.
std::string manifest_line(const SynthOptions& o, const Job& job, const fs::path& dir, const std::string& source_name,
                          const Augmentation& aug, std::size_t n_labels, double seconds) {
  std::ostringstream line;
  line << job.name << '\t' << (o.split_dev > 0 ? dir.filename().string() : std::string("-")) << '\t' << job.source
       << '\t' << job.variant << '\t' << source_name << '\t';
  for (std::size_t k = 0; k < aug.programs.size(); ++k) line << (k ? "," : "") << aug.programs[k];
  line << '\t' << aug.transpose << '\t' << fmt("%.2f", aug.peak_db) << '\t'
       << (aug.reverb ? fmt("room=%.2f", aug.reverb_room) + fmt(",level=%.2f", aug.reverb_level) : "-") << '\t'
       << (aug.chorus ? fmt("level=%.2f", aug.chorus_level) + fmt(",depth=%.1f", aug.chorus_depth) : "-") << '\t'
       << (aug.noise ? std::string(aug.pink ? "pink" : "white") + fmt("@%.1fdB", aug.noise_snr) : "-") << '\t'
       << describe(aug.recording) << '\t' << n_labels << '\t' << fmt("%.3f", seconds);
  return line.str();
}

// One synth run: workers take the jobs in turn, each with its own Renderer; a bad input is a
// warning, any other error ends the run.
class SynthRun {
 public:
  SynthRun(const SynthOptions& o, const RenderOptions& ro, int n_sources, std::vector<Job> jobs, SynthSummary& summary)
      : o_(o), ro_(ro), n_sources_(n_sources), jobs_(std::move(jobs)), layout_{o}, summary_(summary),
        results_(jobs_.size()), tty_(isatty(STDERR_FILENO) != 0) {}

  const std::vector<Job>& jobs() const { return jobs_; }
  const std::vector<Result>& results() const { return results_; }

  void run() {
    unsigned workers =
        o_.num_workers > 0 ? static_cast<unsigned>(o_.num_workers) : std::max(1u, std::thread::hardware_concurrency());
    workers = std::max<unsigned>(1, std::min<unsigned>(workers, static_cast<unsigned>(std::max<std::size_t>(1, jobs_.size()))));
    cli::ProgressBar bar("synth", jobs_.size(), "files", o_.progress);
    bar_ = &bar;
    std::vector<std::thread> threads;
    for (unsigned w = 1; w < workers; ++w) threads.emplace_back([this] { work(); });
    work();
    for (auto& t : threads) t.join();
    bar.finish();
    if (failed_) throw Error(fatal_);
  }

 private:
  void warn(const std::string& w) {
    std::lock_guard<std::mutex> lock(warn_mutex_);
    summary_.warnings.push_back(w);
    if (o_.verbose_warnings) std::fprintf(stderr, "%sqscribe: warning: %s\n", tty_ && o_.progress ? "\r\033[K" : "", w.c_str());
  }

  void work() {
    std::unique_ptr<Renderer> renderer;
    try {
      for (std::size_t i; !failed_ && (i = next_++) < jobs_.size();) {
        render_job(jobs_[i], results_[i], renderer);
        bar_->add();
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(fatal_mutex_);
      if (!failed_.exchange(true)) fatal_ = e.what();
    }
  }

  // The job's notes: a procedural piece, or the MIDI file (clipped with --clip). False, after a
  // warning for the first variant, when the file cannot be read.
  bool load(const Job& job, Result& res, Draft& draft) {
    draft.is_midi = job.source != "procedural";
    if (!draft.is_midi) {
      ProceduralOptions po;
      po.duration = o_.procedural_duration;
      draft.piece = generate_procedural(job.procedural_seed, po);
      return true;
    }
    try {
      draft.piece = read_midi_piece_file(job.source, &draft.contents);
      if (o_.clip > 0) clip_piece(draft.piece, draft.contents, o_.clip);
      return true;
    } catch (const Error& e) {
      res.corrupt = job.variant == 0;  // counted once per file
      if (job.variant == 0) warn(std::string(e.what()) + " (skipped)");
      return false;
    }
  }

  void render_job(const Job& job, Result& res, std::unique_ptr<Renderer>& renderer) {
    Draft draft;
    if (!load(job, res, draft)) return;
    Augmentation aug = draw_augmentation(file_seed(o_.seed, job.base, job.variant), o_.augment, draft.piece, n_sources_,
                                         ro_.source_weights);
    aug.tempo_warp.enabled = aug.tempo_warp.enabled && draft.is_midi;
    double score_end = draft.contents.end_time;
    for (const auto& part : draft.piece.parts)
      for (const Note& n : part.notes) score_end = std::max(score_end, n.offset);
    const TempoWarpMap warp(aug.tempo_warp, score_end + 1.0);
    const PreparedPiece prepared =
        prepare_piece(warp_piece(draft.piece, aug.tempo_warp, warp), aug.transpose, ro_.render_rate, ro_.tail);
    if (prepared.labels.empty()) {
      if (job.variant == 0) warn(job.source + ": no notes to render (drums only, empty or out of range; skipped)");
      return;
    }
    const double dur = static_cast<double>(prepared.render_samples) / ro_.render_rate;
    if (dur > o_.max_duration) {
      if (job.variant == 0) warn(job.source + ": " + fmt("%.0f", dur) + " s is longer than --max-duration (skipped)");
      return;
    }
    if (!renderer) renderer = std::make_unique<Renderer>(ro_);
    AudioBuffer audio;
    try {
      audio = renderer->render(prepared, aug);
    } catch (const PieceRenderError& e) {
      warn(job.name + " (" + job.source + "): " + e.what() + " (skipped)");
      return;
    }
    const fs::path dir = layout_.dir_of(job);
    if (draft.is_midi) {  // the ground truth of beats, meter and key
      write_beats_tsv((dir / (job.name + ".beats.tsv")).string(), midi_beat_grid(draft.contents), warp, dur);
      write_meta_json((dir / (job.name + ".meta.json")).string(), draft.contents, aug.tempo_warp, warp, aug.transpose);
    }
    // Labels first, audio last: every file is atomic, and a .wav only exists with its .mid.
    write_labels_midi((dir / (job.name + ".mid")).string(), prepared.labels, ro_.render_rate);
    save_wav((dir / (job.name + ".wav")).string(), audio, ro_.float_wav ? WavEncoding::Float32 : WavEncoding::Pcm16);
    res.done = true;
    res.seconds = audio.duration();
    res.manifest_line = manifest_line(o_, job, dir, renderer->source_name(aug.soundfont), aug, prepared.labels.size(),
                                      res.seconds);
  }

  const SynthOptions& o_;
  const RenderOptions& ro_;
  const int n_sources_;
  const std::vector<Job> jobs_;
  const OutputLayout layout_;
  SynthSummary& summary_;
  std::vector<Result> results_;
  const bool tty_;
  std::mutex warn_mutex_, fatal_mutex_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> failed_{false};
  std::string fatal_;
  cli::ProgressBar* bar_ = nullptr;
};

// OUT/synth_manifest.tsv, and the counts of the summary.
void write_manifest(const SynthOptions& o, const std::vector<Result>& results, SynthSummary& summary) {
  std::ostringstream manifest;
  manifest << "name\tsplit\tsource\tvariant\tsoundfont\tprograms\ttranspose\tpeak_db\treverb\tchorus\tnoise\trecording\tnotes\tseconds\n";
  for (const auto& r : results) {
    if (r.done) {
      ++summary.rendered;
      summary.audio_seconds += r.seconds;
      manifest << r.manifest_line << '\n';
    } else {
      ++summary.skipped;
    }
    if (r.corrupt) ++summary.corrupt;
  }
  write_file_atomically((fs::path(o.out_dir) / "synth_manifest.tsv").string(), manifest.str());
}

}  // namespace

SynthSummary run_synth(const SynthOptions& o) {
  const auto t_start = std::chrono::steady_clock::now();
  SynthSummary summary;
  if (o.out_dir.empty()) throw Error("no output directory (-o)");
  if (o.midi_inputs.empty() && o.procedural <= 0) throw Error("nothing to render: give --midi DIR and/or --procedural N");
  int n_sources = 0;
  const RenderOptions ro = checked_render_options(o.render, n_sources);
  const auto midi = list_midi_inputs(o.midi_inputs);
  std::vector<Job> jobs = make_jobs(o, midi);
  summary.inputs = midi.size() + static_cast<std::size_t>(std::max(0, o.procedural));

  const OutputLayout layout{o};
  layout.create();
  if (o.only_dev && o.split_dev > 0) {  // the held-out pieces alone
    jobs.erase(std::remove_if(jobs.begin(), jobs.end(), [&](const Job& j) { return !layout.in_dev(j); }), jobs.end());
    std::set<std::string> bases;
    for (const Job& j : jobs) bases.insert(j.base);
    summary.inputs = bases.size();
  }
  SynthRun run(o, ro, n_sources, std::move(jobs), summary);
  run.run();
  write_manifest(o, run.results(), summary);
  summary.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return summary;
}

}  // namespace qs::synth
