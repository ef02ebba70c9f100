// The suppression stage wired into a real incident engine through its hook: suppressed
// signals are recorded with their reason and notify nobody; others notify as before.
#include <catch2/catch.hpp>

#include "hub/incidents/suppression.h"
#include "tests/hub/incident_fixtures.h"

using namespace reflex;
using namespace reflex::hub::incidents;
using namespace reflex::hub::incidents::testing;
using protocol::AlertState;
using protocol::Severity;

namespace {

Matchers matchers(const std::string& text) {
  auto m = parse_matchers(text);
  REQUIRE(m);
  return std::move(m).value();
}

SuppressionConfig shop_config() {
  SuppressionConfig c;
  auto t = ServiceTopology::build({{"checkout", {"payments"}}, {"payments", {"postgres"}}});
  REQUIRE(t);
  c.services = std::move(t).value();
  c.inhibit_rules = {InhibitRule{"critical-mutes-warning",
                                 matchers(R"(severity="critical")"),
                                 matchers(R"(severity="warning")"),
                                 {"service"}}};
  return c;
}

// What the hub does per signal: the engine decides (consulting the hook), then the
// suppressor learns what happened.
Changes step(IncidentEngine& engine, Suppressor& sup, AlertSignal s, int64_t now) {
  Changes ch = feed(engine, s, now);
  sup.observe(s);
  sup.observe(ch);
  return ch;
}

std::vector<std::string> suppressed_reasons(const Changes& ch) {
  std::vector<std::string> out;
  for (const auto& e : ch.timeline) out.push_back(e.suppressed);
  return out;
}

}  // namespace

TEST_CASE("a silenced alert opens its incident on the record but notifies nobody",
          "[hub][silences]") {
  Suppressor sup;
  IncidentEngine engine;
  engine.set_suppression_hook(sup.hook());
  auto s = sup.silences().create(
      SilenceSpec{matchers(R"(service="checkout")"), kT0, kT0 + 60 * kMin, "alice", "deploy"}, kT0);
  REQUIRE(s);

  const Changes ch = step(engine, sup, firing("fp1", "web-1", "checkout"), kT0 + kMin);
  REQUIRE(has_entry(ch, TimelineKind::kOpened));
  REQUIRE(ch.incidents.size() == 1);
  CHECK(ch.notify.empty());
  for (const auto& reason : suppressed_reasons(ch)) CHECK(reason == "silenced by 1 (alice)");

  // Other services notify as ever.
  const Changes other = step(engine, sup, firing("fp2", "db-1", "payments"), kT0 + kMin);
  REQUIRE(other.notify.size() == 1);
  CHECK(other.notify[0].kind == NotifyKind::kOpened);
  CHECK(other.timeline[0].suppressed.empty());

  // Expired early, the silence mutes nothing more: a new alert of the group notifies its
  // rising severity again.
  REQUIRE(sup.silences().expire(1, "bob", kT0 + 2 * kMin));
  const Changes after =
      step(engine, sup, firing("fp3", "web-2", "checkout", Severity::kCritical), kT0 + 3 * kMin);
  CHECK_FALSE(after.notify.empty());
  for (const auto& reason : suppressed_reasons(after)) CHECK(reason.empty());
}

TEST_CASE("alerts on a service are inhibited under its dependency's open incident",
          "[hub][inhibition]") {
  Suppressor sup(shop_config());
  IncidentEngine engine;
  engine.set_suppression_hook(sup.hook());

  const Changes pg = step(engine, sup, firing("pg", "db-1", "postgres"), kT0);
  REQUIRE(pg.notify.size() == 1);
  const uint64_t pg_incident = pg.incidents.at(0).id;

  AlertSignal checkout = firing("co", "web-1", "checkout");
  const SuppressionDecision d = sup.decide(checkout, kT0 + kMin);
  CHECK(d.reason ==
        "inhibited by dependency postgres (incident " + std::to_string(pg_incident) + ")");
  REQUIRE(d.related);
  CHECK(d.related->incident_id == pg_incident);

  const Changes co = step(engine, sup, checkout, kT0 + kMin);
  CHECK(co.notify.empty());
  REQUIRE_FALSE(co.timeline.empty());
  CHECK(co.timeline[0].suppressed == d.reason);
  CHECK(step(engine, sup, firing("pay", "pay-1", "payments"), kT0 + kMin).notify.empty());
  CHECK(step(engine, sup, firing("se", "se-1", "search"), kT0 + kMin).notify.size() == 1);

  // Postgres recovers and its incident resolves: payments' incident is what checkout
  // alerts are symptoms of now; search alerts never were.
  step(engine, sup, resolved("pg", "db-1", "postgres"), kT0 + 2 * kMin);
  const Changes later = engine.tick(kT0 + 2 * kMin + engine.policy().resolve_after_ms);
  sup.observe(later);
  CHECK(sup.open_incidents().of("postgres") == nullptr);
  CHECK_THAT(sup.decide(firing("co2", "web-2", "checkout"), kT0 + 10 * kMin).reason,
             Catch::StartsWith("inhibited by dependency payments (incident "));
  CHECK(sup.decide(firing("pg2", "db-2", "postgres"), kT0 + 10 * kMin).reason.empty());
}

