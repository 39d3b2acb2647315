// What the app shows and exports: one piece of audio (a file or a live recording) with its
// display spectrogram, the model's probabilities and the decoded notes. Plain data (Dear ImGui
// style): the jobs fill it, the UI reads it. No GL, no JS.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "qscribe/model_config.hpp"
#include "qscribe/model_windows.hpp"
#include "qscribe/note.hpp"
#include "qscribe/note_decoder.hpp"

namespace qsweb {

struct Document {
  std::string name;            // base name for downloads ("recording" for live input)
  double sample_rate = 22050;  // Hz, of `audio` and of the features
  double frame_rate = 22050.0 / 512;
  std::vector<float> audio;    // mono samples

  int n_bins = 352;                 // CQT bins per frame
  int bins_per_semitone = 4;
  double fmin = 27.5;
  // [frames x n_bins] CQT levels: 20 log10(magnitude) in kSpecStepDb steps from kSpecFloorDb
  // (level 0) up to +27.5 dB (255). The display maps a range of them to colours (App::spec_top_db
  // down to spec_bottom_db(), app.hpp).
  static constexpr float kSpecFloorDb = -100.0f, kSpecStepDb = 0.5f;
  std::vector<std::uint8_t> spec;
  std::array<std::uint64_t, 256> spec_histogram{};  // how many values of `spec` have each level
  std::size_t spec_frames = 0;
  std::uint64_t spec_revision = 0;  // bumped whenever `spec` changes (texture uploads)
  std::size_t spec_dirty_from = 0;  // first frame changed since the textures were updated

  int n_notes = 88, lowest_pitch = 21;
  qs::NoteProbabilities probs;  // the model's output, filled by the jobs (qscribe/model_windows.hpp)

  qs::NoteList notes;
  qs::DecoderParams decoder;
  std::uint64_t notes_revision = 0;  // bumped on every re-decode (synth cache, exports)

  double duration() const { return audio.size() / sample_rate; }
  bool empty() const { return audio.empty(); }
  // Prepares an empty document for audio with the model's features and decoding defaults.
  void reset(const qs::ModelConfig& model, std::string new_name);
  // Converts CQT magnitudes [n x n_bins] into levels for frames [first, first + n).
  void set_spectrogram(std::size_t first, const float* cqt, std::size_t n);
  // The level (dB) of the q-quantile of every value in `spec` (q in [0, 1]); `fallback` while
  // there are fewer than `min_values` values.
  double spec_quantile_db(double q, double fallback, std::uint64_t min_values = 1) const;
  // Decodes `notes` again from the probabilities with `decoder` (instant: no model run).
  void redecode();
};

}  // namespace qsweb
