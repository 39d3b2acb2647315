// Subcommand registry: each src/cmd_NAME.cpp registers one `qscribe NAME` with a static
// QS_COMMAND(...) so that main.cpp needs no list of them.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace qs::cli {

struct Command {
  std::string name;
  std::string description;
  int order;  // position in `qscribe --help`
  // Adds the subcommand's options to `sub` and sets its callback. The callback runs the work and
  // throws qs::Error on failure (main prints it and exits 1).
  std::function<void(CLI::App& sub)> setup;
};

std::vector<Command>& registry();
bool add_command(Command c);

}  // namespace qs::cli

#define QS_CONCAT_INNER(a, b) a##b
#define QS_CONCAT(a, b) QS_CONCAT_INNER(a, b)
#define QS_COMMAND(...) \
  static const bool QS_CONCAT(qs_command_registered_, __LINE__) = ::qs::cli::add_command(::qs::cli::Command{__VA_ARGS__})
