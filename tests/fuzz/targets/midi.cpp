// Standard MIDI Files: qs::parse_midi (both option sets the tool uses) and qs::midi_beat_grid on
// the result. Checks the documented invariants of what a successful parse returns.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "qscribe/error.hpp"
#include "qscribe/midi_file.hpp"

namespace {

void check_contents(const qs::MidiContents& c) {
  QS_FUZZ_CHECK(c.format >= 0 && c.format <= 2);
  QS_FUZZ_CHECK(std::isfinite(c.end_time) && c.end_time >= 0);
  for (std::size_t i = 0; i < c.notes.size(); ++i) {
    const qs::Note& n = c.notes[i];
    QS_FUZZ_CHECK(std::isfinite(n.onset) && std::isfinite(n.offset) && n.offset > n.onset && n.onset >= 0);
    QS_FUZZ_CHECK(n.offset <= c.end_time);
    QS_FUZZ_CHECK(n.pitch >= 0 && n.pitch <= 127);
    QS_FUZZ_CHECK(n.velocity >= 1 && n.velocity <= 127);
    if (i > 0) QS_FUZZ_CHECK(c.notes[i - 1].onset <= n.onset);
  }
  for (const qs::MidiTempo& t : c.tempos) QS_FUZZ_CHECK(std::isfinite(t.bpm) && t.bpm > 0);
  for (const qs::MidiTimeSignature& t : c.time_signatures)
    QS_FUZZ_CHECK(t.numerator >= 1 && t.denominator >= 1 && t.denominator <= 64);
  for (const qs::MidiKeySignature& k : c.key_signatures) QS_FUZZ_CHECK(k.fifths >= -7 && k.fifths <= 7);

  const qs::MidiBeatGrid g = qs::midi_beat_grid(c);
  QS_FUZZ_CHECK(g.beats.size() <= qs::kMaxGridBeats);
  QS_FUZZ_CHECK(g.bar.size() == g.beats.size() && g.beat_in_bar.size() == g.beats.size());
  QS_FUZZ_CHECK(g.downbeats.size() <= g.beats.size());
  for (std::size_t i = 0; i < g.beats.size(); ++i) {
    QS_FUZZ_CHECK(std::isfinite(g.beats[i]));
    QS_FUZZ_CHECK(g.bar[i] >= 1 && g.beat_in_bar[i] >= 1);
    if (i > 0) QS_FUZZ_CHECK(g.beats[i - 1] <= g.beats[i]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    check_contents(qs::parse_midi(data, size));
  } catch (const qs::Error&) {
    return 0;
  }
  // The same bytes without the pedal and with drums (qscribe synth / preprocess options).
  qs::MidiReadOptions raw;
  raw.sustain_pedal = false;
  raw.include_drums = true;
  check_contents(qs::parse_midi(data, size, raw));  // a file that parsed once must parse again
  return 0;
}
