// Encoded audio held in memory: qs::load_audio_memory (libsndfile: WAV, AIFF, AU, FLAC, Ogg
// Vorbis/Opus, MP3, ...; soxr resampling to the analysis rate), the wrapper every file and upload
// goes through natively. libsndfile and soxr are Debian's (not instrumented); the wrapper, its
// virtual I/O callbacks, channel mixing, block loop and resampler driver are.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "qscribe/audio_file.hpp"
#include "qscribe/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const qs::AudioBuffer a = qs::load_audio_memory(data, size, 22050.0, "fuzz");
    QS_FUZZ_CHECK(a.sample_rate == 22050.0);
  } catch (const qs::Error&) {
  }
  return 0;
}
