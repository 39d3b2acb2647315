// Standalone replay of a fuzz target: feeds every file of the given corpus directories (or the
// given files) to LLVMFuzzerTestOneInput once, as libFuzzer would, and exits 0 when none crashed.
// Linked with one target's source by tests/cmake/fuzz.cmake for ctest (`fuzz_replay.TARGET`), with
// the project's own compiler and flags: under the native-asan preset that is ASan + UBSan.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define QS_REPLAY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QS_REPLAY_ASAN 1
#endif
#endif
#ifdef QS_REPLAY_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace fs = std::filesystem;

namespace {

char g_current[4096] = "";  // the input being run, for the crash handlers

void say_current() {
  if (!g_current[0]) return;
  static const char pre[] = "\nfuzz replay: crashed on input ";
  ssize_t ignored = ::write(2, pre, sizeof pre - 1);
  ignored = ::write(2, g_current, std::strlen(g_current));
  ignored = ::write(2, "\n", 1);
  (void)ignored;
}

void on_signal(int sig) {
  say_current();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path p(argv[i]);
    if (fs::is_directory(p)) {
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file()) inputs.push_back(e.path());
    } else if (fs::is_regular_file(p)) {
      inputs.push_back(p);
    } else {
      std::fprintf(stderr, "fuzz replay: %s: no such file or directory\n", argv[i]);
      return 2;
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE... (no inputs found)\n", argv[0]);
    return 2;
  }
  std::sort(inputs.begin(), inputs.end());

  std::set_terminate([] {
    say_current();
    if (auto e = std::current_exception()) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        std::fprintf(stderr, "fuzz replay: uncaught exception: %s\n", x.what());
      } catch (...) {
        std::fprintf(stderr, "fuzz replay: uncaught exception of an unknown type\n");
      }
    }
    std::abort();
  });
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::signal(sig, on_signal);
#ifdef QS_REPLAY_ASAN
  __sanitizer_set_death_callback(say_current);
#endif

  std::size_t bytes = 0;
  for (const fs::path& p : inputs) {
    std::snprintf(g_current, sizeof g_current, "%s", p.c_str());
    std::ifstream in(p, std::ios::binary);
    const std::vector<char> content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
      std::fprintf(stderr, "fuzz replay: cannot read %s\n", p.c_str());
      return 2;
    }
    // A buffer of exactly the input's size, so a sanitizer sees any read past its end.
    std::unique_ptr<std::uint8_t[]> data(new std::uint8_t[content.size()]);
    std::copy(content.begin(), content.end(), data.get());
    LLVMFuzzerTestOneInput(data.get(), content.size());
    bytes += content.size();
  }
  g_current[0] = '\0';
  std::printf("fuzz replay: %zu inputs (%zu bytes) ran clean\n", inputs.size(), bytes);
  return 0;
}
