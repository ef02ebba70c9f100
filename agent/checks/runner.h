// CheckRunner: runs the periodic checks on their intervals and records their results.
//
// Each check runs every `interval` (the first run spread over one interval, so fifty
// checks configured together do not fire in the same millisecond), never twice at once:
// a run still in flight when the next is due is skipped and counted. A result becomes
// one `event` (failed unless OK, with its latency), the check's `state`, and a gauge per
// perf value, all under the check's name. Loop thread only.
#pragma once

#include <memory>
#include <vector>

#include "agent/checks/check.h"

namespace reflex::agent {

class CheckRunner {
 public:
  CheckRunner(const Clock& clock, Timers& timers, Recorder& recorder);
  ~CheckRunner();  // cancels the timers; runs in flight report to nobody
  CheckRunner(const CheckRunner&) = delete;
  CheckRunner& operator=(const CheckRunner&) = delete;

  // Takes the check and schedules it.
  void add(std::unique_ptr<PeriodicCheck> check);
  // The status of every periodic check, in the order they were added.
  std::vector<CheckStatus> status() const;

  // Records one finished run (public for tests of the recording rules).
  static void record(Recorder& recorder, const CheckSpec& spec, const CheckResult& result);

 private:
  struct Slot;
  void run(Slot& slot);

  const Clock& clock_;
  Timers& timers_;
  Recorder& recorder_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::shared_ptr<bool> alive_;  // runs finishing after destruction see false
};

}  // namespace reflex::agent
