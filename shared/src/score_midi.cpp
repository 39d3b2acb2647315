#include "qscribe/score_midi.hpp"

#include "qscribe/midi_file.hpp"

namespace qs {

std::vector<std::uint8_t> score_to_midi(const Score& score) {
  const int scale = 480 / score.divisions > 0 && 480 % score.divisions == 0 ? 480 / score.divisions : 1;
  MidiGrid g;
  g.ppq = score.divisions * scale;
  g.ticks_per_beat = score.beat_ticks * scale;
  for (std::size_t k = 0; k + 1 < score.beat_times.size(); ++k) g.beat_seconds.push_back(score.beat_times[k + 1] - score.beat_times[k]);
  if (g.beat_seconds.empty()) g.beat_seconds.push_back(0.5);
  g.numerator = score.meter.numerator;
  g.denominator = score.meter.denominator;
  g.key_fifths = score.key.fifths;
  g.key_minor = score.key.minor;
  std::vector<MidiGridNote> notes;
  for (const ScoreNote& n : score.notes)
    notes.push_back({static_cast<std::uint64_t>(n.start * scale), static_cast<std::uint64_t>(n.duration * scale), n.pitch, n.velocity});
  return write_midi_grid(notes, g);
}

}  // namespace qs
