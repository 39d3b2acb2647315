// The UI as a function of the app state: toolbar, status line, and the main view (spectrogram
// with the notes over it as a piano roll, a keyboard along the pitch axis, a time axis).
#include <emscripten.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "app.hpp"
#include "host.hpp"
#include "imgui.h"
#include "spectrogram_texture.hpp"

namespace qsweb {
namespace {

SpectrogramTextures& textures() {
  static SpectrogramTextures t;
  return t;
}

void remember(App& a, const char* id) {
  const ImVec2 mn = ImGui::GetItemRectMin(), mx = ImGui::GetItemRectMax();
  a.ui_rects[id] = Rect{mn.x, mn.y, mx.x - mn.x, mx.y - mn.y};
}

bool button(App& a, const char* label, const char* id, bool enabled = true, const char* tip = nullptr) {
  ImGui::BeginDisabled(!enabled);
  const bool pressed = ImGui::Button(label);
  ImGui::EndDisabled();
  remember(a, id);
  if (tip && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("%s", tip);
  return pressed && enabled;
}

std::string note_name(int pitch) {
  static const char* names[] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
  return std::string(names[pitch % 12]) + std::to_string(pitch / 12 - 1);
}

bool is_black(int pitch) {
  const int pc = pitch % 12;
  return pc == 1 || pc == 3 || pc == 6 || pc == 8 || pc == 10;
}

std::string clock(double s) {
  char buf[32];
  const int m = static_cast<int>(s / 60);
  std::snprintf(buf, sizeof buf, "%d:%04.1f", m, s - m * 60);
  return buf;
}

void toolbar(App& a) {
  const bool idle = !a.busy.active && a.model_loaded;
  const bool live = a.mode == Mode::kLive;
  if (button(a, "Open audio...", "open", idle && !live, "Open a WAV, MP3, OGG, FLAC... file (or drop one on the page)"))
    host::open_file_dialog();
  ImGui::SameLine();
  if (live || a.live_starting) {
    ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.75f, 0.16f, 0.16f, 1));
    if (button(a, "Stop microphone", "mic")) stop_live();
    ImGui::PopStyleColor();
  } else if (button(a, "Microphone", "mic", idle, "Transcribe live from the microphone")) {
    a.live_starting = true;
    a.error.clear();
    host::start_microphone(a.model.features.sample_rate);
  }
  ImGui::SameLine();
  ImGui::TextDisabled("|");
  ImGui::SameLine();
  const bool can_play = !a.doc.empty() && !live && !a.busy.active;
  if (button(a, a.playing ? "Pause" : "Play", "play", can_play, "Play / pause (Space)")) toggle_play();
  ImGui::SameLine();
  const char* src_label = a.source == Source::kOriginal ? "Hearing: original" : "Hearing: transcription";
  if (button(a, src_label, "source", can_play,
             "Switch between the original audio and a synthesised rendering of the notes")) {
    a.source = a.source == Source::kOriginal ? Source::kSynth : Source::kOriginal;
    if (a.playing) { toggle_play(); toggle_play(); }
  }
  ImGui::SameLine();
  ImGui::TextDisabled("|");
  ImGui::SameLine();
  const bool can_export = !a.doc.notes.empty() && !live && !a.busy.active;
  ImGui::TextUnformatted("Save");
  ImGui::SameLine();
  if (button(a, "MIDI", "export-mid", can_export, "Download the notes as a MIDI file")) export_notes("mid");
  ImGui::SameLine();
  if (button(a, "TSV", "export-tsv", can_export, "onset, offset, pitch, velocity per line")) export_notes("tsv");
  ImGui::SameLine();
  if (button(a, "JSON", "export-json", can_export, "The notes and the settings as JSON")) export_notes("json");

