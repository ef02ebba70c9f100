// The fake PagerDuty enforces the Events API v2 contract: the routing key in the body,
// the event's required fields with PagerDuty's 400 shape, and dedup semantics.
#include "tests/support/fake_pagerduty.h"

#include <httplib.h>

#include <catch2/catch.hpp>

using nlohmann::json;
using reflex::testing::FakePagerDuty;

namespace {

struct Call {
  int status = 0;
  json body;
};

Call call(FakePagerDuty& fake, json event, bool add_key = true) {
  if (add_key) event["routing_key"] = fake.routing_key();
  httplib::Client c("127.0.0.1", fake.port());
  auto res = c.Post("/v2/enqueue", event.dump(), "application/json");
  if (!res) return {};
  return {res->status, json::parse(res->body, nullptr, false)};
}

json trigger(const std::string& key) {
  return {{"event_action", "trigger"},
          {"dedup_key", key},
          {"payload", {{"summary", "down"}, {"source", "web-1"}, {"severity", "error"}}}};
}

}  // namespace

TEST_CASE("the fake PagerDuty refuses a bad routing key or event with PagerDuty's 400 shape",
          "[fake-pagerduty]") {
  FakePagerDuty fake;
  auto no_key = call(fake, trigger("a"), false);
  CHECK(no_key.status == 400);
  CHECK(no_key.body["status"] == "invalid event");
  CHECK(no_key.body["message"] == "Event object is invalid");
  CHECK(no_key.body["errors"].size() == 1);
  json short_key = trigger("a");
  short_key["routing_key"] = "short";
  CHECK(call(fake, short_key, false).status == 400);
  json bad = trigger("a");
  bad["payload"].erase("summary");
  bad["payload"]["severity"] = "sev1";
  auto refused = call(fake, bad);
  CHECK(refused.status == 400);
  CHECK(refused.body["errors"].size() == 2);
  CHECK(call(fake, {{"event_action", "resolve"}}).status == 400);
  CHECK(call(fake, {{"event_action", "page"}, {"dedup_key", "a"}}).status == 400);
  CHECK(fake.alerts().empty());
}

TEST_CASE("the fake PagerDuty merges by dedup_key and opens a new alert after a resolve",
          "[fake-pagerduty]") {
  FakePagerDuty fake;
  auto first = call(fake, trigger("reflex-1"));
  CHECK(first.status == 202);
  CHECK(first.body ==
        json{{"status", "success"}, {"message", "Event processed"}, {"dedup_key", "reflex-1"}});
  CHECK(call(fake, trigger("reflex-1")).status == 202);
  CHECK(fake.alerts().size() == 1);
  CHECK(call(fake, {{"event_action", "acknowledge"}, {"dedup_key", "reflex-1"}}).status == 202);
  CHECK(fake.alerts()[0].status == "acknowledged");
  CHECK(call(fake, {{"event_action", "resolve"}, {"dedup_key", "reflex-1"}}).status == 202);
  CHECK(call(fake, {{"event_action", "resolve"}, {"dedup_key", "unknown"}}).status == 202);
  CHECK(call(fake, trigger("reflex-1")).status == 202);
  auto alerts = fake.alerts();
  REQUIRE(alerts.size() == 2);
  CHECK(alerts[0].status == "resolved");
  CHECK(alerts[0].events == 4);
  CHECK(alerts[1].status == "triggered");
  json generated = trigger("x");
  generated.erase("dedup_key");
  auto made_up = call(fake, generated);
  CHECK(made_up.status == 202);
  CHECK(made_up.body["dedup_key"].get<std::string>().size() == 32);
}

TEST_CASE("the fake PagerDuty can be told to throttle, and go down and come back",
          "[fake-pagerduty]") {
  FakePagerDuty fake;
  fake.fail_next(1, {.status = 429, .headers = {}, .body = R"({"status":"throttle"})"});
  CHECK(call(fake, trigger("a")).status == 429);
  fake.down();
  CHECK(call(fake, trigger("a")).status == 0);
  fake.up();
  CHECK(call(fake, trigger("a")).status == 202);
  CHECK(fake.received().size() == 2);
}
