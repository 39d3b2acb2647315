// The browser app's entry point: GLFW (Emscripten's built-in) + WebGL2 + Dear ImGui, one frame
// per requestAnimationFrame, plus the C functions web/app.js calls (whisper.cpp style: JS does
// only what needs the browser — decoding files, the microphone, ONNX Runtime Web, playback and
// downloads — and C++ owns the state, the signal processing and the drawing).
#include <GLFW/glfw3.h>
#include <GLES3/gl3.h>
#include <emscripten.h>
#include <emscripten/html5.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>

#include "app.hpp"
#include "host.hpp"
#include "imgui.h"
#include "imgui_impl_glfw.h"
#include "imgui_impl_opengl3.h"
#include "qscribe/error.hpp"
#include "qscribe/note_io.hpp"
#include "qscribe/version.hpp"

using namespace qsweb;

namespace {

GLFWwindow* g_window = nullptr;
constexpr double kLiveFrameMs = 50;  // live view: frame interval when no new note waits
std::string g_text;  // the string returned by the last text-returning call
double g_last_input_ms = 0, g_last_render_ms = 0;

// Any input keeps the UI drawing at full rate for a moment (hover, tooltips, drags); otherwise an
// idle page redraws only a few times per second, so it costs next to nothing.
void note_input() { g_last_input_ms = emscripten_get_now(); }
void install_input_tracking(GLFWwindow* w) {
  glfwSetCursorPosCallback(w, [](GLFWwindow*, double, double) { note_input(); });
  glfwSetMouseButtonCallback(w, [](GLFWwindow*, int, int, int) { note_input(); });
  glfwSetScrollCallback(w, [](GLFWwindow*, double, double) { note_input(); });
  glfwSetKeyCallback(w, [](GLFWwindow*, int, int, int, int) { note_input(); });
  glfwSetCharCallback(w, [](GLFWwindow*, unsigned) { note_input(); });
}

int device_width() { return static_cast<int>(std::lround(host::css_width() * app().dpr)); }
int device_height() { return static_cast<int>(std::lround(host::css_height() * app().dpr)); }

void setup_style(float scale) {
  ImGui::StyleColorsDark();
  ImGuiStyle& s = ImGui::GetStyle();
  s.WindowPadding = ImVec2(10, 8);
  s.FramePadding = ImVec2(10, 5);
  s.ItemSpacing = ImVec2(8, 6);
  s.FrameRounding = 4;
  s.GrabRounding = 4;
  s.WindowBorderSize = 0;
  s.Colors[ImGuiCol_WindowBg] = ImVec4(0.085f, 0.09f, 0.11f, 1);
  s.Colors[ImGuiCol_Button] = ImVec4(0.20f, 0.42f, 0.80f, 1);
  s.Colors[ImGuiCol_ButtonHovered] = ImVec4(0.28f, 0.52f, 0.92f, 1);
  s.Colors[ImGuiCol_ButtonActive] = ImVec4(0.16f, 0.34f, 0.70f, 1);
  s.Colors[ImGuiCol_PlotHistogram] = ImVec4(0.30f, 0.78f, 0.45f, 1);
  s.ScaleAllSizes(scale);
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // nothing persisted
  ImFontConfig cfg;
  cfg.OversampleH = 2;
  if (!io.Fonts->AddFontFromFileTTF("/fonts/DejaVuSans.ttf", 15.0f * scale, &cfg)) io.Fonts->AddFontDefault();
}

void frame() {
  App& a = app();
  const int w = device_width(), h = device_height();
  int cw = 0, ch = 0;
  glfwGetWindowSize(g_window, &cw, &ch);
  const bool resized = w > 0 && h > 0 && (w != cw || h != ch);
  if (resized) glfwSetWindowSize(g_window, w, h);
  glfwPollEvents();
  const double t0 = emscripten_get_now();
  // While a file is transcribed the progress bar needs only a few frames per second, and every
  // frame drawn is main-thread time taken from the transcription (much of it with a software GL).
  const bool animating = resized || a.playing || a.mode == Mode::kLive || a.live_starting ||
                         (t0 - g_last_input_ms < 1500 && !a.busy.active);
  if (!animating && t0 - g_last_render_ms < (a.busy.active ? 200 : 250)) return;
  // Live view: a new note is drawn at once; otherwise ~20 frames per second (kLiveFrameMs) keep
  // the roll moving.
  // Each frame costs main-thread time (much of it waiting on a software GL), which would
  // otherwise delay the audio and the model.
  if (a.mode == Mode::kLive && t0 - g_last_render_ms < kLiveFrameMs && !(a.live && a.live->has_undrawn_notes()))
    return;
  g_last_render_ms = t0;
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();
  draw_ui(a);
  ImGui::Render();
  const double t_ui = emscripten_get_now();
  int fw = 0, fh = 0;
  glfwGetFramebufferSize(g_window, &fw, &fh);
  glViewport(0, 0, fw, fh);
  glClearColor(0.085f, 0.09f, 0.11f, 1);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
  a.fps_ms = emscripten_get_now() - t0;
  a.ui_ms = t_ui - t0;
  if (a.live) a.live->notes_drawn(emscripten_get_now());
}

// The request in `slot` (a RequestSlot), or nullptr: no file job, or not a slot.
qs::ModelRequest* request_of(int slot) {
  App& a = app();
  switch (static_cast<RequestSlot>(slot)) {
    case RequestSlot::kFileJob: return a.job ? &a.job->request() : nullptr;
    case RequestSlot::kLive: return &a.live_request;
  }
  return nullptr;
}

int step_code(StepResult r) { return static_cast<int>(r); }

const char* keep(std::string s) {
  g_text = std::move(s);
  return g_text.c_str();
}

}  // namespace

