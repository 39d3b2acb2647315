// Helpers shared by the tool tests: running the built `qscribe` binary (QSCRIBE_BIN) or any shell
// command and capturing its output, and the tiny model preset the end-to-end tests train.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "model/model.hpp"

namespace qs::test {

enum class Stderr { merge, drop };  // merge: stderr joins the captured stdout; drop: discarded

struct CommandResult {
  int status = -1;  // exit status; -1 when the command could not run or died from a signal
  std::string out;
};

inline CommandResult run_shell(const std::string& cmd, Stderr err = Stderr::merge) {
  CommandResult r;
  FILE* p = popen((cmd + (err == Stderr::merge ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// `qscribe ARGS`: returns the exit status; the output goes to *out when given.
inline int run_qscribe(const std::string& args, std::string* out = nullptr, Stderr err = Stderr::merge) {
  CommandResult r = run_shell(std::string(QSCRIBE_BIN) + " " + args, err);
  if (out) *out = std::move(r.out);
  return r.status;
}

// A model small enough to train in seconds on tone pieces (about 40 k parameters).
inline ModelHyper tiny_model_hyper() {
  ModelHyper h;
  h.c = 2;
  h.embed_dim = 32;
  h.n_layers = 1;
  h.n_heads = 2;
  h.head_dim = 8;
  h.mlp_hidden = 32;
  h.dropout = 0.0;
  return h;
}

}  // namespace qs::test
