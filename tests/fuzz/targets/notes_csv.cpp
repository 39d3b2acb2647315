// MusicNet label CSV: qs::parse_musicnet_csv and qs::musicnet_to_notes.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "qscribe/error.hpp"
#include "qscribe/note_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const std::vector<qs::MusicNetLabel> labels = qs::parse_musicnet_csv(text);
    for (const qs::MusicNetLabel& l : labels) {
      QS_FUZZ_CHECK(std::isfinite(l.start_time) && std::isfinite(l.end_time));
      QS_FUZZ_CHECK(l.start_time >= 0 && l.end_time > l.start_time);
      QS_FUZZ_CHECK(l.note >= 0 && l.note <= 127);
    }
    const qs::NoteList notes = qs::musicnet_to_notes(labels);
    QS_FUZZ_CHECK(notes.size() == labels.size());
    for (const qs::Note& n : notes) QS_FUZZ_CHECK(std::isfinite(n.onset) && n.offset >= n.onset);
    // What the writer makes of them must read back.
    (void)qs::parse_musicnet_csv(qs::format_musicnet_csv(notes));
  } catch (const qs::Error&) {
  }
  return 0;
}
