// `qscribe`: the native front end. Exit codes: 0 ok, 2 usage error, 1 failure (one line on stderr).
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "cli/command.hpp"
#include "qscribe/error.hpp"
#include "qscribe/version.hpp"

int main(int argc, char** argv) {
  // LibTorch allocates and frees large tensors on every forward pass. With glibc's defaults each
  // one is a fresh mmap whose pages the kernel zeroes again (about 15 % of transcription time);
  // serve them from the heap and keep freed memory for reuse instead.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
  CLI::App app{"qscribe — polyphonic music transcription: audio to notes and MIDI.\n"
               "Builds training data, trains and evaluates models, exports them for the browser,\n"
               "and transcribes audio files.",
               "qscribe"};
  app.set_version_flag("--version", qs::kVersion);
  app.require_subcommand(1);
  app.fallthrough(false);
  auto& commands = qs::cli::registry();
  std::sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  for (const auto& c : commands) c.setup(*app.add_subcommand(c.name, c.description));
  try {
    app.parse(argc, argv);  // runs the chosen subcommand's callback
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help/version or the usage error
    return code == 0 ? 0 : 2;
  } catch (const qs::Error& e) {
    std::fprintf(stderr, "qscribe: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qscribe: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
