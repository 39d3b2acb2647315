// JSON note lists: qs::parse_notes_json (with metadata) and an exact round trip through the writer.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "qscribe/error.hpp"
#include "qscribe/note_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  qs::NoteList notes;
  nlohmann::json metadata;
  try {
    notes = qs::parse_notes_json(text, &metadata);
  } catch (const qs::Error&) {
    return 0;
  }
  for (const qs::Note& n : notes) {
    QS_FUZZ_CHECK(std::isfinite(n.onset) && std::isfinite(n.offset) && n.offset > n.onset);
    QS_FUZZ_CHECK(n.pitch >= 0 && n.pitch <= 127 && n.velocity >= 1 && n.velocity <= 127);
  }
  // JSON keeps doubles exactly: the written document reads back to the same (sorted) notes.
  qs::NoteList sorted = notes;
  qs::sort_notes(sorted);
  nlohmann::json meta_back;
  const qs::NoteList back = qs::parse_notes_json(qs::format_notes_json(notes, metadata), &meta_back);
  QS_FUZZ_CHECK(back == sorted);
  return 0;
}
