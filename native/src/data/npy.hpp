// Minimal NumPy .npy (format version 1.0) for 2-D float32 arrays in C order: enough to hand
// features to NumPy and other tools (`numpy.load`) and to read them back in tests.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace qs {

struct NpyArray {
  std::size_t rows = 0, cols = 0;
  std::vector<float> data;  // row-major [rows][cols]
};

// Writes '<f4', fortran_order False, shape (rows, cols). Throws qs::Error on I/O failure.
void write_npy(const std::string& path, const float* data, std::size_t rows, std::size_t cols);
// The header block (magic, version, length, dict, padding to a multiple of 64 bytes).
std::string npy_header(std::size_t rows, std::size_t cols);
// Reads a 2-D little-endian float32 C-order .npy (versions 1.0 and 2.0); throws qs::Error
// naming the file for anything else or a truncated file.
NpyArray read_npy(const std::string& path);

}  // namespace qs
