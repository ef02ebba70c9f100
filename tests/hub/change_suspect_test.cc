#include "hub/incidents/change_suspect.h"

#include <catch2/catch.hpp>

#include "hub/incidents/engine.h"

using namespace reflex::hub::incidents;
using reflex::protocol::AlertState;
using reflex::protocol::Severity;

namespace {

constexpr int64_t kT0 = 1'767'261'600'000;
constexpr int64_t kMin = 60'000;

Change deploy(const std::string& service, int64_t at, const std::string& version,
              DeployStrategy strategy = DeployStrategy::kRolling,
              std::vector<std::string> hosts = {}) {
  Change c;
  c.service = service;
  c.environment = "prod";
  c.version = version;
  c.at_ms = at;
  c.strategy = strategy;
  c.hosts = std::move(hosts);
  c.author = "alice";
  return c;
}

SuspectQuery incident(const std::string& service, int64_t opened_at) {
  SuspectQuery q;
  q.service = service;
  q.environment = "prod";
  q.opened_at_ms = opened_at;
  return q;
}

AlertSignal errors_on(const std::string& host, int64_t at) {
  AlertSignal s;
  s.source = "agent:" + host;
  s.fingerprint = "fp-" + host;
  s.rule = "HighErrorRate";
  s.state = AlertState::kFiring;
  s.severity = Severity::kHigh;
  s.labels = {{"service", "checkout"}, {"env", "prod"}};
  s.host = host;
  s.at_ms = at;
  return s;
}

}  // namespace

TEST_CASE("A change followed by errors two minutes later is the incident's suspect",
          "[hub][changes]") {
  ChangeLog log;
  Change change = deploy("checkout", kT0, "4.2.1");
  REQUIRE(log.add(change));
  IncidentEngine engine;
  const int64_t errors_at = kT0 + 2 * kMin;
  for (const char* host : {"web-1", "web-2", "web-3"}) {
    REQUIRE(engine.on_signal(errors_on(host, errors_at), errors_at));
  }
  REQUIRE(engine.incident_count() == 1);
  const IncidentRow& row = *engine.incident(1);

  SuspectQuery q = incident(row.service, row.opened_ms);
  q.affected_hosts = {"web-1", "web-2", "web-3"};
  auto suspect = find_suspect(q, log.recent(row.service, {"payments"}, 10));
  REQUIRE(suspect);
  CHECK(suspect->change == change);
  CHECK_FALSE(suspect->on_dependency);
  CHECK(suspect->lead_ms == 2 * kMin);
  CHECK(suspect->summary == "started 2 minutes after deploy 4.2.1 of checkout by alice");
  CHECK(suspect->evidence.empty());  // rolling without a host list: nothing more to say
}

TEST_CASE("A change followed by silence marks nothing", "[hub][changes]") {
  ChangeLog log;
  Change change = deploy("checkout", kT0, "4.2.1");
  REQUIRE(log.add(change));
  IncidentEngine engine;
  (void)engine.tick(kT0 + 60 * kMin);
  CHECK(engine.incident_count() == 0);  // no incident, so no suspect to look for
  // An incident long after the window does not blame the old change either.
  CHECK_FALSE(find_suspect(incident("checkout", kT0 + 31 * kMin), log.recent("checkout", {}, 10)));
}

