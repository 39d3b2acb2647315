// Actions on the app state. The drawing lives in app_ui.cpp.
#include "app.hpp"

#include <emscripten.h>

#include <algorithm>
#include <cmath>

#include "host.hpp"
#include "qscribe/midi_file.hpp"
#include "qscribe/note_io.hpp"
#include "qscribe/note_synth.hpp"

namespace qsweb {

App& app() {
  static App instance;
  return instance;
}

namespace {

void new_document(App& a, const std::string& name) {
  if (a.playing) host::pause();
  a.playing = false;
  a.play_time = 0;
  a.job.reset();
  a.doc.reset(a.model, name);
  a.doc.decoder = a.decoder;
  ++a.doc_id;
  a.error.clear();
}

}  // namespace

void begin_decoding() {
  App& a = app();
  if (a.mode == Mode::kLive) stop_live();
  a.busy = Busy{true, "Decoding audio", -1, false, emscripten_get_now()};
  a.error.clear();
}

float* allocate_file_audio(std::size_t n) {
  App& a = app();
  new_document(a, "");
  a.mode = Mode::kEmpty;
  a.doc.audio.assign(n, 0.0f);
  return a.doc.audio.data();
}

void start_file_job() {
  App& a = app();
  a.mode = Mode::kFile;
  a.job = std::make_unique<FileJob>(a.model, a.doc);
  a.busy.stage = "Transcribing";
  a.busy.progress = 0;
  fit_view();
}

void fail_busy(const std::string& message) {
  App& a = app();
  // A file that fails while decoding leaves the previous document on screen; one that fails (or
  // is cancelled) during transcription leaves nothing half-made.
  if (a.job) a.mode = Mode::kEmpty;
  a.busy = Busy{};
  a.job.reset();
  a.error = message;
}

void finish_file_job() {
  App& a = app();
  a.job.reset();
  a.busy = Busy{};
}

void start_live() {
  App& a = app();
  new_document(a, "recording");
  a.mode = Mode::kLive;
  a.live = std::make_unique<LiveSession>(a.model, a.doc, a.live_request);
  a.live_doc_id = a.doc_id;
  a.live_starting = false;
  a.view.follow = true;
}

void stop_live(const std::string& message) {
  App& a = app();
  if (a.mode != Mode::kLive && !a.live_starting) return;
  host::stop_microphone();
  a.live_starting = false;
  if (a.mode == Mode::kLive) {
    a.mode = a.doc.empty() ? Mode::kEmpty : Mode::kFile;
    a.doc.redecode();
    fit_view();
  }
  if (!message.empty()) a.error = message;
}

void toggle_play() {
  App& a = app();
  if (a.doc.empty() || a.mode == Mode::kLive) return;
  if (a.playing) {
    host::pause();
    a.playing = false;
    return;
  }
  if (a.play_time >= a.doc.duration() - 0.01) a.play_time = 0;
  std::string key;
  if (a.source == Source::kSynth) {
    if (a.synth_revision != a.doc.notes_revision || a.synth_doc_id != a.doc_id) {
      qs::NoteSynthOptions o;
      o.sample_rate = a.doc.sample_rate;
      a.synth_audio = qs::render_notes(a.doc.notes, a.doc.duration(), o);
      a.synth_revision = a.doc.notes_revision;
      a.synth_doc_id = a.doc_id;
    }
    key = "synth-" + std::to_string(a.doc_id) + "-" + std::to_string(a.synth_revision);
    host::play(a.synth_audio.data(), a.synth_audio.size(), a.doc.sample_rate, a.play_time, key.c_str());
  } else {
    key = "audio-" + std::to_string(a.doc_id) + "-" + std::to_string(a.doc.audio.size());
    host::play(a.doc.audio.data(), a.doc.audio.size(), a.doc.sample_rate, a.play_time, key.c_str());
  }
  a.playing = true;
}

void seek(double t) {
  App& a = app();
  a.play_time = std::clamp(t, 0.0, a.doc.duration());
  if (a.playing) {
    host::pause();
    a.playing = false;
    toggle_play();
  }
}

std::string set_decoding(const qs::DecoderParams& d) {
  try {
    d.validate();
  } catch (const std::exception& e) {
    return e.what();
  }
  App& a = app();
  a.decoder = d;
  a.doc.decoder = d;
  if (!a.job && a.doc.probs.n_frames > 0) a.doc.redecode();
  return "";
}

void export_notes(const char* format) {
  App& a = app();
  const std::string base = a.doc.name.empty() ? "transcription" : a.doc.name;
  const std::string f = format;
  if (f == "mid") {
    qs::MidiWriteOptions o;
    o.program = 0;  // acoustic grand piano
    const auto bytes = qs::write_midi(a.doc.notes, o);
    host::download((base + ".mid").c_str(), bytes.data(), bytes.size(), "audio/midi");
  } else if (f == "tsv") {
    const std::string text = qs::format_notes_tsv(a.doc.notes);
    host::download((base + ".tsv").c_str(), text.data(), text.size(), "text/tab-separated-values");
  } else if (f == "musicxml" || f == "qmid") {
    update_score(true);
    if (!a.score.valid()) {
      a.error = "No score to save: " + (a.score.error().empty() ? std::string("no notes") : a.score.error());
      return;
    }
    if (f == "musicxml") {
      const std::string text = a.score.musicxml(base);
      host::download((base + ".musicxml").c_str(), text.data(), text.size(), "application/vnd.recordare.musicxml+xml");
    } else {
      const auto bytes = a.score.quantized_midi();
      host::download((base + ".quantized.mid").c_str(), bytes.data(), bytes.size(), "audio/midi");
    }
  } else {
    nlohmann::json meta = {{"source", a.doc.name}, {"model", a.model.name},
                           {"duration_s", a.doc.duration()}, {"decoding", {
                               {"onset_threshold", a.doc.decoder.onset_threshold},
                               {"frame_threshold", a.doc.decoder.frame_threshold},
                               {"min_note_length_s", a.doc.decoder.min_note_length_s}}}};
    const std::string text = qs::format_notes_json(a.doc.notes, meta);
    host::download((base + ".json").c_str(), text.data(), text.size(), "application/json");
  }
}

void update_score(bool force) {
  App& a = app();
  a.score.update(a.doc, a.doc_id, a.mode == Mode::kFile && !a.job, force);
}

std::string set_analysis(const AnalysisOverrides& o) {
  App& a = app();
  const std::string err = a.score.set_overrides(o);
  if (err.empty()) update_score(true);
  return err;
}

void show_score(bool show) {
  App& a = app();
  a.show_score = show;
  if (show) update_score(true);
}

void update_spectrogram_range() {
  App& a = app();
  // At least a second of frames before the percentile means anything; never brighter than
  // -60 dB at the top, so silence and hiss stay dark.
  const std::uint64_t min_values = static_cast<std::uint64_t>(a.doc.frame_rate) * a.doc.n_bins;
  const double target = std::max(-60.0, a.doc.spec_quantile_db(App::kSpecQuantile, -10.0, min_values));
  const bool growing = a.mode == Mode::kLive || a.job;
  if (!growing || std::abs(target - a.spec_top_db) >= 3) a.spec_top_db = target;
}

double spec_bottom_db() {
  const App& a = app();
  return a.spec_top_db - App::kSpecRangeDb / std::max(0.1f, a.contrast);
}

void fit_view() {
  App& a = app();
  a.view.t0 = 0;
  a.view.span = std::max(1.0, a.doc.duration());
  if (a.mode == Mode::kFile && a.doc.duration() > 60) a.view.span = 30;  // long files: start zoomed in
  if (!a.doc.notes.empty()) {
    int lo = 127, hi = 0;
    for (const auto& n : a.doc.notes) lo = std::min(lo, n.pitch), hi = std::max(hi, n.pitch);
    a.view.key_lo = std::max(20.5, lo - 6.5);
    a.view.key_hi = std::min(108.5, hi + 6.5);
    if (a.view.key_hi - a.view.key_lo < 24) {
      const double mid = (a.view.key_hi + a.view.key_lo) / 2;
      a.view.key_lo = std::max(20.5, mid - 12), a.view.key_hi = std::min(108.5, mid + 12);
    }
  } else {
    a.view.key_lo = 20.5, a.view.key_hi = 108.5;
  }
}

}  // namespace qsweb
