#include "hub/incidents/generic_events.h"

#include <catch2/catch.hpp>

#include "hub/incidents/alertmanager_in.h"
#include "hub/incidents/external_labels.h"

using namespace reflex::hub::incidents;
using reflex::protocol::AlertState;
using reflex::protocol::Labels;
using reflex::protocol::Severity;

namespace {

constexpr int64_t kNow = 1'767'261'600'000;  // 2026-01-01T10:00:00Z

std::vector<AlertSignal> signals(std::string_view body, int64_t now = kNow) {
  auto r = parse_generic_events(body, now);
  INFO(r.status().to_string());
  REQUIRE(r);
  return std::move(r).value();
}

std::string error_of(std::string_view body) {
  auto r = parse_generic_events(body, kNow);
  REQUIRE_FALSE(r);
  CHECK(r.status().code() == "bad_request");
  return r.status().message();
}

// CONTRACTS 9b, with a second, resolved alert.
const char* const kWebhook = R"({"version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}",
  "truncatedAlerts": 0, "status": "firing", "receiver": "reflex",
  "groupLabels": {"alertname": "HighLatency"},
  "commonLabels": {"alertname": "HighLatency", "severity": "page"},
  "commonAnnotations": {"summary": "p99 above 1s"}, "externalURL": "http://alertmanager:9093",
  "notificationReason": "new", "routeLabels": {"team": "web"},
  "alerts": [
   {"status": "firing", "labels": {"alertname": "HighLatency", "severity": "page",
                                   "instance": "web-3:8080", "service": "checkout"},
    "annotations": {"summary": "p99 above 1s"}, "startsAt": "2026-01-01T09:55:00Z",
    "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph?g0.expr=z",
    "fingerprint": "a1b2c3d4e5f60718"},
   {"status": "resolved", "labels": {"alertname": "HighLatency", "severity": "page",
                                     "instance": "web-4:8080", "service": "checkout"},
    "annotations": {}, "startsAt": "2026-01-01T09:40:00Z", "endsAt": "2026-01-01T09:58:30Z",
    "generatorURL": ""}]})";

}  // namespace

TEST_CASE("A generic events body becomes signals with the documented defaults", "[hub][external]") {
  auto out = signals(R"({"source": "backup-cron", "alerts": [
    {"name": "BackupFailed", "state": "firing", "severity": "high",
     "labels": {"service": "postgres", "env": "prod", "team": ""},
     "annotations": {"summary": "nightly backup failed"}, "host": "db-1",
     "at": "2026-01-01T03:00:00+01:00"},
    {"name": "BackupSlow", "state": "resolved", "fingerprint": "backup-slow-db-1"}]})");
  REQUIRE(out.size() == 2);
  const AlertSignal& a = out[0];
  CHECK(a.source == "external:backup-cron");
  CHECK(a.rule == "BackupFailed");
  CHECK(a.state == AlertState::kFiring);
  CHECK(a.severity == Severity::kHigh);
  CHECK(a.labels ==
        Labels{{"alertname", "BackupFailed"}, {"env", "prod"}, {"service", "postgres"}});
  CHECK(a.annotations == Labels{{"summary", "nightly backup failed"}});
  CHECK(a.host == "db-1");
  CHECK(a.at_ms == kNow - 8 * 3'600'000);
  CHECK(a.fingerprint == label_set_fingerprint({{"alertname", "BackupFailed"},
                                                {"env", "prod"},
                                                {"service", "postgres"},
                                                {"__source__", "backup-cron"},
                                                {"__host__", "db-1"}}));
  CHECK(validate_signal(a));

  const AlertSignal& b = out[1];
  CHECK(b.state == AlertState::kResolved);
  CHECK(b.severity == Severity::kWarning);
  CHECK(b.fingerprint == "backup-slow-db-1");
  CHECK(b.at_ms == kNow);
  CHECK(b.host.empty());
}

TEST_CASE("Generic identities differ per host and per source and are stable", "[hub][external]") {
  auto fp = [](const char* source, const char* host) {
    std::string body = std::string(R"({"source": ")") + source +
                       R"(", "alerts": [{"name": "Down", "state": "firing", "host": ")" + host +
                       R"("}]})";
    return signals(body)[0].fingerprint;
  };
  CHECK(fp("nagios", "web-1") == fp("nagios", "web-1"));
  CHECK(fp("nagios", "web-1") != fp("nagios", "web-2"));
  CHECK(fp("nagios", "web-1") != fp("zabbix", "web-1"));
}

