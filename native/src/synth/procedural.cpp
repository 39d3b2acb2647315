#include "synth/procedural.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace qs::synth {

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(std::uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t Rng::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
double Rng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
int Rng::integer(int lo, int hi) {
  if (hi <= lo) return lo;
  const std::uint64_t span = static_cast<std::uint64_t>(hi - lo) + 1;
  return lo + static_cast<int>(static_cast<unsigned __int128>(next()) * span >> 64);
}
bool Rng::chance(double p) { return uniform() < p; }
double Rng::gaussian() {
  double u1 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001B3ULL;
  }
  return h;
}

std::uint64_t mix_hash(std::uint64_t a, std::uint64_t b) {
  std::uint64_t x = a ^ (b + 0x9E3779B97F4A7C15ULL + (a << 6) + (a >> 2));
  return splitmix64(x);
}

namespace {

constexpr std::array<int, 7> kMajor{0, 2, 4, 5, 7, 9, 11};
constexpr std::array<int, 7> kMinor{0, 2, 3, 5, 7, 8, 10};

struct Section {
  Rng& rng;
  Piece& piece;
  const ProceduralOptions& opt;
  double t0, t1;     // section span, s
  double beat;       // s per beat
  int root;          // pitch class of the key
  bool minor;
  int vel;           // base velocity
  int shift = 0;     // semitones added to every note (the high-register sections)

  // Pitch of scale degree d (any integer) above the tonic of octave `octave` (C4 = octave 4).
  int degree_pitch(int d, int octave) const {
    const auto& sc = minor ? kMinor : kMajor;
    const int o = (d >= 0) ? d / 7 : -((-d + 6) / 7);
    const int i = d - o * 7;
    return 12 * (octave + 1 + o) + root + sc[static_cast<std::size_t>(i)];
  }
  int velocity(int spread = 12) {
    return std::clamp(vel + rng.integer(-spread, spread), 1, 127);
  }
  // Adds a note clipped to the section and the pitch range (moved by octaves to fit).
  void add(int part, double on, double off, int pitch, int velocity) {
    if (on >= t1 || off <= on) return;
    off = std::min(off, t1);
    if (off - on < 0.03) return;
    pitch += shift;
    while (pitch < opt.lowest) pitch += 12;
    while (pitch > opt.highest) pitch -= 12;
    if (pitch < opt.lowest) return;  // range narrower than an octave
    piece.parts[static_cast<std::size_t>(part)].notes.push_back(Note{on, off, pitch, velocity});
  }
  int random_octave(int lo, int hi) { return rng.integer(lo, hi); }
  int progression_degree() {
    static constexpr int kDegrees[] = {0, 3, 4, 5, 1, 0, 4, 2, 6};
    return kDegrees[rng.integer(0, 8)];
  }

  void chords() {
    const int octave = random_octave(2, 5);
    const bool sevenths = rng.chance(0.35);
    const bool bass = rng.chance(0.6);
    const double legato = rng.uniform(0.4, 1.0);
    double t = t0;
    while (t < t1) {
      const double dur = beat * rng.integer(1, 4);
      const int d = progression_degree();
      const int inversion = rng.integer(0, 2);
      const int n = sevenths ? 4 : 3;
      const int v = velocity();
      for (int k = 0; k < n; ++k) {
        const int deg = d + 2 * ((k + inversion) % n) + (k + inversion >= n ? 7 : 0);
        add(0, t, t + dur * legato, degree_pitch(deg, octave), std::clamp(v + rng.integer(-5, 5), 1, 127));
      }
      if (bass) add(1, t, t + dur * std::max(legato, 0.8), degree_pitch(d, octave - 1), velocity());
      t += dur;
    }
  }

  void scale() {
    const bool chromatic = rng.chance(0.15);
    const double step = beat / rng.integer(1, 4);
    const double legato = rng.uniform(0.5, 1.0);
    const int span = rng.integer(7, 22);  // notes before turning around
    int octave = random_octave(2, 6);
    const int doubling = rng.chance(0.4) ? (rng.chance(0.5) ? 2 : (rng.chance(0.5) ? 5 : 7)) : 0;
    int d = rng.integer(0, 6), dir = rng.chance(0.5) ? 1 : -1, moved = 0;
    int chroma = degree_pitch(0, octave) + rng.integer(0, 11);
    for (double t = t0; t < t1; t += step) {
      const int v = velocity(8);
      if (chromatic) {
        add(0, t, t + step * legato, chroma, v);
        if (doubling) add(1, t, t + step * legato, chroma - (doubling == 7 ? 12 : (doubling == 2 ? 3 : 8)), v);
        chroma += dir;
      } else {
        add(0, t, t + step * legato, degree_pitch(d, octave), v);
        if (doubling) add(1, t, t + step * legato, degree_pitch(d - doubling, octave), v);
        d += dir;
      }
      if (++moved >= span) {
        moved = 0;
        dir = -dir;
      }
    }
  }

