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
  probs.n_notes = model.n_notes;
  probs.has_onsets = model.has_onset_output;
}

void Document::set_spectrogram(std::size_t first, const float* cqt, std::size_t n) {
  const std::size_t end = first + n;
  const std::size_t bins = static_cast<std::size_t>(n_bins);
  // Frames written again (the live view's provisional frames) leave the histogram first.
  for (std::size_t i = first * bins; i < std::min(end, spec_frames) * bins; ++i) --spec_histogram[spec[i]];
  if (end > spec_frames) {
    spec.resize(end * bins, 0);
    spec_frames = end;
  }
  // Fixed steps of the level in dB: which range of them is shown is the display's business.
  constexpr float kPerDb = 1.0f / kSpecStepDb;
  std::uint8_t* out = spec.data() + first * bins;
  for (std::size_t i = 0; i < n * bins; ++i) {
    const float db = 20.0f * std::log10(std::max(cqt[i], 1e-9f));
    const float level = (db - kSpecFloorDb) * kPerDb;
    out[i] = static_cast<std::uint8_t>(std::clamp(level, 0.0f, 255.0f) + 0.5f);
    ++spec_histogram[out[i]];
  }
  spec_dirty_from = std::min(spec_dirty_from, first);
  ++spec_revision;
}

double Document::spec_quantile_db(double q, double fallback, std::uint64_t min_values) const {
  std::uint64_t total = 0;
  for (std::uint64_t c : spec_histogram) total += c;
  if (total < std::max<std::uint64_t>(1, min_values)) return fallback;
  const double want = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  std::uint64_t below = 0;
  for (int level = 0; level < 256; ++level) {
    below += spec_histogram[static_cast<std::size_t>(level)];
    if (static_cast<double>(below) >= want) return kSpecFloorDb + level * kSpecStepDb;
  }
  return kSpecFloorDb + 255 * kSpecStepDb;
}

void Document::redecode() {
  if (probs.n_frames == 0) notes.clear();
  else qs::decode_notes(probs.view(lowest_pitch, frame_rate), decoder, notes);
  ++notes_revision;
}

}  // namespace qsweb
