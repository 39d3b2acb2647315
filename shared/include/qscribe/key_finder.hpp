// Key of a piece and the spelling of its pitches.
//
// The key: Krumhansl-Schmuckler. A pitch-class profile of the notes weighted by duration (capped
// at 2 s, so one held pedal note does not decide the key) is correlated with the 24 rotations of
// the Krumhansl-Kessler major and minor probe-tone profiles; the best correlation wins.
// Spelling: each pitch class takes the one name it has in a window of twelve consecutive names on
// the line of fifths around the key: the diatonic seven plus, in major, the flat third, sixth and
// seventh and the sharp fourth and first (C major: Ab Eb Bb F C G D A E B F# C#); in minor, the
// flat fifth and second and the raised sixth and seventh (A minor: Eb Bb F .. B F# C# G#).
#pragma once
#include <string>

#include "qscribe/note.hpp"

namespace qs {

struct Key {
  int fifths = 0;      // key signature: -7 (7 flats) .. 7 (7 sharps); the major key's, or the relative major's
  bool minor = false;

  int tonic_pitch_class() const;  // 0 = C .. 11 = B
  std::string tonic_name() const;  // "C", "F#", "Bb", ...
  std::string name() const;        // "Bb major", "F# minor"
};

// Parses "C", "Eb major", "f# minor", "Bbm", "A minor": a letter, an optional '#' or 'b', then
// "m", "min", "minor", "maj", "major" or nothing (major). qs::Error otherwise.
Key parse_key(const std::string& text);

Key estimate_key(const NoteList& notes);

// The written name of a MIDI pitch in a key.
struct Spelling {
  char step = 'C';   // 'A'..'G'
  int alter = 0;     // -2..2 semitones (flat -1, sharp +1)
  int octave = 4;    // scientific pitch notation: middle C (60) is C4; B#3 sounds as 60 too
};
Spelling spell_pitch(int midi_pitch, const Key& key);

}  // namespace qs
