// NumPy .npy files: qs::read_npy (reads a path: the input is written to a scratch file).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "data/npy.hpp"
#include "qscribe/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = (qs_fuzz::scratch_dir() / "input.npy").string();
  qs_fuzz::write_file(path, data, size);
  try {
    const qs::NpyArray a = qs::read_npy(path);
    QS_FUZZ_CHECK(a.data.size() == a.rows * a.cols);
    QS_FUZZ_CHECK(a.data.size() * 4 <= size);
  } catch (const qs::Error&) {
  }
  return 0;
}
