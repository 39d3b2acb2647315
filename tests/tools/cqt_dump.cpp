// Writes the CQT (default features) of a float32 little-endian sample file as float32 [frames ×
// bins]. Built natively and with emcc: the `wasm.cqt_identical` test compares the two outputs byte
// for byte, so the browser sees exactly the features the native tools see.
// Usage: qs_cqt_dump IN.f32 OUT.f32 [block]   (block > 0: feed the streaming CQT in such blocks)
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "f32_file.hpp"
#include "qscribe/cqt.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s IN.f32 OUT.f32 [block]\n", argv[0]);
    return 2;
  }
  try {
    const std::vector<float> x = qs::test::read_f32_file(argv[1]);
    const qs::Cqt cqt;
    std::vector<float> out;
    const long block = argc > 3 ? std::atol(argv[3]) : 0;
    if (block > 0) {
      qs::StreamingCqt s(cqt);
      for (std::size_t i = 0; i < x.size(); i += static_cast<std::size_t>(block))
        s.push(x.data() + i, std::min<std::size_t>(static_cast<std::size_t>(block), x.size() - i), out);
      s.finish(out);
    } else {
      out = cqt.transform(x).data;
    }
    std::ofstream o(argv[2], std::ios::binary);
    o.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size() * sizeof(float)));
    if (!o) throw std::runtime_error(std::string("cannot write ") + argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qs_cqt_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}
