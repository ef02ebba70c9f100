#include "hub/incidents/alertmanager_in.h"

#include <httplib.h>
#include <catch2/catch.hpp>

#include <mutex>
#include <nlohmann/json.hpp>

#include "hub/incidents/external_labels.h"
#include "tests/support/http_test_server.h"

using namespace reflex::hub::incidents;
using reflex::protocol::AlertState;
using reflex::protocol::Severity;
using Json = nlohmann::json;

namespace {

constexpr int64_t kNow = 1'767'261'600'000;  // 2026-01-01T10:00:00Z
constexpr int64_t kMin = 60'000;

// What Prometheus' notifier posts (Go's encoding/json of []*notifier.Alert): a firing
// alert whose endsAt lies ahead (eval time + 4 x resend delay), a firing alert from
// another host, and a resolved one still being re-sent with its past endsAt.
const char* const kPrometheusBatch = R"([
  {"labels": {"alertname": "HighErrorRate", "env": "prod", "instance": "web-1:9100",
              "job": "node", "service": "checkout", "severity": "critical"},
   "annotations": {"summary": "5xx above 5% on web-1"},
   "startsAt": "2026-01-01T09:58:00.123456789Z",
   "endsAt": "2026-01-01T10:04:00.123456789Z",
   "generatorURL": "http://prometheus:9090/graph?g0.expr=rate%28errors%5B5m%5D%29&g0.tab=1"},
  {"labels": {"alertname": "HighErrorRate", "env": "prod", "instance": "web-2:9100",
              "job": "node", "service": "checkout", "severity": "critical"},
   "annotations": {"summary": "5xx above 5% on web-2"},
   "startsAt": "2026-01-01T09:59:00Z",
   "endsAt": "2026-01-01T10:04:00Z",
   "generatorURL": "http://prometheus:9090/graph?g0.expr=x"},
  {"labels": {"alertname": "DiskFull", "instance": "db-1:9100", "job": "node",
              "service": "postgres", "severity": "warning"},
   "annotations": {"summary": "disk 95% full"},
   "startsAt": "2026-01-01T09:00:00Z",
   "endsAt": "2026-01-01T09:50:00Z",
   "generatorURL": "http://prometheus:9090/graph?g0.expr=y"}
])";

PostedAlerts posted(std::string_view body, int64_t now = kNow,
                    const AlertmanagerInOptions& options = {}) {
  auto r = parse_postable_alerts(body, now, options);
  INFO(r.status().to_string());
  REQUIRE(r);
  return std::move(r).value();
}

ExternalAlert only(std::string_view body, int64_t now = kNow,
                   const AlertmanagerInOptions& options = {}) {
  PostedAlerts p = posted(body, now, options);
  INFO(post_alerts_reply(p).body);
  REQUIRE(p.errors.empty());
  REQUIRE(p.accepted.size() == 1);
  return p.accepted[0];
}

Json reply_json(const AlertmanagerReply& reply) {
  return Json::parse(reply.body);
}

}  // namespace

