// Emscripten entry points of the core for the web page: plain C functions over the qs:: API,
// called from JavaScript with cwrap (whisper.cpp style). Results live in one static struct
// until the next call; JS copies them out of the wasm heap.
#include <emscripten/emscripten.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "qscribe/cqt.hpp"
#include "qscribe/version.hpp"

namespace {

struct WebState {
  qs::Spectrogram cqt;
  std::string error;
};
WebState state;

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE const char* qs_version() { return qs::kVersion; }

// Last error message ("" when the last call succeeded).
EMSCRIPTEN_KEEPALIVE const char* qs_last_error() { return state.error.c_str(); }

// CQT magnitudes (default features) of n mono samples at 22050 Hz. Returns the number of
// frames (bins per frame: qs_cqt_bins()), or -1 on error (see qs_last_error()).
EMSCRIPTEN_KEEPALIVE int qs_cqt(const float* samples, int n) {
  try {
    state.error.clear();
    static const qs::Cqt cqt;
    state.cqt = cqt.transform(samples, static_cast<std::size_t>(n < 0 ? 0 : n));
    return static_cast<int>(state.cqt.n_frames);
  } catch (const std::exception& e) {
    state.error = e.what();
    return -1;
  }
}

EMSCRIPTEN_KEEPALIVE int qs_cqt_bins() { return static_cast<int>(state.cqt.n_bins); }
// Pointer to the [frames × bins] float32 magnitudes of the last qs_cqt call.
EMSCRIPTEN_KEEPALIVE const float* qs_cqt_data() { return state.cqt.data.data(); }

}  // extern "C"
