// The inhibit/silence stage wired into the correlator, against a real SQLite store on
// simulated time: dependency symptoms join their cause's incident, silences travel with
// their batch and survive restarts and failed commits, reloads replay firing alerts into
// new inhibit rules, and reminders ride the correlator's timer.
#include "hub/suppress.h"

#include <catch2/catch.hpp>
#include <future>

#include "hub/correlate.h"
#include "protocol/codec.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::incidents;
using protocol::AlertState;

namespace {

constexpr int64_t kMin = 60'000;

Matchers matchers(const std::string& text) {
  auto m = parse_matchers(text);
  REQUIRE(m);
  return std::move(m).value();
}

// checkout depends on postgres; critical alerts mute warnings of their service.
SuppressionConfig shop() {
  SuppressionConfig c;
  auto t = ServiceTopology::build({{"checkout", {"postgres"}}});
  REQUIRE(t);
  c.services = std::move(t).value();
  return c;
}

// Agents web-1 (checkout/prod) and db-1 (postgres/prod), a store, a correlator with
// `config` on simulated time.
struct Stage {
  explicit Stage(SuppressionConfig config = shop()) {
    sc.path = dir.file("hub.db");
    auto opened = open_store(sc);
    REQUIRE(opened);
    store = std::move(opened).value();
    hello("web-1", "checkout");
    hello("db-1", "postgres");
    REQUIRE(store->write_batch(registry.take_batch()));
    correlator = start(std::move(config));
  }

  void hello(const std::string& id, const std::string& service) {
    protocol::Hello h;
    h.hostname = id;
    h.labels = {{"service", service}, {"env", "prod"}};
    h.heartbeat_ms = 3'600'000;
    registry.on_hello(id, h, time.now_ms());
  }

  std::unique_ptr<Correlator> start(SuppressionConfig config) {
    auto c = std::make_unique<Correlator>(*store, registry, time, time, [this] { ++wakes; });
    c->set_suppression(std::move(config));
    REQUIRE(c->start(incident_policy(IncidentsConfig{})));
    return c;
  }

  WriteBatch alert(const std::string& agent, const std::string& fingerprint, AlertState state,
                   protocol::Severity severity = protocol::Severity::kHigh,
                   const std::string& rule = "down") {
    protocol::Alert a;
    a.rule = rule;
    a.fingerprint = fingerprint;
    a.state = state;
    a.severity = severity;
    protocol::Envelope env;
    env.agent_id = agent;
    env.seq = ++seq;
    env.ts_ms = static_cast<uint64_t>(time.now_ms());
    env.body = a;
    WriteBatch b;
    b.events.push_back(StoredEvent{agent, seq, protocol::MessageType::kAlert, time.now_ms(),
                                   time.now_ms(), protocol::encode(env)});
    return b;
  }

  // Correlates and commits `b`, as the hub does on a commit that succeeds.
  WriteBatch commit(WriteBatch b) {
    REQUIRE(correlator->correlate(b, time.now_ms()));
    REQUIRE(store->write_batch(b));
    correlator->committed();
    return b;
  }

  std::future<Result<Silence>> silence(const std::string& text, int64_t length_ms) {
    SilenceCommand c;
    c.spec = SilenceSpec{matchers(text), 0, time.now_ms() + length_ms, "alice", "deploy"};
    auto answer = std::make_shared<SilenceAnswer>();
    auto done = answer->get_future();
    correlator->submit(std::move(c), answer);
    return done;
  }

