// The PagerDuty integration: its events (the routing key added at send time only), its
// classification of PagerDuty's answers (a pure function), its idempotency, and the
// shared integration kit against the fake PagerDuty.
#include "hub/integrations/pagerduty.h"

#include <catch2/catch.hpp>

#include "tests/hub/integration_kit.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_pagerduty.h"

using namespace reflex;
using namespace reflex::hub;
using nlohmann::json;

namespace {

using hub::testing::answer;

OutboxRow row(json payload, const std::string& operation = "pagerduty.event") {
  return hub::testing::outbox_row("pagerduty", operation, std::move(payload));
}

const std::string kKey = "0123456789abcdef0123456789abcdef";

PagerDutyIntegration pagerduty() {
  return PagerDutyIntegration(
      {.base_url = "http://127.0.0.1:1", .routing_key = kKey, .timeout = Millis(2000)});
}

const json kTrigger = {
    {"event_action", "trigger"},
    {"dedup_key", "reflex-42"},
    {"payload", {{"summary", "checkout is down"}, {"source", "web-1"}, {"severity", "critical"}}}};

}  // namespace

TEST_CASE("a PagerDuty event is POSTed to v2/enqueue with the routing key added at send time",
          "[pagerduty]") {
  const OutboxRow r = row(kTrigger);
  auto req = pagerduty().prepare(r);
  REQUIRE(req);
  CHECK(req->method == "POST");
  CHECK(req->url == "http://127.0.0.1:1/v2/enqueue");
  CHECK(req->headers ==
        HttpHeaders{{"Content-Type", "application/json"}, {"Accept", "application/json"}});
  json expected = kTrigger;
  expected["routing_key"] = kKey;
  CHECK(json::parse(req->body) == expected);
  CHECK(r.payload.dump().find(kKey) == std::string::npos);
  CHECK(req->timeout == Millis(2000));
  CHECK(pagerduty().secrets() == std::vector<std::string>{kKey});
}

TEST_CASE("a PagerDuty acknowledge or resolve needs only its action and dedup_key", "[pagerduty]") {
  for (const char* action : {"acknowledge", "resolve"}) {
    INFO(action);
    auto req = pagerduty().prepare(row({{"event_action", action}, {"dedup_key", "reflex-42"}}));
    REQUIRE(req);
    CHECK(json::parse(req->body) ==
          json{{"event_action", action}, {"dedup_key", "reflex-42"}, {"routing_key", kKey}});
  }
}

TEST_CASE("a PagerDuty event without a required field is refused naming it", "[pagerduty]") {
  auto p = pagerduty();
  auto check = [&](json payload, const std::string& field,
                   const std::string& op = "pagerduty.event") {
    auto req = p.prepare(row(std::move(payload), op));
    REQUIRE_FALSE(req);
    INFO(req.status().message());
    CHECK(req.status().message().find(field) != std::string::npos);
  };
  check({{"dedup_key", "k"}}, "payload.event_action");
  check({{"event_action", "snooze"}, {"dedup_key", "k"}}, "payload.event_action");
  check({{"event_action", "resolve"}}, "payload.dedup_key");
  check({{"event_action", "trigger"}, {"dedup_key", "k"}}, "payload.payload");
  json t = kTrigger;
  t["payload"].erase("summary");
  check(t, "payload.payload.summary");
  t = kTrigger;
  t["payload"].erase("source");
  check(t, "payload.payload.source");
  t = kTrigger;
  t["payload"]["severity"] = "high";
  check(t, "payload.payload.severity");
  t = kTrigger;
  t["dedup_key"] = std::string(256, 'k');
  check(t, "payload.dedup_key");
  check(kTrigger, "unknown operation", "pagerduty.change");
}

TEST_CASE("a PagerDuty event with a dedup_key may be resent without a duplicate", "[pagerduty]") {
  auto p = pagerduty();
  CHECK(p.idempotent(row(kTrigger)));
  CHECK(p.idempotent(row({{"event_action", "resolve"}, {"dedup_key", "reflex-42"}})));
  json no_key = kTrigger;
  no_key.erase("dedup_key");
  CHECK_FALSE(p.idempotent(row(no_key)));
  CHECK(p.prepare(row(no_key)));  // PagerDuty makes one up; the answer's is kept
}

