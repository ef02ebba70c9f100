// Inhibition as decisions: dependencies with open incidents, and Alertmanager-style
// inhibit rules with equal labels, over indexes fed the way the hub feeds them.
#include <catch2/catch.hpp>

#include "hub/incidents/inhibition.h"

using namespace reflex;
using namespace reflex::hub::incidents;

namespace {

ServiceTopology topology(const ServiceDependencies& deps) {
  auto t = ServiceTopology::build(deps);
  INFO(t.status().to_string());
  REQUIRE(t);
  return std::move(t).value();
}

IncidentRow incident(uint64_t id, const std::string& service, const std::string& env,
                     IncidentStatus status = IncidentStatus::kTriggered) {
  IncidentRow r;
  r.id = id;
  r.service = service;
  r.group_labels = {{"service", service}, {"env", env}};
  r.status = status;
  return r;
}

Changes with(std::vector<IncidentRow> rows) {
  Changes ch;
  ch.incidents = std::move(rows);
  return ch;
}

protocol::Labels labels(const std::string& service, const std::string& env = "prod") {
  return {{"service", service}, {"env", env}};
}

Matchers matchers(const std::string& text) {
  auto m = parse_matchers(text);
  REQUIRE(m);
  return std::move(m).value();
}

// checkout -> payments -> postgres, and checkout -> postgres directly; search stands alone.
const ServiceDependencies kShop{
    {"checkout", {"payments", "postgres"}}, {"payments", {"postgres"}}, {"search", {}}};

}  // namespace

TEST_CASE("a service's dependencies are found transitively, nearest first, each once",
          "[hub][inhibition]") {
  const ServiceTopology t = topology(kShop);
  CHECK(t.dependencies("checkout") == std::vector<std::string>{"payments", "postgres"});
  CHECK(t.dependencies("payments") == std::vector<std::string>{"postgres"});
  CHECK(t.dependencies("postgres").empty());  // a leaf need not be declared
  CHECK(t.dependencies("unknown").empty());
  const ServiceTopology deep = topology({{"a", {"b"}}, {"b", {"c"}}, {"c", {"d"}}});
  CHECK(deep.dependencies("a") == std::vector<std::string>{"b", "c", "d"});
}

TEST_CASE("a dependency cycle is refused and named", "[hub][inhibition]") {
  auto two = ServiceTopology::build({{"a", {"b"}}, {"b", {"a"}}});
  REQUIRE_FALSE(two);
  CHECK(two.status().code() == "dependency_cycle");
  CHECK(two.status().message() == "dependency cycle a -> b -> a");

  auto self = ServiceTopology::build({{"a", {"a"}}});
  REQUIRE_FALSE(self);
  CHECK(self.status().message() == "dependency cycle a -> a");

  // The cycle is shown without the path that led to it.
  auto tail = ServiceTopology::build(
      {{"checkout", {"payments"}}, {"payments", {"ledger"}}, {"ledger", {"payments"}}});
  REQUIRE_FALSE(tail);
  CHECK(tail.status().message() == "dependency cycle payments -> ledger -> payments");

  auto diamond = ServiceTopology::build({{"a", {"b", "c"}}, {"b", {"d"}}, {"c", {"d"}}});
  CHECK(diamond);  // shared dependencies are not cycles
}

TEST_CASE("an open postgres incident inhibits checkout and payments alerts, not unrelated ones",
          "[hub][inhibition]") {
  const ServiceTopology t = topology(kShop);
  const DependencyPolicy policy;
  OpenIncidentIndex open;
  CHECK_FALSE(dependency_incident(t, policy, open, labels("checkout")));

  open.apply(with({incident(7, "postgres", "prod")}));
  CHECK(dependency_incident(t, policy, open, labels("checkout")) == DependencyHit{"postgres", 7});
  CHECK(dependency_incident(t, policy, open, labels("payments")) == DependencyHit{"postgres", 7});
  CHECK_FALSE(dependency_incident(t, policy, open, labels("postgres")));  // its own incident
  CHECK_FALSE(dependency_incident(t, policy, open, labels("search")));
  CHECK_FALSE(dependency_incident(t, policy, open, {{"env", "prod"}}));  // no service label

  // Once postgres's incident resolves, nothing is inhibited any more.
  open.apply(with({incident(7, "postgres", "prod", IncidentStatus::kResolved)}));
  CHECK_FALSE(dependency_incident(t, policy, open, labels("checkout")));
  CHECK(open.of("postgres") == nullptr);
}