  void arpeggio() {
    const int octave = random_octave(2, 5);
    const double step = beat / rng.integer(2, 4);
    const double ring = rng.uniform(1.0, 4.0);  // each note lasts `ring` steps
    const bool sevenths = rng.chance(0.3);
    const int pattern = rng.integer(0, 2);  // 0 up, 1 down, 2 up-down
    double t = t0;
    while (t < t1) {
      const int d = progression_degree();
      std::vector<int> tones;
      for (int o = 0; o < 2; ++o)
        for (int k = 0; k < (sevenths ? 4 : 3); ++k) tones.push_back(degree_pitch(d + 2 * k + 7 * o, octave));
      if (pattern == 1) std::reverse(tones.begin(), tones.end());
      if (pattern == 2)
        for (int i = static_cast<int>(tones.size()) - 2; i > 0; --i) tones.push_back(tones[static_cast<std::size_t>(i)]);
      const bool bass = rng.chance(0.5);
      if (bass) add(1, t, t + step * static_cast<double>(tones.size()), degree_pitch(d, octave - 1), velocity());
      for (int p : tones) {
        add(0, t, t + step * ring, p, velocity(10));
        t += step;
        if (t >= t1) break;
      }
    }
  }

  void melody() {
    int octave = random_octave(4, 5);
    const int acc_octave = octave - rng.integer(1, 2);
    const bool alberti = rng.chance(0.5);
    const double bar = beat * 4;
    // Melody: a random walk in the scale with simple rhythms.
    int d = rng.integer(0, 6);
    for (double t = t0; t < t1;) {
      static constexpr double kLen[] = {0.5, 1.0, 1.0, 1.5, 2.0, 0.5};
      const double dur = beat * kLen[rng.integer(0, 5)];
      if (!rng.chance(0.1)) add(0, t, t + dur * rng.uniform(0.7, 1.0), degree_pitch(d, octave), std::min(127, velocity(10) + 10));
      d += rng.integer(-3, 3);
      d = std::clamp(d, -5, 12);
      t += dur;
    }
    for (double t = t0; t < t1; t += bar) {
      const int c = progression_degree();
      const int tones[3] = {degree_pitch(c, acc_octave), degree_pitch(c + 2, acc_octave), degree_pitch(c + 4, acc_octave)};
      if (alberti) {
        static constexpr int kOrder[] = {0, 2, 1, 2};
        const double step = beat / 2;
        for (int k = 0; k < 8; ++k) add(1, t + k * step, t + (k + 1) * step, tones[kOrder[k % 4]], std::max(1, velocity(6) - 10));
      } else {
        for (int b = 0; b < 4; b += 2)
          for (int p : tones) add(1, t + b * beat, t + (b + 1.9) * beat, p, std::max(1, velocity(6) - 10));
      }
    }
  }

  // A figure struck again and again while its notes still ring: repeated notes, or a tremolo
  // between two, over a held bass (the pedal holds everything). Labels start a new note at every
  // strike.
  void repeated() {
    const int octave = random_octave(3, 6);
    const double step = beat / rng.integer(2, 4);
    const double ring = rng.uniform(1.5, 6.0);  // steps each strike rings (re-struck before it ends)
    const bool tremolo = rng.chance(0.4);
    double t = t0;
    while (t < t1) {
      const int d = progression_degree();
      const double bar = beat * 4;
      add(1, t, t + bar, degree_pitch(d, octave - 2), velocity());
      const int a = degree_pitch(d + 2 * rng.integer(0, 2), octave), b = degree_pitch(d + 2 * rng.integer(0, 3), octave);
      for (int k = 0; t + k * step < std::min(t + bar, t1); ++k)
        add(0, t + k * step, t + (k + ring) * step, tremolo && (k % 2) ? b : a, velocity(10));
      t += bar;
    }
  }

