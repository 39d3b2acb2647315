// The UI as a function of the app state: toolbar, status line, and the main view (spectrogram
// with the notes over it as a piano roll, a keyboard along the pitch axis, a time axis).
#include <emscripten.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
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
  bool changed = false;
  const float w = 110 * a.dpr;
  ImGui::SameLine();
  ImGui::SetNextItemWidth(w);
  changed |= ImGui::SliderFloat("Onset", &a.decoder.onset_threshold, 0.05f, 0.95f, "%.2f");
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Onset threshold: lower finds more notes (and more false ones)");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(w);
  changed |= ImGui::SliderFloat("Sustain", &a.decoder.frame_threshold, 0.05f, 0.95f, "%.2f");
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Frame threshold: a note lasts while its probability stays above it");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(w);
  float min_ms = static_cast<float>(a.decoder.min_note_length_s * 1000);
  if (ImGui::SliderFloat("Min length", &min_ms, 0, 500, "%.0f ms")) {
    a.decoder.min_note_length_s = min_ms / 1000.0;
    changed = true;
  }
  if (changed && !a.busy.active) {
    a.doc.decoder = a.decoder;
    if (a.doc.act_frames > 0) a.doc.redecode();
  }
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

void main_view(App& a) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float key_w = 54 * a.dpr, axis_h = 26 * a.dpr;
  const float x0 = origin.x + key_w, y0 = origin.y, x1 = origin.x + avail.x, y1 = origin.y + avail.y - axis_h;
  if (x1 - x0 < 20 || y1 - y0 < 20) return;
  View& v = a.view;
  if (a.mode == Mode::kLive) {  // a scrolling window over the last seconds
    v.span = 10;
    v.t0 = std::max(0.0, a.doc.duration() - v.span * 0.95);
  } else if (a.playing && v.follow && (a.play_time > v.t0 + v.span * 0.9 || a.play_time < v.t0)) {
    v.t0 = std::max(0.0, a.play_time - v.span * 0.1);
  }
  auto x_of = [&](double t) { return static_cast<float>(x0 + (t - v.t0) / v.span * (x1 - x0)); };
  auto y_of = [&](double key) { return static_cast<float>(y1 - (key - v.key_lo) / (v.key_hi - v.key_lo) * (y1 - y0)); };

  dl->AddRectFilled(ImVec2(x0, y0), ImVec2(x1, y1), IM_COL32(8, 8, 14, 255));
  dl->PushClipRect(ImVec2(x0, y0), ImVec2(x1, y1), true);
  textures().update(a.doc, a.doc_id);
  textures().draw(dl, a.doc, v, x0, y0, x1, y1);
  // Octave lines at every C.
  for (int p = static_cast<int>(std::ceil(v.key_lo)); p <= v.key_hi; ++p)
    if (p % 12 == 0) dl->AddLine(ImVec2(x0, y_of(p - 0.5)), ImVec2(x1, y_of(p - 0.5)), IM_COL32(255, 255, 255, 40));
  // Notes: the piano roll over the spectrogram.
  const float key_px = (y1 - y0) / static_cast<float>(v.key_hi - v.key_lo);
  for (const qs::Note& n : a.doc.notes) {
    if (n.offset < v.t0 || n.onset > v.t0 + v.span || n.pitch < v.key_lo - 1 || n.pitch > v.key_hi + 1) continue;
    const float xa = x_of(n.onset), xb = std::max(x_of(n.offset), xa + 2);
    const float ya = y_of(n.pitch + 0.5) + (key_px > 6 ? 1 : 0), yb = y_of(n.pitch - 0.5);
    const int alpha = 120 + n.velocity;
    dl->AddRectFilled(ImVec2(xa, ya), ImVec2(xb, yb), IM_COL32(80, 220, 255, std::min(alpha, 230)), 2 * a.dpr);
    dl->AddRect(ImVec2(xa, ya), ImVec2(xb, yb), IM_COL32(230, 250, 255, 230), 2 * a.dpr);
  }
  // Playhead.
  if (!a.doc.empty() && a.mode != Mode::kLive) {
    const float px = x_of(a.play_time);
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

  // Keyboard along the pitch axis, keys sounding at the playhead lit.
  std::vector<bool> lit(128, false);
  const double now = a.mode == Mode::kLive ? a.doc.duration() - 0.1 : a.play_time;
  for (const qs::Note& n : a.doc.notes)
    if (n.onset <= now && n.offset > now) lit[n.pitch] = true;
  dl->PushClipRect(ImVec2(origin.x, y0), ImVec2(x0, y1), true);
  for (int pass = 0; pass < 2; ++pass)
    for (int p = std::max(21, static_cast<int>(v.key_lo)); p <= std::min(108, static_cast<int>(v.key_hi) + 1); ++p) {
      if (is_black(p) != (pass == 1)) continue;
      const float ya = y_of(p + 0.5), yb = y_of(p - 0.5);
      const float right = pass == 1 ? origin.x + key_w * 0.62f : x0 - 1;
      ImU32 c = pass == 1 ? IM_COL32(30, 30, 34, 255) : IM_COL32(236, 236, 230, 255);
      if (lit[p]) c = IM_COL32(80, 200, 255, 255);
      dl->AddRectFilled(ImVec2(origin.x, ya), ImVec2(right, yb), c);
      if (pass == 0) dl->AddLine(ImVec2(origin.x, yb), ImVec2(right, yb), IM_COL32(150, 150, 150, 255));
      if (p % 12 == 0 && key_px * 12 > ImGui::GetFontSize() * 1.2f) {
        const std::string name = note_name(p);
        dl->AddText(ImVec2(x0 - ImGui::CalcTextSize(name.c_str()).x - 3 * a.dpr, (ya + yb) / 2 - ImGui::GetFontSize() / 2),
                    IM_COL32(60, 60, 70, 255), name.c_str());
      }
    }
  dl->PopClipRect();

  // Time axis (click to seek).
  const float ay0 = y1, ay1 = y1 + axis_h;
  dl->AddRectFilled(ImVec2(x0, ay0), ImVec2(x1, ay1), IM_COL32(28, 31, 38, 255));
  const double step = nice_step(v.span, x1 - x0, 80 * a.dpr);
  for (double t = std::ceil(v.t0 / step) * step; t <= v.t0 + v.span; t += step) {
    const float x = x_of(t);
    dl->AddLine(ImVec2(x, ay0), ImVec2(x, ay0 + 6 * a.dpr), IM_COL32(200, 200, 200, 255));
    char label[32];
    if (step >= 60) std::snprintf(label, sizeof label, "%d:%02d", static_cast<int>(t) / 60, static_cast<int>(t) % 60);
    else std::snprintf(label, sizeof label, step < 1 ? "%.1f s" : "%.0f s", t);
    dl->AddText(ImVec2(x + 3 * a.dpr, ay0 + 5 * a.dpr), IM_COL32(200, 200, 200, 255), label);
  }
  ImGui::SetCursorScreenPos(ImVec2(x0, ay0));
  ImGui::InvisibleButton("timeline", ImVec2(x1 - x0, axis_h));
  remember(a, "timeline");
  if (ImGui::IsItemActive() && !a.doc.empty() && a.mode != Mode::kLive) {
    const double t = v.t0 + (ImGui::GetIO().MousePos.x - x0) / (x1 - x0) * v.span;
    if (ImGui::IsItemActivated()) seek(t);
    else a.play_time = std::clamp(t, 0.0, a.doc.duration());
  }
  if (ImGui::IsItemDeactivated() && a.playing) seek(a.play_time);

  // The roll itself: zoom and pan.
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
  status_line(a);
  ImGui::Spacing();
  main_view(a);
  ImGui::End();
}

}  // namespace qsweb
