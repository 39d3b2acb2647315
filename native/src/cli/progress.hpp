// A progress bar on stderr for long work: count, rate, ETA. Redraws in place on a terminal,
// prints a plain line every few seconds otherwise (logs, CI). Thread-safe `add`.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace qs::cli {

class ProgressBar {
 public:
  // total 0 = unknown (no percentage / ETA). unit names the items ("files", "batches").
  ProgressBar(std::string label, std::size_t total, std::string unit = "items", bool enabled = true);
  ~ProgressBar();  // finishes the line

  void add(std::size_t n = 1);
  void set(std::size_t done);
  void set_suffix(std::string suffix);  // e.g. "loss 0.123"
  void finish();
  std::size_t done() const { return done_.load(); }
  double elapsed_seconds() const;

 private:
  void draw(bool final);

  std::string label_, unit_, suffix_;
  std::size_t total_;
  std::atomic<std::size_t> done_{0};
  bool enabled_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mutex_;
};

}  // namespace qs::cli