TEST_CASE("the dependency furthest down the chain is named when several have incidents",
          "[hub][inhibition]") {
  const ServiceTopology t = topology(kShop);
  OpenIncidentIndex open;
  open.apply(with({incident(3, "payments", "prod"), incident(4, "postgres", "prod")}));
  CHECK(dependency_incident(t, {}, open, labels("checkout")) == DependencyHit{"postgres", 4});
  open.apply(with({incident(4, "postgres", "prod", IncidentStatus::kResolved)}));
  CHECK(dependency_incident(t, {}, open, labels("checkout")) == DependencyHit{"payments", 3});
}

TEST_CASE("a dependency's incident inhibits only alerts of the same env by default",
          "[hub][inhibition]") {
  const ServiceTopology t = topology(kShop);
  OpenIncidentIndex open;
  open.apply(with({incident(7, "postgres", "staging")}));
  CHECK_FALSE(dependency_incident(t, {}, open, labels("checkout", "prod")));
  CHECK(dependency_incident(t, {}, open, labels("checkout", "staging")) ==
        DependencyHit{"postgres", 7});

  // Without env in `equal` the scope is any env.
  DependencyPolicy any;
  any.equal.clear();
  CHECK(dependency_incident(t, any, open, labels("checkout", "prod")) ==
        DependencyHit{"postgres", 7});

  // An incident not grouped by env is not scoped by it.
  OpenIncidentIndex by_service;
  IncidentRow row = incident(9, "postgres", "");
  row.group_labels = {{"service", "postgres"}};
  by_service.apply(with({row}));
  CHECK(dependency_incident(t, {}, by_service, labels("checkout", "prod")) ==
        DependencyHit{"postgres", 9});
}

TEST_CASE("open incidents are restored from an engine snapshot", "[hub][inhibition]") {
  EngineSnapshot snap;
  snap.incidents = {incident(7, "postgres", "prod"),
                    incident(8, "search", "prod", IncidentStatus::kResolved)};
  OpenIncidentIndex open;
  open.restore(snap);
  REQUIRE(open.of("postgres"));
  CHECK(open.of("postgres")->count(7) == 1);
  CHECK(open.of("search") == nullptr);  // resolved, held only for its reopen window
}

TEST_CASE("an inhibit rule mutes targets while a source with equal labels fires",
          "[hub][inhibition]") {
  InhibitIndex index({InhibitRule{"critical-mutes-warning",
                                  matchers(R"(severity="critical")"),
                                  matchers(R"(severity="warning")"),
                                  {"cluster"}}});
  const protocol::Labels warning_eu{{"severity", "warning"}, {"cluster", "eu1"}};
  const protocol::Labels warning_us{{"severity", "warning"}, {"cluster", "us1"}};
  CHECK_FALSE(index.inhibited("w-eu", warning_eu));

  index.on_alert("c-eu", {{"severity", "critical"}, {"cluster", "eu1"}}, true);
  CHECK(index.inhibited("w-eu", warning_eu) ==
        "inhibited by rule critical-mutes-warning (firing source with cluster=\"eu1\")");
  CHECK_FALSE(index.inhibited("w-us", warning_us));  // another cluster
  CHECK_FALSE(index.inhibited("c-eu2", {{"severity", "critical"}, {"cluster", "eu1"}}));

  // Two sources: the target stays inhibited until both resolve.
  index.on_alert("c-eu-2", {{"severity", "critical"}, {"cluster", "eu1"}}, true);
  index.on_alert("c-eu", {{"severity", "critical"}, {"cluster", "eu1"}}, false);
  CHECK(index.inhibited("w-eu", warning_eu));
  // A source resending "firing" is counted once.
  index.on_alert("c-eu-2", {{"severity", "critical"}, {"cluster", "eu1"}}, true);
  index.on_alert("c-eu-2", {{"severity", "critical"}, {"cluster", "eu1"}}, false);
  CHECK_FALSE(index.inhibited("w-eu", warning_eu));
  CHECK(index.counted_sources() == 0);
}

