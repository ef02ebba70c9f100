// Following a growing file like `tail -F`, for the log check.
//
// The follower owns no timer: its owner calls poll() now and then, and each call reads what
// was appended since the last one and hands it over line by line. It survives the ways log
// files are rotated:
//  - rename (logrotate's default): a new inode appears at the path; the old file is read
//    to its end (its last unterminated line included), then the new one from its start;
//  - truncation (copytruncate): the size drops below what was read; reading restarts at 0;
//  - a file that does not exist yet (or was deleted): it is waited for and, once created,
//    read from its start.
// Lines longer than `max_line` bytes are not delivered; each is reported once through
// on_too_long and skipped up to its newline. Not thread-safe: one thread (the loop's).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace reflex::agent {

class FileFollower {
 public:
  struct Options {
    bool from_start = false;              // read an existing file from 0 instead of its end
    size_t max_line = 64 * 1024;          // bytes, without the newline
    size_t max_bytes_per_poll = 4 << 20;  // keeps one poll from holding the loop for long
  };
  // Callbacks run inside poll(); they must not destroy the follower. A line is valid only
  // during the call; a trailing "\r" is removed and empty lines are skipped.
  struct Sink {
    std::function<void(std::string_view line)> on_line;
    std::function<void()> on_too_long;
  };

  FileFollower(std::string path, Options options, Sink sink);
  ~FileFollower();
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  // Opens the file if it exists (positioned per from_start); a missing file is waited for.
  void open_initial();
  // Reads what is new, following rotation. Returns true when the per-poll byte budget ran
  // out with data left, so the owner should poll again soon rather than after its interval.
  bool poll();

  bool is_open() const { return fd_ >= 0; }
  // Why the file is not being read ("" while it is): missing, or the open error.
  const std::string& problem() const { return problem_; }

 private:
  bool open_path(bool at_end);
  void close_file();
  // Reads from the open file up to the budget; returns false once at its end.
  bool read_available(size_t& budget);
  void take(const char* data, size_t n);
  void deliver_partial();

  std::string path_;
  Options options_;
  Sink sink_;
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  uint64_t offset_ = 0;    // bytes of the open file consumed so far
  std::string partial_;    // the current line's bytes so far
  bool skipping_ = false;  // inside a too-long line, dropping bytes up to its newline
  std::string problem_;
};

}  // namespace reflex::agent
