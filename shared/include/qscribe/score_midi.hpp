// A notated Score as a MIDI file on its beat grid (see qs::write_midi_grid): 480 ticks per
// quarter note, a tempo event per beat that reproduces the performance's timing, time and key
// signatures. Bar 1 starts at tick 0 (time 0), so the file is the score, not the recording's
// clock; the performance-timed MIDI of `transcribe` is the one to lay under the audio.
#pragma once
#include <cstdint>
#include <vector>

#include "qscribe/score.hpp"

namespace qs {

std::vector<std::uint8_t> score_to_midi(const Score& score);

}  // namespace qs
