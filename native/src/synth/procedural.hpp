// Procedural music for `qscribe synth --procedural N`: a training set even with no MIDI at hand.
// A piece is a sequence of 2-6 s sections, each in a random style, key, tempo, register and
// dynamic: block chords (triads and sevenths over a progression, optional bass), scales (diatonic
// or chromatic, optionally doubled in thirds/sixths/octaves), arpeggios (broken chords whose notes
// ring on), melody with accompaniment (block chords or an Alberti bass), and random polyphony
// (1-6 independent voices anywhere in the piano range), and the textures real repertoire has and
// the MIDI corpus lacks: notes re-struck while they still ring (repeated notes, tremolos, a
// pedalled broken-chord figure played twice per bar), fast runs in octaves, wide chords, and a
// melody over chords sustained by strings, an organ or winds (a third part), chords strummed
// on a guitar, string by string, left ringing (a fourth part), and a sung line of long slurred
// notes in phrases (a fifth part, a voice program). 15 % of the sections
// sit one or two octaves higher, for the high register. Everything is drawn from one 64-bit seed:
// the same seed gives the same piece on every machine (own RNG and integer-only sampling helpers;
// no std:: distributions, whose output is implementation-defined).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "qscribe/note.hpp"

namespace qs::synth {

// One instrument of a piece (a MIDI channel): its General MIDI program and its notes.
struct Part {
  int program = 0;  // General MIDI program 0..127
  NoteList notes;
  // The texture needs this instrument (a strummed guitar, a sustained pad, a singer): `--programs
  // random` keeps it instead of drawing one, or the texture would be played by anything.
  bool program_chosen = false;
};

// What the renderer plays: up to 16 parts (more are folded onto 16 synth channels).
struct Piece {
  std::vector<Part> parts;
};

// Deterministic PRNG (xoshiro256**, seeded through splitmix64).
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  double uniform();                      // [0, 1)
  double uniform(double lo, double hi);  // [lo, hi)
  int integer(int lo, int hi);           // lo..hi inclusive
  bool chance(double p);                 // true with probability p
  double gaussian();                     // standard normal (Box-Muller)

 private:
  std::uint64_t s_[4];
};

// 64-bit FNV-1a of a string, and a mixer of two hashes: per-file seeds are
// mix(mix(seed, fnv1a(name)), variant).
std::uint64_t fnv1a(const std::string& s);
std::uint64_t mix_hash(std::uint64_t a, std::uint64_t b);

struct ProceduralOptions {
  double duration = 30.0;  // s of music (the last note ends at or before this)
  int lowest = 21;         // pitch range the notes stay in (A0..C8)
  int highest = 108;
};

// A procedural piece (all parts program 0, acoustic grand piano; `synth --programs` may change it).
// Parts: 0 = upper voice / melody / main material, 1 = accompaniment and bass, then a sustained
// pad and a strummed guitar, each with its own program, where a section used them.
Piece generate_procedural(std::uint64_t seed, const ProceduralOptions& options = {});

}  // namespace qs::synth