  reflex::testing::TempDir dir;
  StoreConfig sc;
  SimulatedTime time;
  AgentRegistry registry{LivenessPolicy{}};
  std::unique_ptr<HubStore> store;
  std::unique_ptr<Correlator> correlator;
  uint64_t seq = 0;
  int wakes = 0;
};

bool ready(std::future<Result<Silence>>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

}  // namespace

TEST_CASE("a checkout alert joins postgres's open incident as an inhibited related symptom",
          "[hub][suppression]") {
  Stage s;
  const WriteBatch pg = s.commit(s.alert(("db-1"), "pg", AlertState::kFiring));
  REQUIRE(pg.incidents.notify.size() == 1);
  const uint64_t pg_incident = pg.incidents.events.at(0).incident_id;

  const WriteBatch co = s.commit(s.alert("web-1", "co", AlertState::kFiring));
  CHECK(co.incidents.events.empty());  // nothing opened
  CHECK(co.incidents.notify.empty());
  REQUIRE(co.incidents.timeline.size() == 1);
  const TimelineEntry& e = co.incidents.timeline[0];
  CHECK(e.incident_id == pg_incident);
  CHECK(e.text == "related symptom: down firing on web-1 (high); checkout depends on postgres");
  CHECK(e.suppressed ==
        "inhibited by dependency postgres (incident " + std::to_string(pg_incident) + ")");
  CHECK(s.correlator->engine().alert("web-1/co")->incident_id == pg_incident);
  // Written with its batch: the store's record says the same.
  auto snap = s.store->load_incidents();
  REQUIRE(snap);
  CHECK(*snap == s.correlator->engine().snapshot());
}

TEST_CASE("with dependency inhibition off a related symptom joins and is not muted",
          "[hub][suppression]") {
  SuppressionConfig c = shop();
  c.dependencies.enabled = false;
  Stage s(c);
  const uint64_t pg =
      s.commit(s.alert("db-1", "pg", AlertState::kFiring)).incidents.events.at(0).incident_id;
  const WriteBatch co =
      s.commit(s.alert("web-1", "co", AlertState::kFiring, protocol::Severity::kCritical));
  CHECK(s.correlator->engine().alert("web-1/co")->incident_id == pg);
  REQUIRE(co.incidents.notify.size() == 1);  // severity raised from high to critical
  CHECK(co.incidents.notify[0].kind == NotifyKind::kSeverityRaised);
  CHECK(co.incidents.timeline.at(0).suppressed.empty());
}

TEST_CASE("a silence is written with its batch, answered after the commit, and mutes alerts",
          "[hub][suppression]") {
  Stage s;
  auto done = s.silence(R"(service="checkout")", 60 * kMin);
  CHECK(s.wakes == 1);
  WriteBatch b;
  REQUIRE(s.correlator->correlate(b, s.time.now_ms()));
  REQUIRE(b.silences.size() == 1);
  CHECK_FALSE(b.empty());
  CHECK_FALSE(ready(done));
  REQUIRE(s.store->write_batch(b));
  s.correlator->committed();
  auto row = done.get();
  REQUIRE(row);
  CHECK(row->id == 1);
  auto stored = s.store->load_silences(s.time.now_ms());
  REQUIRE(stored);
  REQUIRE(stored->silences.size() == 1);
  CHECK(stored->silences[0] == *row);

  const WriteBatch co = s.commit(s.alert("web-1", "co", AlertState::kFiring));
  CHECK(co.incidents.notify.empty());
  REQUIRE(co.incidents.events.size() == 1);  // its incident is opened on the record
  for (const auto& e : co.incidents.timeline) CHECK(e.suppressed == "silenced by 1 (alice)");
}

TEST_CASE("a refused silence is answered at once and nothing is written", "[hub][suppression]") {
  Stage s;
  auto done = s.silence(R"(team=~".*")", 60 * kMin);  // would silence everything
  WriteBatch b;
  REQUIRE(s.correlator->correlate(b, s.time.now_ms()));
  CHECK(b.silences.empty());
  REQUIRE(ready(done));
  auto row = done.get();
  REQUIRE_FALSE(row);
  CHECK(row.status().code() == "invalid_silence");
  CHECK_THAT(row.status().message(), Catch::StartsWith("matchers: "));
}

TEST_CASE("a silence whose commit failed is answered unavailable and mutes nothing",
          "[hub][suppression]") {
  Stage s;
  auto done = s.silence(R"(service="checkout")", 60 * kMin);
  WriteBatch b;
  REQUIRE(s.correlator->correlate(b, s.time.now_ms()));
  s.correlator->failed(Status::error("busy", "database is locked"));
  auto row = done.get();
  REQUIRE_FALSE(row);
  CHECK(row.status().code() == "unavailable");
  CHECK(s.correlator->suppressor().silences().list().empty());

  const WriteBatch co = s.commit(s.alert("web-1", "co", AlertState::kFiring));
  CHECK(co.incidents.notify.size() == 1);
}

TEST_CASE("after a failed commit the restored engine still attaches symptoms to their cause",
          "[hub][suppression]") {
  Stage s;
  const uint64_t pg =
      s.commit(s.alert("db-1", "pg", AlertState::kFiring)).incidents.events.at(0).incident_id;
  WriteBatch lost = s.alert("web-1", "co", AlertState::kFiring);
  REQUIRE(s.correlator->correlate(lost, s.time.now_ms()));
  s.correlator->failed(Status::error("busy", "database is locked"));

  const WriteBatch again = s.commit(s.alert("web-1", "co", AlertState::kFiring));
  CHECK(s.correlator->engine().alert("web-1/co")->incident_id == pg);
  CHECK(again.incidents.notify.empty());
  CHECK_THAT(again.incidents.timeline.at(0).text, Catch::StartsWith("related symptom: "));
}

TEST_CASE("a restarted correlator restores silences, open incidents and firing rule sources",
          "[hub][suppression]") {
  SuppressionConfig c = shop();
  c.inhibit_rules = {InhibitRule{"critical-mutes-warning",
                                 matchers(R"(severity="critical")"),
                                 matchers(R"(severity="warning")"),
                                 {"service"}}};
  Stage s(c);
  REQUIRE(s.silence(R"(service="search")", 60 * kMin).wait_for(std::chrono::seconds(0)) ==
          std::future_status::timeout);
  s.commit(WriteBatch{});
  s.commit(s.alert("db-1", "pg", AlertState::kFiring, protocol::Severity::kCritical));

  s.correlator.reset();
  s.correlator = s.start(c);  // a restarted hub
  const Suppressor& sup = s.correlator->suppressor();
  CHECK(sup.silences().list().size() == 1);
  CHECK(sup.open_incidents().of("postgres"));
  CHECK(sup.inhibit_rules().counted_sources() == 1);

  // A warning on postgres is muted by the critical one that fired before the restart.
  const WriteBatch warn = s.commit(
      s.alert("db-1", "pg-disk", AlertState::kFiring, protocol::Severity::kWarning, "disk"));
  REQUIRE_FALSE(warn.incidents.timeline.empty());
  CHECK_THAT(warn.incidents.timeline[0].suppressed,
             Catch::StartsWith("inhibited by rule critical-mutes-warning"));
}

TEST_CASE("a reload applies new rules at the next batch, replaying the firing alerts",
          "[hub][suppression]") {
  Stage s(SuppressionConfig{});
  s.commit(s.alert("db-1", "pg", AlertState::kFiring, protocol::Severity::kCritical));
  const WriteBatch before = s.commit(s.alert("web-1", "co", AlertState::kFiring));
  CHECK(before.incidents.notify.size() == 1);  // no topology yet: checkout opens its own

  SuppressionConfig next = shop();
  next.inhibit_rules = {InhibitRule{"critical-mutes-warning",
                                    matchers(R"(severity="critical")"),
                                    matchers(R"(severity="warning")"),
                                    {"env"}}};
  const int wakes = s.wakes;
  s.correlator->set_suppression(next);
  CHECK(s.wakes == wakes + 1);  // asks for a batch, where it is applied
  s.commit(WriteBatch{});
  CHECK(s.correlator->suppressor().inhibit_rules().counted_sources() == 1);

  // A new warning in prod is muted by the critical source that fired before the reload.
  const WriteBatch warn = s.commit(
      s.alert("db-1", "pg-slow", AlertState::kFiring, protocol::Severity::kWarning, "slow"));
  REQUIRE_FALSE(warn.incidents.timeline.empty());
  CHECK_THAT(warn.incidents.timeline[0].suppressed,
             Catch::StartsWith("inhibited by rule critical-mutes-warning"));
}

TEST_CASE("a long silence's reminder comes due on the correlator's timer and is written once",
          "[hub][suppression]") {
  Stage s;
  auto done = s.silence(R"(service="checkout")", 120 * kMin);
  s.commit(WriteBatch{});
  REQUIRE(done.get());

  // The default policy reminds 15 minutes before the end of silences of an hour or more.
  const int wakes = s.wakes;
  s.time.advance(Millis(105 * kMin - 1));
  CHECK(s.wakes == wakes);
  s.time.advance(Millis(1));
  CHECK(s.wakes == wakes + 1);
  const WriteBatch due = s.commit(WriteBatch{});
  REQUIRE(due.silences.size() == 1);
  CHECK(due.silences[0].reminded_ms == s.time.now_ms());
  auto stored = s.store->load_silences(s.time.now_ms());
  REQUIRE(stored);
  CHECK(stored->silences.at(0).reminded_ms == s.time.now_ms());

  s.time.advance(Millis(5 * kMin));
  CHECK(s.commit(WriteBatch{}).silences.empty());
}

TEST_CASE("suppression reasons are counted by what muted them", "[hub][suppression]") {
  CHECK(std::string(suppression_kind("silenced by 3 (alice)")) == "silence");
  CHECK(std::string(suppression_kind("in maintenance window nightly until x")) == "maintenance");
  CHECK(std::string(suppression_kind("inhibited by dependency pg (incident 1)")) == "dependency");
  CHECK(std::string(suppression_kind("inhibited by rule r (firing source)")) == "rule");
  CHECK(std::string(suppression_kind("because")) == "other");
}
