// A sound source that is not a soundfont: Gravis Ultrasound patch sets (Debian freepats) played
// by TiMidity++ (Debian timidity), run as a separate program on a MIDI file of the parts.
//
// freepats has 65 of the 128 General MIDI melodic programs; TiMidity++ plays a note of a missing
// program as silence, which would leave labels with no sound. A missing program is therefore
// replaced by the nearest one the patch set has within its GM family of eight (pianos, organs,
// strings, ...), else by the nearest one at all.
#pragma once
#include <string>
#include <vector>

#include "synth/expression.hpp"
#include "synth/procedural.hpp"
#include "qscribe/audio.hpp"
#include "qscribe/error.hpp"
#include "qscribe/note.hpp"

namespace qs::synth {

// One piece that the external renderer failed on (TiMidity++ 2.14 crashes on some patch, pitch
// bend and register combinations, e.g. freepats' Echo Voice bent near C8). `qscribe synth` skips
// that piece with a warning instead of losing the whole corpus.
struct PieceRenderError : Error {
  using Error::Error;
};

class TimidityRenderer {
 public:
  // `config`: a TiMidity++ configuration (e.g. /etc/timidity/freepats.cfg) whose `bank 0` section
  // lists the melodic programs it has. Throws qs::Error when it is unreadable, lists no program,
  // or the timidity program is not installed.
  TimidityRenderer(const std::string& config, double rate);

  // The program played for a requested GM program 0..127.
  int program_for(int requested) const;

  // Renders the parts (up to 15 channels; programs, per-part detune in cents, vibrato depth
  // 0..127 and expression curves by index; a missing or empty curve: a steady level) into mono
  // audio at rate(), `samples` long. Throws PieceRenderError when timidity fails on these parts,
  // qs::Error when it cannot be run at all.
  AudioBuffer render(const std::vector<Part>& parts, const std::vector<int>& programs,
                     const std::vector<double>& detune, const std::vector<int>& vibrato, std::int64_t samples,
                     const std::vector<std::vector<ExpressionPoint>>& expression = {}) const;

  double rate() const { return rate_; }
  const std::string& config() const { return config_; }

 private:
  std::string config_;
  double rate_;
  std::vector<int> map_;  // requested program -> program played
};

}  // namespace qs::synth
