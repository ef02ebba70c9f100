// How the heal latency benchmark tells that a supervisor is back to watching: that it has
// seen the restarted service running, or the HTTP target healthy again, so that the next
// trial breaks something that is being watched and no remediation is still in flight.
//
// reflex-agent is asked through its GET /status (the check's state and last run, the
// rule's phase, the remediations running or verifying). Monit has no interface here (no
// `set httpd`), so it is read from what it does: its log line "'svc' process is running
// with pid N", and the HTTP target's record of answering Monit's path 200. Not
// thread-safe; one trial loop owns an observer.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace reflex::bench::heal {

class FlipServer;

// Where Reflex's time went in one process trial, from its /status right after the stamp
// (wall-clock milliseconds, so each phase is +-1 ms).
struct Phases {
  double detect_ms = 0;    // kill -> the check's CRITICAL result
  double evaluate_ms = 0;  // that result -> the rule found `when` holding
  double act_ms = 0;       // -> the stamp program started (healer, fork, exec)
};

class Observer {
 public:
  virtual ~Observer() = default;
  // True once the supervisor has seen the service's `pid` running, after the restart
  // that stamped `since_ns`, and has nothing left in flight for it.
  virtual bool service_watched(pid_t pid, int64_t since_ns) = 0;
  // True once the supervisor has seen the HTTP target healthy after `since_ns`, with
  // nothing left in flight for it.
  virtual bool http_healthy(int64_t since_ns) = 0;
  // What it last saw, for an error message when a wait times out.
  virtual std::string last_seen() const = 0;
};

std::unique_ptr<Observer> reflex_observer(int status_port);
std::unique_ptr<Observer> monit_observer(std::string log_path, const FlipServer& http,
                                         std::string http_path);

// Reflex's phases for a process trial killed at `kill_ns` and stamped at `stamp_ns`;
// nothing when its /status no longer shows that episode (the check already ran again).
std::optional<Phases> reflex_phases(int status_port, int64_t kill_ns, int64_t stamp_ns);

}  // namespace reflex::bench::heal
