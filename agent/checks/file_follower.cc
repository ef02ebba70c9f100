#include "agent/checks/file_follower.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace reflex::agent {
namespace {

constexpr size_t kChunk = 64 * 1024;

}  // namespace

FileFollower::FileFollower(std::string path, Options options, Sink sink)
    : path_(std::move(path)), options_(options), sink_(std::move(sink)) {}

FileFollower::~FileFollower() {
  close_file();
}

void FileFollower::open_initial() {
  if (fd_ < 0) open_path(!options_.from_start);
}

bool FileFollower::open_path(bool at_end) {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    problem_ = errno == ENOENT ? "waiting for " + path_ + " to be created"
                               : "cannot open " + path_ + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    problem_ = path_ + " is not a regular file";
    ::close(fd);
    return false;
  }
  fd_ = fd;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  offset_ = at_end ? static_cast<uint64_t>(st.st_size) : 0;
  if (offset_ > 0) ::lseek(fd_, static_cast<off_t>(offset_), SEEK_SET);
  problem_.clear();
  return true;
}

void FileFollower::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  partial_.clear();
  skipping_ = false;
}

bool FileFollower::poll() {
  size_t budget = options_.max_bytes_per_poll;
  if (fd_ < 0 && !open_path(false)) return false;  // a file that appears is read whole

  struct stat st {};
  if (::fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) < offset_) {
    // Truncated in place (copytruncate): what is there now was written after it.
    ::lseek(fd_, 0, SEEK_SET);
    offset_ = 0;
    partial_.clear();
    skipping_ = false;
  }
  if (read_available(budget)) return true;

  struct stat at_path {};
  if (::stat(path_.c_str(), &at_path) != 0) return false;  // renamed away: keep the old one
  if (at_path.st_dev == dev_ && at_path.st_ino == ino_) return false;
  // Rotated by rename. The writer may still have appended to the old file since the read
  // above; take that too, then its unterminated last line, then switch.
  if (read_available(budget)) return true;
  deliver_partial();
  close_file();
  if (!open_path(false)) return false;
  return read_available(budget);
}

bool FileFollower::read_available(size_t& budget) {
  char buf[kChunk];
  while (budget > 0) {
    const ssize_t n = ::read(fd_, buf, std::min(kChunk, budget));
    if (n < 0) {
      if (errno == EINTR) continue;
      problem_ = "cannot read " + path_ + ": " + std::strerror(errno);
      return false;
    }
    if (n == 0) return false;
    offset_ += static_cast<uint64_t>(n);
    budget -= static_cast<size_t>(n);
    take(buf, static_cast<size_t>(n));
  }
  return true;
}

void FileFollower::take(const char* data, size_t n) {
  while (n > 0) {
    const auto* nl = static_cast<const char*>(std::memchr(data, '\n', n));
    const size_t segment = nl != nullptr ? static_cast<size_t>(nl - data) : n;
    if (!skipping_) {
      if (partial_.size() + segment > options_.max_line) {
        partial_.clear();
        skipping_ = true;
        if (sink_.on_too_long) sink_.on_too_long();
      } else {
        partial_.append(data, segment);
      }
    }
    if (nl == nullptr) return;
    if (!skipping_) deliver_partial();
    partial_.clear();
    skipping_ = false;
    data = nl + 1;
    n -= segment + 1;
  }
}

void FileFollower::deliver_partial() {
  std::string_view line = partial_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!skipping_ && !line.empty() && sink_.on_line) sink_.on_line(line);
  partial_.clear();
  skipping_ = false;
}

}  // namespace reflex::agent
