// The notes of an instrument with one sounding body per key (a piano's strings, a set of plucked
// strings), laid out for the sound sources of our own (piano_sampler.hpp, plucked_string.hpp):
// where each key's voice starts and is released, in samples, and how the key is tuned.
#pragma once
#include <cstdint>
#include <vector>

#include "qscribe/note.hpp"
#include "synth/procedural.hpp"

namespace qs::synth {

struct KeyVoice {
  Note note;
  int key = 0;                       // 0..87 (pitch 21..108)
  std::int64_t start = 0, stop = 0;  // samples: the onset, and the note-off (at least start + 1)
  double cents = 0.0;                // the key's tuning
  bool restruck = false;             // ended early by the same key struck again while it sounded
};

// The notes within 21..108 (others, and empty notes, are dropped), in time order. A key struck
// again while it sounds ends its earlier note at the new onset, whatever part played it, and
// sounds to the later of the two ends; two notes of a key struck at once are one voice at the
// louder velocity (as the labels merge them, prepare_piece in synth.hpp). Every
// key's tuning is `detune_cents` plus `detune_spread` times a standard normal draw of `rng` (88
// draws, key by key, before anything else).
std::vector<KeyVoice> key_voices(const NoteList& notes, double rate, double detune_cents, double detune_spread,
                                 Rng& rng);

}  // namespace qs::synth
