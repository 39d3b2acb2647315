#include "qscribe/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "qscribe/error.hpp"

namespace qs {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string temp_path_for(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::size_t dot = name.find_last_of('.');
  const std::string ext = dot == std::string::npos || dot == 0 ? "" : name.substr(dot);
  return dir + "." + name + ".qs-tmp" + ext;
}

// Durability of the rename itself; some file systems refuse fsync on a directory (EINVAL).
void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void sync_file(const std::string& temp, const std::string& path) {
  const int fd = ::open(temp.c_str(), O_RDONLY);
  if (fd < 0) throw Error(path + ": cannot write file (" + errno_text(errno) + ")");
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) throw Error(path + ": cannot write file (" + errno_text(err) + ")");
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), temp_(temp_path_for(path_)) {
  if (path_.empty()) throw Error("output path is empty");
}

AtomicFile::~AtomicFile() {
  if (!committed_) std::remove(temp_.c_str());
}

void AtomicFile::commit() {
  sync_file(temp_, path_);
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    std::remove(temp_.c_str());
    committed_ = true;  // nothing left to clean up
    throw Error(path_ + ": cannot write file (" + errno_text(err) + ")");
  }
  committed_ = true;
  sync_directory(directory_of(path_));
}

void remove_abandoned_temp(const std::string& path) { std::remove(temp_path_for(path).c_str()); }

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFile out(path);
  const int fd = ::open(out.temp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot write file (" + errno_text(errno) + ")");
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      throw Error(path + ": cannot write file (" + errno_text(err) + ")");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) throw Error(path + ": cannot write file (" + errno_text(errno) + ")");
  out.commit();
}

}  // namespace qs
