// A transcription as notated music: notes on a beat grid, in bars, with a key and a time signature.
//
// Time is counted in ticks from the first bar line: `divisions` ticks per quarter note (MusicXML's
// unit), 12 ticks per beat of a simple meter and 18 per beat of a compound one, so that
// sixteenths, eighth-note triplets and compound eighths all fall on whole ticks.
// `beat_times` ties ticks to the audio: beat k (tick k * beat_ticks) sounds at beat_times[k] s.
#pragma once
#include <vector>

#include "qscribe/key_finder.hpp"
#include "qscribe/meter.hpp"

namespace qs {

struct ScoreNote {
  int pitch = 60;
  int velocity = 64;
  long start = 0;     // ticks from the first bar line
  long duration = 1;  // ticks, > 0
  int staff = 1;      // 1 = upper (treble) staff, 2 = lower (bass) staff
  int voice = 1;      // 1..4 on staff 1, 5..8 on staff 2 (MusicXML convention)
};

enum class Clef { Treble, Bass };

struct Score {
  Meter meter;
  Key key;
  int divisions = 12;  // ticks per quarter note
  int beat_ticks = 12;
  int bar_ticks = 48;
  int n_bars = 0;
  std::vector<double> beat_times;  // s of every beat from the first bar line to past the last note
  std::vector<int> bar_grid;       // per bar: grid positions per beat chosen by the quantiser
  std::vector<Clef> clefs{Clef::Treble};  // one per staff (1 or 2 staves)
  double tempo_bpm = 120.0;        // quarter notes per minute (median), for the metronome mark
  std::vector<ScoreNote> notes;    // sorted by start, then pitch

  int staves() const { return static_cast<int>(clefs.size()); }
  // Seconds at a tick, through the beat times (linear within a beat, extrapolated past the ends).
  double seconds_at(double tick) const;
};

}  // namespace qs