  // Decoding settings: re-decoding the stored probabilities is instant.
  ImGui::SameLine();
  ImGui::TextDisabled("|");
  // The sliders edit a copy; set_decoding (also behind JS's setDecoding) checks and applies it.
  qs::DecoderParams d = a.decoder;
  bool changed = false;
  const float w = 110 * a.dpr;
  constexpr ImGuiSliderFlags kClamp = ImGuiSliderFlags_AlwaysClamp;  // also for Ctrl+click typing
  ImGui::SameLine();
  ImGui::SetNextItemWidth(w);
  changed |= ImGui::SliderFloat("Onset", &d.onset_threshold, 0.05f, 0.95f, "%.2f", kClamp);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Onset threshold: lower finds more notes (and more false ones)");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(w);
  changed |= ImGui::SliderFloat("Sustain", &d.frame_threshold, 0.05f, 0.95f, "%.2f", kClamp);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Frame threshold: a note lasts while its probability stays above it");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(w);
  float min_ms = static_cast<float>(d.min_note_length_s * 1000);
  if (ImGui::SliderFloat("Min length", &min_ms, 0, 500, "%.0f ms", kClamp)) {
    d.min_note_length_s = min_ms / 1000.0;
    changed = true;
  }
  if (changed) {
    const std::string err = set_decoding(d);
    if (!err.empty()) a.error = err;
  }
}

// Text of a tempo in the field ("" = estimate).
void tempo_text(double bpm, char* buf, std::size_t n) {
  if (bpm > 0) std::snprintf(buf, n, "%g", bpm);
  else buf[0] = '\0';
}

bool same_key(const std::string& a, const std::string& b) {
  try {
    const qs::Key ka = qs::parse_key(a), kb = qs::parse_key(b);
    return ka.fifths == kb.fifths && ka.minor == kb.minor;
  } catch (const std::exception&) {
    return false;
  }
}

void apply_overrides(App& a, const AnalysisOverrides& o) {
  const std::string err = set_analysis(o);
  if (!err.empty()) a.error = err;
}

// The second row: the Score view, the musical reading (tempo, meter, key: shown as estimated,
// editable), the score exports and the spectrogram's contrast.
void score_row(App& a) {
  const bool live = a.mode == Mode::kLive;
  const bool have = !a.doc.notes.empty() && !live && !a.busy.active;
  const bool valid = a.score.valid();
  const AnalysisOverrides& ov = a.score.overrides();
  if (a.show_score) ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.12f, 0.55f, 0.38f, 1));
  const bool was_shown = a.show_score;
  if (button(a, a.show_score ? "Hide score" : "Score", "score", have || a.show_score,
             "Sheet music of the transcription (engraved by Verovio, in this page)"))
    show_score(!a.show_score);
  if (was_shown) ImGui::PopStyleColor();
  ImGui::SameLine();
  ImGui::TextDisabled("|");

  ImGui::BeginDisabled(live);
  // Tempo: empty = estimated (the estimate is the hint), else a steady tempo.
  static char tempo_buf[16] = "";
  static bool tempo_editing = false;
  if (!tempo_editing) tempo_text(ov.tempo_bpm, tempo_buf, sizeof tempo_buf);
  char hint[32] = "auto";
  if (valid) std::snprintf(hint, sizeof hint, "auto %.0f", a.score.analysis().tempo_bpm);
  ImGui::SameLine();
  ImGui::TextUnformatted("Tempo");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(82 * a.dpr);
  ImGui::InputTextWithHint("##tempo", hint, tempo_buf, sizeof tempo_buf, ImGuiInputTextFlags_CharsDecimal);
  remember(a, "tempo");
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Beats per minute: empty or 0 estimates the tempo (and follows its changes)");
  tempo_editing = ImGui::IsItemActive();
  if (ImGui::IsItemDeactivatedAfterEdit()) {
    AnalysisOverrides o = ov;
    o.tempo_bpm = tempo_buf[0] ? std::atof(tempo_buf) : 0.0;
    apply_overrides(a, o);
  }

  // Meter.
  static const char* meters[] = {"2/4", "3/4", "4/4", "6/8"};
  std::string preview = ov.time_signature.empty()
      ? (valid ? "auto: " + a.score.analysis().meter.time_signature() : std::string("auto"))
      : ov.time_signature;
  ImGui::SameLine();
  ImGui::TextUnformatted("Meter");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(104 * a.dpr);
  const bool meter_open = ImGui::BeginCombo("##meter", preview.c_str());
  remember(a, "meter");
  if (meter_open) {
    AnalysisOverrides o = ov;
    if (ImGui::Selectable("auto", ov.time_signature.empty())) { o.time_signature.clear(); apply_overrides(a, o); }
    for (const char* m : meters)
      if (ImGui::Selectable(m, ov.time_signature == m)) { o.time_signature = m; apply_overrides(a, o); }
    ImGui::EndCombo();
  }

  // Key (sets the key signature and the spelling).
  static const char* keys[] = {"C major", "G major", "D major", "A major", "E major", "B major", "F# major", "Db major",
                               "Ab major", "Eb major", "Bb major", "F major", "A minor", "E minor", "B minor", "F# minor",
                               "C# minor", "G# minor", "Eb minor", "Bb minor", "F minor", "C minor", "G minor", "D minor"};
  if (ov.key.empty()) preview = valid ? "auto: " + a.score.analysis().key.name() : std::string("auto");
  else {
    try { preview = qs::parse_key(ov.key).name(); } catch (const std::exception&) { preview = ov.key; }
  }
  ImGui::SameLine();
  ImGui::TextUnformatted("Key");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(150 * a.dpr);
  const bool key_open = ImGui::BeginCombo("##key", preview.c_str(), ImGuiComboFlags_HeightLarge);
  remember(a, "key");
  if (key_open) {
    AnalysisOverrides o = ov;
    if (ImGui::Selectable("auto", ov.key.empty())) { o.key.clear(); apply_overrides(a, o); }
    for (const char* k : keys)
      if (ImGui::Selectable(k, !ov.key.empty() && same_key(ov.key, k))) { o.key = k; apply_overrides(a, o); }
    ImGui::EndCombo();
  }
  ImGui::EndDisabled();
  if (valid && !live) {
    ImGui::SameLine();
    ImGui::TextDisabled("%d bars", a.score.score().n_bars);
  }

  ImGui::SameLine();
  ImGui::TextDisabled("|");
  ImGui::SameLine();
  ImGui::TextUnformatted("Save");
  ImGui::SameLine();
  if (button(a, "MusicXML", "export-musicxml", have, "Sheet music for MuseScore, Finale, Sibelius, Dorico, LilyPond..."))
    export_notes("musicxml");
  ImGui::SameLine();
  if (button(a, "Quantised MIDI", "export-qmid", have,
             "MIDI on the beat grid: bars, a tempo map, time and key signatures (for a DAW)"))
    export_notes("qmid");

  ImGui::SameLine();
  ImGui::TextDisabled("|");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(100 * a.dpr);
  ImGui::SliderFloat("Contrast", &a.contrast, 0.5f, 3.0f, "%.2fx", ImGuiSliderFlags_Logarithmic);
  remember(a, "contrast");
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Spectrogram level range: %.0f dB below the loudest levels of the file (%.0f dB)",
                      a.spec_top_db - spec_bottom_db(), a.spec_top_db);
}

