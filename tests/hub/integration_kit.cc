#include "tests/hub/integration_kit.h"

#include "hub/outbox/outbox_api.h"
#include "tests/hub/outbox_harness.h"

namespace reflex::hub::testing {
namespace {

OutboxRequest variant(const IntegrationKitCase& c, const std::string& suffix,
                      const std::string& base_url) {
  OutboxRequest r = c.sample_at ? c.sample_at(base_url) : c.sample;
  r.idempotency_key += "/" + suffix;
  return r;
}

void check_no_secret(const IntegrationKitCase& c, const std::string& where,
                     const std::string& text) {
  for (const auto& s : c.secrets) {
    INFO(where << " holds a secret: " << text);
    CHECK(text.find(s) == std::string::npos);
  }
}

void check_rows(const IntegrationKitCase& c, OutboxHarness& h) {
  for (const auto& row : h.rows()) {
    check_no_secret(c, "last_error of row " + std::to_string(row.id), row.last_error);
    check_no_secret(c, "the API's row " + std::to_string(row.id), outbox_row_json(row).dump());
  }
}

}  // namespace

void run_integration_kit(const IntegrationKitCase& c) {
  LogCapture log;
  const RetryPolicy policy{
      .max_attempts = 5, .backoff_base = Millis(1000), .backoff_cap = Millis(60'000)};
  {
    OutboxHarness h(
        [&](Outbox& o) {
          o.add_integration(c.make(c.base_url),
                            {.max_in_flight = 4, .rate_per_key = 0, .burst_per_key = 1});
        },
        policy);

    // A valid call is delivered, in the vendor's shape, and its result kept.
    auto ok = h.enqueue(variant(c, "ok", c.base_url));
    REQUIRE(ok);
    REQUIRE(h.wait_state(ok->id, OutboxState::kDone));
    c.check_request();
    CHECK(h.row(ok->id).attempts == 1);
    CHECK_FALSE(h.row(ok->id).result.is_null());

    // 429 with Retry-After: pending exactly that long.
    c.answer_next(429, {{"Retry-After", "7"}}, "{}");
    auto limited = h.enqueue(variant(c, "429", c.base_url));
    REQUIRE(limited);
    REQUIRE(h.wait_attempt(limited->id, OutboxState::kPending, 1));
    CHECK(h.row(limited->id).next_attempt_ms == h.now_ms() + (c.retry_after ? 7000 : 500));

    // 5xx: pending with backoff (full jitter drawn as 0.5 of the base), even when the
    // answer echoes the credentials back.
    std::string echo = "upstream failed;";
    for (const auto& s : c.secrets) echo += " Authorization: Bearer " + s;
    c.answer_next(503, {}, echo);
    auto unavailable = h.enqueue(variant(c, "503", c.base_url));
    REQUIRE(unavailable);
    REQUIRE(h.wait_attempt(unavailable->id, OutboxState::kPending, 1));
    CHECK(h.row(unavailable->id).next_attempt_ms == h.now_ms() + 500);
    CHECK_FALSE(h.row(unavailable->id).last_error.empty());

    // The permanent status: a dead letter at the first attempt.
    c.answer_next(c.permanent_status, {}, echo);
    auto refused = h.enqueue(variant(c, "permanent", c.base_url));
    REQUIRE(refused);
    REQUIRE(h.wait_state(refused->id, OutboxState::kDead));
    CHECK(h.row(refused->id).attempts == 1);
    check_rows(c, h);
  }
  {
    // Nothing listens: pending, to be tried again.
    const int closed = reflex::testing::reserve_port();
    const std::string nowhere = c.scheme + "://127.0.0.1:" + std::to_string(closed) + "/";
    OutboxHarness h(
        [&](Outbox& o) {
          o.add_integration(c.make(nowhere),
                            {.max_in_flight = 4, .rate_per_key = 0, .burst_per_key = 1});
        },
        policy);
    auto row = h.enqueue(variant(c, "refused", nowhere));
    REQUIRE(row);
    REQUIRE(h.wait_attempt(row->id, OutboxState::kPending, 1));
    CHECK_FALSE(h.row(row->id).last_error.empty());
    check_rows(c, h);
  }
  check_no_secret(c, "the log", log.text());
}

HttpResponse answer(int status, std::string body, HttpHeaders headers) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

OutboxRow outbox_row(std::string integration, std::string operation, nlohmann::json payload) {
  OutboxRow r;
  r.id = 1;
  r.integration = std::move(integration);
  r.operation = std::move(operation);
  r.idempotency_key = "k";
  r.payload = std::move(payload);
  r.attempts = 1;
  return r;
}

}  // namespace reflex::hub::testing
