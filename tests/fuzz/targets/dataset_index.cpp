// The preprocessed data set's index dataset.json: qs::dataset_info_from_json, and the writer's
// output read back.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/dataset.hpp"
#include "fuzz_support.hpp"
#include "qscribe/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  qs::DatasetInfo info;
  try {
    info = qs::dataset_info_from_json(text);
  } catch (const qs::Error&) {
    return 0;
  }
  QS_FUZZ_CHECK(info.n_notes >= 1 && info.n_notes <= 128 && info.segment_frames >= 1);
  for (const qs::PieceInfo& p : info.pieces) QS_FUZZ_CHECK(!p.name.empty() && p.offset + p.n_frames <= info.total_frames());
  const qs::DatasetInfo back = qs::dataset_info_from_json(qs::dataset_info_to_json(info));
  QS_FUZZ_CHECK(back.pieces.size() == info.pieces.size() && back.total_frames() == info.total_frames() &&
                back.n_notes == info.n_notes && back.counts == info.counts);
  return 0;
}