TEST_CASE("Generic events errors name the alert and the field, and refuse the whole body",
          "[hub][external]") {
  auto body = [](const std::string& third) {
    return R"({"source": "s", "alerts": [{"name": "A", "state": "firing"},
               {"name": "B", "state": "resolved"}, )" +
           third + "]}";
  };
  CHECK(error_of(body(R"({"name": "C", "state": "ok"})")) ==
        "alerts[2].state: expected firing or resolved, got 'ok'");
  CHECK(error_of(body(R"({"state": "firing"})")) == "alerts[2].name: required");
  CHECK(error_of(body(R"({"name": "", "state": "firing"})")) ==
        "alerts[2].name: must not be empty");
  CHECK(error_of(body(R"({"name": "C", "state": 1})")) ==
        "alerts[2].state: expected a string, got number");
  CHECK(error_of(body(R"({"name": "C", "state": "firing", "severity": "urgent"})")) ==
        "alerts[2].severity: unknown severity 'urgent' (expected info, warning, high or critical)");
  CHECK(error_of(body(R"({"name": "C", "state": "firing", "sevrity": "high"})")) ==
        "alerts[2].sevrity: unknown field (expected name, state, severity, labels, annotations, "
        "host, at, fingerprint)");
  CHECK(error_of(body(R"({"name": "C", "state": "firing", "labels": {"a-b": "x"}})")) ==
        "alerts[2].labels.a-b: not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)");
  CHECK(error_of(body(R"({"name": "C", "state": "firing", "labels": {"__host__": "x"}})")) ==
        "alerts[2].labels.__host__: names starting with __ are reserved");
  CHECK(error_of(body(R"({"name": "C", "state": "firing", "labels": {"n": 3}})")) ==
        "alerts[2].labels.n: expected a string, got number");
  CHECK(error_of(body(R"({"name": "C", "state": "firing", "labels": {"alertname": "D"}})")) ==
        "alerts[2].labels.alertname: differs from name 'C'");
  CHECK_THAT(error_of(body(R"({"name": "C", "state": "firing", "at": "noon"})")),
             Catch::StartsWith("alerts[2].at: \"noon\" is not an RFC 3339 date-time"));
  CHECK(error_of(body(R"({"name": "C", "state": "firing", "fingerprint": ""})")) ==
        "alerts[2].fingerprint: must be 1 to 128 printable characters");
  CHECK(error_of(body("[]")) == "alerts[2]: expected an object, got array");

  CHECK(error_of(R"({"alerts": [{"name": "A", "state": "firing"}]})") == "source: required");
  CHECK(error_of(R"({"source": "a b", "alerts": []})") ==
        "source: 'a b' must be 1 to 64 of [A-Za-z0-9_.-], starting with a letter or digit");
  CHECK(error_of(R"({"source": "s"})") == "alerts: required");
  CHECK(error_of(R"({"source": "s", "alerts": []})") == "alerts: must not be empty");
  CHECK(error_of(R"({"source": "s", "alerts": {}})") == "alerts: expected an array, got object");
  CHECK(error_of(R"({"source": "s", "alerts": [], "x": 1})") ==
        "x: unknown field (expected source, alerts)");
  CHECK(error_of(R"([1])") == "body: expected an object, got array");
  CHECK_THAT(error_of(R"({"source": )"), Catch::StartsWith("body: not valid JSON"));
}

TEST_CASE("An Alertmanager webhook payload becomes signals with its fingerprints and statuses",
          "[hub][external]") {
  auto r = parse_alertmanager_webhook(kWebhook, kNow);
  INFO(r.status().to_string());
  REQUIRE(r);
  REQUIRE(r->size() == 2);
  const AlertSignal& firing = (*r)[0];
  CHECK(firing.source == "external:alertmanager");
  CHECK(firing.fingerprint == "a1b2c3d4e5f60718");
  CHECK(firing.state == AlertState::kFiring);
  CHECK(firing.at_ms == kNow - 5 * 60'000);  // startsAt; the zero endsAt means "not set"
  CHECK(firing.rule == "HighLatency");
  CHECK(firing.severity == Severity::kCritical);  // "page"
  CHECK(firing.host == "web-3");
  CHECK(firing.annotations.at("generatorURL") == "http://prometheus/graph?g0.expr=z");
  CHECK(validate_signal(firing));

  const AlertSignal& done = (*r)[1];
  CHECK(done.state == AlertState::kResolved);
  CHECK(done.at_ms == kNow - 90'000);  // endsAt
  // No fingerprint in the payload: computed as Alertmanager does, so it matches the same
  // alert posted to /api/v2/alerts.
  auto posted = parse_postable_alerts(
      R"([{"labels": {"alertname": "HighLatency", "severity": "page", "instance": "web-4:8080",
                      "service": "checkout"}}])",
      kNow);
  REQUIRE(posted);
  CHECK(done.fingerprint == posted->accepted.at(0).signal.fingerprint);
  CHECK(done.annotations.empty());
}

TEST_CASE("Webhook payload errors name the alert and the field", "[hub][external]") {
  auto error = [](std::string_view body) {
    auto r = parse_alertmanager_webhook(body, kNow);
    REQUIRE_FALSE(r);
    CHECK(r.status().code() == "bad_request");
    return r.status().message();
  };
  CHECK(error(R"({"version": "4"})") == "alerts: required");
  CHECK(error(R"({"alerts": [{"status": "firing", "labels": {"a": "1"}},
                             {"status": "pending", "labels": {"a": "2"}}]})") ==
        "alerts[1].status: expected firing or resolved, got 'pending'");
  CHECK(error(R"({"alerts": [{"labels": {"a": "1"}}]})") == "alerts[0].status: required");
  CHECK(error(R"({"alerts": [{"status": "firing"}]})") == "alerts[0].labels: required");
  CHECK(error(R"({"alerts": [{"status": "firing", "labels": {"a": ""}}]})") ==
        "alerts[0].labels: at least one label required");
  CHECK_THAT(error(R"({"alerts": [{"status": "firing", "labels": {"a": "1"},
                                   "startsAt": "2026-02-30T00:00:00Z"}]})"),
             Catch::StartsWith("alerts[0].startsAt: \"2026-02-30T00:00:00Z\" is not an RFC 3339 "
                               "date-time (day out of range)"));
}

TEST_CASE("One events endpoint tells an Alertmanager webhook from a generic body",
          "[hub][external]") {
  auto webhook = parse_events_body(kWebhook, kNow);
  REQUIRE(webhook);
  CHECK(webhook->at(0).fingerprint == "a1b2c3d4e5f60718");
  auto generic =
      parse_events_body(R"({"source": "s", "alerts": [{"name": "A", "state": "firing"}]})", kNow);
  REQUIRE(generic);
  CHECK(generic->at(0).source == "external:s");
  auto bad = parse_events_body(R"({"source": "s", "groupkey": 1, "alerts": []})", kNow);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.status().message(), Catch::StartsWith("groupkey: unknown field"));
}
