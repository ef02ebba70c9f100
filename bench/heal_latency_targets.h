// What the heal latency benchmark breaks and watches: the supervised services (through
// their pidfiles), the stamp files the remediation commands append to, and an HTTP
// target that answers 200 until told to answer 500.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace httplib {
class Server;
}

namespace reflex::bench::heal {

// CLOCK_REALTIME in ns: the clock the stamp program writes, so kill and stamp compare.
int64_t realtime_ns();

// The pid in `pidfile`, or 0 when it is missing or unreadable.
pid_t read_pid(const std::string& pidfile);
// True while `pid` exists and is not a zombie (/proc/PID/stat), as both supervisors judge.
bool running(pid_t pid);
// SIGKILL, then reaps it at once when it is our child (the benchmark is the child
// subreaper, so detached services are), or waits until it has left /proc otherwise, so
// that no supervisor sees a zombie. Fails when it is still there after `timeout_ms`.
Status kill_service(pid_t pid, int timeout_ms);

// Reaps the exited children of this process that it did not start itself: as child
// subreaper it inherits every orphan below it, such as the programs Monit runs through a
// double fork. `keep` are the children it started, whose status their owners collect.
void reap_orphans(const std::vector<pid_t>& keep);

// The lines a stamp file holds: one CLOCK_REALTIME ns value per remediation.
class StampFile {
 public:
  explicit StampFile(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  // How many complete lines it holds now.
  size_t count() const;
  // The value on line `index` (0-based), if there is one.
  std::optional<int64_t> at(size_t index) const;

 private:
  std::string path_;
};

// Answers GET on every path with 200, or with 500 while failing(); remembers when it last
// answered 200 on each path (CLOCK_REALTIME ns). Stops and joins its thread on
// destruction; may be used from any thread.
class FlipServer {
 public:
  static Result<std::unique_ptr<FlipServer>> start();
  ~FlipServer();
  FlipServer(const FlipServer&) = delete;
  FlipServer& operator=(const FlipServer&) = delete;

  int port() const { return port_; }
  void set_failing(bool failing) { failing_.store(failing); }
  // When `path` was last answered 200; 0 if never.
  int64_t last_ok_ns(const std::string& path) const;
  uint64_t requests() const { return requests_.load(); }

 private:
  FlipServer();
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> failing_{false};
  std::atomic<uint64_t> requests_{0};
  mutable std::mutex mu_;
  std::map<std::string, int64_t> last_ok_;
  int port_ = 0;
};

}  // namespace reflex::bench::heal
