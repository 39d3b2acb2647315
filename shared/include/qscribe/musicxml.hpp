// MusicXML 4.0 (score-partwise) from a qs::Score: what MuseScore, Finale, Sibelius, Dorico,
// LilyPond (musicxml2ly) and Verovio open.
//
// One part; one staff or a grand staff (two staves, treble and bass); up to four voices per staff
// (voices 1-4 on staff 1, 5-8 on staff 2). Every voice fills its bars with notes and rests;
// voices other than the first are written only in the bars where they play, and their rests
// (triplets excepted) are hidden (print-object="no": they keep the voice's count, but the first
// voice already shows the time, so a passing second voice reads as in piano music, without a row
// of rests under it). Durations are split into notated values (whole to 32nd, single dots) at bar
// lines and, for notes that start off the beat, at beat boundaries, and tied; bars on a triplet
// grid write eighth-note triplets (with brackets per beat). Eighths and shorter are beamed per
// beat. Pitches are spelt by the key; accidentals are written where the key signature and
// earlier notes of the bar do not give them.
#pragma once
#include <string>

#include "qscribe/score.hpp"

namespace qs {

struct MusicXmlOptions {
  std::string title = "Transcription";
  std::string part_name = "Piano";
  std::string software = "qscribe";
};

std::string write_musicxml(const Score& score, const MusicXmlOptions& options = {});

}  // namespace qs
