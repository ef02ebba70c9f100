// Test support: temporary directories, real child processes and waiting for conditions
// (never for fixed times).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace reflex::testing {

// Built with AddressSanitizer (its shadow memory and quarantine make memory figures
// meaningless): tests that bound a process's memory only report it then.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Writes `text` to `name` inside the directory and returns its path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

// A child process with stdout and stderr appended to `log_path`. Killed (SIGKILL) and
// reaped on destruction if still running.
class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& log_path, const std::string& cwd = "");
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Waits for the exit and returns the exit code (128+signal when killed).
  int wait();
  bool running();
  // Resident memory now, in KiB (0 once it has exited).
  long rss_kib() const;
  // Waits (up to 10 s) until /proc shows the child running its program: posix_spawn
  // returns once the child's memory is replaced, which can be before the kernel names it
  // (comm) and lays out its arguments (cmdline), so a check that reads /proc right away
  // may not yet recognise it. Returns whether it got there.
  bool wait_started() const;

 private:
  std::string argv0_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

struct Output {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs a program to completion, capturing its output.
Output run(const std::vector<std::string>& argv);

// Polls `cond` every 20 ms until it holds or `timeout` passes; returns whether it held.
bool wait_until(const std::function<bool()>& cond,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

std::string read_file(const std::string& path);

// A loopback TCP port that is free now and stays this test process's own until it exits:
// taken below the kernel's ephemeral range (so no port-0 bind is ever handed it) and held
// by a lock file, so a test that stops and restarts a server on its port cannot find
// another test's server there in between.
int reserve_port();

// Paths of the built binaries.
std::string hub_binary();
std::string agent_binary();
std::string ctl_binary();

}  // namespace reflex::testing
