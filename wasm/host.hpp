// What only the browser can do, called from C++ (implemented in host.cpp with EM_JS; each one
// forwards to `Module.host.*` in web/app.js).
#pragma once

#include <cstddef>

namespace qsweb::host {

void open_file_dialog();
void download(const char* file_name, const void* data, std::size_t size, const char* mime);
// Plays n mono samples from `offset_s`; `cache_key` names the buffer so JS converts it once.
void play(const float* samples, std::size_t n, double sample_rate, double offset_s, const char* cache_key);
void pause();
double playback_time();  // seconds into the playing buffer, or -1 when playback has stopped
void start_microphone(double sample_rate);
void stop_microphone();
void cancel_decoding();
double css_width();   // the canvas' size in CSS pixels
double css_height();
double device_pixel_ratio();
// Places the Score view's panel over the canvas (CSS pixels relative to it); w == 0 hides it.
void score_panel(double x, double y, double w, double h);

}  // namespace qsweb::host