  // A broken-chord figure played twice per bar over a held bass, every note held by the pedal to
  // the end of its half bar: the figure's pitches are struck again while they sound (the texture
  // of many keyboard preludes).
  void pedalled_figure() {
    const int octave = random_octave(3, 5);
    const int notes = rng.integer(4, 6);
    const double step = beat / rng.integer(2, 4);
    double t = t0;
    while (t < t1) {
      const int d = progression_degree();
      std::vector<int> figure;
      for (int k = 0; k < notes; ++k) figure.push_back(degree_pitch(d + 2 * rng.integer(0, 4), octave));
      const double half = step * notes;
      for (int rep = 0; rep < 2 && t < t1; ++rep, t += half) {
        add(1, t, t + half, degree_pitch(d, octave - 1), velocity());
        for (int k = 0; k < notes; ++k) add(0, t + k * step, t + half, figure[static_cast<std::size_t>(k)], velocity(8));
      }
    }
  }

  // Fast runs in octaves, and wide chords spanning two to four octaves.
  void octaves_and_wide_chords() {
    const int octave = random_octave(2, 5);
    if (rng.chance(0.5)) {
      const double step = beat / rng.integer(3, 6);
      int d = rng.integer(0, 6), dir = rng.chance(0.5) ? 1 : -1;
      for (double t = t0; t < t1; t += step, d += dir) {
        if (rng.chance(0.1)) dir = -dir;
        const int v = velocity(8);
        add(0, t, t + step * 0.9, degree_pitch(d, octave), v);
        add(1, t, t + step * 0.9, degree_pitch(d, octave - 1), v);
      }
      return;
    }
    for (double t = t0; t < t1;) {
      const double dur = beat * rng.integer(1, 3);
      const int d = progression_degree(), span = rng.integer(2, 4), v = velocity();
      add(1, t, t + dur, degree_pitch(d, octave - 1), v);
      for (int k = 0; k < 3 + span; ++k) add(0, t, t + dur * 0.95, degree_pitch(d + 2 * k + (k > 2 ? 7 : 0), octave), v);
      t += dur;
    }
  }

  // Soft triads by strings, an organ or winds (part 2, its program chosen here), their root in
  // `octave`, changing every one or two bars: held, or (half the sections) struck again every one
  // or two beats, legato, as pads and string sections often play. A slow attack struck again on
  // a pitch that still sounds is what the model missed in pad-heavy pieces (docs/score.md).
  void held_chords(int octave) {
    static constexpr int kPads[] = {48, 49, 50, 19, 52, 61, 68, 71, 89};
    piece.parts[2].program = kPads[rng.integer(0, 8)];
    piece.parts[2].program_chosen = true;
    const double every = rng.chance(0.5) ? beat * rng.integer(1, 2) : 0.0;
    const double legato = rng.uniform(0.85, 1.0);
    for (double t = t0; t < t1;) {
      const double dur = beat * 4 * rng.integer(1, 2);
      const int c = progression_degree();
      const double step = every > 0 ? every : dur;
      for (double s = t; s < t + dur - 1e-9; s += step) {
        const int v = std::max(1, velocity(6) - 15);
        const double end = every > 0 ? s + step * legato : s + step;
        for (int k = 0; k < 3; ++k) add(2, s, end, degree_pitch(c + 2 * k, octave), std::clamp(v + rng.integer(-4, 4), 1, 127));
      }
      t += dur;
    }
  }

  // A melody over chords sustained by another instrument (part 2).
  void melody_over_pad() {
    int octave = random_octave(4, 6), d = rng.integer(0, 6);
    for (double t = t0; t < t1;) {
      static constexpr double kLen[] = {0.25, 0.5, 0.5, 1.0, 1.0, 1.5, 2.0};
      const double dur = beat * kLen[rng.integer(0, 6)];
      add(0, t, t + dur * rng.uniform(0.6, 1.0), degree_pitch(d, octave), std::min(127, velocity(10) + 10));
      d = std::clamp(d + rng.integer(-3, 3), -5, 12);
      t += dur;
    }
    held_chords(octave - 2);
  }