void status_line(App& a) {
  if (a.busy.active) {
    ImGui::TextUnformatted(a.busy.stage.c_str());
    ImGui::SameLine();
    char overlay[32];
    std::snprintf(overlay, sizeof overlay, "%.0f %%", std::max(0.0, a.busy.progress) * 100);
    const float frac = a.busy.progress < 0 ? static_cast<float>(std::fmod(ImGui::GetTime() * 0.5, 1.0))
                                           : static_cast<float>(a.busy.progress);
    ImGui::ProgressBar(frac, ImVec2(260 * a.dpr, 0), a.busy.progress < 0 ? "" : overlay);
    remember(a, "progress");
    ImGui::SameLine();
    if (button(a, "Cancel", "cancel", !a.busy.cancel)) {
      a.busy.cancel = true;
      host::cancel_decoding();
    }
  } else if (a.mode == Mode::kLive) {
    const double level = a.live ? a.live->level_db() : -120;
    ImGui::Text("Listening");
    ImGui::SameLine();
    ImGui::ProgressBar(static_cast<float>(std::clamp((level + 60) / 60, 0.0, 1.0)), ImVec2(160 * a.dpr, 0), "");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Input level: %.0f dBFS", level);
    ImGui::SameLine();
    const double lat = a.live ? a.live->latency().median() : -1;
    if (lat >= 0) ImGui::Text("Latency %.0f ms (sound in -> note drawn, median of recent notes above C3)", lat);
    else ImGui::TextDisabled("Latency: play a note");
    ImGui::SameLine();
    ImGui::Text("   %zu notes   %s", a.doc.notes.size(), clock(a.doc.duration()).c_str());
  } else if (!a.doc.empty()) {
    ImGui::Text("%s   %s   %zu notes", a.doc.name.c_str(), clock(a.doc.duration()).c_str(), a.doc.notes.size());
    ImGui::SameLine();
    ImGui::TextDisabled("   wheel: zoom time, Shift+wheel: zoom pitch, drag: pan, double-click: fit, click the time axis: seek");
  } else if (a.error != a.model_status) {
    ImGui::TextDisabled("%s", a.model_status.c_str());
  }
  if (!a.error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.45f, 0.42f, 1));
    ImGui::TextWrapped("%s", a.error.c_str());
    ImGui::PopStyleColor();
    remember(a, "error");
    ImGui::SameLine();
    if (ImGui::SmallButton("Dismiss")) a.error.clear();
  }
}

