// A whole preprocessed data set directory: qs::Dataset opening dataset.json and its shards
// (cqt.f32, frames.u8, onsets.u8), reading every piece (inside and past its end) and its
// reference notes (notes/NAME.tsv).
//
// Input: up to five sections separated by the line "#####" (see kSeparator): dataset.json,
// cqt.f32, frames.u8, onsets.u8, notes/p.tsv. A missing section is a missing file.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "fuzz_support.hpp"
#include "qscribe/error.hpp"

namespace fs = std::filesystem;

namespace {

constexpr char kSeparator[] = "\n#####\n";

std::vector<std::string> sections(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::size_t sep = std::strlen(kSeparator);
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = text.find(kSeparator, start);
    if (at == std::string::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, at - start));
    start = at + sep;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path dir = qs_fuzz::scratch_dir() / "dataset";
  static const char* const kFiles[] = {"dataset.json", "cqt.f32", "frames.u8", "onsets.u8", "notes/p.tsv"};
  fs::create_directories(dir / "notes");
  const std::vector<std::string> parts = sections(data, size);
  for (std::size_t i = 0; i < std::size(kFiles); ++i) {
    std::error_code ec;
    if (i < parts.size()) qs_fuzz::write_file(dir / kFiles[i], parts[i]);
    else fs::remove(dir / kFiles[i], ec);
  }
  try {
    const qs::Dataset ds(dir.string());
    const qs::DatasetInfo& info = ds.info();
    const std::size_t bins = static_cast<std::size_t>(info.features.n_bins);
    const std::size_t notes = static_cast<std::size_t>(info.n_notes);
    for (std::size_t p = 0; p < std::min<std::size_t>(ds.n_pieces(), 8); ++p) {
      const qs::PieceInfo& piece = ds.piece(p);
      // The first frames and two past the end (zero-filled), then a window wholly past the end.
      const std::size_t n = std::min<std::size_t>(piece.n_frames, 14) + 2;
      std::vector<float> cqt(n * bins, -1.0f), frames(n * notes, -1.0f), onsets(n * notes, -1.0f);
      ds.read(p, 0, n, cqt.data(), frames.data(), onsets.data());
      for (float v : frames) QS_FUZZ_CHECK(v == 0.0f || v == 1.0f);
      for (float v : onsets) QS_FUZZ_CHECK(v == 0.0f || v == 1.0f);
      const std::size_t avail = std::min(n, piece.n_frames);
      for (std::size_t i = avail * bins; i < n * bins; ++i) QS_FUZZ_CHECK(cqt[i] == 0.0f);
      ds.read(p, piece.n_frames + 1, 1, cqt.data(), nullptr, onsets.data());
      for (std::size_t i = 0; i < bins; ++i) QS_FUZZ_CHECK(cqt[i] == 0.0f);
      try {
        (void)ds.notes(p);
      } catch (const qs::Error&) {
      }
    }
    try {
      ds.read(ds.n_pieces(), 0, 1, nullptr, nullptr, nullptr);
      QS_FUZZ_CHECK(!"a piece past the last one must be refused");
    } catch (const qs::Error&) {
    }
  } catch (const qs::Error&) {
  }
  return 0;
}
