#include "hub/outbox/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace reflex::hub {

Millis backoff_delay(const RetryPolicy& policy, uint32_t attempts, double random01) {
  const double base = static_cast<double>(policy.backoff_base.count());
  const double cap = static_cast<double>(policy.backoff_cap.count());
  const uint32_t exponent = attempts == 0 ? 0 : std::min<uint32_t>(attempts - 1, 62);
  const double ceiling = std::min(cap, base * std::ldexp(1.0, static_cast<int>(exponent)));
  const double r = std::clamp(random01, 0.0, 1.0);
  return Millis(static_cast<int64_t>(ceiling * r));
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    for (size_t at = text.find(s); at != std::string::npos; at = text.find(s, at)) {
      text.replace(at, s.size(), "[redacted]");
      at += 10;
    }
  }
  return text;
}

AttemptDecision decide_attempt(const Outcome& outcome, uint32_t attempts, const RetryPolicy& policy,
                               int64_t now_ms, double random01) {
  switch (outcome.kind) {
    case Outcome::Kind::kDone:
      return {.state = OutboxState::kDone,
              .next_attempt_ms = now_ms,
              .error = "",
              .result = outcome.result};
    case Outcome::Kind::kPermanent:
      return {.state = OutboxState::kDead,
              .next_attempt_ms = now_ms,
              .error = outcome.error,
              .result = nullptr};
    case Outcome::Kind::kRetry:
      break;
  }
  if (attempts >= policy.max_attempts) {
    return {.state = OutboxState::kDead,
            .next_attempt_ms = now_ms,
            .error = outcome.error + " (gave up after " + std::to_string(attempts) + " attempts)",
            .result = nullptr};
  }
  const Millis wait = outcome.retry_after ? std::max(Millis(0), *outcome.retry_after)
                                          : backoff_delay(policy, attempts, random01);
  return {.state = OutboxState::kPending,
          .next_attempt_ms = now_ms + wait.count(),
          .error = outcome.error,
          .result = nullptr};
}

}  // namespace reflex::hub