double nice_step(double span, double pixels, double min_px) {
  static const double steps[] = {0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800};
  for (double s : steps)
    if (s / span * pixels >= min_px) return s;
  return 3600;
}

// Beat lines (faint) and bar lines (with the score's bar numbers) of the musical reading: the
// score's beats where it has notes, the tracked beats before and after.
void beat_grid(App& a, ImDrawList* dl, const View& v, float x0, float y0, float x1, float y1) {
  if (!a.score.valid() || a.mode == Mode::kLive) return;
  const qs::MusicAnalysis& an = a.score.analysis();
  const qs::Score& sc = a.score.score();
  const std::vector<double>& bt = sc.beat_times;
  if (bt.size() < 2) return;
  const int m = std::max(1, sc.meter.beats_per_bar);
  const double px_per_s = (x1 - x0) / v.span;
  auto x_of = [&](double t) { return static_cast<float>(x0 + (t - v.t0) * px_per_s); };
  const double beat_s = (bt.back() - bt.front()) / static_cast<double>(bt.size() - 1);
  const bool beats_visible = beat_s * px_per_s >= 7 * a.dpr;
  const ImU32 beat_col = IM_COL32(255, 255, 255, 34), bar_col = IM_COL32(255, 255, 255, 105);
  auto line = [&](double t, bool bar) {
    if (!bar && !beats_visible) return;
    const float x = x_of(t);
    dl->AddLine(ImVec2(x, y0), ImVec2(x, y1), bar ? bar_col : beat_col, bar ? 1.5f * a.dpr : 1.0f);
  };
  const double ta = v.t0 - 1, tb = v.t0 + v.span + 1;
  const int fd = ((an.meter.first_downbeat % m) + m) % m;
  for (std::size_t i = 0; i < an.beats.size(); ++i) {
    const double t = an.beats[i];
    if (t < ta || t > tb || (t >= bt.front() - 1e-6 && t <= bt.back() + 1e-6)) continue;
    line(t, static_cast<int>(i) >= fd && (static_cast<int>(i) - fd) % m == 0);
  }
  // Label every k-th bar so that the numbers do not collide.
  const double bar_px = beat_s * m * px_per_s;
  int every = 1;
  while (every * bar_px < ImGui::CalcTextSize("000").x + 8 * a.dpr && every < 1024) every *= 2;
  const std::size_t k0 = static_cast<std::size_t>(std::lower_bound(bt.begin(), bt.end(), ta) - bt.begin());
  for (std::size_t k = k0; k < bt.size() && bt[k] <= tb; ++k) {
    const bool bar = k % static_cast<std::size_t>(m) == 0;
    line(bt[k], bar);
    const int number = static_cast<int>(k / static_cast<std::size_t>(m)) + 1;
    if (bar && number <= sc.n_bars && (number - 1) % every == 0) {
      char label[16];
      std::snprintf(label, sizeof label, "%d", number);
      dl->AddText(ImVec2(x_of(bt[k]) + 3 * a.dpr, y0 + 2 * a.dpr), IM_COL32(235, 235, 245, 210), label);
    }
  }
}

// Where the main view's parts lie on screen (device pixels): the roll [x0, x1) x [y0, y1), the
// keyboard left of it from origin.x, the time axis below it.
struct RollArea {
  ImVec2 origin;
  float key_w = 0, axis_h = 0;
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  const View* v = nullptr;
  float x_of(double t) const { return static_cast<float>(x0 + (t - v->t0) / v->span * (x1 - x0)); }
  float y_of(double key) const {
    return static_cast<float>(y1 - (key - v->key_lo) / (v->key_hi - v->key_lo) * (y1 - y0));
  }
  float key_px() const { return (y1 - y0) / static_cast<float>(v->key_hi - v->key_lo); }
};

