#include "agent/checks/runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace reflex::agent {

struct CheckRunner::Slot {
  std::unique_ptr<PeriodicCheck> check;
  CheckStatus status;
  TimerId timer = 0;       // the periodic schedule
  TimerId wake_timer = 0;  // a woken run due soon (0: none)
  bool in_flight = false;
  bool rerun = false;  // woken while in flight: run once it ends
  // The wake token bucket: tokens as of tokens_ms (monotonic).
  double tokens = kWakeBurst;
  int64_t tokens_ms = 0;

  void refill(int64_t now_ms) {
    tokens = std::min<double>(kWakeBurst, tokens + static_cast<double>(now_ms - tokens_ms) /
                                                       static_cast<double>(kWakeRefill.count()));
    tokens_ms = now_ms;
  }
};

CheckRunner::CheckRunner(const Clock& clock, Timers& timers, Recorder& recorder)
    : clock_(clock), timers_(timers), recorder_(recorder), alive_(std::make_shared<bool>(true)) {}

CheckRunner::~CheckRunner() {
  *alive_ = false;
  for (auto& slot : slots_) {
    timers_.cancel(slot->timer);
    if (slot->wake_timer != 0) timers_.cancel(slot->wake_timer);
  }
}

void CheckRunner::add(std::unique_ptr<PeriodicCheck> check) {
  auto slot = std::make_unique<Slot>();
  const CheckSpec& spec = check->spec();
  slot->status.name = spec.name;
  slot->status.type = spec.type;
  slot->check = std::move(check);
  // Spread first runs over one interval, deterministically by position.
  const int64_t interval = spec.interval.count();
  const int64_t offset = static_cast<int64_t>(slots_.size() * 97) % std::max<int64_t>(interval, 1);
  Slot& s = *slot;
  std::weak_ptr<bool> alive = alive_;
  s.check->set_wake([this, alive, &s] {
    if (auto a = alive.lock(); a && *a) wake(s);
  });
  s.timer = timers_.start(Millis(offset), spec.interval, [this, &s] { run(s); });
  slots_.push_back(std::move(slot));
}

bool CheckRunner::wake(const std::string& name) {
  for (auto& slot : slots_) {
    if (slot->check->spec().name == name) {
      wake(*slot);
      return true;
    }
  }
  return false;
}

void CheckRunner::wake(Slot& slot) {
  if (slot.in_flight) {
    slot.rerun = true;
    return;
  }
  if (slot.wake_timer != 0) return;  // coalesces into the run already due
  slot.refill(clock_.monotonic_ms());
  const double missing = std::max(0.0, 1.0 - slot.tokens);
  const auto delay =
      static_cast<int64_t>(std::ceil(missing * static_cast<double>(kWakeRefill.count()) - 1e-9));
  slot.wake_timer = timers_.start(Millis(delay), Millis(0), [this, &slot] {
    slot.wake_timer = 0;
    slot.refill(clock_.monotonic_ms());
    slot.tokens = std::max(0.0, slot.tokens - 1.0);
    run(slot);
  });
}

void CheckRunner::run(Slot& slot) {
  if (slot.in_flight) {
    ++slot.status.bad_input["overlapping_run_skipped"];  // due while the last one still runs
    return;
  }
  if (slot.wake_timer != 0) {  // this run answers the pending wake too
    timers_.cancel(slot.wake_timer);
    slot.wake_timer = 0;
  }
  slot.in_flight = true;
  std::weak_ptr<bool> alive = alive_;
  slot.check->run([this, alive, &slot](CheckResult result) {
    if (auto a = alive.lock(); !a || !*a) return;
    finish(slot, result);
  });
}

void CheckRunner::finish(Slot& slot, const CheckResult& result) {
  slot.in_flight = false;
  CheckStatus& st = slot.status;
  const bool changed = st.runs == 0 || st.last_state != result.state;
  ++st.runs;
  if (result.state != CheckState::kOk) ++st.failures;
  if (result.timed_out) ++st.timeouts;
  for (const auto& [reason, n] : result.bad_input) st.bad_input[reason] += n;
  st.last_state = result.state;
  st.last_message = result.message;
  st.last_latency_ms = result.latency_ms;
  st.last_run_ms = clock_.now_ms();
  record(recorder_, slot.check->spec(), result);
  if (slot.rerun) {
    slot.rerun = false;
    wake(slot);
  }
  if (changed && on_state_change_) {
    StateChange hook = on_state_change_;  // the hook may replace itself
    hook(slot.check->spec(), result.state);
  }
}

void CheckRunner::record(Recorder& recorder, const CheckSpec& spec, const CheckResult& result) {
  recorder.event(spec.name, spec.labels, result.state != CheckState::kOk, result.latency_ms);
  recorder.state(spec.name, spec.labels, result.state, result.message);
  for (const auto& p : result.perf) {
    Labels labels = spec.labels;
    for (const auto& [k, v] : p.labels) labels[k] = v;
    recorder.gauge(spec.name + "." + p.name, labels, p.value, p.unit);
  }
}

std::vector<CheckStatus> CheckRunner::status() const {
  std::vector<CheckStatus> out;
  out.reserve(slots_.size());
  for (const auto& slot : slots_) out.push_back(slot->status);
  return out;
}

}  // namespace reflex::agent
