// The app's whole state in plain structs (Dear ImGui style: the UI is a function of it) and the
// actions the UI and the JavaScript bridge perform on it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "document.hpp"
#include "file_job.hpp"
#include "live_session.hpp"
#include "score_state.hpp"
#include "qscribe/model_config.hpp"

namespace qsweb {

enum class Mode { kEmpty, kFile, kLive };
enum class Source { kOriginal = 0, kSynth = 1 };

struct Rect { float x = 0, y = 0, w = 0, h = 0; };

// The visible part of the piano roll: seconds horizontally, piano keys vertically.
struct View {
  double t0 = 0, span = 10;                // seconds [t0, t0 + span)
  double key_lo = 20.5, key_hi = 108.5;    // MIDI key range shown (key p spans p +- 0.5)
  bool follow = true;                      // keep the playhead in view while playing
};

struct Busy {
  bool active = false;
  std::string stage;    // "Decoding audio", "Transcribing", ...
  double progress = 0;  // 0..1, or < 0 when unknown
  bool cancel = false;  // the user pressed Cancel
  double started_ms = 0;
};

struct App {
  qs::ModelConfig model;
  bool model_loaded = false;
  std::string model_status = "Loading the model…";

  qs::BeatNet beat_net;       // the beat network (models/beat_net.json); empty: the notes' envelope
  qs::DecoderParams decoder;  // the sliders: kept across documents (starts as the model's)
  Document doc;
  int doc_id = 0;  // bumps with every new document (playback caches, stale callbacks)
  Mode mode = Mode::kEmpty;
  std::unique_ptr<FileJob> job;
  std::unique_ptr<LiveSession> live;
  qs::ModelRequest live_request;  // owned here: a run in flight may outlive its session
  int live_doc_id = -1;
  bool live_starting = false;

  Busy busy;
  std::string error;  // shown until dismissed or replaced

  ScoreState score;        // beats, bars, key and the notated score of the notes
  bool show_score = false;  // the Score view (sheet music, drawn by the page) is open
  Rect score_panel;         // where it goes, device pixels (empty while closed)

  // Spectrogram levels shown: the brightest colour at the file's 99.5th percentile level,
  // black kSpecRangeDb / contrast below it.
  static constexpr double kSpecRangeDb = 60, kSpecQuantile = 0.995;
  float contrast = 1.0f;
  double spec_top_db = -10;  // dB
  double spec_upload_ms = 0;  // the last texture upload of the spectrogram: time and texels
  std::size_t spec_upload_texels = 0;

  View view;
  Source source = Source::kOriginal;
  bool playing = false;
  double play_time = 0;  // s
  std::vector<float> synth_audio;
  std::uint64_t synth_revision = ~0ull;
  int synth_doc_id = -1;

  float dpr = 1;  // device pixels per CSS pixel (the UI is laid out in device pixels)
  std::map<std::string, Rect> ui_rects;  // named controls, device pixels (tests click them)
  double fps_ms = 0;  // the last frame: all of it, and building the UI (texture uploads included)
  double ui_ms = 0;
};

App& app();

// Actions (shared by the UI and the JS bridge).
void begin_decoding();                                 // JS started decoding a file
float* allocate_file_audio(std::size_t n);             // room for the decoded samples
void start_file_job();                                 // samples are in place
void fail_busy(const std::string& message);            // a stage failed: message, back to idle
void finish_file_job();
void start_live();                                     // the microphone is delivering audio
void stop_live(const std::string& message = "");       // back to the normal view, notes kept
void toggle_play();
void seek(double t);
// The decoding settings, from the sliders and from JS (setDecoding): checked by
// qs::DecoderParams::validate, then kept for the next documents and applied to this one (its notes
// re-decoded at once; a file being transcribed is decoded with them when it is done). Returns ""
// when applied, else the reason, and nothing changes.
std::string set_decoding(const qs::DecoderParams& d);
void export_notes(const char* format);                 // "mid" | "tsv" | "json" | "musicxml" | "qmid"
// Brings the analysis up to date with the notes (at most every ScoreState::kMinIntervalMs while
// they keep changing, unless `force`).
void update_score(bool force = false);
std::string set_analysis(const AnalysisOverrides& o);  // "" or why the overrides were refused
void show_score(bool show);
// Follows the spectrogram's level range: exact once a file is done, with 3 dB of hysteresis
// while frames arrive (live input, a file being transcribed).
void update_spectrogram_range();
double spec_bottom_db();
void fit_view();

// The UI: one function of the state, called once per frame.
void draw_ui(App& a);

}  // namespace qsweb
