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
#include "model_request.hpp"
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

  qs::DecoderParams decoder;  // the sliders: kept across documents (starts as the model's)
  Document doc;
  int doc_id = 0;  // bumps with every new document (playback caches, stale callbacks)
  Mode mode = Mode::kEmpty;
  std::unique_ptr<FileJob> job;
  std::unique_ptr<LiveSession> live;
  ModelRequest live_request;  // owned here: a run in flight may outlive its session
  int live_doc_id = -1;
  bool live_starting = false;

  Busy busy;
  std::string error;  // shown until dismissed or replaced

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
void export_notes(const char* format);                 // "mid" | "tsv" | "json"
void fit_view();

// The UI: one function of the state, called once per frame.
void draw_ui(App& a);

}  // namespace qsweb
