// The correlate stage against a real SQLite store, on simulated time: what a batch
// carries into the engine, how its changes travel with the batch, how a failed commit is
// undone, how actions are answered, and the engine timer.
#include "hub/correlate.h"

#include <catch2/catch.hpp>
#include <future>

#include "protocol/codec.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::hub;
using protocol::AlertState;

namespace {

constexpr int64_t kMin = 60'000;

// A store, a registry with agents web-1..web-N (hosts host-1..N, checkout/prod), a
// simulated clock and a correlator on them.
struct Stage {
  explicit Stage(int agents = 1, IncidentsConfig cfg = {}) {
    StoreConfig sc;
    sc.path = dir.file("hub.db");
    auto opened = open_store(sc);
    REQUIRE(opened);
    store = std::move(opened).value();
    for (int i = 1; i <= agents; ++i) {
      protocol::Hello h;
      h.hostname = "host-" + std::to_string(i);
      h.labels = {{"service", "checkout"}, {"env", "prod"}};
      h.heartbeat_ms = 3'600'000;
      registry.on_hello("web-" + std::to_string(i), h, time.now_ms());
    }
    REQUIRE(store->write_batch(registry.take_batch()));
    correlator = std::make_unique<Correlator>(*store, registry, time, time, [this] { ++wakes; });
    REQUIRE(correlator->start(incident_policy(cfg)));
  }

  // A batch carrying one alert event of `agent`, as ingest would have accepted it.
  WriteBatch alert_batch(const std::string& agent, uint64_t seq, const std::string& fingerprint,
                         AlertState state) {
    protocol::Alert a;
    a.rule = "db-down";
    a.fingerprint = fingerprint;
    a.state = state;
    a.severity = protocol::Severity::kHigh;
    protocol::Envelope env;
    env.agent_id = agent;
    env.seq = seq;
    env.ts_ms = static_cast<uint64_t>(time.now_ms());
    env.body = a;
    WriteBatch b;
    b.events.push_back(StoredEvent{agent, seq, protocol::MessageType::kAlert, time.now_ms(),
                                   time.now_ms(), protocol::encode(env)});
    return b;
  }

  // One batch in which agents web-1..web-`agents` each fire `fingerprint` (agents
  // fingerprint by rule and labels only, so all of them send the same one).
  WriteBatch firing_on_all(int agents, const std::string& fingerprint) {
    WriteBatch b;
    for (int i = 1; i <= agents; ++i) {
      auto one = alert_batch("web-" + std::to_string(i), 1, fingerprint, AlertState::kFiring);
      b.events.push_back(one.events.front());
    }
    return b;
  }

  // Correlates and commits `b`, as the hub does on a commit that succeeds.
  void commit(WriteBatch b) {
    REQUIRE(correlator->correlate(b, time.now_ms()));
    REQUIRE(store->write_batch(b));
    correlator->committed();
  }

