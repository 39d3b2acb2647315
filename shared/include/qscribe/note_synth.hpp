// A small additive synthesiser for listening to a transcription: each note is a decaying
// piano-like tone (a few harmonics, quick attack, exponential decay, short release), so a
// listener can compare it with the original audio and hear what was missed or added.
#pragma once

#include <vector>

#include "qscribe/note.hpp"

namespace qs {

struct NoteSynthOptions {
  double sample_rate = 22050.0;  // Hz
  double gain = 0.18;            // amplitude of one note at velocity 127 (chords add up)
  double release_s = 0.08;       // fade after the note's offset
};

// Renders `notes` into a mono buffer of round(duration_s * sample_rate) samples (at least long
// enough to hold every note's release when duration_s <= 0). Output is soft-clipped to [-1, 1].
std::vector<float> render_notes(const NoteList& notes, double duration_s, const NoteSynthOptions& options = {});

}  // namespace qs
