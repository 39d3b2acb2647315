#include "cli/command.hpp"

namespace qs::cli {

std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

bool add_command(Command c) {
  registry().push_back(std::move(c));
  return true;
}

}  // namespace qs::cli