TEST_CASE("Only changes within the window before the opening are suspects", "[hub][changes]") {
  const std::vector<Change> changes = {deploy("checkout", kT0, "1")};
  CHECK(find_suspect(incident("checkout", kT0), changes));  // at the same instant
  CHECK(find_suspect(incident("checkout", kT0 + 30 * kMin), changes));
  CHECK_FALSE(find_suspect(incident("checkout", kT0 + 30 * kMin + 1), changes));
  CHECK_FALSE(find_suspect(incident("checkout", kT0 - 1), changes));  // change came after
  SuspectPolicy wide;
  wide.window_ms = 120 * kMin;
  auto late = find_suspect(incident("checkout", kT0 + 90 * kMin), changes, wide);
  REQUIRE(late);
  CHECK(late->summary == "started 90 minutes after deploy 1 of checkout by alice");
  auto quick = find_suspect(incident("checkout", kT0 + 45'000), changes);
  REQUIRE(quick);
  CHECK_THAT(quick->summary, Catch::StartsWith("started 45 seconds after deploy 1"));
}

TEST_CASE(
    "Changes to unrelated services or other environments are not suspects, "
    "a dependency's change is, marked as such",
    "[hub][changes]") {
  Change search = deploy("search", kT0 + kMin, "9");
  Change staging = deploy("checkout", kT0 + 2 * kMin, "5");
  staging.environment = "staging";
  Change payments = deploy("payments", kT0, "1.9");
  payments.author = "bob";
  const std::vector<Change> changes = {search, staging, payments};

  SuspectQuery q = incident("checkout", kT0 + 3 * kMin);
  CHECK_FALSE(find_suspect(q, changes));  // payments is no dependency of checkout here
  q.dependencies = {"payments", "postgres"};
  auto s = find_suspect(q, changes);
  REQUIRE(s);
  CHECK(s->change == payments);
  CHECK(s->on_dependency);
  CHECK(s->summary ==
        "started 3 minutes after deploy 1.9 of payments (a dependency of checkout) by bob");

  q.environment.clear();  // an incident without env matches any environment
  CHECK(find_suspect(q, changes)->change == staging);
}

TEST_CASE("The latest change in the window wins, the service's own on a tie", "[hub][changes]") {
  Change older = deploy("checkout", kT0, "1");
  Change newer = deploy("checkout", kT0 + 5 * kMin, "2");
  Change dep_same_time = deploy("payments", kT0 + 5 * kMin, "7");
  SuspectQuery q = incident("checkout", kT0 + 6 * kMin);
  q.dependencies = {"payments"};
  CHECK(find_suspect(q, {older, dep_same_time, newer})->change == newer);
  CHECK(find_suspect(q, {dep_same_time, older})->change == dep_same_time);
}

TEST_CASE("Canary evidence compares the changed hosts with the others", "[hub][changes]") {
  Change canary = deploy("checkout", kT0, "4.2.1", DeployStrategy::kCanary, {"web-1", "web-2"});
  SuspectQuery q = incident("checkout", kT0 + 2 * kMin);
  q.host_stats["web-1"] = {0.10, 800};
  q.host_stats["web-2"] = {0.14, 880};
  for (int i = 3; i <= 12; ++i) {
    q.host_stats["web-" + std::to_string(i)] = {i % 2 ? 0.003 : 0.005, i % 2 ? 110.0 : 130.0};
  }
  q.affected_hosts = {"web-1", "web-2", "web-5"};
  auto s = find_suspect(q, {canary});
  REQUIRE(s);
  CHECK(s->evidence ==
        "error rate 12.0% on the 2 changed hosts vs 0.4% on the 10 others; p99 840ms vs 120ms; "
        "2 of 3 affected hosts changed");
}

TEST_CASE("Canary evidence says which side has no stats", "[hub][changes]") {
  CHECK(compare_canary({"web-1"}, {}) == "no error rate or latency for the changed hosts");
  CHECK(compare_canary({"web-1"}, {{"web-1", {0.5, 900}}}) ==
        "no error rate or latency for the unchanged hosts");
  CHECK(compare_canary({"web-1"}, {{"web-1", {0.5, 900}}, {"web-2", {0, 100}}}) ==
        "error rate 50.0% on the 1 changed host vs 0.0% on the 1 other; p99 900ms vs 100ms");
}

TEST_CASE("Blue-green evidence names the active colour", "[hub][changes]") {
  Change bg = deploy("checkout", kT0, "4.2.1", DeployStrategy::kBlueGreen);
  bg.active_color = "green";
  SuspectQuery q = incident("checkout", kT0 + kMin);
  CHECK(find_suspect(q, {bg})->evidence == "blue-green: green is active");
  bg.active_color.clear();
  CHECK(find_suspect(q, {bg})->evidence == "blue-green: the active colour was not reported");
}

TEST_CASE("Rolling evidence counts the affected hosts that were changed", "[hub][changes]") {
  Change rolling =
      deploy("checkout", kT0, "4.2.1", DeployStrategy::kRolling, {"web-1", "web-2", "web-3"});
  SuspectQuery q = incident("checkout", kT0 + kMin);
  q.affected_hosts = {"web-1", "web-9"};
  CHECK(find_suspect(q, {rolling})->evidence == "1 of 2 affected hosts changed");
  q.affected_hosts = {"web-9"};
  CHECK(find_suspect(q, {rolling})->evidence == "0 of 1 affected host changed");
}

TEST_CASE("A host's stats for an alert come from the samples of the alert's series",
          "[hub][changes]") {
  using reflex::protocol::Sample;
  const reflex::protocol::Metrics m{{
      Sample{"checkout-http.error_rate", {{"path", "/pay"}}, 0.25, "ratio"},
      Sample{"checkout-http.p99", {{"path", "/pay"}}, 840, "ms"},
      Sample{"checkout-http.error_rate", {{"path", "/cart"}}, 0.01, "ratio"},
      Sample{"checkout-http.p99", {{"path", "/cart"}}, 90, "ms"},
      Sample{"checkout-http-slow.error_rate", {{"path", "/pay"}}, 0.9, "ratio"},
      Sample{"checkout-http.count", {{"path", "/pay"}}, 400, ""},
  }};
  // The alert carries its series, the series' labels and the rule's own.
  const auto pay =
      series_stats(m, {{"series", "checkout-http"}, {"path", "/pay"}, {"team", "payments"}});
  REQUIRE(pay);
  CHECK(pay->error_rate == 0.25);
  CHECK(pay->p99_ms == 840);
  const auto cart = series_stats(m, {{"series", "checkout-http"}, {"path", "/cart"}});
  REQUIRE(cart);
  CHECK(cart->error_rate == 0.01);
  CHECK(cart->p99_ms == 90);
  // Another series, no series label, a label set the summary lacks: nothing.
  CHECK_FALSE(series_stats(m, {{"series", "checkout-db"}, {"path", "/pay"}}));
  CHECK_FALSE(series_stats(m, {{"path", "/pay"}}));
  CHECK_FALSE(series_stats(m, {{"series", "checkout-http"}, {"path", "/login"}}));
}
