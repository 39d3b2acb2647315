#include "synth/key_voices.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace qs::synth {

std::vector<KeyVoice> key_voices(const NoteList& notes_in, double rate, double detune_cents, double detune_spread,
                                 Rng& rng) {
  constexpr int kLowest = 21, kHighest = 108, kKeys = 88;
  double key_cents[kKeys];
  for (double& c : key_cents) c = detune_cents + detune_spread * rng.gaussian();
  NoteList notes;
  for (const Note& n : notes_in)
    if (n.pitch >= kLowest && n.pitch <= kHighest && n.offset > n.onset) notes.push_back(n);
  sort_notes(notes);
  std::vector<KeyVoice> voices;
  std::map<int, std::size_t> last_of_key;
  for (const Note& n : notes) {
    KeyVoice v;
    v.note = n;
    v.key = n.pitch - kLowest;
    v.start = std::llround(n.onset * rate);
    v.stop = std::max(v.start + 1, static_cast<std::int64_t>(std::llround(n.offset * rate)));
    v.cents = key_cents[v.key];
    auto it = last_of_key.find(v.key);
    if (it != last_of_key.end() && voices[it->second].stop > v.start) {
      KeyVoice& earlier = voices[it->second];
      // The labels merge the two notes of this key (prepare_piece): the later one sounds to the
      // later end, and two struck at once are one, at the louder velocity.
      v.stop = std::max(v.stop, earlier.stop);
      if (earlier.start == v.start) {
        earlier.stop = v.stop;
        earlier.note.velocity = std::max(earlier.note.velocity, n.velocity);
        continue;
      }
      earlier.stop = std::max(earlier.start + 1, v.start);
      earlier.restruck = true;
    }
    last_of_key[v.key] = voices.size();
    voices.push_back(v);
  }
  return voices;
}

}  // namespace qs::synth
