// A program a benchmark starts and must not leave behind: reflex-agent, or a comparison
// daemon (monit, collectd, zabbix_agentd) in its foreground mode.
//
// The child runs in a process group of its own, so stopping it also stops what it forked
// (zabbix_agentd's workers). Destroying a ChildProcess that is still running stops its
// group (SIGTERM, SIGKILL after 3 s) and reaps it. If the benchmark dies without
// destructors running (SIGKILL, a crash), the kernel kills the child (PR_SET_PDEATHSIG)
// and an OrphanGuard, when given, kills the rest of its group, which PDEATHSIG does not
// reach. Not thread-safe: one thread owns a ChildProcess.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace reflex::bench {

// A helper process that outlives the benchmark by a moment: it learns each child's
// process group through a pipe only the benchmark writes to, and when that pipe closes
// while groups are still registered (the benchmark died), it sends them SIGTERM and,
// a second later, SIGKILL. Start it before any thread, as it is forked.
class OrphanGuard {
 public:
  static Result<std::unique_ptr<OrphanGuard>> start();
  // Tells the helper that every group it was given is gone, and waits for it to exit.
  ~OrphanGuard();
  OrphanGuard(const OrphanGuard&) = delete;
  OrphanGuard& operator=(const OrphanGuard&) = delete;

  void watch(pid_t group);
  void forget(pid_t group);

 private:
  OrphanGuard(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  void send(int32_t message);

  pid_t pid_ = -1;
  int fd_ = -1;
};

class ChildProcess {
 public:
  // Runs argv[0] (a path, or a name looked up in PATH) with `argv` in `dir`, stdin from
  // /dev/null, stdout and stderr appended to `log`. Fails only when fork fails; a program
  // that cannot be executed exits with status 127 (see exited()). `guard`, when given,
  // must outlive the ChildProcess.
  static Result<std::unique_ptr<ChildProcess>> start(const std::vector<std::string>& argv,
                                                     const std::string& dir, const std::string& log,
                                                     OrphanGuard* guard = nullptr);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True once the child has exited (reaps it without waiting); `status` is then its exit
  // status, or 128 + the signal that ended it.
  bool exited();
  int exit_status() const { return status_; }

  // SIGTERM to the group, then waits up to `timeout` (SIGKILL to the group after that).
  // Fails when it had to be killed.
  Status stop(std::chrono::milliseconds timeout);

  // The last `bytes` of its log.
  std::string log_tail(size_t bytes = 2000) const;

 private:
  ChildProcess(pid_t pid, std::string log, OrphanGuard* guard)
      : pid_(pid), log_(std::move(log)), guard_(guard) {}
  bool reap(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  bool running_ = true;
  int status_ = 0;
  std::string log_;
  OrphanGuard* guard_ = nullptr;
};

}  // namespace reflex::bench
