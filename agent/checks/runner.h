// CheckRunner: runs the periodic checks on their intervals and records their results.
//
// Each check runs every `interval` (the first run spread over one interval, so fifty
// checks configured together do not fire in the same millisecond), never twice at once:
// a run still in flight when the next is due is skipped and counted. A result becomes
// one `event` (failed unless OK, with its latency), the check's `state`, and a gauge per
// perf value, all under the check's name. Loop thread only.
//
// Woken runs: a check (through the function set_wake() gave it) or the owner (wake())
// may ask for a run between intervals, e.g. when a watched process exits. The run
// starts on the next loop turn (a zero-delay timer, so never inside the caller), or,
// when a run is in flight, once right after that run ends; wakes that arrive before the
// run starts coalesce into it. A periodic run that starts first satisfies a pending wake.
// Woken runs of one check are rate-limited by a token bucket: up to kWakeBurst start at
// once, then one per kWakeRefill (a later wake waits for its token), so a check whose
// processes die by the hundred cannot turn into a busy loop, while an isolated death (even
// right after a restart's re-check) is never delayed. Only woken runs take tokens, so a
// periodic run never delays one. Woken runs do not move the periodic schedule.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/checks/check.h"

namespace reflex::agent {

class CheckRunner {
 public:
  static constexpr int kWakeBurst = 5;
  static constexpr Millis kWakeRefill = Millis(100);

  // Called after a result is recorded whose state differs from the check's previous
  // result (a check's first result always counts), with the new state; on the loop
  // thread, from inside the check's completion. It must not destroy the runner.
  using StateChange = std::function<void(const CheckSpec& spec, CheckState state)>;

  CheckRunner(const Clock& clock, Timers& timers, Recorder& recorder);
  ~CheckRunner();  // cancels the timers; runs in flight report to nobody
  CheckRunner(const CheckRunner&) = delete;
  CheckRunner& operator=(const CheckRunner&) = delete;

  // Takes the check, hands it its wake function and schedules it.
  void add(std::unique_ptr<PeriodicCheck> check);
  // Asks for a woken run of the check named `name` (as a check's own wake does); false
  // when there is no such check. E.g. after a restart, so the new process is watched.
  bool wake(const std::string& name);
  // Replaces the state-change hook (none by default).
  void set_on_state_change(StateChange hook) { on_state_change_ = std::move(hook); }
  // The status of every periodic check, in the order they were added.
  std::vector<CheckStatus> status() const;

  // Records one finished run (public for tests of the recording rules).
  static void record(Recorder& recorder, const CheckSpec& spec, const CheckResult& result);

 private:
  struct Slot;
  void run(Slot& slot);
  void wake(Slot& slot);
  void finish(Slot& slot, const CheckResult& result);

  const Clock& clock_;
  Timers& timers_;
  Recorder& recorder_;
  StateChange on_state_change_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::shared_ptr<bool> alive_;  // runs finishing after destruction see false
};

}  // namespace reflex::agent