// Live input scrolls over the last seconds; playback keeps the playhead in view.
void follow_playhead(App& a) {
  View& v = a.view;
  if (a.mode == Mode::kLive) {
    v.span = 10;
    v.t0 = std::max(0.0, a.doc.duration() - v.span * 0.95);
  } else if (a.playing && v.follow && (a.play_time > v.t0 + v.span * 0.9 || a.play_time < v.t0)) {
    v.t0 = std::max(0.0, a.play_time - v.span * 0.1);
  }
}

// The spectrogram with octave lines, the beat grid, the notes over it and the playhead (or a hint
// while there is no document).
void draw_roll(App& a, ImDrawList* dl, const RollArea& r) {
  const View& v = a.view;
  const float x0 = r.x0, y0 = r.y0, x1 = r.x1, y1 = r.y1;
  dl->AddRectFilled(ImVec2(x0, y0), ImVec2(x1, y1), IM_COL32(8, 8, 14, 255));
  dl->PushClipRect(ImVec2(x0, y0), ImVec2(x1, y1), true);
  textures().set_range(spec_bottom_db(), a.spec_top_db);
  textures().update(a.doc, a.doc_id, v);
  if (textures().last_upload_texels() > 0) {
    a.spec_upload_ms = textures().last_upload_ms();
    a.spec_upload_texels = textures().last_upload_texels();
  }
  textures().draw(dl, a.doc, v, x0, y0, x1, y1);
  // Octave lines at every C.
  for (int p = static_cast<int>(std::ceil(v.key_lo)); p <= v.key_hi; ++p)
    if (p % 12 == 0) dl->AddLine(ImVec2(x0, r.y_of(p - 0.5)), ImVec2(x1, r.y_of(p - 0.5)), IM_COL32(255, 255, 255, 40));
  beat_grid(a, dl, v, x0, y0, x1, y1);
  // Notes: the piano roll over the spectrogram.
  const float key_px = r.key_px();
  for (const qs::Note& n : a.doc.notes) {
    if (n.offset < v.t0 || n.onset > v.t0 + v.span || n.pitch < v.key_lo - 1 || n.pitch > v.key_hi + 1) continue;
    const float xa = r.x_of(n.onset), xb = std::max(r.x_of(n.offset), xa + 2);
    const float ya = r.y_of(n.pitch + 0.5) + (key_px > 6 ? 1 : 0), yb = r.y_of(n.pitch - 0.5);
    const int alpha = 120 + n.velocity;
    dl->AddRectFilled(ImVec2(xa, ya), ImVec2(xb, yb), IM_COL32(80, 220, 255, std::min(alpha, 230)), 2 * a.dpr);
    dl->AddRect(ImVec2(xa, ya), ImVec2(xb, yb), IM_COL32(230, 250, 255, 230), 2 * a.dpr);
  }
  // Playhead.
  if (!a.doc.empty() && a.mode != Mode::kLive) {
    const float px = r.x_of(a.play_time);
    dl->AddLine(ImVec2(px, y0), ImVec2(px, y1), IM_COL32(255, 230, 90, 230), 2 * a.dpr);
  }
  if (a.doc.empty()) {
    const char* hint = a.model_loaded
        ? "Open or drop an audio file, or press Microphone to transcribe live.\nEverything runs on your computer: no audio leaves this page."
        : a.model_status.c_str();
    const ImVec2 ts = ImGui::CalcTextSize(hint);
    dl->AddText(ImVec2((x0 + x1 - ts.x) / 2, (y0 + y1 - ts.y) / 2), IM_COL32(200, 205, 215, 255), hint);
  }
  dl->PopClipRect();
}