TEST_CASE("A Prometheus batch becomes firing and resolved signals with Alertmanager's identity",
          "[hub][external]") {
  PostedAlerts p = posted(kPrometheusBatch);
  REQUIRE(p.errors.empty());
  REQUIRE(p.accepted.size() == 3);

  const ExternalAlert& web1 = p.accepted[0];
  const AlertSignal& s = web1.signal;
  CHECK(s.source == "external:alertmanager");
  CHECK(s.fingerprint == label_set_fingerprint(s.labels));
  CHECK(s.fingerprint.size() == 16);
  CHECK(s.rule == "HighErrorRate");
  CHECK(s.state == AlertState::kFiring);
  CHECK(s.severity == Severity::kCritical);
  CHECK(s.host == "web-1");
  CHECK(s.labels.at("service") == "checkout");
  CHECK(s.labels.at("instance") == "web-1:9100");
  CHECK(s.annotations.at("summary") == "5xx above 5% on web-1");
  CHECK(s.annotations.at("generatorURL") ==
        "http://prometheus:9090/graph?g0.expr=rate%28errors%5B5m%5D%29&g0.tab=1");
  CHECK(s.at_ms == kNow - 2 * kMin + 123);  // firing: dated at startsAt
  CHECK(web1.starts_at_ms == kNow - 2 * kMin + 123);
  CHECK(web1.ends_at_ms == kNow + 4 * kMin + 123);
  CHECK_FALSE(web1.timeout);
  CHECK(validate_signal(s));

  CHECK(p.accepted[1].signal.host == "web-2");
  CHECK(p.accepted[1].signal.fingerprint != s.fingerprint);

  const ExternalAlert& disk = p.accepted[2];
  CHECK(disk.signal.state == AlertState::kResolved);
  CHECK(disk.signal.at_ms == kNow - 10 * kMin);  // resolved: dated at endsAt
  CHECK(disk.signal.severity == Severity::kWarning);
  CHECK(disk.signal.rule == "DiskFull");

  CHECK(post_alerts_reply(p) == AlertmanagerReply{200, "", ""});
}

TEST_CASE(
    "Prometheus posting over HTTP gets 200, and a partly bad batch 400 with the good part kept",
    "[hub][external]") {
  // The route as the hub should wire it: parse, store the accepted, answer.
  std::mutex mu;
  std::vector<ExternalAlert> stored;
  reflex::testing::HttpTestServer server([&](httplib::Server& svr) {
    svr.Post("/api/v2/alerts", [&](const httplib::Request& req, httplib::Response& res) {
      auto parsed = parse_postable_alerts(req.body, kNow);
      AlertmanagerReply reply =
          parsed ? post_alerts_reply(*parsed) : openapi_error_reply(parsed.status());
      if (parsed) {
        std::lock_guard lock(mu);
        for (const auto& a : parsed->accepted) stored.push_back(a);
      }
      res.status = reply.status;
      if (!reply.body.empty()) res.set_content(reply.body, reply.content_type);
    });
  });
  httplib::Client client("127.0.0.1", server.port());
  const httplib::Headers prometheus = {{"User-Agent", "Prometheus/2.53.0"}};

  auto ok = client.Post("/api/v2/alerts", prometheus, kPrometheusBatch, "application/json");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body.empty());
  {
    std::lock_guard lock(mu);
    CHECK(stored.size() == 3);
  }

  const char* mixed = R"([{"labels": {"alertname": "A"}},
                          {"labels": {"alertname": "B"}, "startsAt": "2026-01-01T10:00:00Z",
                           "endsAt": "2026-01-01T09:00:00Z"}])";
  auto partial =
      client.Post("/api/v2/alerts", {{"User-Agent", "curl/8.0"}}, mixed, "application/json");
  REQUIRE(partial);
  CHECK(partial->status == 400);
  CHECK(Json::parse(partial->body) == "alerts[1]: start time must be before end time");
  {
    std::lock_guard lock(mu);
    REQUIRE(stored.size() == 4);
    CHECK(stored.back().signal.rule == "A");
  }

  auto missing = client.Post("/api/v2/alerts", prometheus, "", "application/json");
  REQUIRE(missing);
  CHECK(missing->status == 422);
  CHECK(Json::parse(missing->body) ==
        Json{{"code", 602}, {"message", "alerts in body is required"}});
}

