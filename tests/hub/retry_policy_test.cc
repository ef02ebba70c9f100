// The outbox's pure decisions: backoff with full jitter, the verdict after an attempt,
// the per-key token buckets and the scrubbing of secrets.
#include <catch2/catch.hpp>

#include "hub/outbox/rate_limit.h"
#include "hub/outbox/retry_policy.h"

using namespace reflex;
using namespace reflex::hub;

namespace {
const RetryPolicy kPolicy{
    .max_attempts = 4, .backoff_base = Millis(1000), .backoff_cap = Millis(5000)};
}

TEST_CASE("backoff doubles per attempt up to the cap and the jitter picks a point below it",
          "[outbox][retry]") {
  CHECK(backoff_delay(kPolicy, 1, 0.999).count() == 999);
  CHECK(backoff_delay(kPolicy, 2, 0.5).count() == 1000);
  CHECK(backoff_delay(kPolicy, 3, 0.5).count() == 2000);
  CHECK(backoff_delay(kPolicy, 4, 0.5).count() == 2500);   // capped at 5 s
  CHECK(backoff_delay(kPolicy, 60, 0.5).count() == 2500);  // no overflow
  CHECK(backoff_delay(kPolicy, 3, 0.0).count() == 0);      // full jitter reaches zero
}

TEST_CASE("a retryable failure is pending until max attempts and then a dead letter",
          "[outbox][retry]") {
  const auto retry = Outcome::retry("slack chat.postMessage: HTTP 503");
  auto d = decide_attempt(retry, 1, kPolicy, 10'000, 0.5);
  CHECK(d.state == OutboxState::kPending);
  CHECK(d.next_attempt_ms == 10'500);
  CHECK(d.error == "slack chat.postMessage: HTTP 503");
  d = decide_attempt(retry, 4, kPolicy, 10'000, 0.5);
  CHECK(d.state == OutboxState::kDead);
  CHECK(d.error == "slack chat.postMessage: HTTP 503 (gave up after 4 attempts)");
}

TEST_CASE("a vendor's Retry-After replaces the backoff", "[outbox][retry]") {
  auto d = decide_attempt(Outcome::retry("429", Millis(30'000)), 1, kPolicy, 10'000, 0.9);
  CHECK(d.state == OutboxState::kPending);
  CHECK(d.next_attempt_ms == 40'000);
}

TEST_CASE("a permanent failure is dead at once and a success keeps its result", "[outbox][retry]") {
  auto dead = decide_attempt(Outcome::permanent("channel_not_found"), 1, kPolicy, 5, 0.5);
  CHECK(dead.state == OutboxState::kDead);
  CHECK(dead.error == "channel_not_found");
  auto done = decide_attempt(Outcome::done({{"ts", "1.2"}}), 3, kPolicy, 5, 0.5);
  CHECK(done.state == OutboxState::kDone);
  CHECK(done.result == nlohmann::json{{"ts", "1.2"}});
  CHECK(done.error.empty());
}

TEST_CASE("each key has its own bucket that refills at the rate up to the burst",
          "[outbox][rate]") {
  KeyedTokenBuckets b(1.0, 2.0);
  CHECK(b.take("C1", 0));
  CHECK(b.take("C1", 0));
  CHECK_FALSE(b.take("C1", 0));
  CHECK(b.next_token_ms("C1", 0) == 1000);
  CHECK(b.take("C2", 0));  // another channel is not held back
  CHECK_FALSE(b.take("C1", 999));
  CHECK(b.take("C1", 1000));
  CHECK(b.take("C1", 5000));
  CHECK(b.take("C1", 5000));  // refilled to the burst, not beyond
  CHECK_FALSE(b.take("C1", 5000));
}

TEST_CASE("a bucket without a rate never refuses", "[outbox][rate]") {
  KeyedTokenBuckets b(0, 1);
  for (int i = 0; i < 100; ++i) CHECK(b.take("C1", 0));
}

TEST_CASE("redact replaces every occurrence of every secret", "[outbox]") {
  CHECK(redact("Bearer xoxb-1 and xoxb-1 again, key k2", {"xoxb-1", "k2", ""}) ==
        "Bearer [redacted] and [redacted] again, key [redacted]");
}