TEST_CASE("with dependency inhibition off the related incident is still found",
          "[hub][inhibition]") {
  SuppressionConfig c = shop_config();
  c.dependencies.enabled = false;
  Suppressor sup(std::move(c));
  IncidentEngine engine;
  engine.set_suppression_hook(sup.hook());
  step(engine, sup, firing("pg", "db-1", "postgres"), kT0);
  const SuppressionDecision d = sup.decide(firing("co", "web-1", "checkout"), kT0);
  CHECK(d.reason.empty());
  REQUIRE(d.related);
  CHECK(d.related->dependency == "postgres");
}

TEST_CASE("an inhibit rule fed from the engine's signals mutes the target alert",
          "[hub][inhibition]") {
  Suppressor sup(shop_config());
  IncidentEngine engine;
  engine.set_suppression_hook(sup.hook());
  step(engine, sup, firing("crit", "s-1", "search", Severity::kCritical), kT0);
  const Changes warn = step(engine, sup, firing("warn", "s-2", "search", Severity::kWarning), kT0);
  CHECK(warn.notify.empty());
  CHECK(warn.timeline.at(0).suppressed ==
        "inhibited by rule critical-mutes-warning (firing source with service=\"search\")");
  // The critical alert itself resolves: warnings of search notify again.
  step(engine, sup, resolved("crit", "s-1", "search", Severity::kCritical), kT0 + kMin);
  CHECK(
      sup.decide(firing("warn2", "s-3", "search", Severity::kWarning), kT0 + kMin).reason.empty());
}

TEST_CASE("a silence is named before a dependency or a rule that also applies", "[hub][silences]") {
  Suppressor sup(shop_config());
  IncidentEngine engine;
  engine.set_suppression_hook(sup.hook());
  step(engine, sup, firing("pg", "db-1", "postgres"), kT0);
  REQUIRE(sup.silences().create(
      SilenceSpec{matchers(R"(service="checkout")"), kT0, kT0 + 60 * kMin, "alice", "x"}, kT0));
  CHECK(sup.decide(firing("co", "web-1", "checkout"), kT0).reason == "silenced by 1 (alice)");
}

TEST_CASE("a maintenance window mutes through the hook at its local times", "[hub][silences]") {
  SuppressionConfig c;
  auto when = Recurrence::make({{"sun"}, "02:00", "04:00", 0, "Europe/Berlin"});
  REQUIRE(when);
  c.maintenance = {MaintenanceWindow{"nightly-db", matchers(R"(service="postgres")"), *when, ""}};
  Suppressor sup(std::move(c));
  const int64_t sunday_0130_utc = 1'792'891'800'000;  // 2026-10-25 01:30 UTC, 02:30 CET
  CHECK(sup.decide(firing("pg", "db-1", "postgres"), sunday_0130_utc).reason ==
        "in maintenance window nightly-db until 2026-10-25 04:00 Europe/Berlin");
  CHECK(sup.decide(firing("pg", "db-1", "postgres"), sunday_0130_utc + 90 * kMin).reason.empty());
}

TEST_CASE("a reload replaces rules and windows but keeps silences and open incidents",
          "[hub][inhibition]") {
  Suppressor sup(shop_config());
  IncidentEngine engine;
  engine.set_suppression_hook(sup.hook());
  step(engine, sup, firing("pg", "db-1", "postgres"), kT0);
  REQUIRE(sup.silences().create(
      SilenceSpec{matchers(R"(service="search")"), kT0, kT0 + 60 * kMin, "alice", "x"}, kT0));
  sup.reconfigure(shop_config());
  CHECK(sup.decide(firing("s", "s-1", "search"), kT0).reason == "silenced by 1 (alice)");
  CHECK_FALSE(sup.decide(firing("co", "web-1", "checkout"), kT0).reason.empty());
  CHECK(sup.inhibit_rules().counted_sources() == 0);  // to be replayed by the hub
}