TEST_CASE("a missing equal label is equal only to a missing one, and no rule means no scope",
          "[hub][inhibition]") {
  InhibitIndex index({InhibitRule{"node-down",
                                  matchers(R"(alertname="NodeDown")"),
                                  matchers(R"(alertname!="NodeDown")"),
                                  {"instance"}},
                      InhibitRule{"outage",
                                  matchers(R"(alertname="SiteDown")"),
                                  matchers(R"(severity=~"warning|info")"),
                                  {}}});
  index.on_alert("nd", {{"alertname", "NodeDown"}}, true);  // no instance label
  CHECK(index.inhibited("x", {{"alertname", "DiskFull"}}));
  CHECK_FALSE(index.inhibited("y", {{"alertname", "DiskFull"}, {"instance", "web-1"}}));

  const protocol::Labels z{{"alertname", "Anything"}, {"severity", "info"}, {"instance", "w-9"}};
  CHECK_FALSE(index.inhibited("z", z));
  index.on_alert("down", {{"alertname", "SiteDown"}}, true);
  CHECK(index.inhibited("z", z) == "inhibited by rule outage");
}

TEST_CASE("an alert matching a rule's source and target does not inhibit itself",
          "[hub][inhibition]") {
  InhibitIndex index({InhibitRule{"one-per-cluster",
                                  matchers(R"(alertname="ClusterDegraded")"),
                                  matchers(R"(alertname="ClusterDegraded")"),
                                  {"cluster"}}});
  const protocol::Labels a{{"alertname", "ClusterDegraded"}, {"cluster", "eu1"}};
  index.on_alert("a", a, true);
  CHECK_FALSE(index.inhibited("a", a));
  index.on_alert("b", a, true);
  CHECK(index.inhibited("a", a));  // b inhibits a, and a inhibits b
  CHECK(index.inhibited("b", a));
}

TEST_CASE("inhibit rules follow signals, with alertname and severity as labels",
          "[hub][inhibition]") {
  InhibitIndex index({InhibitRule{"r",
                                  matchers(R"({alertname="PostgresDown", severity="critical"})"),
                                  matchers(R"(severity="warning")"),
                                  {"env"}}});
  AlertSignal source;
  source.fingerprint = "pg";
  source.rule = "PostgresDown";
  source.severity = protocol::Severity::kCritical;
  source.state = protocol::AlertState::kFiring;
  source.labels = {{"env", "prod"}};
  index.observe(source);
  CHECK(index.inhibited("w", {{"severity", "warning"}, {"env", "prod"}}));
  source.state = protocol::AlertState::kResolved;
  index.observe(source);
  CHECK_FALSE(index.inhibited("w", {{"severity", "warning"}, {"env", "prod"}}));
}

TEST_CASE("equal-label values cannot forge another tuple's key", "[hub][inhibition]") {
  InhibitIndex index(
      {InhibitRule{"r", matchers(R"(kind="source")"), matchers(R"(kind="target")"), {"a", "b"}}});
  index.on_alert("s", {{"kind", "source"}, {"a", "x1:"}, {"b", "y"}}, true);
  CHECK_FALSE(index.inhibited("t", {{"kind", "target"}, {"a", "x"}, {"b", "1:y"}}));
  CHECK(index.inhibited("t", {{"kind", "target"}, {"a", "x1:"}, {"b", "y"}}));
}