  // A sung line (part 4): one voice (a choir's aah or ooh, a synth or lead voice) in phrases of
  // 2-5 long notes, each slurred into the next, with a breath between phrases; over nothing or
  // over soft held chords. The labels hold every note to its end: a real singer was heard with
  // notes ending early and held notes missed (docs/training.md).
  void sung() {
    static constexpr int kVoices[] = {52, 53, 54, 85};  // choir aahs, voice oohs, synth voice, lead 6 (voice)
    piece.parts[4].program = kVoices[rng.integer(0, 3)];
    piece.parts[4].program_chosen = true;
    const int octave = random_octave(3, 4);
    const bool accompanied = rng.chance(0.5);
    int d = rng.integer(0, 6);
    for (double t = t0; t < t1;) {
      const int phrase = rng.integer(2, 5);
      for (int k = 0; k < phrase && t < t1; ++k) {
        static constexpr double kLen[] = {0.5, 1.0, 1.0, 1.5, 2.0, 3.0};
        const double dur = beat * kLen[rng.integer(0, 5)];
        const double held = k + 1 == phrase ? rng.uniform(0.7, 0.95) : 1.0;  // the phrase's last note tapers off
        add(4, t, t + dur * held, degree_pitch(d, octave), velocity(10));
        d = std::clamp(d + rng.integer(-2, 2), -4, 10);
        t += dur;
      }
      t += beat * rng.uniform(0.25, 1.0);  // a breath
    }
    if (accompanied) held_chords(octave - 1);
  }

  // Chords strummed on a guitar (part 3): four to six strings in an open-position voicing struck
  // 8-35 ms apart, down on the beat and up (the top strings) between, each left ringing until the
  // next strum (or palm-muted, short). The labels hold through the decay: real strummed guitar was
  // heard as short notes (docs/training.md).
  void strummed() {
    static constexpr int kGuitars[] = {24, 25, 26, 27};  // nylon, steel, jazz, clean electric
    piece.parts[3].program = kGuitars[rng.integer(0, 3)];
    piece.parts[3].program_chosen = true;
    const int per_beat = rng.integer(1, 2);  // 2: down-up
    const bool muted = rng.chance(0.2);
    const int strings = rng.integer(4, 6);
    // Between strings; a strum takes at most half the time to the next one.
    const double gap = std::min(rng.uniform(0.008, 0.035), beat / per_beat / (2.0 * strings));
    static constexpr int kShape[] = {0, 4, 7, 9, 11, 14};  // root, 5th, 8ve, 10th, 12th, 15th (degrees)
    double t = t0;
    while (t < t1) {
      const int d = progression_degree();
      const int root_octave = rng.integer(2, 3);
      const int strums = per_beat * rng.integer(2, 4);
      for (int k = 0; k < strums && t < t1; ++k) {
        const bool up = per_beat == 2 && k % 2 == 1;
        const double next = t + beat / per_beat;
        const double end = muted ? t + rng.uniform(0.1, 0.3) * beat : next;
        const int v = up ? std::max(1, velocity(8) - 15) : velocity(8);
        const int count = up ? std::min(strings, rng.integer(3, 4)) : strings;  // up: the top strings
        double on = t;
        for (int i = 0; i < count; ++i, on += gap * rng.uniform(0.7, 1.3)) {
          const int string = up ? strings - 1 - i : i;  // down: low to high; up: high to low
          add(3, on, end, degree_pitch(d + kShape[string], root_octave), std::clamp(v + rng.integer(-6, 6), 1, 127));
        }
        t = next;
      }
    }
  }

