// ProcessRunner: child processes on the agent's libuv loop, for plugin checks and
// remediation actions.
//
// A program runs from an argv (never through a shell unless the caller puts one in argv),
// with stdin from /dev/null and stdout/stderr captured through pipes. Each child leads its
// own session and process group, so a timeout kills everything it started: SIGTERM to the
// group, then SIGKILL after a grace period. The runner caps how many children run at once
// and how many wait, because the agent must never become the incident. Loop thread only.
//
// A child starts through posix_spawn, without copying the agent (process_spawn.h), and its
// exit is watched through a pidfd on the loop; a run-as child (uid/gid) starts through
// uv_spawn, which forks, because only a forked child can change its user before exec.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/duration.h"
#include "common/loop.h"
#include "common/status.h"

namespace reflex::agent {

// What to run.
//
// Environment: unless `clear_env`, the child inherits only the agent's PATH, HOME, LANG,
// LC_ALL, TZ, TMPDIR, USER and LOGNAME (PATH defaults to the usual system directories when
// the agent has none); `env` is added on top and overrides them. With `clear_env` the
// child sees `env` alone. A program name without a slash is looked up in the child's PATH.
struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is the program; must not be empty
  std::map<std::string, std::string> env;
  bool clear_env = false;
  std::string cwd;  // empty: the agent's working directory
  Millis timeout = Millis(5'000);
  // Per stream. stdout keeps its FIRST bytes (plugins print the status line first);
  // stderr keeps its LAST bytes (the error that ended a run is usually printed last).
  size_t max_output = 64 * 1024;
  // stdout keeps its LAST bytes too (a remediation's result is at the end: a playbook's
  // recap, a script's final error).
  bool stdout_tail = false;
  // Run-as; only meaningful when the agent runs as root (otherwise the spawn fails).
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

// How a run ended. Exactly one of: spawn_error set (nothing ran), exit_code set (exited),
// or term_signal non-zero (killed by a signal). timed_out says the runner killed it.
struct ProcessOutcome {
  std::optional<int> exit_code;
  int term_signal = 0;
  bool timed_out = false;
  std::string out, err;
  bool out_truncated = false;
  bool err_truncated = false;
  int64_t duration_ms = 0;  // spawn to exit, on the monotonic clock
  std::string spawn_error;  // "no such file: /x/y", "too many processes", ...
};

struct ProcessRunnerLimits {
  size_t max_concurrent = 16;       // children alive at once
  size_t max_queued = 256;          // runs waiting for a slot; more are refused
  Millis kill_grace = Millis(500);  // SIGTERM -> SIGKILL, and SIGKILL -> closing the pipes
};

using RunId = uint64_t;

// Splits a command string into argv like a POSIX shell would split words, with '...'
// (literal), "..." (backslash escapes only \ " $ `) and backslash outside quotes, but no
// expansion of any kind: `$HOME`, `*` and `$(...)` stay as written. Fails on an
// unterminated quote or a trailing backslash. An empty or blank string yields no words.
Result<std::vector<std::string>> split_command_line(std::string_view line);

class ProcessRunner {
 public:
  using Callback = std::function<void(ProcessOutcome)>;

  // All three must outlive the runner.
  ProcessRunner(EventLoop& loop, Timers& timers, const Clock& clock,
                ProcessRunnerLimits limits = {});
  // Kills every child's process group (SIGKILL) and closes every handle; no callback is
  // called. Children still exiting are reaped when the loop next runs.
  ~ProcessRunner();
  ProcessRunner(const ProcessRunner&) = delete;
  ProcessRunner& operator=(const ProcessRunner&) = delete;

  // Starts `spec` now, or queues it when max_concurrent children are running. `done` is
  // called exactly once, on the loop thread and never from inside run(): after the child
  // has exited and both pipes have reached EOF or been closed, or with spawn_error set
  // when it could not start ("too many processes" when the queue is full too).
  RunId run(ProcessSpec spec, Callback done);

  // Forgets a run: a queued one never starts, a running one's group is killed (SIGKILL);
  // its callback is not called. Unknown or finished ids are ignored.
  void cancel(RunId id);

  size_t running() const { return running_.size(); }
  size_t queued() const { return queue_.size(); }

 private:
  struct Child;
  struct Pending {
    RunId id;
    ProcessSpec spec;
    Callback done;
  };

  void start(Pending p);
  Status spawn(Child* c, const ProcessSpec& spec);
  void finish(Child* c);
  void fail_later(RunId id, Callback done, std::string error);
  void start_queued();
  void orphan(Child* c);

  EventLoop& loop_;
  Timers& timers_;
  const Clock& clock_;
  ProcessRunnerLimits limits_;
  RunId next_id_ = 1;
  std::map<RunId, Child*> running_;
  std::deque<Pending> queue_;
  std::map<RunId, TimerId> failing_;  // refused runs whose callback is due next loop turn
};

}  // namespace reflex::agent
