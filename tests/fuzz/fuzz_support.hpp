// Shared helpers of the fuzz targets (tests/fuzz/targets/*.cpp).
//
// Every target defines LLVMFuzzerTestOneInput. The contract it checks: a parser given any bytes
// either returns a result that satisfies its documented invariants or throws qs::Error. Any other
// exception escapes the target (std::terminate: a crash to libFuzzer and to the replay runner),
// and AddressSanitizer / UndefinedBehaviorSanitizer report memory errors and undefined behaviour.
//
// The same sources build two ways: with clang -fsanitize=fuzzer (tests/fuzz/CMakeLists.txt,
// scripts/fuzz) and with the project's compiler against tests/fuzz/replay_main.cpp, which feeds
// every committed corpus file to the target once (ctest `fuzz_replay.*`, tests/cmake/fuzz.cmake).
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

// An invariant of a successful parse; a violation aborts (a finding, like a sanitizer report).
#define QS_FUZZ_CHECK(cond)                                                                      \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);    \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)

namespace qs_fuzz {

// A private scratch directory for targets whose parser reads files; removed at exit. Under
// $QS_FUZZ_SCRATCH if set, else in memory (/dev/shm) where there is one: rewriting a file on
// ext4 flushes it on close, 20x slower.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    const char* env = std::getenv("QS_FUZZ_SCRATCH");  // scripts/fuzz: a folder it removes afterwards
    const std::filesystem::path base = env && *env ? std::filesystem::path(env)
                                       : ::access("/dev/shm", W_OK) == 0 && std::filesystem::is_directory("/dev/shm", ec)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    std::string tmpl = (base / "qscribe-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    static std::string keep;
    keep = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(keep, ec);
    });
    return std::filesystem::path(tmpl);
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, const void* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (size > 0) out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.flush();
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  write_file(path, text.data(), text.size());
}

}  // namespace qs_fuzz