TEST_CASE("PagerDuty's answers are classified done, retry or permanent", "[pagerduty]") {
  using K = Outcome::Kind;
  auto ok = classify_pagerduty(
      "reflex-42",
      answer(202, R"({"status":"success","message":"Event processed","dedup_key":"reflex-42"})"));
  CHECK(ok.kind == K::kDone);
  CHECK(ok.result == json{{"dedup_key", "reflex-42"}});
  CHECK(classify_pagerduty("", answer(202, R"({"status":"success","dedup_key":"gen-1"})")).result ==
        json{{"dedup_key", "gen-1"}});
  CHECK(classify_pagerduty("reflex-42", answer(202, "")).result ==
        json{{"dedup_key", "reflex-42"}});

  auto invalid = classify_pagerduty(
      "reflex-42", answer(400, R"({"status":"invalid event","message":"Event object is invalid",
                                   "errors":["'payload.summary' is missing or blank"]})"));
  CHECK(invalid.kind == K::kPermanent);
  CHECK(invalid.error ==
        "pagerduty pagerduty.event: HTTP 400: Event object is invalid; 'payload.summary' is "
        "missing or blank");
  CHECK(classify_pagerduty("k", answer(400, R"({"message":"x","errors":["bad routing_key"]})"))
            .error.find("routing_key_file") != std::string::npos);
  auto limited = classify_pagerduty("k", answer(429, ""));
  CHECK(limited.kind == K::kRetry);
  CHECK(limited.retry_after == std::nullopt);
  CHECK(classify_pagerduty("k", answer(429, "", {{"Retry-After", "30"}})).retry_after ==
        Millis(30'000));
  for (int status : {500, 502, 503}) {
    INFO(status);
    CHECK(classify_pagerduty("k", answer(status, "")).kind == K::kRetry);
  }
  HttpResponse refused;
  refused.error = "Connection refused (CURLE_COULDNT_CONNECT)";
  CHECK(classify_pagerduty("k", refused).kind == K::kRetry);
  for (int status : {401, 403, 404, 413}) {
    INFO(status);
    CHECK(classify_pagerduty("k", answer(status, "")).kind == K::kPermanent);
  }
}

TEST_CASE("the PagerDuty routing key is read from routing_key_file or routing_key_env",
          "[pagerduty][config]") {
  reflex::testing::TempDir dir;
  PagerDutyConfig cfg;
  cfg.enabled = true;
  cfg.routing_key_file = dir.write("key", kKey + "\n");
  auto s = pagerduty_settings(cfg);
  REQUIRE(s);
  CHECK(s->routing_key == kKey);
  CHECK(s->base_url == "https://events.pagerduty.com/");
  cfg.routing_key_file.clear();
  cfg.routing_key_env = "REFLEX_TEST_PD_KEY";
  ::unsetenv("REFLEX_TEST_PD_KEY");
  s = pagerduty_settings(cfg);
  REQUIRE_FALSE(s);
  CHECK(s.status().message().find("integrations.pagerduty.routing_key_env") != std::string::npos);
}

TEST_CASE("the PagerDuty integration passes the shared integration kit against the fake",
          "[pagerduty][kit]") {
  reflex::testing::FakePagerDuty fake;
  hub::testing::IntegrationKitCase c;
  c.make = [&](const std::string& base) {
    return std::make_unique<PagerDutyIntegration>(PagerDutySettings{
        .base_url = base, .routing_key = fake.routing_key(), .timeout = Millis(5000)});
  };
  c.base_url = fake.base_url();
  c.secrets = {fake.routing_key()};
  c.sample = {.integration = "pagerduty",
              .operation = "pagerduty.event",
              .idempotency_key = "incident-42/page",
              .incident_id = 42,
              .payload = kTrigger};
  c.answer_next = [&](int status, HttpHeaders headers, std::string body) {
    fake.fail_next(1, {.status = status, .headers = std::move(headers), .body = std::move(body)});
  };
  c.check_request = [&] {
    auto got = fake.received();
    REQUIRE_FALSE(got.empty());
    const auto& last = got.back();
    CHECK(last.request.method == "POST");
    CHECK(last.request.path == "/v2/enqueue");
    CHECK(last.request.header("Authorization").empty());
    CHECK(last.request.body["routing_key"] == fake.routing_key());
    CHECK(last.request.body["dedup_key"] == "reflex-42");
    CHECK(last.status == 202);
    REQUIRE(fake.alerts().size() == 1);
    CHECK(fake.alerts()[0].status == "triggered");
  };
  hub::testing::run_integration_kit(c);
}

TEST_CASE("PagerDuty events through the outbox trigger, merge a resend and resolve one alert",
          "[pagerduty][outbox]") {
  reflex::testing::FakePagerDuty fake;
  hub::testing::OutboxHarness h([&](Outbox& o) {
    o.add_integration(
        std::make_unique<PagerDutyIntegration>(PagerDutySettings{.base_url = fake.base_url(),
                                                                 .routing_key = fake.routing_key(),
                                                                 .timeout = Millis(5000)}),
        {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
  });
  auto send = [&](const std::string& key, json payload) {
    auto r = h.enqueue({.integration = "pagerduty",
                        .operation = "pagerduty.event",
                        .idempotency_key = key,
                        .incident_id = 42,
                        .payload = std::move(payload)});
    REQUIRE(r);
    REQUIRE(h.wait_state(r->id, OutboxState::kDone));
    return h.row(r->id);
  };
  CHECK(send("trigger", kTrigger).result == json{{"dedup_key", "reflex-42"}});
  send("trigger-again", kTrigger);
  const auto resolved = send("resolve", {{"event_action", "resolve"}, {"dedup_key", "reflex-42"}});
  CHECK(resolved.result == json{{"dedup_key", "reflex-42"}});
  auto alerts = fake.alerts();
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].status == "resolved");
  CHECK(alerts[0].events == 3);
  for (const auto& r : h.rows()) {
    CHECK(r.payload.dump().find(fake.routing_key()) == std::string::npos);
  }
}