int main() {
  App& a = app();
  a.dpr = static_cast<float>(host::device_pixel_ratio());
  if (!glfwInit()) return 1;
  glfwWindowHint(GLFW_CLIENT_API, GLFW_OPENGL_ES_API);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
  g_window = glfwCreateWindow(std::max(device_width(), 320), std::max(device_height(), 240), "qscribe", nullptr, nullptr);
  if (!g_window) return 1;
  glfwMakeContextCurrent(g_window);
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  setup_style(a.dpr);
  install_input_tracking(g_window);  // before ImGui's backend, which chains to these callbacks
  ImGui_ImplGlfw_InitForOpenGL(g_window, true);
  ImGui_ImplOpenGL3_Init("#version 300 es");
  emscripten_set_main_loop(frame, 0, false);
  return 0;
}

extern "C" {

EMSCRIPTEN_KEEPALIVE const char* qs_version() { return qs::kVersion; }

// The model's sidecar JSON (models/NAME.json). Returns 1, or 0 with the reason in qs_error().
EMSCRIPTEN_KEEPALIVE int qs_set_model(const char* json_text) {
  App& a = app();
  try {
    a.model = qs::parse_model_config(json_text);
    a.model_loaded = true;
    a.model_status = "Model " + a.model.name + " loaded";
    a.decoder = a.model.decoding;
    a.doc.reset(a.model, "");
    return 1;
  } catch (const std::exception& e) {
    a.model_loaded = false;
    a.model_status = std::string("The model could not be loaded: ") + e.what();
    a.error = a.model_status;
    return 0;
  }
}

// What JavaScript needs to run the model, from the sidecar qs_set_model() read (JS reads no
// sidecar field itself): {"sampleRate", "bins", "notes", "input", "frameOutput", "onsetOutput"}
// (tensor names; onsetOutput null for a frame-only model). "{}" before a model is set.
// The beat network's JSON (models/beat_net.json), after the model. Returns 1, or 0 with the
// reason in qs_error(); without one the tracker follows the notes' onset envelope.
EMSCRIPTEN_KEEPALIVE int qs_set_beat_net(const char* json_text) {
  App& a = app();
  try {
    if (!a.model_loaded) throw qs::Error("set the model first");
    qs::BeatNet net = qs::parse_beat_net(json_text, "beat_net.json");
    qs::check_beat_net_frame_rate(net, a.model.features.frame_rate(), "beat_net.json");
    a.beat_net = std::move(net);
    a.score.set_beat_net(&a.beat_net);
    return 1;
  } catch (const std::exception& e) {
    a.score.set_beat_net(nullptr);
    a.error = std::string("The beat network could not be loaded (beats follow the notes): ") + e.what();
    return 0;
  }
}

EMSCRIPTEN_KEEPALIVE const char* qs_model_io_json() {
  const App& a = app();
  if (!a.model_loaded) return keep("{}");
  const qs::ModelConfig& m = a.model;
  nlohmann::json io = {{"sampleRate", m.features.sample_rate}, {"bins", m.features.n_bins}, {"notes", m.n_notes},
                       {"input", m.input.name}, {"frameOutput", m.frame_output.name},
                       {"onsetOutput", m.has_onset_output ? nlohmann::json(m.onset_output.name) : nlohmann::json()}};
  return keep(io.dump());
}

EMSCRIPTEN_KEEPALIVE void qs_model_failed(const char* message) {
  App& a = app();
  a.model_loaded = false;
  a.model_status = std::string("The model could not be loaded: ") + message;
  a.error = a.model_status;
}

EMSCRIPTEN_KEEPALIVE const char* qs_error() { return app().error.c_str(); }

// --- Files: JS decodes, C++ transcribes --------------------------------------------------------
EMSCRIPTEN_KEEPALIVE int qs_begin_decoding() {
  App& a = app();
  if (a.busy.active) return 0;
  begin_decoding();
  return 1;
}
EMSCRIPTEN_KEEPALIVE int qs_cancel_requested() { return app().busy.cancel ? 1 : 0; }
EMSCRIPTEN_KEEPALIVE float* qs_file_alloc(int n) {
  try {
    return allocate_file_audio(static_cast<std::size_t>(n));
  } catch (const std::exception&) {
    return nullptr;  // out of memory: JS reports it
  }
}
EMSCRIPTEN_KEEPALIVE void qs_file_start(const char* name) {
  App& a = app();
  start_file_job();
  a.doc.name = name;
}
EMSCRIPTEN_KEEPALIVE void qs_fail(const char* message) { fail_busy(message); }

// A StepResult (bridge.hpp): kDone, kWorking, kNeedModel (a request waits in
// RequestSlot::kFileJob) or kFailed (cancelled or failed: qs_error()).
EMSCRIPTEN_KEEPALIVE int qs_job_step(double budget_ms) {
  App& a = app();
  if (!a.job) return step_code(StepResult::kFailed);
  if (a.busy.cancel) {
    fail_busy("Cancelled.");
    return step_code(StepResult::kFailed);
  }
  try {
    const StepResult r = a.job->step(budget_ms);
    a.busy.progress = a.job->progress();
    if (r == StepResult::kDone) {
      finish_file_job();
      fit_view();
    }
    return step_code(r);
  } catch (const std::exception& e) {
    fail_busy(std::string("Transcription failed: ") + e.what());
    return step_code(StepResult::kFailed);
  }
}
EMSCRIPTEN_KEEPALIVE void qs_job_model_done() {
  if (!app().job) return;
  try {
    app().job->model_done();
  } catch (const std::exception& e) {
    fail_busy(std::string("Transcription failed: ") + e.what());
  }
}

// The bridge's named codes (bridge.hpp) as JSON: {"Step": {...}, "Slot": {...}}.
EMSCRIPTEN_KEEPALIVE const char* qs_bridge_json() { return keep(bridge_constants_json()); }

// One size or the serial of the request in `slot`; 0 without a request there.
int request_int(int slot, int qs::ModelRequest::*field) {
  const qs::ModelRequest* r = request_of(slot);
  return r ? r->*field : 0;
}

// Model requests by RequestSlot. Without a request there (no file job, not a slot) the sizes and
// the serial are 0 and the buffers null.
EMSCRIPTEN_KEEPALIVE int qs_request_serial(int slot) { return request_int(slot, &qs::ModelRequest::serial); }
EMSCRIPTEN_KEEPALIVE int qs_request_batch(int slot) { return request_int(slot, &qs::ModelRequest::batch); }
EMSCRIPTEN_KEEPALIVE int qs_request_frames(int slot) { return request_int(slot, &qs::ModelRequest::frames); }
EMSCRIPTEN_KEEPALIVE int qs_request_bins(int slot) { return request_int(slot, &qs::ModelRequest::bins); }
EMSCRIPTEN_KEEPALIVE int qs_request_notes(int slot) { return request_int(slot, &qs::ModelRequest::notes); }
EMSCRIPTEN_KEEPALIVE float* qs_request_input(int slot) {
  qs::ModelRequest* r = request_of(slot);
  return r ? r->input.data() : nullptr;
}
EMSCRIPTEN_KEEPALIVE float* qs_request_frame_out(int slot) {
  qs::ModelRequest* r = request_of(slot);
  return r ? r->frame_out.data() : nullptr;
}
EMSCRIPTEN_KEEPALIVE float* qs_request_onset_out(int slot) {
  qs::ModelRequest* r = request_of(slot);
  return r ? r->onset_out.empty() ? nullptr : r->onset_out.data() : nullptr;
}

// --- Live input ---------------------------------------------------------------------------------
EMSCRIPTEN_KEEPALIVE void qs_live_started() { start_live(); }
EMSCRIPTEN_KEEPALIVE void qs_live_failed(const char* message) { stop_live(message); app().live_starting = false; }
EMSCRIPTEN_KEEPALIVE int qs_live_active() { return app().mode == Mode::kLive ? 1 : 0; }
EMSCRIPTEN_KEEPALIVE float* qs_live_buffer(int n) {
  static std::vector<float> scratch;
  scratch.resize(static_cast<std::size_t>(std::max(0, n)));
  return scratch.data();
}
EMSCRIPTEN_KEEPALIVE void qs_live_push(const float* samples, int n, double arrival_ms) {
  App& a = app();
  if (a.mode == Mode::kLive && a.live) a.live->push(samples, static_cast<std::size_t>(n), arrival_ms);
}
// A StepResult: kNeedModel (a request waits in RequestSlot::kLive), kWorking (nothing to do
// now), kDone (no live session) or kFailed (live input stopped; the reason is in qs_error()).
EMSCRIPTEN_KEEPALIVE int qs_live_step() {
  App& a = app();
  if (a.mode != Mode::kLive || !a.live) return step_code(StepResult::kDone);
  try {
    return step_code(a.live->step());
  } catch (const std::exception& e) {
    stop_live(std::string("Live transcription failed: ") + e.what());
    return step_code(StepResult::kFailed);
  }
}
EMSCRIPTEN_KEEPALIVE void qs_live_model_done() {
  App& a = app();
  if (a.live && a.live_doc_id == a.doc_id && a.live->busy()) a.live->model_done();
}

// --- Queries (the page's window.qscribe API and the tests) --------------------------------------
EMSCRIPTEN_KEEPALIVE const char* qs_state_json() {
  const App& a = app();
  nlohmann::json live = {{"active", a.mode == Mode::kLive}, {"latencyMs", nullptr}, {"level", nullptr}};
  if (a.live && a.live_doc_id == a.doc_id) {
    if (a.live->latency().median() >= 0) live["latencyMs"] = a.live->latency().median();
    live["level"] = a.live->level_db();
    live["latencies"] = a.live->latency().ms;
    live["lateNotes"] = a.live->latency().late_notes;
  }
  const char* modes[] = {"empty", "file", "live"};
  return keep(nlohmann::json{{"busy", a.busy.active},
                             {"stage", a.busy.active ? a.busy.stage : std::string()},
                             {"progress", a.busy.progress},
                             {"error", a.error},
                             {"noteCount", a.doc.notes.size()},
                             {"duration", a.doc.duration()},
                             {"name", a.doc.name},
                             {"mode", modes[static_cast<int>(a.mode)]},
                             {"playing", a.playing},
                             {"playTime", a.play_time},
                             {"source", a.source == Source::kOriginal ? "original" : "synth"},
                             {"modelLoaded", a.model_loaded},
                             {"model", a.model.name},
                             {"decoding", {{"onset", a.decoder.onset_threshold},
                                           {"frame", a.decoder.frame_threshold},
                                           {"minNoteLength", a.decoder.min_note_length_s},
                                           {"frameFallback", a.decoder.frame_fallback},
                                           {"restrike", a.decoder.restrike_threshold},
                                           {"minRestrikeGap", a.decoder.min_restrike_gap_s},
                                           {"restrikeRiseWeight", a.decoder.restrike_rise_weight},
                                           {"weakOnset", a.decoder.weak_onset_threshold},
                                           {"weakOnsetFrame", a.decoder.weak_onset_frame},
                                           {"rise", a.decoder.rise_threshold}}},
                             {"showScore", a.show_score},
                             {"beatNet", a.score.has_beat_net()},
                             {"overrides", {{"tempo", a.score.overrides().tempo_bpm},
                                            {"timeSignature", a.score.overrides().time_signature},
                                            {"key", a.score.overrides().key}}},
                             {"spectrogram", {{"topDb", a.spec_top_db}, {"bottomDb", spec_bottom_db()},
                                              {"contrast", a.contrast}, {"uploadMs", a.spec_upload_ms},
                                              {"uploadTexels", a.spec_upload_texels}}},
                             {"frameMs", a.fps_ms},
                             {"uiMs", a.ui_ms},
                             {"live", live}}
                  .dump());
}
EMSCRIPTEN_KEEPALIVE const char* qs_notes_json() { return keep(qs::format_notes_json(app().doc.notes)); }
// {x, y, w, h} of a named control in CSS pixels relative to the canvas, or "null".
EMSCRIPTEN_KEEPALIVE const char* qs_ui_rect(const char* id) {
  const App& a = app();
  const auto it = a.ui_rects.find(id);
  if (it == a.ui_rects.end()) return "null";
  const Rect& r = it->second;
  return keep(nlohmann::json{{"x", r.x / a.dpr}, {"y", r.y / a.dpr}, {"w", r.w / a.dpr}, {"h", r.h / a.dpr}}.dump());
}
// Decoding thresholds, through the sliders' path (set_decoding); a negative value keeps the
// current one. Returns "" when applied, else why nothing changed.
EMSCRIPTEN_KEEPALIVE const char* qs_set_decoding(double onset, double frame, double min_note_s) {
  qs::DecoderParams d = app().decoder;
  // (Capped before the float conversion, which is undefined past FLT_MAX: still out of range.)
  if (onset >= 0) d.onset_threshold = static_cast<float>(std::min(onset, 1e30));
  if (frame >= 0) d.frame_threshold = static_cast<float>(std::min(frame, 1e30));
  if (min_note_s >= 0) d.min_note_length_s = min_note_s;
  return keep(set_decoding(d));
}

// --- The musical reading: beats, bars, key, the score -------------------------------------------
// {beats, downbeats, tempo, meter, key, bars, barTimes, overrides, revision, analysisMs} or null.
EMSCRIPTEN_KEEPALIVE const char* qs_analysis_json() {
  update_score(true);
  return keep(app().score.to_json().dump());
}
// Overrides (tempo 0 and empty strings: estimate). Returns "" when applied, else the reason.
EMSCRIPTEN_KEEPALIVE const char* qs_set_analysis(double tempo_bpm, const char* time_signature, const char* key) {
  return keep(set_analysis(AnalysisOverrides{tempo_bpm, time_signature, key}));
}
// The current notes as MusicXML ("" without notes).
EMSCRIPTEN_KEEPALIVE const char* qs_musicxml() {
  update_score(true);
  const App& a = app();
  return keep(a.score.musicxml(a.doc.name.empty() ? "Transcription" : a.doc.name));
}
EMSCRIPTEN_KEEPALIVE void qs_show_score(int show) { show_score(show != 0); }
EMSCRIPTEN_KEEPALIVE int qs_score_shown() { return app().show_score ? 1 : 0; }
// Bumps whenever the analysis (and so the MusicXML) changes; the Score view polls it.
EMSCRIPTEN_KEEPALIVE double qs_score_revision() { return static_cast<double>(app().score.revision()); }
// The score's bar (0-based) at the play position, or -1.
EMSCRIPTEN_KEEPALIVE int qs_play_bar() {
  const App& a = app();
  return a.score.bar_at(a.play_time);
}
EMSCRIPTEN_KEEPALIVE void qs_seek_bar(int bar) {
  const App& a = app();
  if (a.score.valid() && bar >= 0 && bar < a.score.score().n_bars) seek(a.score.bar_start(bar));
}
EMSCRIPTEN_KEEPALIVE void qs_set_contrast(double contrast) { app().contrast = static_cast<float>(std::clamp(contrast, 0.25, 4.0)); }

}  // extern "C"