// Keyboard along the pitch axis, keys sounding at the playhead lit.
void draw_keyboard(const App& a, ImDrawList* dl, const RollArea& r) {
  const View& v = a.view;
  std::vector<bool> lit(128, false);
  const double now = a.mode == Mode::kLive ? a.doc.duration() - 0.1 : a.play_time;
  for (const qs::Note& n : a.doc.notes)
    if (n.onset <= now && n.offset > now) lit[n.pitch] = true;
  const float left = r.origin.x, key_px = r.key_px();
  dl->PushClipRect(ImVec2(left, r.y0), ImVec2(r.x0, r.y1), true);
  for (int pass = 0; pass < 2; ++pass)
    for (int p = std::max(21, static_cast<int>(v.key_lo)); p <= std::min(108, static_cast<int>(v.key_hi) + 1); ++p) {
      if (is_black(p) != (pass == 1)) continue;
      const float ya = r.y_of(p + 0.5), yb = r.y_of(p - 0.5);
      const float right = pass == 1 ? left + r.key_w * 0.62f : r.x0 - 1;
      ImU32 c = pass == 1 ? IM_COL32(30, 30, 34, 255) : IM_COL32(236, 236, 230, 255);
      if (lit[p]) c = IM_COL32(80, 200, 255, 255);
      dl->AddRectFilled(ImVec2(left, ya), ImVec2(right, yb), c);
      if (pass == 0) dl->AddLine(ImVec2(left, yb), ImVec2(right, yb), IM_COL32(150, 150, 150, 255));
      if (p % 12 == 0 && key_px * 12 > ImGui::GetFontSize() * 1.2f) {
        const std::string name = note_name(p);
        dl->AddText(ImVec2(r.x0 - ImGui::CalcTextSize(name.c_str()).x - 3 * a.dpr, (ya + yb) / 2 - ImGui::GetFontSize() / 2),
                    IM_COL32(60, 60, 70, 255), name.c_str());
      }
    }
  dl->PopClipRect();
}

// Time axis below the roll (click or drag to seek).
void time_axis(App& a, ImDrawList* dl, const RollArea& r) {
  const View& v = a.view;
  const float x0 = r.x0, x1 = r.x1, ay0 = r.y1, ay1 = r.y1 + r.axis_h;
  dl->AddRectFilled(ImVec2(x0, ay0), ImVec2(x1, ay1), IM_COL32(28, 31, 38, 255));
  const double step = nice_step(v.span, x1 - x0, 80 * a.dpr);
  for (double t = std::ceil(v.t0 / step) * step; t <= v.t0 + v.span; t += step) {
    const float x = r.x_of(t);
    dl->AddLine(ImVec2(x, ay0), ImVec2(x, ay0 + 6 * a.dpr), IM_COL32(200, 200, 200, 255));
    char label[32];
    if (step >= 60) std::snprintf(label, sizeof label, "%d:%02d", static_cast<int>(t) / 60, static_cast<int>(t) % 60);
    else std::snprintf(label, sizeof label, step < 1 ? "%.1f s" : "%.0f s", t);
    dl->AddText(ImVec2(x + 3 * a.dpr, ay0 + 5 * a.dpr), IM_COL32(200, 200, 200, 255), label);
  }
  ImGui::SetCursorScreenPos(ImVec2(x0, ay0));
  ImGui::InvisibleButton("timeline", ImVec2(x1 - x0, r.axis_h));
  remember(a, "timeline");
  if (ImGui::IsItemActive() && !a.doc.empty() && a.mode != Mode::kLive) {
    const double t = v.t0 + (ImGui::GetIO().MousePos.x - x0) / (x1 - x0) * v.span;
    if (ImGui::IsItemActivated()) seek(t);
    else a.play_time = std::clamp(t, 0.0, a.doc.duration());
  }
  if (ImGui::IsItemDeactivated() && a.playing) seek(a.play_time);
}

