// Remediation ladders: which rung runs next for one alert episode (rules -> heal).
//
// A rule names an ordered ladder of actions ("restart", then "playbook"). Within one alert
// episode each rung runs at most once, in order; after a rung the agent waits for
// verification. A rung that recovered the rule ends the ladder; one that did not (or whose
// action failed or timed out) lets the next rung run; when the last rung did not help,
// local remediation is exhausted and the hub is told. Pure: the history is kept by
// Guardrails (per episode), this only reads it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace reflex::agent::heal {

// What became of one rung that was started in an episode.
enum class RungOutcome : uint8_t {
  kRunning,       // started; not finished, or finished and awaiting verification
  kFailed,        // the action itself failed or timed out: counts as not recovered
  kRecovered,     // the rule resolved within verify_within
  kNotRecovered,  // it did not
};
const char* rung_outcome_name(RungOutcome o);  // "running", "failed", ...

enum class LadderStepKind : uint8_t {
  kRun,        // run `rung` now
  kAwait,      // `rung` is running or awaiting verification: do nothing yet
  kRecovered,  // `rung` helped: the ladder is done for this episode
  kExhausted,  // every rung ran and none helped: escalate (Remediation kExhausted)
};

struct LadderStep {
  LadderStepKind kind = LadderStepKind::kRun;
  size_t rung = 0;     // 0-based; for kExhausted the last rung (0 for an empty ladder)
  std::string action;  // the rung's action; empty for an empty ladder
};

// The next step for an episode whose rungs 0..history.size()-1 were started, in order,
// with the outcomes in `history`. An empty ladder is exhausted at once (nothing local can
// help); config refuses empty ladders, so that only guards callers. A history longer than
// the ladder (the ladder shrank in a reload) is exhausted.
LadderStep next_step(const std::vector<std::string>& ladder,
                     const std::vector<RungOutcome>& history);

}  // namespace reflex::agent::heal
