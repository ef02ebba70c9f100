// The `process` check: is a process alive? Found by exactly one of a pidfile, an exact
// name, a command-line regex (both counted against min/max), or a systemd unit's
// ActiveState (asked of systemctl through the ProcessRunner).
//
// Processes are read from a proc tree (/proc unless told otherwise, so tests can build
// one); zombies never count as alive.
//
// A death is an event, not something to wait an interval for: after each pidfile, name
// or cmdline run against the real /proc, the live processes it counted (at most
// PidWatcher::kMaxWatched) are watched, and when one exits the check wakes its runner
// for a run at once. Pids are resolved afresh on every run, so a process restarted
// under a new pid is watched from the run after it appears. Unit checks are not watched
// (their main pid would have to be asked of systemd on each run; not done): they notice
// a failed unit at their next run.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "agent/checks/check.h"
#include "agent/checks/pid_watcher.h"
#include "agent/process_runner.h"
#include "common/config.h"

namespace reflex::agent {

struct ProcessCheckConfig {
  // Exactly one of these four.
  std::string pidfile;  // alive when /proc/<pid> exists and is not a zombie
  std::string name;     // key process_name: == /proc/<pid>/comm, or == basename of argv[0]
  std::string cmdline;  // ECMAScript regex searched in argv joined with spaces
  std::string unit;     // systemd unit, e.g. nginx.service
  // Accepted counts of name/cmdline matches.
  int64_t min = 1;
  std::optional<int64_t> max;  // none: unlimited
  std::string proc_root = "/proc";
  std::string systemctl = "systemctl";  // not read from YAML; tests point it elsewhere
};

// Reads pidfile | process_name | cmdline | unit, min, max, proc_root. Errors (to r.errors(), each
// naming its key path): not exactly one selector, an invalid regex, min/max with a
// pidfile or unit, max below min, a unit name that could be taken for an option.
void read_process_check(config::MapReader& r, ProcessCheckConfig& out);

// One process as the check sees it.
struct ProcInfo {
  pid_t pid = 0;
  std::string comm;               // without the trailing newline
  std::vector<std::string> argv;  // from cmdline; empty for kernel threads
  char state = '?';               // from stat: R, S, D, Z, ...
};

// Reads one process from `proc_root`/<pid>; nullopt when it does not exist. Missing
// comm/stat files leave those fields at their defaults (a process racing to exit).
std::optional<ProcInfo> read_proc_info(const std::string& proc_root, pid_t pid);
// The pid a pidfile holds (surrounding whitespace allowed). Errors: "io" when the file
// cannot be read ("cannot read pidfile <path>: <reason>"), "invalid_value" when it holds
// no pid ("pidfile <path> holds no pid").
Result<pid_t> read_pidfile(const std::string& path);
// Every process under `proc_root` (numeric directory names).
std::vector<ProcInfo> list_processes(const std::string& proc_root);

// Whether `p` matches an exact name (comm or argv[0]'s basename).
bool matches_name(const ProcInfo& p, const std::string& name);
// Whether `re` is found in p's argv joined with spaces.
bool matches_cmdline(const ProcInfo& p, const std::regex& re);

// The result for `count` matches of `what` (the name or the regex) against min/max.
CheckResult count_result(size_t count, const std::string& what, int64_t min,
                         std::optional<int64_t> max);
// The result for a unit's ActiveState as printed by systemctl.
CheckResult unit_state_result(const std::string& unit, const std::string& active_state);

class ProcessCheck final : public PeriodicCheck {
 public:
  // `runner` and `loop` must outlive the check. Pidfile, name and cmdline checks read the
  // proc tree and call `done` before run() returns; unit checks call it when systemctl
  // finishes. Watches are opened on `loop` and closed with the check.
  ProcessCheck(CheckSpec spec, ProcessCheckConfig config, ProcessRunner& runner, EventLoop& loop);
  ~ProcessCheck() override;

  const CheckSpec& spec() const override { return spec_; }
  void run(std::function<void(CheckResult)> done) override;
  void set_wake(std::function<void()> wake) override { wake_ = std::move(wake); }

  // How many processes are watched for their exit now (for tests).
  size_t watched() const { return watcher_ ? watcher_->watched() : 0; }

 private:
  // Each fills `alive` with the pids it counted as alive.
  CheckResult check_pidfile(std::vector<pid_t>& alive) const;
  CheckResult check_matches(std::vector<pid_t>& alive) const;
  void check_unit(std::function<void(CheckResult)> done);

  CheckSpec spec_;
  ProcessCheckConfig config_;
  ProcessRunner& runner_;
  std::optional<std::regex> cmdline_re_;
  std::optional<RunId> in_flight_;
  std::function<void()> wake_ = [] {};
  std::optional<PidWatcher> watcher_;  // none for units and fake proc trees
};

std::unique_ptr<ProcessCheck> make_process_check(CheckSpec spec, ProcessCheckConfig config,
                                                 ProcessRunner& runner, EventLoop& loop);

}  // namespace reflex::agent