// The roll itself as a control: the wheel zooms time (with Shift or Ctrl: pitch) around the
// mouse, a drag pans, a double click fits the view; hovering names the note and time.
void roll_input(App& a, const RollArea& r) {
  View& v = a.view;
  const float x0 = r.x0, y0 = r.y0, x1 = r.x1, y1 = r.y1;
  ImGui::SetCursorScreenPos(ImVec2(x0, y0));
  ImGui::InvisibleButton("roll", ImVec2(x1 - x0, y1 - y0));
  remember(a, "roll");
  const ImGuiIO& io = ImGui::GetIO();
  if (ImGui::IsItemHovered() && a.mode != Mode::kLive && !a.doc.empty()) {
    const double mt = v.t0 + (io.MousePos.x - x0) / (x1 - x0) * v.span;
    const double mk = v.key_lo + (y1 - io.MousePos.y) / (y1 - y0) * (v.key_hi - v.key_lo);
    if (io.MouseWheel != 0) {
      const double f = std::pow(0.85, io.MouseWheel);
      if (io.KeyShift || io.KeyCtrl) {
        const double range = std::clamp((v.key_hi - v.key_lo) * f, 12.0, 88.0);
        v.key_lo = std::clamp(mk - (mk - v.key_lo) * range / (v.key_hi - v.key_lo), 20.5, 108.5 - range);
        v.key_hi = v.key_lo + range;
      } else {
        const double span = std::clamp(v.span * f, 0.5, std::max(1.0, a.doc.duration()));
        v.t0 = std::clamp(mt - (mt - v.t0) * span / v.span, 0.0, std::max(0.0, a.doc.duration() - span));
        v.span = span;
      }
      v.follow = false;
    }
    if (ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) { fit_view(); v.follow = true; }
    const int p = static_cast<int>(std::lround(mk));
    ImGui::SetTooltip("%s   %.2f s", note_name(std::clamp(p, 0, 127)).c_str(), mt);
  }
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2)) {
    const double range = v.key_hi - v.key_lo;
    v.t0 = std::clamp(v.t0 - io.MouseDelta.x / (x1 - x0) * v.span, 0.0, std::max(0.0, a.doc.duration() - v.span));
    v.key_lo = std::clamp(v.key_lo + io.MouseDelta.y / (y1 - y0) * range, 20.5, 108.5 - range);
    v.key_hi = v.key_lo + range;
    v.follow = false;
  }
}

void main_view(App& a, float height) {
  RollArea r;
  r.origin = ImGui::GetCursorScreenPos();
  const float width = ImGui::GetContentRegionAvail().x;
  r.key_w = 54 * a.dpr;
  r.axis_h = 26 * a.dpr;
  r.x0 = r.origin.x + r.key_w, r.y0 = r.origin.y, r.x1 = r.origin.x + width, r.y1 = r.origin.y + height - r.axis_h;
  r.v = &a.view;
  if (r.x1 - r.x0 < 20 || r.y1 - r.y0 < 20) return;
  follow_playhead(a);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  draw_roll(a, dl, r);
  draw_keyboard(a, dl, r);
  time_axis(a, dl, r);
  roll_input(a, r);
}

}  // namespace

void draw_ui(App& a) {
  if (a.playing) {
    const double t = host::playback_time();
    if (t < 0) {
      a.playing = false;
      a.play_time = a.doc.duration();
    } else {
      a.play_time = t;
    }
  }
  // Not while a control is held (a slider dragged): a long file's analysis takes a tenth of a
  // second, which would make the drag stutter; it catches up on release.
  if (!ImGui::IsAnyItemActive() || !a.score.valid()) update_score();
  update_spectrogram_range();
  const ImGuiIO& io = ImGui::GetIO();
  if (!io.WantTextInput && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Space), false) && !a.busy.active) toggle_play();

  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(io.DisplaySize);
  ImGui::Begin("qscribe", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                   ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoScrollWithMouse);
  ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(0.55f, 0.85f, 1.0f, 1));
  ImGui::TextUnformatted("qscribe");
  ImGui::PopStyleColor();
  ImGui::SameLine();
  toolbar(a);
  score_row(a);
  status_line(a);
  ImGui::Spacing();
  // With the Score view open, the roll takes the upper 40 % and the page's panel the rest (not
  // during live input, which has no score: the view comes back when the microphone stops).
  const ImVec2 origin = ImGui::GetCursorScreenPos(), avail = ImGui::GetContentRegionAvail();
  const float gap = 6 * a.dpr;
  const bool score_open = a.show_score && a.mode != Mode::kLive;
  const float roll_h = score_open ? std::max(avail.y * 0.4f, 150 * a.dpr) : avail.y;
  main_view(a, roll_h);
  Rect panel;
  if (score_open && avail.y - roll_h - gap > 40 * a.dpr)
    panel = Rect{origin.x, origin.y + roll_h + gap, avail.x, avail.y - roll_h - gap};
  if (panel.x != a.score_panel.x || panel.y != a.score_panel.y || panel.w != a.score_panel.w || panel.h != a.score_panel.h) {
    a.score_panel = panel;
    host::score_panel(panel.x / a.dpr, panel.y / a.dpr, panel.w / a.dpr, panel.h / a.dpr);
  }
  if (panel.w > 0) a.ui_rects["score-panel"] = panel;
  else a.ui_rects.erase("score-panel");
  ImGui::End();
}

}  // namespace qsweb
