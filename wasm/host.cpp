#include "host.hpp"

#include <emscripten.h>

// clang-format off
EM_JS(void, qs_js_open_file_dialog, (), { Module.host.openFileDialog(); });
EM_JS(void, qs_js_download, (const char* name, const void* data, int size, const char* mime), {
  Module.host.download(UTF8ToString(name), HEAPU8.slice(data, data + size), UTF8ToString(mime));
});
EM_JS(void, qs_js_play, (const float* samples, int n, double rate, double offset, const char* key), {
  Module.host.play(samples, n, rate, offset, UTF8ToString(key));
});
EM_JS(void, qs_js_pause, (), { Module.host.pause(); });
EM_JS(double, qs_js_playback_time, (), { return Module.host.playbackTime(); });
EM_JS(void, qs_js_start_microphone, (double rate), { Module.host.startMicrophone(rate); });
EM_JS(void, qs_js_stop_microphone, (), { Module.host.stopMicrophone(); });
EM_JS(void, qs_js_cancel_decoding, (), { Module.host.cancelDecoding(); });
EM_JS(double, qs_js_css_width, (), { return Module.canvas.clientWidth; });
EM_JS(double, qs_js_css_height, (), { return Module.canvas.clientHeight; });
EM_JS(double, qs_js_dpr, (), { return window.devicePixelRatio || 1; });
EM_JS(void, qs_js_score_panel, (double x, double y, double w, double h), { Module.host.scorePanel(x, y, w, h); });
// clang-format on

namespace qsweb::host {

void open_file_dialog() { qs_js_open_file_dialog(); }
void download(const char* file_name, const void* data, std::size_t size, const char* mime) {
  qs_js_download(file_name, data, static_cast<int>(size), mime);
}
void play(const float* samples, std::size_t n, double sample_rate, double offset_s, const char* cache_key) {
  qs_js_play(samples, static_cast<int>(n), sample_rate, offset_s, cache_key);
}
void pause() { qs_js_pause(); }
double playback_time() { return qs_js_playback_time(); }
void start_microphone(double sample_rate) { qs_js_start_microphone(sample_rate); }
void stop_microphone() { qs_js_stop_microphone(); }
void cancel_decoding() { qs_js_cancel_decoding(); }
double css_width() { return qs_js_css_width(); }
double css_height() { return qs_js_css_height(); }
double device_pixel_ratio() { return qs_js_dpr(); }
void score_panel(double x, double y, double w, double h) { qs_js_score_panel(x, y, w, h); }

}  // namespace qsweb::host