TEST_CASE("A missing startsAt takes endsAt, and a missing endsAt is now plus resolve_timeout",
          "[hub][external]") {
  SECTION("startsAt missing, endsAt ahead: starts at endsAt") {
    ExternalAlert a = only(R"([{"labels": {"a": "1"}, "endsAt": "2026-01-01T10:03:00Z"}])");
    CHECK(a.starts_at_ms == kNow + 3 * kMin);
    CHECK(a.ends_at_ms == kNow + 3 * kMin);
    CHECK(a.signal.state == AlertState::kFiring);
    CHECK_FALSE(a.timeout);
  }
  SECTION("endsAt missing: now + 5m by default, marked as a timeout end") {
    ExternalAlert a = only(R"([{"labels": {"a": "1"}, "startsAt": "2026-01-01T09:30:00Z"}])");
    CHECK(a.starts_at_ms == kNow - 30 * kMin);
    CHECK(a.ends_at_ms == kNow + 5 * kMin);
    CHECK(a.timeout);
    CHECK(a.signal.state == AlertState::kFiring);
    CHECK(a.signal.at_ms == kNow - 30 * kMin);
  }
  SECTION("both missing: starts now and ends after the configured resolve_timeout") {
    AlertmanagerInOptions options;
    options.resolve_timeout_ms = 2 * kMin;
    options.source = "external:prom-eu";
    ExternalAlert a = only(R"([{"labels": {"a": "1"}}])", kNow, options);
    CHECK(a.starts_at_ms == kNow);
    CHECK(a.ends_at_ms == kNow + 2 * kMin);
    CHECK(a.timeout);
    CHECK(a.signal.source == "external:prom-eu");
  }
  SECTION("Go's zero time, null and \"\" count as not set") {
    ExternalAlert a = only(R"([{"labels": {"a": "1"}, "startsAt": "0001-01-01T00:00:00Z",
                                 "endsAt": null}])");
    CHECK(a.starts_at_ms == kNow);
    CHECK(a.timeout);
    ExternalAlert b = only(R"([{"labels": {"a": "1"}, "startsAt": "", "endsAt": ""}])");
    CHECK(b.starts_at_ms == kNow);
    CHECK(b.timeout);
  }
  SECTION("an endsAt at or before now resolves the alert as of endsAt") {
    ExternalAlert at_now = only(R"([{"labels": {"a": "1"}, "endsAt": "2026-01-01T10:00:00Z"}])");
    CHECK(at_now.signal.state == AlertState::kResolved);
    CHECK(at_now.signal.at_ms == kNow);
    ExternalAlert past = only(R"([{"labels": {"a": "1"}, "startsAt": "2026-01-01T09:00:00+01:00",
                  "endsAt": "2026-01-01T09:59:59.999Z"}])");
    CHECK(past.starts_at_ms == kNow - 120 * kMin);
    CHECK(past.signal.state == AlertState::kResolved);
    CHECK(past.signal.at_ms == kNow - 1);
  }
}

TEST_CASE("Invalid alerts are refused one by one and the valid ones in the batch are accepted",
          "[hub][external]") {
  PostedAlerts p = posted(R"([
    {"labels": {"alertname": "Good1"}},
    {"labels": {"alertname": "Backwards"}, "startsAt": "2026-01-01T10:00:00Z",
     "endsAt": "2026-01-01T09:59:00Z"},
    {"labels": {"alertname": ""}},
    {"labels": {"alertname": "X", "1x": "y"}},
    {"labels": {"alertname": "Y"}, "annotations": {"bad-name": "z"}},
    {"labels": {"alertname": "Old"}, "startsAt": "1969-12-31T23:00:00Z",
     "endsAt": "1970-01-01T00:00:00Z"},
    {"labels": {}},
    {"labels": {"alertname": "Good2"}}
  ])");
  REQUIRE(p.accepted.size() == 2);
  CHECK(p.accepted[0].signal.rule == "Good1");
  CHECK(p.accepted[1].signal.rule == "Good2");
  AlertmanagerReply reply = post_alerts_reply(p);
  CHECK(reply.status == 400);
  CHECK(reply.content_type == "application/json");
  CHECK(reply_json(reply) ==
        "alerts[1]: start time must be before end time; "
        "alerts[2]: at least one label pair required; "
        "alerts[3]: invalid label set: invalid name \"1x\"; "
        "alerts[4]: invalid annotations: invalid name \"bad-name\"; "
        "alerts[5]: start time before 1970 is not supported; "
        "alerts[6]: at least one label pair required");
}

