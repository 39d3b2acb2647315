// A note event: the unit every reader, writer, decoder and metric in qscribe exchanges.
#pragma once
#include <vector>

namespace qs {

struct Note {
  double onset = 0.0;   // seconds
  double offset = 0.0;  // seconds, > onset
  int pitch = 60;       // MIDI note number (21 = A0, 108 = C8)
  int velocity = 64;    // MIDI velocity 1..127

  bool operator==(const Note& o) const {
    return onset == o.onset && offset == o.offset && pitch == o.pitch && velocity == o.velocity;
  }
};

using NoteList = std::vector<Note>;

// Sorts by onset, then pitch (the canonical order of every writer).
void sort_notes(NoteList& notes);

}  // namespace qs