  reflex::testing::TempDir dir;
  SimulatedTime time;
  AgentRegistry registry{LivenessPolicy{}};
  std::unique_ptr<HubStore> store;
  std::unique_ptr<Correlator> correlator;
  int wakes = 0;
};

bool opened_incident(const WriteBatch& b, uint64_t id) {
  for (const auto& e : b.incidents.events) {
    if (e.kind == incidents::IncidentEventKind::kOpened && e.incident_id == id) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the same rule firing on three agents is three alerts of one incident of three hosts",
          "[hub][correlate]") {
  Stage s(3);
  s.commit(s.firing_on_all(3, "f00d"));
  const auto* inc = s.correlator->engine().incident(1);
  REQUIRE(inc);
  CHECK(inc->affected_hosts == 3);
  CHECK(inc->members == 3);
  CHECK(s.correlator->engine().describe_hosts(1) == "3 of 3 hosts");
  CHECK(s.correlator->engine().alert("web-2/f00d"));
  CHECK(s.correlator->engine().incident_count() == 1);
}

TEST_CASE("an incident several events of a batch change goes into it once, as it is at the end",
          "[hub][correlate]") {
  Stage s(3);
  WriteBatch b = s.firing_on_all(3, "f00d");
  REQUIRE(s.correlator->correlate(b, s.time.now_ms()));
  REQUIRE(b.incidents.incidents.size() == 1);  // not one row per joining alert
  CHECK(b.incidents.incidents[0].id == 1);
  CHECK(b.incidents.incidents[0].affected_hosts == 3);
  CHECK(b.incidents.incidents[0].members == 3);
  CHECK(b.incidents.alerts.size() == 3);
  CHECK(b.incidents.members.size() == 3);
  REQUIRE(s.store->write_batch(b));
  s.correlator->committed();
  auto snap = s.store->load_incidents();
  REQUIRE(snap);
  CHECK(*snap == s.correlator->engine().snapshot());
}

TEST_CASE("a batch carries the incident changes of its events into the same commit",
          "[hub][correlate]") {
  Stage s;
  WriteBatch b = s.alert_batch("web-1", 1, "f00d", AlertState::kFiring);
  REQUIRE(s.correlator->correlate(b, s.time.now_ms()));
  CHECK(opened_incident(b, 1));
  CHECK(b.incidents.members.size() == 1);
  REQUIRE(s.store->write_batch(b));
  s.correlator->committed();
  auto snap = s.store->load_incidents();
  REQUIRE(snap);
  CHECK(*snap == s.correlator->engine().snapshot());
}

TEST_CASE(
    "after a failed commit the engine is the store's again and the resent events correlate anew",
    "[hub][correlate]") {
  Stage s;
  s.commit(s.alert_batch("web-1", 1, "a", AlertState::kFiring));  // incident 1
  const auto durable = s.correlator->engine().snapshot();

  WriteBatch b = s.alert_batch("web-1", 2, "b", AlertState::kFiring);
  REQUIRE(s.correlator->correlate(b, s.time.now_ms()));
  CHECK(b.incidents.members.size() == 1);                             // b joined incident 1 ...
  s.correlator->failed(Status::error("busy", "database is locked"));  // ... but was not written
  CHECK(s.correlator->engine().snapshot() == durable);

  // Ingest accepts the resent event as new; it joins again, and this time it is written.
  WriteBatch again = s.alert_batch("web-1", 2, "b", AlertState::kFiring);
  REQUIRE(s.correlator->correlate(again, s.time.now_ms()));
  REQUIRE(again.incidents.members.size() == 1);
  CHECK(again.incidents.members[0].fingerprint == "web-1/b");
  REQUIRE(s.store->write_batch(again));
  s.correlator->committed();
  auto snap = s.store->load_incidents();
  REQUIRE(snap);
  CHECK(*snap == s.correlator->engine().snapshot());
  CHECK(s.correlator->engine().members(1) == std::vector<std::string>{"web-1/a", "web-1/b"});
}

TEST_CASE("an action is answered after its commit, or unavailable when the commit fails",
          "[hub][correlate]") {
  Stage s;
  s.commit(s.alert_batch("web-1", 1, "a", AlertState::kFiring));

  auto first = std::make_shared<ActionAnswer>();
  auto first_done = first->get_future();
  s.correlator->submit({IncidentAction::Kind::kAcknowledge, 1, "alice", "", "", ""}, first);
  CHECK(s.wakes == 1);  // the hub is asked to build a batch
  WriteBatch b;
  REQUIRE(s.correlator->correlate(b, s.time.now_ms()));
  CHECK(first_done.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
  s.correlator->failed(Status::error("busy", "database is locked"));
  const Status failed = first_done.get();
  CHECK(failed.code() == "unavailable");
  CHECK(s.correlator->engine().incident(1)->status == incidents::IncidentStatus::kTriggered);

  auto second = std::make_shared<ActionAnswer>();
  auto second_done = second->get_future();
  s.correlator->submit({IncidentAction::Kind::kAcknowledge, 1, "alice", "", "", ""}, second);
  WriteBatch c;
  REQUIRE(s.correlator->correlate(c, s.time.now_ms()));
  REQUIRE(s.store->write_batch(c));
  CHECK(second_done.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
  s.correlator->committed();
  CHECK(second_done.get());
  CHECK(s.correlator->engine().incident(1)->acknowledged_by == "alice");

  // A refusal is answered at once, with nothing to commit.
  auto refused = std::make_shared<ActionAnswer>();
  auto refused_done = refused->get_future();
  s.correlator->submit({IncidentAction::Kind::kAcknowledge, 7, "alice", "", "", ""}, refused);
  WriteBatch d;
  REQUIRE(s.correlator->correlate(d, s.time.now_ms()));
  CHECK(refused_done.get().code() == "not_found");
  CHECK(d.incidents.empty());
}

TEST_CASE("the engine's timer wakes the hub when an auto-resolve is due, also after a restart",
          "[hub][correlate]") {
  IncidentsConfig cfg;
  cfg.resolve_after = Millis(5 * kMin);
  Stage s(1, cfg);
  s.commit(s.alert_batch("web-1", 1, "a", AlertState::kFiring));
  s.commit(s.alert_batch("web-1", 2, "a", AlertState::kResolved));
  const int64_t due = s.correlator->engine().incident(1)->resolve_due_ms;
  REQUIRE(due == s.time.now_ms() + 5 * kMin);

  // A correlator started on the same store (a restarted hub) arms the same timer.
  int restarted_wakes = 0;
  Correlator restarted(*s.store, s.registry, s.time, s.time, [&] { ++restarted_wakes; });
  REQUIRE(restarted.start(incident_policy(cfg)));

  const int before = s.wakes;
  s.time.advance(Millis(5 * kMin - 1));
  CHECK(s.wakes == before);
  CHECK(restarted_wakes == 0);
  s.time.advance(Millis(1));
  CHECK(s.wakes == before + 1);
  CHECK(restarted_wakes == 1);

  WriteBatch tick;
  REQUIRE(restarted.correlate(tick, s.time.now_ms()));
  const auto* inc = restarted.engine().incident(1);
  REQUIRE(inc);
  CHECK(inc->status == incidents::IncidentStatus::kResolved);
  CHECK(inc->resolved_ms == due);
  CHECK(inc->resolved_by == "reflex");
}

TEST_CASE("a lost agent opens an incident and its return resolves the alert", "[hub][correlate]") {
  Stage s;
  s.time.advance(Millis(120 * kMin));  // two of its hour-long heartbeats missed
  s.registry.set_policy(LivenessPolicy{1, 1000});
  REQUIRE(s.registry.check_liveness(s.time.now_ms()) == 1);
  s.commit(s.registry.take_batch());
  const auto* inc = s.correlator->engine().incident(1);
  REQUIRE(inc);
  CHECK(inc->title == "AgentLost on checkout");
  CHECK(inc->firing == 1);

  protocol::Heartbeat hb;
  REQUIRE(s.registry.on_heartbeat("web-1", hb, s.time.now_ms()));
  s.commit(s.registry.take_batch());
  CHECK(s.correlator->engine().incident(1)->firing == 0);
  CHECK(s.correlator->engine().incident(1)->resolve_due_ms > 0);
}

TEST_CASE("registering agents touch no incident", "[hub][correlate]") {
  Stage s;
  protocol::Hello h;
  h.hostname = "host-9";
  s.registry.on_hello("web-9", h, s.time.now_ms());
  WriteBatch b = s.registry.take_batch();
  REQUIRE(s.correlator->correlate(b, s.time.now_ms()));
  CHECK(b.incidents.empty());
}
