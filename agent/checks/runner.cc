#include "agent/checks/runner.h"

#include <spdlog/spdlog.h>

namespace reflex::agent {

struct CheckRunner::Slot {
  std::unique_ptr<PeriodicCheck> check;
  CheckStatus status;
  TimerId timer = 0;
  bool in_flight = false;
};

CheckRunner::CheckRunner(const Clock& clock, Timers& timers, Recorder& recorder)
    : clock_(clock), timers_(timers), recorder_(recorder), alive_(std::make_shared<bool>(true)) {}

CheckRunner::~CheckRunner() {
  *alive_ = false;
  for (auto& slot : slots_) timers_.cancel(slot->timer);
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
  s.timer = timers_.start(Millis(offset), spec.interval, [this, &s] { run(s); });
  slots_.push_back(std::move(slot));
}

void CheckRunner::run(Slot& slot) {
  if (slot.in_flight) {
    ++slot.status.bad_input["overlapping_run_skipped"];  // due while the last one still runs
    return;
  }
  slot.in_flight = true;
  std::weak_ptr<bool> alive = alive_;
  slot.check->run([this, alive, &slot](CheckResult result) {
    if (auto a = alive.lock(); !a || !*a) return;
    slot.in_flight = false;
    CheckStatus& st = slot.status;
    ++st.runs;
    if (result.state != CheckState::kOk) ++st.failures;
    if (result.timed_out) ++st.timeouts;
    for (const auto& [reason, n] : result.bad_input) st.bad_input[reason] += n;
    st.last_state = result.state;
    st.last_message = result.message;
    st.last_latency_ms = result.latency_ms;
    st.last_run_ms = clock_.now_ms();
    record(recorder_, slot.check->spec(), result);
  });
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
