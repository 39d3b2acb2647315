// Performance times -> a notated Score: notes snapped to a grid chosen per bar, then laid out on
// staves and voices.
//
// * Position: a time becomes a beat position by interpolating between the tracked beats.
// * Grid per bar: each bar picks the coarsest grid that explains its onsets. Candidates (per beat):
//   simple meters 2 (eighths), 4 (sixteenths), 3 (eighth-note triplets); compound meters 3
//   (eighths) and 6 (sixteenths). Cost = sum over onsets of (snap error / sigma)^2 / 2, sigma =
//   0.06 beat, plus a fixed cost per onset for finer or triplet grids (0.15 sixteenths, 0.4
//   triplets) so a sloppy eighth does not become a sixteenth, and a triplet needs real evidence.
// * Snapping: onsets snap on their bar's grid, offsets on the grid of the bar they fall in; every
//   note keeps at least one grid step. A pitch struck again cuts the earlier note.
// * Layout: one staff when the notes sit mostly on one side of middle C (treble or bass clef by
//   the median pitch), else a grand staff split at middle C. On each staff, notes with the same
//   start and duration form chords; chords go to the first voice that is free (up to 4 per
//   staff); when all four are busy, the voice that frees up first is cut short.
#pragma once
#include <vector>

#include "qscribe/note.hpp"
#include "qscribe/score.hpp"

namespace qs {

struct QuantizeOptions {
  bool triplets = true;    // allow eighth-note triplet bars in simple meters
  int fixed_grid = 0;      // > 0: this many grid positions per beat everywhere (no per-bar choice)
};

// `beats` must hold at least 2 increasing times (s); meter.first_downbeat says which is a bar line.
Score quantize(const NoteList& notes, const std::vector<double>& beats, const Meter& meter, const Key& key,
               const QuantizeOptions& options = {});

// Notes of a score back in seconds (through its beat times): what the quantised MIDI plays.
NoteList score_notes_in_seconds(const Score& score);

}  // namespace qs
