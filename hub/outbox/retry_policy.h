// When the outbox tries a row again, decided as a pure function of the attempt's outcome,
// the attempts made so far, the policy, `now` and one uniform random number (injected,
// so tests are deterministic).
//
// Backoff is exponential with full jitter: the n-th retry waits a uniformly random time
// in [0, min(cap, base * 2^(n-1))). A vendor's Retry-After overrides it. After
// max_attempts attempts a retryable failure is dead too.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/duration.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_row.h"

namespace reflex::hub {

struct RetryPolicy {
  uint32_t max_attempts = 10;
  Millis backoff_base = Millis(1000);
  Millis backoff_cap = Millis(5 * 60'000);
};

// The full-jitter delay before the retry that follows attempt `attempts` (1-based);
// `random01` in [0, 1).
Millis backoff_delay(const RetryPolicy& policy, uint32_t attempts, double random01);

// The row's state after an attempt (its `attempts` already counts it) ended in
// `outcome`: done with the result; pending with its next attempt time and the error;
// or dead with the error (permanent, or out of attempts).
struct AttemptDecision {
  OutboxState state = OutboxState::kDone;
  int64_t next_attempt_ms = 0;
  std::string error;
  nlohmann::json result;
};
AttemptDecision decide_attempt(const Outcome& outcome, uint32_t attempts, const RetryPolicy& policy,
                               int64_t now_ms, double random01);

}  // namespace reflex::hub
