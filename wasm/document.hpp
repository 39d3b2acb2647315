// What the app shows and exports: one piece of audio (a file or a live recording) with its
// display spectrogram, the model's probabilities and the decoded notes. Plain data (Dear ImGui
// style): the jobs fill it, the UI reads it. No GL, no JS.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qscribe/model_config.hpp"
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
  std::vector<std::uint8_t> spec;   // [frames x n_bins] display levels 0..255 (dB scale)
  std::size_t spec_frames = 0;
  std::uint64_t spec_revision = 0;  // bumped whenever `spec` changes (texture uploads)
  std::size_t spec_dirty_from = 0;  // first frame changed since the textures were updated

  int n_notes = 88, lowest_pitch = 21;
  std::vector<float> frame_prob, onset_prob;  // [frames x n_notes] probabilities
  std::size_t act_frames = 0;

  qs::NoteList notes;
  qs::DecoderParams decoder;
  std::uint64_t notes_revision = 0;  // bumped on every re-decode (synth cache, exports)

  double duration() const { return audio.size() / sample_rate; }
  bool empty() const { return audio.empty(); }
  // Prepares an empty document for audio with the model's features and decoding defaults.
  void reset(const qs::ModelConfig& model, std::string new_name);
  // Converts CQT magnitudes [n x n_bins] into display levels for frames [first, first + n).
  void set_spectrogram(std::size_t first, const float* cqt, std::size_t n);
  // Makes room for probabilities up to `frames` frames.
  void ensure_activations(std::size_t frames);
  // Decodes `notes` again from the probabilities with `decoder` (instant: no model run).
  void redecode();
};

}  // namespace qsweb
