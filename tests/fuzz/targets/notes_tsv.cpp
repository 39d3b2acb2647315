// TSV note lists: qs::parse_notes_tsv, and the writer's output read back.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "qscribe/error.hpp"
#include "qscribe/note_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  qs::NoteList notes;
  try {
    notes = qs::parse_notes_tsv(text);
  } catch (const qs::Error&) {
    return 0;
  }
  for (const qs::Note& n : notes) {
    QS_FUZZ_CHECK(std::isfinite(n.onset) && std::isfinite(n.offset) && n.offset > n.onset);
    QS_FUZZ_CHECK(n.pitch >= 0 && n.pitch <= 127 && n.velocity >= 1 && n.velocity <= 127);
  }
  // The writer rounds to microseconds, so a note shorter than that may not survive; anything
  // else it writes must read back with the same count.
  try {
    QS_FUZZ_CHECK(qs::parse_notes_tsv(qs::format_notes_tsv(notes)).size() == notes.size());
  } catch (const qs::Error&) {
  }
  return 0;
}
