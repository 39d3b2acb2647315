#include "cli/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace qs::cli {

namespace {
std::string format_duration(double s) {
  if (s < 0 || s > 1e7) return "?";
  char buf[32];
  const int total = static_cast<int>(s + 0.5);
  if (total >= 3600) std::snprintf(buf, sizeof buf, "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60);
  else std::snprintf(buf, sizeof buf, "%d:%02d", total / 60, total % 60);
  return buf;
}
}  // namespace

ProgressBar::ProgressBar(std::string label, std::size_t total, std::string unit, bool enabled)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::add(std::size_t n) {
  done_ += n;
  draw(false);
}

void ProgressBar::set(std::size_t done) {
  done_ = done;
  draw(false);
}

void ProgressBar::set_suffix(std::string suffix) {
  std::lock_guard<std::mutex> lock(mutex_);
  suffix_ = std::move(suffix);
}

void ProgressBar::finish() {
  if (finished_) return;
  draw(true);
  finished_ = true;
}

void ProgressBar::draw(bool final) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (!final && since < (tty_ ? 0.1 : 5.0)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const std::size_t done = done_.load();
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  std::string line = label_ + " ";
  char buf[160];
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    const int width = 24, filled = static_cast<int>(frac * width);
    line += "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
    std::snprintf(buf, sizeof buf, "%zu/%zu %s (%3.0f%%) %.1f %s/s, elapsed %s, ETA %s", done, total_, unit_.c_str(),
                  frac * 100.0, rate, unit_.c_str(), format_duration(elapsed).c_str(),
                  format_duration(rate > 0 ? (total_ - std::min(done, total_)) / rate : -1).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%zu %s, %.1f %s/s, elapsed %s", done, unit_.c_str(), rate, unit_.c_str(),
                  format_duration(elapsed).c_str());
  }
  line += buf;
  if (!suffix_.empty()) line += ", " + suffix_;
  if (tty_) std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  else std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace qs::cli
