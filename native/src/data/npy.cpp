#include "data/npy.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <regex>
#include <stdexcept>

#include "qscribe/atomic_file.hpp"
#include "qscribe/error.hpp"

namespace qs {

namespace {
constexpr char kMagic[] = "\x93NUMPY";
static_assert(sizeof(float) == 4, "float32");

bool little_endian() {
  const std::uint16_t x = 1;
  unsigned char c;
  std::memcpy(&c, &x, 1);
  return c == 1;
}
}  // namespace

std::string npy_header(std::size_t rows, std::size_t cols) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                     std::to_string(cols) + "), }";
  // magic(6) + version(2) + header_len(2) + dict + padding + '\n' must be a multiple of 64.
  const std::size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  if (dict.size() > 65535) throw Error("npy: header too long");
  std::string h(kMagic, 6);
  h += '\x01';
  h += '\x00';
  h += static_cast<char>(dict.size() & 0xff);
  h += static_cast<char>((dict.size() >> 8) & 0xff);
  return h + dict;
}

void write_npy(const std::string& path, const float* data, std::size_t rows, std::size_t cols) {
  if (!little_endian()) throw Error("npy: big-endian hosts are not supported");
  std::string bytes = npy_header(rows, cols);
  if (rows * cols > 0) bytes.append(reinterpret_cast<const char*>(data), rows * cols * 4);
  write_file_atomically(path, bytes);
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  char pre[10];
  if (!in.read(pre, 8) || std::memcmp(pre, kMagic, 6) != 0) throw Error(path + ": not a .npy file");
  const int major = static_cast<unsigned char>(pre[6]);
  std::size_t hlen = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) throw Error(path + ": truncated header");
    hlen = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) throw Error(path + ": truncated header");
    hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::size_t>(b[3]) << 24);
  } else {
    throw Error(path + ": unsupported .npy version " + std::to_string(major));
  }
  if (hlen > (1u << 20)) throw Error(path + ": implausible header length");
  std::string dict(hlen, '\0');
  if (!in.read(dict.data(), static_cast<std::streamsize>(hlen))) throw Error(path + ": truncated header");
  static const std::regex descr(R"('descr'\s*:\s*'([^']*)')"), fortran(R"('fortran_order'\s*:\s*(True|False))"),
      shape(R"('shape'\s*:\s*\(\s*(\d+)\s*,\s*(\d+)\s*,?\s*\))");
  std::smatch m;
  if (!std::regex_search(dict, m, descr) || (m[1] != "<f4" && m[1] != "=f4"))
    throw Error(path + ": not little-endian float32 ('<f4')");
  if (!std::regex_search(dict, m, fortran) || m[1] != "False") throw Error(path + ": not in C order");
  if (!std::regex_search(dict, m, shape)) throw Error(path + ": not a 2-D array");
  NpyArray a;
  try {
    a.rows = std::stoull(m[1]);
    a.cols = std::stoull(m[2]);
  } catch (const std::out_of_range&) {  // more digits than 64 bits hold
    throw Error(path + ": implausible shape");
  }
  if (a.rows != 0 && a.cols > (std::size_t{1} << 40) / a.rows) throw Error(path + ": implausible shape");
  const auto data_start = in.tellg();
  in.seekg(0, std::ios::end);
  const auto remaining = static_cast<std::size_t>(in.tellg() - data_start);
  in.seekg(data_start);
  if (remaining < a.rows * a.cols * 4)
    throw Error(path + ": truncated data (" + std::to_string(a.rows) + " x " + std::to_string(a.cols) +
                " floats expected, " + std::to_string(remaining) + " bytes present)");
  a.data.resize(a.rows * a.cols);
  if (!a.data.empty() && !in.read(reinterpret_cast<char*>(a.data.data()), static_cast<std::streamsize>(a.data.size() * 4)))
    throw Error(path + ": truncated data (" + std::to_string(a.rows) + " x " + std::to_string(a.cols) + " floats expected)");
  return a;
}

}  // namespace qs
