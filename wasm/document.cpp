#include "document.hpp"

#include <algorithm>
#include <cmath>

namespace qsweb {

void Document::reset(const qs::ModelConfig& model, std::string new_name) {
  *this = Document{};
  name = std::move(new_name);
  sample_rate = model.features.sample_rate;
  frame_rate = model.features.frame_rate();
  n_bins = model.features.n_bins;
  bins_per_semitone = model.features.bins_per_semitone;
  fmin = model.features.fmin;
  n_notes = model.n_notes;
  lowest_pitch = model.lowest_pitch;
  decoder = model.decoding;
}

void Document::set_spectrogram(std::size_t first, const float* cqt, std::size_t n) {
  const std::size_t end = first + n;
  if (end > spec_frames) {
    spec.resize(end * n_bins, 0);
    spec_frames = end;
  }
  // Levels: 20 log10(magnitude) over a fixed 80 dB range. The top (0 dB) sits a little above
  // a full-scale sine's CQT magnitude with librosa's normalisation, so loud music is bright.
  constexpr float kTopDb = 0.0f, kRangeDb = 70.0f;
  std::uint8_t* out = spec.data() + first * n_bins;
  for (std::size_t i = 0; i < n * static_cast<std::size_t>(n_bins); ++i) {
    const float db = 20.0f * std::log10(std::max(cqt[i], 1e-9f));
    const float level = (db - (kTopDb - kRangeDb)) / kRangeDb;
    out[i] = static_cast<std::uint8_t>(std::clamp(level, 0.0f, 1.0f) * 255.0f + 0.5f);
  }
  spec_dirty_from = std::min(spec_dirty_from, first);
  ++spec_revision;
}

void Document::ensure_activations(std::size_t frames) {
  if (frames <= act_frames) return;
  frame_prob.resize(frames * n_notes, 0.0f);
  onset_prob.resize(frames * n_notes, 0.0f);
  act_frames = frames;
}

void Document::redecode() {
  qs::Activations act;
  act.frames = frame_prob.data();
  act.onsets = onset_prob.data();
  act.n_frames = act_frames;
  act.n_notes = n_notes;
  act.lowest_pitch = lowest_pitch;
  act.frame_rate = frame_rate;
  if (act_frames == 0) notes.clear();
  else qs::decode_notes(act, decoder, notes);
  ++notes_revision;
}

}  // namespace qsweb