TEST_CASE("Labels with empty values are dropped before the identity is taken", "[hub][external]") {
  ExternalAlert a =
      only(R"([{"labels": {"alertname": "A", "team": "", "owner": null, "env": "prod"}}])");
  CHECK(a.signal.labels == reflex::protocol::Labels{{"alertname", "A"}, {"env", "prod"}});
  CHECK(a.signal.fingerprint ==
        only(R"([{"labels": {"env": "prod", "alertname": "A"}}])").signal.fingerprint);
}

TEST_CASE("A missing body or an alert without labels is 422 and nothing is accepted",
          "[hub][external]") {
  struct Case {
    const char* body;
    const char* message;
  } const cases[] = {
      {"", "alerts in body is required"},
      {" \n", "alerts in body is required"},
      {R"([{"labels": {"a": "1"}}, {"annotations": {"x": "y"}}])", "1.labels in body is required"},
      {R"([{"labels": null}])", "0.labels in body is required"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = parse_postable_alerts(c.body, kNow);
    REQUIRE_FALSE(r);
    AlertmanagerReply reply = openapi_error_reply(r.status());
    CHECK(reply.status == 422);
    CHECK(reply_json(reply) == Json{{"code", 602}, {"message", c.message}});
  }
}

TEST_CASE("Malformed JSON, a wrong type or a bad date is 400 with an error object, nothing kept",
          "[hub][external]") {
  struct Case {
    const char* body;
    const char* detail;  // what the message says after the OpenAPI prefix
  } const cases[] = {
      {R"([{"labels": {"a": "1"}}, {"labels": )", "body: not valid JSON"},
      {R"({"labels": {"a": "1"}})", "body: expected an array of alerts, got object"},
      {R"([{"labels": {"a": "1"}}, 7])", "alerts[1]: expected an object, got number"},
      {R"([{"labels": {"a": 1}}])", "alerts[0].labels.a: expected a string, got number"},
      {R"([{"labels": ["a"]}])", "alerts[0].labels: expected an object, got array"},
      {R"([{"labels": {"a": "1"}, "annotations": {"s": true}}])",
       "alerts[0].annotations.s: expected a string, got boolean"},
      {R"([{"labels": {"a": "1"}, "startsAt": "yesterday"}])",
       "alerts[0].startsAt: \"yesterday\" is not an RFC 3339 date-time"},
      {R"([{"labels": {"a": "1"}, "endsAt": 1767261600}])",
       "alerts[0].endsAt: expected a string, got number"},
      {R"([{"labels": {"a": "1"}, "generatorURL": {}}])",
       "alerts[0].generatorURL: expected a string, got object"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = parse_postable_alerts(c.body, kNow);
    REQUIRE_FALSE(r);
    AlertmanagerReply reply = openapi_error_reply(r.status());
    CHECK(reply.status == 400);
    Json j = reply_json(reply);
    CHECK(j["code"] == 400);
    const std::string message = j["message"];
    CHECK_THAT(message, Catch::StartsWith("parsing alerts body from \"\" failed, because ") &&
                            Catch::Contains(c.detail));
  }
}

TEST_CASE("Fields Alertmanager does not know are ignored, at every level", "[hub][external]") {
  ExternalAlert a = only(R"([{"labels": {"alertname": "A"}, "status": {"state": "active"},
                              "fingerprint": "ffffffffffffffff", "receivers": [{"name": "x"}],
                              "updatedAt": "2026-01-01T10:00:00Z", "extra": null}])");
  CHECK(a.signal.fingerprint == label_set_fingerprint({{"alertname", "A"}}));
  CHECK(a.signal.state == AlertState::kFiring);
  PostedAlerts empty = posted("[]");
  CHECK(empty.accepted.empty());
  CHECK(post_alerts_reply(empty).status == 200);
}

TEST_CASE("A store failure is answered 500 with a JSON string", "[hub][external]") {
  AlertmanagerReply reply = internal_error_reply("disk full");
  CHECK(reply.status == 500);
  CHECK(reply_json(reply) == "disk full");
}
