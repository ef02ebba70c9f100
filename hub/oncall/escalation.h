// Escalation as a pure decision: given a policy, when paging started, how far it got and
// `now`, which notifications are due, to whom, and when the next one falls due. The
// workflow runner does the I/O (outbox rows, timers, storage); this decides.
//
// Timing. A policy's levels L0..Ln-1 form round 0; `repeat` more rounds follow, so there
// are n * (repeat + 1) steps, step s being level s % n of round s / n. Each level's
// delay counts from the level before it; L0's from when paging started in round 0, and
// from the previous round's last level (by repeat_after, which replaces L0's delay) in
// later rounds:
//   at(s) = started + L0.delay + round * period + (L1.delay + ... + Llevel.delay)
//   period = L1.delay + ... + Ln-1.delay + repeat_after
// hub.yaml's repeat_after defaults to the last level's delay, so with levels at 0s and
// 10m and repeat 2 the steps fall at 0, 10m, 20m, 30m, 40m and 50m.
//
// The runner's contract (one small row per paged incident):
//   1. When an incident is paged, store EscalationState{policy, started_ms = now,
//      next_step = 0, acknowledged = false} and call escalate() at once.
//   2. escalate(config, state, now) returns the steps from state.next_step whose time is
//      <= now, in order, and the new next_step. Write the due pages' outbox rows AND the
//      new next_step in ONE transaction; then arm a timer for next_at_ms (none: done)
//      and call escalate() again when it fires (or on start-up, for every stored row).
//      A crash before the commit redoes the same steps; after it, none repeats, and no
//      step is skipped: steps missed while the hub was down are all due at once.
//   3. On acknowledgement set acknowledged (or delete the row): nothing more is due.
//   A reload that changes the policy applies to the steps not yet notified; a step
//   number beyond the new policy's steps means it is done. A policy no longer in the
//   config is an "unknown_policy" error (the runner should stop that paging and say so).
// Targets are resolved when escalate() is called (now), so after an outage the person
// on call now is paged, with their contact methods; a person named twice in one level
// (directly and through a schedule) is one target.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "hub/oncall/oncall.h"

namespace reflex::hub::oncall {

// The runner's persisted row (besides the incident it belongs to).
struct EscalationState {
  std::string policy;
  int64_t started_ms = 0;
  int64_t next_step = 0;  // steps already notified
  bool acknowledged = false;
  bool operator==(const EscalationState&) const = default;
};

struct PageTarget {
  enum class Kind { kPerson, kChannel, kNobody };
  Kind kind = Kind::kPerson;
  Person person;         // kPerson
  std::string channel;   // kChannel
  std::string schedule;  // kPerson found through a schedule, or kNobody: the schedule
                         // with nobody on call (so the runner can say so)
};

struct Page {
  int64_t step = 0;
  int64_t level = 0;
  int64_t round = 0;
  int64_t at_ms = 0;  // when it fell due
  std::vector<PageTarget> targets;
};

struct EscalationDecision {
  std::vector<Page> due;              // in step order; may be empty
  int64_t next_step = 0;              // store this with the due pages' outbox rows
  std::optional<int64_t> next_at_ms;  // when to call again; nullopt: nothing more
};

// Steps in a policy: levels * (repeat + 1).
int64_t step_count(const EscalationPolicy& policy);
// When step `step` falls due for a paging started at `started_ms`.
int64_t step_time_ms(const EscalationPolicy& policy, int64_t started_ms, int64_t step);
// The targets of `level`, resolved at `at_ms`.
std::vector<PageTarget> resolve_targets(const OncallConfig& config, const Level& level,
                                        int64_t at_ms);

// The runner's call (see the contract above). Fails ("unknown_policy") when the state's
// policy is not in `config`.
Result<EscalationDecision> escalate(const OncallConfig& config, const EscalationState& state,
                                    int64_t now_ms);

// A preview: the pages of a paging started at `started_ms` that fall due in
// [from_ms, to_ms) if nobody acknowledges, each resolved at its own time.
Result<std::vector<Page>> due_pages(const OncallConfig& config, const std::string& policy,
                                    int64_t started_ms, int64_t from_ms, int64_t to_ms);

}  // namespace reflex::hub::oncall
