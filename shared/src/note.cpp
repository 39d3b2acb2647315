#include "qscribe/note.hpp"

#include <algorithm>
#include <tuple>

namespace qs {

void sort_notes(NoteList& notes) {
  std::stable_sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) {
    return std::tie(a.onset, a.pitch, a.offset) < std::tie(b.onset, b.pitch, b.offset);
  });
}

}  // namespace qs