  // Comping (part 3 on a nylon, steel or jazz guitar, or part 1 on the accompaniment's program):
  // a bass on the thumb (root or fifth, beats 1 and 3 or a bossa's 1, 2+ and 3) under fragments of
  // extended chords plucked by the fingers on off-beat eighths: shells (3rd + 7th), rootless (3, 5,
  // 7, 9), 7th + 9th, or 5, 7, 9 with a 6th or 13th. Sevenths and ninths a semitone or a tone from
  // another chord tone or from the bass's partials are what the recorded bossa comping (GuitarSet,
  // ../shared/fixtures/real) lost most; the triads of every other texture never have them.
  void comping() {
    const bool guitar = rng.chance(0.7);
    const int part = guitar ? 3 : 1;
    if (guitar) {
      static constexpr int kGuitars[] = {24, 24, 25, 26};  // nylon (twice: bossa), steel, jazz
      piece.parts[3].program = kGuitars[rng.integer(0, 3)];
      piece.parts[3].program_chosen = true;
    }
    // Chord tones as scale degrees above the root (0 root, 2 third, 4 fifth, 6 seventh, 8 ninth, 12 thirteenth).
    static constexpr std::array<std::array<int, 4>, 5> kVoicings{{{2, 6, -1, -1}, {2, 4, 6, 8}, {6, 8, -1, -1}, {4, 6, 8, 12}, {2, 6, 8, 12}}};
    const int voicing = rng.integer(0, 4);
    const bool bossa = rng.chance(0.5);
    const double eighth = beat / 2;
    double bar = t0;
    while (bar < t1) {
      const int d = progression_degree();
      const int octave = rng.integer(3, 4);
      // The bass: root on 1, fifth (or root) on 3; a bossa adds the and of 2.
      for (const double at : {0.0, bossa ? 3.0 : -1.0, 4.0})
        if (at >= 0) add(part, bar + at * eighth, bar + (at + 2) * eighth, degree_pitch(d + (at == 4.0 && rng.chance(0.6) ? 4 : 0), 2), velocity(8));
      for (int e = 0; e < 8; ++e) {
        // Fragments on the off-beat eighths mostly, sometimes with the bass.
        if (!rng.chance(e % 2 ? 0.55 : 0.2)) continue;
        const double on = bar + e * eighth;
        const double ring = eighth * rng.integer(1, 4);
        const int v = std::max(1, velocity(10) - 8);
        double t = on + 0.002;
        for (int tone : kVoicings[static_cast<std::size_t>(voicing)]) {
          if (tone < 0) break;
          add(part, t, t + ring, degree_pitch(d + tone, octave), std::clamp(v + rng.integer(-6, 6), 1, 127));
          t += rng.uniform(0.001, 0.012);  // fingers pluck together, low to high within a few ms
        }
      }
      bar += 8 * eighth;
    }
  }

  void polyphony() {
    const int voices = rng.integer(1, 6);
    const bool wide = rng.chance(0.4);
    for (int v = 0; v < voices; ++v) {
      const int centre = rng.integer(opt.lowest + 12, opt.highest - 12);
      double t = t0 + rng.uniform(0.0, 0.5);
      while (t < t1) {
        const double dur = rng.uniform(0.08, 1.5);
        const int p = wide ? rng.integer(opt.lowest, opt.highest) : centre + rng.integer(-12, 12);
        add(v % 2, t, t + dur, p, std::clamp(rng.integer(15, 120), 1, 127));
        t += dur + (rng.chance(0.3) ? rng.uniform(0.0, 0.8) : 0.0);
      }
    }
  }
};

}  // namespace

Piece generate_procedural(std::uint64_t seed, const ProceduralOptions& options) {
  Rng rng(seed);
  Piece piece;
  piece.parts.resize(5);  // 0 melody / main, 1 accompaniment and bass, 2 a sustained pad, 3 a guitar, 4 a voice
  const double start = 0.2;
  double t = start;
  while (t < options.duration - 0.5) {
    const double len = std::min(rng.uniform(2.0, 6.0), options.duration - t);
    Section s{rng, piece, options, t, t + len, 60.0 / rng.uniform(60.0, 180.0), rng.integer(0, 11),
              rng.chance(0.4), rng.integer(35, 105)};
    // Some sections sit one or two octaves higher: the high register is rare in real music.
    if (rng.chance(0.15)) s.shift = 12 * rng.integer(1, 2);
    const double pick = rng.uniform();
    const double rest = (pick - 0.2) / 0.8;  // the older styles keep their shares of the rest
    if (pick < 0.09) s.strummed();
    else if (pick < 0.15) s.sung();
    else if (pick < 0.2) s.comping();
    else if (rest < 0.12) s.chords();
    else if (rest < 0.24) s.scale();
    else if (rest < 0.36) s.arpeggio();
    else if (rest < 0.48) s.melody();
    else if (rest < 0.58) s.polyphony();
    else if (rest < 0.68) s.repeated();
    else if (rest < 0.79) s.pedalled_figure();
    else if (rest < 0.89) s.octaves_and_wide_chords();
    else s.melody_over_pad();
    t += len + (rng.chance(0.3) ? rng.uniform(0.0, 0.5) : 0.0);
  }
  for (auto& part : piece.parts) sort_notes(part.notes);
  // The pad, the guitar and the voice exist only where a section used them.
  piece.parts.erase(std::remove_if(piece.parts.begin() + 2, piece.parts.end(), [](const Part& p) { return p.notes.empty(); }),
                    piece.parts.end());
  return piece;
}

}  // namespace qs::synth
