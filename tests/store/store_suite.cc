#include "tests/store/store_suite.h"

#include <catch2/catch.hpp>

#include "hub/incidents/matchers.h"
#include "hub/outbox/outbox_reader.h"
#include "hub/pg_schema.h"
#include "hub/silence_reader.h"
#include "hub/sqlite_schema.h"
#include "hub/store_migrate.h"

namespace reflex::testing {

std::unique_ptr<hub::HubStore> StoreFixture::open() {
  auto store = hub::open_store(config());
  INFO(store.status().to_string());
  REQUIRE(store);
  return std::move(store).value();
}

}  // namespace reflex::testing

using namespace reflex;
using namespace reflex::hub;
using reflex::testing::make_store_fixture;

namespace {

void require_written(HubStore& store, const WriteBatch& batch) {
  const Status st = store.write_batch(batch);
  INFO(st.to_string());
  REQUIRE(st.is_ok());
}

template <class T>
T require_value(Result<T> r) {
  INFO(r.status().to_string());
  REQUIRE(r);
  return std::move(r).value();
}

AgentRecord agent(const std::string& id) {
  AgentRecord a;
  a.id = id;
  a.hostname = id + ".example";
  a.version = "0.1.0";
  a.labels = {{"service", "checkout"}, {"env", "prod \"eu\""}};
  a.first_seen_ms = 100;
  a.last_seen_ms = 200;
  a.state_since_ms = 100;
  a.heartbeat_ms = 5000;
  a.spool_depth = 7;
  return a;
}

incidents::AlertRow alert(const std::string& fp, protocol::AlertState state, uint64_t incident,
                          bool retained = true) {
  incidents::AlertRow row;
  row.fingerprint = fp;
  row.record.host = "web-1";
  row.record.state = state;
  row.record.severity = protocol::Severity::kHigh;
  row.record.since_ms = 1000;
  row.record.last_ms = 1500;
  row.record.incident_id = incident;
  row.retained = retained;
  row.detail = incidents::AlertRow::Detail{"agent:web-1",
                                           "HighErrorRate",
                                           {{"alertname", "HighErrorRate"}, {"fp", fp}},
                                           {{"summary", "errors 'high' on \"web-1\""}}};
  return row;
}

incidents::IncidentRow incident(uint64_t id, bool retained = true) {
  incidents::IncidentRow r;
  r.id = id;
  r.group_key = "service=checkout";
  r.group_labels = {{"service", "checkout"}};
  r.service = "checkout";
  r.title = "HighErrorRate on checkout #" + std::to_string(id);
  r.status = incidents::IncidentStatus::kAcknowledged;
  r.severity = protocol::Severity::kCritical;
  r.opened_ms = 1000 + static_cast<int64_t>(id);
  r.first_alert_ms = 990;
  r.last_alert_ms = 1200;
  r.acknowledged_ms = 1100;
  r.acknowledged_by = "alice";
  r.owner = "alice";
  r.reopen_count = 2;
  r.flapping = true;
  r.recent_reopens = {1050, 1080};
  r.members = 2;
  r.firing = 1;
  r.affected_hosts = 1;
  r.peak_hosts = 3;
  r.resolve_due_ms = 5000;
  r.reopen_until_ms = 6000;
  r.settle_due_ms = 7000;
  r.retained = retained;
  return r;
}

incidents::Change change(const std::string& id, const std::string& service, int64_t at_ms) {
  incidents::Change c;
  c.id = id;
  c.service = service;
  c.environment = "prod";
  c.version = "4.2." + std::to_string(at_ms);
  c.hosts = {"web-1", "web-2"};
  c.strategy = incidents::DeployStrategy::kCanary;
  c.commit = "abc123";
  c.author = "alice";
  c.link = "https://ci.example/" + id;
  c.source = "api";
  c.at_ms = at_ms;
  return c;
}

// The end of the open external alert `fp`; its row is alert(fp, ...).
incidents::ExpiryWrite expiry(const std::string& fp, int64_t ends_at_ms, bool timeout = true) {
  return {fp, ends_at_ms, timeout};
}

// What the store reads back for that end: the end beside the alert's row.
incidents::ExpiryRow expiry_row(const std::string& fp, int64_t ends_at_ms, bool timeout = true) {
  incidents::ExpiryRow r;
  r.fingerprint = fp;
  r.source = "agent:web-1";
  r.rule = "HighErrorRate";
  r.severity = protocol::Severity::kHigh;
  r.host = "web-1";
  r.labels_json = R"({"alertname":"HighErrorRate","fp":")" + fp + R"("})";
  r.annotations_json = R"({"summary":"errors 'high' on \"web-1\""})";
  r.ends_at_ms = ends_at_ms;
  r.timeout = timeout;
  return r;
}

OutboxRow outbox_row(uint64_t id, const std::string& key) {
  OutboxRow r;
  r.id = id;
  r.integration = "slack";
  r.operation = "slack.chat.postMessage";
  r.idempotency_key = key;
  if (id % 2 == 1) r.incident_id = 7;
  r.payload = {{"channel", "#ops"}, {"text", "it's \"down\""}};
  r.next_attempt_ms = 1000;
  r.result = nullptr;
  r.created_ms = 900;
  r.updated_ms = 900;
  return r;
}

policy::IncidentWorkflow workflow(uint64_t incident_id, bool held) {
  policy::IncidentWorkflow w;
  w.incident_id = incident_id;
  w.facts.id = incident_id;
  w.facts.title = "HighErrorRate on checkout";
  w.facts.severity = protocol::Severity::kHigh;
  w.facts.labels = {{"service", "checkout"}};
  w.facts.alert_labels = {{"alertname", "HighErrorRate"}};
  w.facts.affected_hosts = 2;
  w.held = held;
  w.next_seq = 2;
  policy::WorkflowCall call;
  call.seq = 1;
  call.event = "opened";
  call.route = "default";
  call.step = "post";
  call.kind = "chat.post";
  call.with = {{"channel", "#ops"}};
  call.integration = "slack";
  call.state = policy::CallState::kDone;
  call.outbox_id = 3;
  call.note = "posted";
  call.at_ms = 1000;
  w.calls.push_back(call);
  w.objects["message:post"] = {policy::ObjectState::kReady, 1, {{"channel", "C1"}, {"ts", "1.2"}}};
  w.updated_ms = 2000 + static_cast<int64_t>(incident_id);
  return w;
}

}  // namespace

TEST_CASE("agents and their state history survive reopening the store", "[store]") {
  auto db = make_store_fixture();
  AgentRecord a = agent("web-1");
  {
    auto store = db->open();
    WriteBatch batch;
    batch.agents.push_back(a);
    batch.state_changes.push_back({"web-1", AgentState::kAlive, 100, "registered"});
    require_written(*store, batch);

    AgentRecord later = a;
    later.state = AgentState::kLost;
    later.state_since_ms = 300;
    later.first_seen_ms = 250;  // an upsert keeps the first row's first_seen_ms
    later.open_circuits = 2;
    batch = {};
    batch.agents.push_back(later);
    batch.agents.push_back(agent("db-1"));
    batch.state_changes.push_back({"web-1", AgentState::kLost, 300, "missed 3 heartbeats"});
    batch.state_changes.push_back({"web-1", AgentState::kAlive, 300, "heartbeat"});
    require_written(*store, batch);
  }
  auto store = db->open();
  auto agents = require_value((*store).load_agents());
  REQUIRE(agents.size() == 2);
  CHECK(agents[0].id == "db-1");  // by id
  const AgentRecord& got = agents[1];
  CHECK(got.hostname == "web-1.example");
  CHECK(got.labels == a.labels);
  CHECK(got.state == AgentState::kLost);
  CHECK(got.state_since_ms == 300);
  CHECK(got.first_seen_ms == 100);
  CHECK(got.last_seen_ms == 200);
  CHECK(got.heartbeat_ms == 5000);
  CHECK(got.spool_depth == 7);
  CHECK(got.open_circuits == 2);
  auto history = require_value(store->state_history("web-1"));
  REQUIRE(history.size() == 3);
  CHECK(history[0].reason == "registered");
  CHECK(history[1].state == AgentState::kLost);
  CHECK(history[1].at_ms == 300);
  CHECK(history[2].reason == "heartbeat");  // same time: in the order written
  CHECK(require_value(store->state_history("nobody")).empty());
}

TEST_CASE("events are stored once each, verbatim, with the agent's acked sequence", "[store]") {
  auto db = make_store_fixture();
  {
    auto store = db->open();
    WriteBatch batch;
    AgentRecord a = agent("web-1");
    // More than one multi-row INSERT's worth.
    const uint64_t n = 1203;
    a.acked_seq = n;
    batch.agents.push_back(a);
    for (uint64_t seq = 1; seq <= n; ++seq) {
      StoredEvent e;
      e.agent_id = "web-1";
      e.seq = seq;
      e.type = seq % 2 ? protocol::MessageType::kMetrics : protocol::MessageType::kAlert;
      e.ts_ms = 1000 + static_cast<int64_t>(seq);
      e.received_ms = 2000 + static_cast<int64_t>(seq);
      e.frame = std::string("\x00\x01frame", 7) + std::to_string(seq);
      batch.events.push_back(std::move(e));
    }
    require_written(*store, batch);
  }
  auto store = db->open();
  auto agents = require_value(store->load_agents());
  REQUIRE(agents.size() == 1);
  CHECK(agents[0].acked_seq == 1203);
  CHECK(db->peek("SELECT COUNT(*) FROM events") == "1203");
  CHECK(db->peek("SELECT COUNT(DISTINCT seq) FROM events") == "1203");
  CHECK(db->peek("SELECT SUM(seq) FROM events") == std::to_string(1203 * 1204 / 2));
  CHECK(db->peek("SELECT length(frame) FROM events WHERE seq = 1000") == "11");
  CHECK(db->peek("SELECT type FROM events WHERE seq = 2") == "alert");
  CHECK(db->peek("SELECT ts_ms + received_ms FROM events WHERE seq = 3") == "3006");
}

TEST_CASE("retention deletes the oldest events received before its time, a limit at a time",
          "[store]") {
  auto db = make_store_fixture();
  auto store = db->open();
  auto event = [](const std::string& agent, uint64_t seq, int64_t received_ms) {
    StoredEvent e;
    e.agent_id = agent;
    e.seq = seq;
    e.type = protocol::MessageType::kMetrics;
    e.ts_ms = received_ms;
    e.received_ms = received_ms;
    e.frame = "frame " + std::to_string(seq);
    return e;
  };
  // Two agents' events as they arrive, interleaved: received at 1000, 1010, ... 1290.
  WriteBatch batch;
  for (uint64_t i = 0; i < 30; ++i) {
    batch.events.push_back(event(i % 2 ? "web-2" : "web-1", i / 2 + 1, 1000 + 10 * int64_t(i)));
  }
  require_written(*store, batch);
  auto left = [&] { return db->peek("SELECT COUNT(*) FROM events"); };
  auto oldest = [&] { return db->peek("SELECT MIN(received_ms) FROM events"); };

  // 20 are older than 1200; the first prune may take 8 of them, with new events beside.
  WriteBatch first;
  first.events.push_back(event("web-1", 16, 1300));
  first.prune = WriteBatch::EventPrune{.before_ms = 1200, .limit = 8};
  require_written(*store, first);
  CHECK(first.prune->deleted == 8);
  CHECK(left() == "23");
  CHECK(oldest() == "1080");

  // A prune alone is a batch to write; the next takes the rest, and no newer one.
  WriteBatch second;
  second.prune = WriteBatch::EventPrune{.before_ms = 1200, .limit = 100};
  CHECK_FALSE(second.empty());
  require_written(*store, second);
  CHECK(second.prune->deleted == 12);
  CHECK(left() == "11");
  CHECK(oldest() == "1200");

  WriteBatch none;
  none.prune = WriteBatch::EventPrune{.before_ms = 1200, .limit = 100};
  require_written(*store, none);
  CHECK(none.prune->deleted == 0);
  CHECK(left() == "11");
  CHECK(db->peek("SELECT SUM(seq) FROM events WHERE agent_id = 'web-1'") ==
        std::to_string(11 + 12 + 13 + 14 + 15 + 16));
}

TEST_CASE("incidents, alerts and their timeline load back as the engine left them", "[store]") {
  using protocol::AlertState;
  auto db = make_store_fixture();
  incidents::Changes ch;
  ch.alerts.push_back(alert("fp-b", AlertState::kFiring, 1));
  ch.alerts.push_back(alert("fp-a", AlertState::kPending, 1));
  ch.alerts.push_back(alert("fp-c", AlertState::kFiring, 2, false));  // let go
  ch.alerts.push_back(alert("fp-Z", AlertState::kFiring, 1));         // uppercase sorts first
  // A row without detail updates the record and keeps the detail.
  incidents::AlertRow update = alert("fp-a", AlertState::kFiring, 1);
  update.detail.reset();
  update.record.last_ms = 1700;
  ch.alerts.push_back(update);
  // A row without detail for an alert never stored writes nothing.
  incidents::AlertRow ghost = alert("fp-ghost", AlertState::kFiring, 1);
  ghost.detail.reset();
  ch.alerts.push_back(ghost);
  ch.history.push_back({"fp-a", "agent:web-1", std::nullopt, AlertState::kPending,
                        protocol::Severity::kHigh, 1000, 1001});
  ch.history.push_back({"fp-a", "agent:web-1", AlertState::kPending, AlertState::kFiring,
                        protocol::Severity::kHigh, 1100, 1101});
  ch.incidents.push_back(incident(2, false));
  ch.incidents.push_back(incident(1));
  incidents::IncidentRow replaced = incident(3);
  ch.incidents.push_back(replaced);
  replaced.title = "replaced";
  replaced.flapping = false;
  replaced.recent_reopens = {};
  ch.incidents.push_back(replaced);  // the last row of an incident wins
  ch.members.push_back({1, "fp-b", "web-1", 1000});
  ch.members.push_back({2, "fp-c", "web-2", 1001});
  ch.members.push_back({1, "fp-a", "web-1", 1002});
  ch.members.push_back({1, "fp-Z", "web-3", 1003});
  ch.timeline.push_back({1, 1000, incidents::TimelineKind::kOpened, "reflex", "fp-b", "web-1",
                         "opened by HighErrorRate", ""});
  ch.timeline.push_back({1, 1100, incidents::TimelineKind::kAcknowledged, "alice", "", "",
                         "acknowledged", "silenced by 4"});
  {
    auto store = db->open();
    WriteBatch batch;
    batch.incidents = ch;
    require_written(*store, batch);
  }
  auto store = db->open();
  auto snap = require_value(store->load_incidents());
  CHECK(snap.next_incident_id == 4);
  REQUIRE(snap.incidents.size() == 2);
  CHECK(snap.incidents[0] == incident(1));
  CHECK(snap.incidents[1] == replaced);
  const std::vector<incidents::MemberRef> members = {{1, "fp-b"}, {1, "fp-a"}, {1, "fp-Z"}};
  CHECK(snap.members == members);
  REQUIRE(snap.alerts.size() == 3);
  CHECK(snap.alerts[0].fingerprint == "fp-Z");
  CHECK(snap.alerts[1].fingerprint == "fp-a");
  CHECK(snap.alerts[1].record == update.record);
  CHECK_FALSE(snap.alerts[1].detail);  // the engine restores records only
  CHECK(snap.alerts[2].fingerprint == "fp-b");

  auto firing = require_value(store->load_firing_alerts());
  REQUIRE(firing.size() == 3);
  CHECK(firing[0] == alert("fp-Z", AlertState::kFiring, 1));
  incidents::AlertRow a = alert("fp-a", AlertState::kFiring, 1);
  a.record.last_ms = 1700;
  CHECK(firing[1] == a);
  CHECK(firing[2] == alert("fp-b", AlertState::kFiring, 1));

  CHECK(db->peek("SELECT COUNT(*) FROM alerts") == "4");
  CHECK(db->peek("SELECT COUNT(*) FROM alert_history WHERE from_state IS NULL") == "1");
  CHECK(db->peek("SELECT COUNT(*) FROM incident_timeline WHERE incident_id = 1") == "2");
  CHECK(db->peek("SELECT suppressed FROM incident_timeline WHERE kind = 'acknowledged'") ==
        "silenced by 4");
}

TEST_CASE("silences load back with the next id above every id stored", "[store]") {
  auto db = make_store_fixture();
  incidents::Silence s;
  s.id = 3;
  s.matchers = {incidents::Matcher::parse("service=\"checkout\"").value(),
                incidents::Matcher::parse("env=~\"prod|staging\"").value()};
  s.starts_at_ms = 1000;
  s.ends_at_ms = 5000;
  s.created_by = "alice";
  s.comment = "deploy 'window'";
  s.created_ms = 900;
  incidents::Silence old = s;
  old.id = 7;
  old.ends_at_ms = 1500;
  old.expired_by = "bob";
  {
    auto store = db->open();
    WriteBatch batch;
    batch.silences = {s, old};
    require_written(*store, batch);
    s.reminded_ms = 4000;  // an upsert of the same silence
    batch.silences = {s};
    require_written(*store, batch);
  }
  auto store = db->open();
  auto snap = require_value(store->load_silences(2000));
  CHECK(snap.next_id == 8);
  REQUIRE(snap.silences.size() == 1);
  CHECK(snap.silences[0] == s);
  auto all = require_value(store->load_silences(0));
  REQUIRE(all.silences.size() == 2);
  CHECK(all.silences[1] == old);
}

TEST_CASE("changes and the end times of open external alerts load back", "[store]") {
  auto db = make_store_fixture();
  {
    auto store = db->open();
    WriteBatch batch;
    batch.changes = {change("chg-9", "checkout", 100), change("jenkins:build/1", "checkout", 300),
                     change("chg-12", "checkout", 200), change("chg-3", "search", 50)};
    batch.changes.back().strategy = incidents::DeployStrategy::kUnspecified;
    batch.changes.back().hosts = {};
    for (const char* fp : {"fp-1", "fp-2", "fp-3", "fp-4"}) {
      batch.incidents.alerts.push_back(alert(fp, protocol::AlertState::kFiring, 1));
    }
    batch.expiry = {expiry("fp-1", 9000), expiry("fp-2", 8000), expiry("fp-3", 8000)};
    require_written(*store, batch);

    batch = {};
    // A redelivered change is stored once: the first row stays.
    incidents::Change again = change("chg-9", "other", 999);
    batch.changes.push_back(again);
    // A re-send: the engine rewrites the alert's row, which keeps its end; then the end
    // moves.
    incidents::AlertRow resent = alert("fp-1", protocol::AlertState::kFiring, 1);
    resent.record.last_ms = 2500;
    batch.incidents.alerts.push_back(resent);
    batch.expiry.push_back(expiry("fp-1", 9500, false));
    batch.expiry.push_back({"fp-2", std::nullopt});  // resolved
    require_written(*store, batch);

    // A row the engine rewrites later, with no new end, keeps its end.
    batch = {};
    batch.incidents.alerts.push_back(alert("fp-3", protocol::AlertState::kFiring, 2));
    resent.detail.reset();  // a record-only update
    batch.incidents.alerts.push_back(resent);
    require_written(*store, batch);

    // In one batch an alert's ends count in order, whether its row is written with them
    // (fp-5, fp-6) or not (fp-1): the last one stays.
    batch = {};
    batch.incidents.alerts.push_back(alert("fp-5", protocol::AlertState::kFiring, 1));
    batch.incidents.alerts.push_back(alert("fp-6", protocol::AlertState::kFiring, 1));
    batch.incidents.alerts.push_back(alert("fp-5", protocol::AlertState::kFiring, 1));
    batch.expiry = {{"fp-5", std::nullopt}, expiry("fp-5", 7000), expiry("fp-6", 7100),
                    {"fp-6", std::nullopt}, expiry("fp-1", 9400), expiry("fp-1", 9500, false)};
    require_written(*store, batch);
    // A record-only row can carry the end too.
    batch = {};
    incidents::AlertRow record = alert("fp-6", protocol::AlertState::kFiring, 1);
    record.detail.reset();
    batch.incidents.alerts.push_back(record);
    batch.expiry = {expiry("fp-6", 7200, false)};
    require_written(*store, batch);

    // The end of an alert with no row could not be read back when it expires: refused,
    // and the batch writes nothing.
    batch = {};
    batch.changes.push_back(change("chg-20", "checkout", 400));
    batch.expiry.push_back(expiry("fp-ghost", 9000));
    const Status ghost = store->write_batch(batch);
    CHECK(ghost.code() == "not_found");
    CHECK_THAT(ghost.message(), Catch::Contains("fp-ghost"));
    // Nor with a row that only updates an alert the store does not have.
    batch = {};
    incidents::AlertRow phantom = alert("fp-phantom", protocol::AlertState::kFiring, 1);
    phantom.detail.reset();
    batch.incidents.alerts.push_back(phantom);
    batch.expiry.push_back(expiry("fp-phantom", 9000));
    const Status unknown = store->write_batch(batch);
    CHECK(unknown.code() == "not_found");
    CHECK_THAT(unknown.message(), Catch::Contains("fp-phantom"));
  }
  auto store = db->open();
  auto snap = require_value(store->load_changes(2));
  CHECK(snap.next_seq == 13);
  REQUIRE(snap.recent.size() == 3);  // checkout's latest two and search's one, oldest first
  incidents::Change search = change("chg-3", "search", 50);
  search.strategy = incidents::DeployStrategy::kUnspecified;
  search.hosts = {};
  CHECK(snap.recent[0] == search);
  CHECK(snap.recent[1] == change("chg-12", "checkout", 200));
  CHECK(snap.recent[2] == change("jenkins:build/1", "checkout", 300));
  CHECK(db->peek("SELECT service FROM changes WHERE id = 'chg-9'") == "checkout");

  // By end time; fp-2 resolved and fp-4 never had an end.
  CHECK(require_value(store->load_external_expiry()) ==
        std::vector<incidents::ExpiryEnd>{{"fp-5", 7000, true},
                                          {"fp-6", 7200, false},
                                          {"fp-3", 8000, true},
                                          {"fp-1", 9500, false}});
  auto one = require_value(store->load_external_expiry_row("fp-1"));
  REQUIRE(one);
  CHECK(*one == expiry_row("fp-1", 9500, false));
  CHECK(require_value(store->load_external_expiry_row("fp-3")) == expiry_row("fp-3", 8000));
  CHECK_FALSE(require_value(store->load_external_expiry_row("fp-2")));
  CHECK_FALSE(require_value(store->load_external_expiry_row("fp-4")));
  CHECK_FALSE(require_value(store->load_external_expiry_row("fp-ghost")));
}

TEST_CASE("migration 14 moves the ends of open external alerts into their rows", "[store]") {
  auto db = make_store_fixture();
  db->migrate_to(13);
  const std::string columns =
      "(fingerprint, source, rule, labels, annotations, host, state, severity, since_ms, "
      "last_ms, incident_id, retained) VALUES ";
  db->exec("INSERT INTO alerts " + columns +
           "('fp-1', 'external:am', 'DiskFull', '{\"a\":\"1\"}', '{\"summary\":\"disk\"}', "
           "'db-1', 'firing', 'critical', 100, 200, 1, '1'), "
           "('fp-2', 'external:am', 'Load', '{}', '{}', 'db-2', 'firing', 'info', 100, 200, 1, "
           "'1'), "
           "('fp-3', 'agent:web-1', 'Slow', '{}', '{}', 'web-1', 'firing', 'high', 100, 200, 1, "
           "'1')");
  // The old table repeated the alert's send; an end without an alert row had nothing to
  // resolve and goes.
  db->exec(
      "INSERT INTO external_expiry (fingerprint, source, rule, severity, host, labels, "
      "annotations, ends_at_ms, timeout) VALUES "
      "('fp-1', 'external:am', 'DiskFull', 'critical', 'db-1', '{}', '{}', 9000, '1'), "
      "('fp-2', 'external:am', 'Load', 'info', 'db-2', '{}', '{}', 8000, '0'), "
      "('fp-gone', 'external:am', 'X', 'info', '', '{}', '{}', 7000, '0')");

  auto store = db->open();
  CHECK(require_value(store->load_external_expiry()) ==
        std::vector<incidents::ExpiryEnd>{{"fp-2", 8000, false}, {"fp-1", 9000, true}});
  auto fp1 = require_value(store->load_external_expiry_row("fp-1"));
  REQUIRE(fp1);
  CHECK(*fp1 == incidents::ExpiryRow{"fp-1", "external:am", "DiskFull",
                                     protocol::Severity::kCritical, "db-1", R"({"a":"1"})",
                                     R"({"summary":"disk"})", 9000, true});
  CHECK_FALSE(require_value(store->load_external_expiry_row("fp-3")));
  CHECK(db->peek("SELECT count(*) FROM alerts") == "3");
}

TEST_CASE("a second suspect for an incident replaces the first", "[store]") {
  auto db = make_store_fixture();
  auto store = db->open();
  WriteBatch batch;
  batch.changes = {change("chg-1", "checkout", 100), change("chg-2", "checkout", 200)};
  SuspectRecord first{7, {change("chg-1", "checkout", 100), true, 60'000, "after deploy", ""}, 500};
  batch.suspects.push_back(first);
  require_written(*store, batch);
  batch = {};
  SuspectRecord second{7, {change("chg-2", "checkout", 200), false, 30'000, "sooner", "x"}, 600};
  batch.suspects.push_back(second);
  batch.suspects.push_back({8, first.suspect, 700});
  require_written(*store, batch);
  CHECK(db->peek("SELECT COUNT(*) FROM incident_suspects") == "2");
  CHECK(db->peek("SELECT change_id || ' ' || lead_ms || ' ' || summary || ' ' || at_ms "
                 "FROM incident_suspects WHERE incident_id = 7") == "chg-2 30000 sooner 600");
}

TEST_CASE("outbox rows are inserted, then updated in order", "[store]") {
  auto db = make_store_fixture();
  auto store = db->open();
  WriteBatch batch;
  batch.outbox = {outbox_row(1, "wf:7:1"), outbox_row(2, "wf:7:2")};
  OutboxUpdate sending{1, OutboxState::kSending, 1, 1000, "", nullptr, 1000};
  batch.outbox_updates = {sending};
  require_written(*store, batch);
  batch = {};
  batch.outbox_updates = {{1, OutboxState::kDone, 1, 1000, "", {{"ts", "1.2"}}, 1200},
                          {2, OutboxState::kDead, 3, 0, "HTTP 400: bad", nullptr, 1300}};
  require_written(*store, batch);
  CHECK(db->peek("SELECT state || ' ' || attempts || ' ' || result || ' ' || updated_ms "
                 "FROM outbox WHERE id = 1") == R"(done 1 {"ts":"1.2"} 1200)");
  CHECK(db->peek("SELECT state || ' ' || last_error FROM outbox WHERE id = 2") ==
        "dead HTTP 400: bad");
  CHECK(db->peek("SELECT COUNT(*) FROM outbox WHERE incident_id IS NULL") == "1");
  CHECK(db->peek("SELECT payload FROM outbox WHERE id = 2") == outbox_row(2, "").payload.dump());

  SECTION("an update of a row that does not exist fails the batch") {
    batch = {};
    batch.outbox_updates = {{99, OutboxState::kDone, 1, 0, "", nullptr, 1400}};
    const Status st = store->write_batch(batch);
    CHECK(st.code() == "constraint");
    CHECK(st.message().find("outbox row 99") != std::string::npos);
  }
}

TEST_CASE("the outbox reader finds rows by id and key, resumes open ones, lists newest first",
          "[store]") {
  auto db = make_store_fixture();
  auto store = db->open();
  auto reader = require_value(open_outbox_reader(db->config()));
  CHECK(require_value(reader->max_id()) == 0);
  CHECK(require_value(reader->load_open()).empty());
  WriteBatch batch;
  batch.outbox = {outbox_row(1, "wf:7:1"), outbox_row(2, "wf:7:2"), outbox_row(3, "wf:8:1")};
  batch.outbox[2].incident_id = 8;
  batch.outbox_updates = {{1, OutboxState::kDone, 1, 1000, "", {{"ts", "1.2"}}, 1200},
                          {2, OutboxState::kSending, 1, 1000, "", nullptr, 1300}};
  require_written(*store, batch);

  CHECK(require_value(reader->max_id()) == 3);
  auto open = require_value(reader->load_open());
  REQUIRE(open.size() == 2);
  CHECK(open[0].id == 2);
  CHECK(open[0].state == OutboxState::kSending);
  CHECK(open[1].id == 3);
  CHECK(open[1].payload == outbox_row(3, "").payload);

  auto done = require_value(reader->find(1));
  REQUIRE(done);
  CHECK(done->state == OutboxState::kDone);
  CHECK(done->result == nlohmann::json{{"ts", "1.2"}});
  CHECK(done->updated_ms == 1200);
  CHECK_FALSE(require_value(reader->find(99)));
  auto by_key = require_value(reader->find_by_key("wf:8:1"));
  REQUIRE(by_key);
  CHECK(by_key->id == 3);
  CHECK(by_key->incident_id == std::optional<uint64_t>(8));
  CHECK_FALSE(require_value(reader->find_by_key("wf:9:1")));

  auto all = require_value(reader->list({}));
  REQUIRE(all.size() == 3);
  CHECK(all[0].id == 3);
  CHECK(all[2].id == 1);
  auto of_8 = require_value(reader->list({.state = std::nullopt, .incident_id = 8, .limit = 10}));
  REQUIRE(of_8.size() == 1);
  CHECK(of_8[0].id == 3);
  auto sending =
      require_value(reader->list({.state = OutboxState::kSending, .incident_id = {}, .limit = 10}));
  REQUIRE(sending.size() == 1);
  CHECK(sending[0].id == 2);
  CHECK(require_value(reader->list({.state = {}, .incident_id = {}, .limit = 2})).size() == 2);
}

TEST_CASE("the silence reader lists every silence by id and finds one however old", "[store]") {
  auto db = make_store_fixture();
  auto store = db->open();
  auto reader = require_value(open_silence_reader(db->config()));
  CHECK(require_value(reader->all()).empty());
  incidents::Silence s;
  s.id = 4;
  s.matchers = {incidents::Matcher::parse("service=\"checkout\"").value()};
  s.starts_at_ms = 1000;
  s.ends_at_ms = 5000;
  s.created_by = "alice";
  s.created_ms = 900;
  incidents::Silence old = s;
  old.id = 2;
  old.ends_at_ms = 1;  // long over
  old.expired_by = "bob";
  WriteBatch batch;
  batch.silences = {s, old};
  require_written(*store, batch);

  auto all = require_value(reader->all());
  REQUIRE(all.size() == 2);
  CHECK(all[0] == old);
  CHECK(all[1] == s);
  auto found = require_value(reader->silence(2));
  REQUIRE(found);
  CHECK(*found == old);
  CHECK_FALSE(require_value(reader->silence(3)));
}

TEST_CASE("the active workflows load back whole, by incident", "[store]") {
  auto db = make_store_fixture();
  {
    auto store = db->open();
    WriteBatch batch;
    batch.workflows = {workflow(9, true), workflow(4, true), workflow(5, false)};
    require_written(*store, batch);
    batch.workflows = {workflow(9, false)};  // released and every call finished: inactive
    require_written(*store, batch);
  }
  auto store = db->open();
  auto active = require_value(store->load_workflows());
  REQUIRE(active.size() == 1);
  CHECK(active[0] == workflow(4, true));
  CHECK(db->peek("SELECT COUNT(*) FROM incident_workflows") == "3");
}

TEST_CASE("a batch that fails part-way writes nothing at all", "[store]") {
  auto db = make_store_fixture();
  auto store = db->open();
  WriteBatch batch;
  batch.outbox = {outbox_row(1, "wf:1:1")};
  require_written(*store, batch);

  batch = {};
  AgentRecord a = agent("web-1");
  a.acked_seq = 1;
  batch.agents.push_back(a);
  batch.events.push_back({"web-1", 1, protocol::MessageType::kMetrics, 1, 2, "frame"});
  batch.state_changes.push_back({"web-1", AgentState::kAlive, 100, "registered"});
  batch.incidents.incidents.push_back(incident(1));
  batch.silences.push_back({});
  batch.changes.push_back(change("chg-1", "checkout", 100));
  batch.incidents.alerts.push_back(alert("fp-1", protocol::AlertState::kFiring, 1));
  batch.expiry.push_back(expiry("fp-1", 9000));
  batch.workflows.push_back(workflow(1, true));
  batch.outbox = {outbox_row(2, "wf:1:1")};  // the idempotency key is taken: the batch fails
  const Status st = store->write_batch(batch);
  CHECK(st.code() == "constraint");

  CHECK(require_value(store->load_agents()).empty());
  CHECK(require_value(store->state_history("web-1")).empty());
  CHECK(require_value(store->load_incidents()).incidents.empty());
  CHECK(require_value(store->load_silences(0)).silences.empty());
  CHECK(require_value(store->load_changes(10)).recent.empty());
  CHECK(require_value(store->load_external_expiry()).empty());
  CHECK(require_value(store->load_workflows()).empty());
  CHECK(db->peek("SELECT COUNT(*) FROM events") == "0");
  CHECK(db->peek("SELECT COUNT(*) FROM outbox") == "1");

  // The store is usable afterwards.
  batch.outbox = {outbox_row(2, "wf:1:2")};
  require_written(*store, batch);
  CHECK(require_value(store->load_agents()).size() == 1);
}

TEST_CASE("a database written by a newer build is refused", "[store]") {
  auto db = make_store_fixture();
  db->open();  // migrated to what this build knows
  db->record_schema_version(1000);
  auto store = open_store(db->config());
  REQUIRE_FALSE(store);
  CHECK(store.status().code() == "schema_too_new");
}

TEST_CASE("both stores' schemas have the same migration versions", "[store]") {
  std::vector<int> sqlite_versions;
  for (const auto& m : sqlite_migrations()) sqlite_versions.push_back(m.version);
  std::vector<int> pg_versions;
  for (const auto& m : pg_migrations()) pg_versions.push_back(m.version);
  CHECK(sqlite_versions == pg_versions);
  CHECK(pg_versions.back() >= 11);  // 11: the cluster's tables on PostgreSQL
}

TEST_CASE("migrate_store reports the version, applies what is missing, refuses a newer one",
          "[store]") {
  auto db = make_store_fixture();
  const StoreConfig cfg = db->config();

  SchemaReport asked = require_value(migrate_store(cfg, false));
  CHECK(asked.before == 0);
  CHECK(asked.after == 0);
  CHECK(asked.known >= 11);
  CHECK(asked.pending() == asked.known);
  CHECK(require_value(migrate_store(cfg, false)).before == 0);  // asking wrote nothing

  SchemaReport applied = require_value(migrate_store(cfg, true));
  CHECK(applied.before == 0);
  CHECK(applied.after == applied.known);
  CHECK(applied.pending() == 0);
  SchemaReport again = require_value(migrate_store(cfg, true));
  CHECK(again.before == again.known);
  CHECK(again.after == again.known);
  db->open();  // the store opens on what migrate left

  db->record_schema_version(1000);
  for (bool apply : {false, true}) {
    auto newer = migrate_store(cfg, apply);
    REQUIRE_FALSE(newer);
    CHECK(newer.status().code() == "schema_too_new");
    CHECK_THAT(newer.status().message(), Catch::Contains("schema version 1000"));
  }
}

TEST_CASE("the API reader lists incidents and shows one with what the record holds", "[store]") {
  using protocol::AlertState;
  using protocol::Severity;
  auto db = make_store_fixture();
  auto store = db->open();

  incidents::IncidentRow first = incident(1);  // checkout, acknowledged, critical
  incidents::IncidentRow second = incident(2);
  second.service = "search";
  second.status = incidents::IncidentStatus::kResolved;
  second.severity = Severity::kWarning;
  second.opened_ms = 5000;
  incidents::IncidentRow third = incident(3);
  third.status = incidents::IncidentStatus::kTriggered;
  third.severity = Severity::kHigh;
  third.opened_ms = 6000;
  incidents::AlertRow b = alert("fp-b", AlertState::kFiring, 1);
  b.record.since_ms = 3000;
  incidents::AlertRow a = alert("fp-a", AlertState::kPending, 1);
  a.record.since_ms = 3000;
  incidents::AlertRow old = alert("fp-old", AlertState::kResolved, 2);
  WriteBatch batch;
  batch.incidents.alerts = {b, a, old};
  batch.incidents.incidents = {first, second, third};
  batch.incidents.members = {{1, "fp-b", "web-1", 1000},
                             {1, "fp-a", "web-2", 1001},
                             {2, "fp-old", "web-1", 1002},
                             {1, "fp-b", "web-1", 1003}};
  const std::vector<incidents::TimelineEntry> timeline = {
      {1, 1000, incidents::TimelineKind::kOpened, "reflex", "fp-b", "web-1", "opened", ""},
      {1, 1100, incidents::TimelineKind::kAcknowledged, "alice", "", "", "acknowledged", ""}};
  batch.incidents.timeline = timeline;
  batch.incidents.timeline.push_back(
      {2, 1200, incidents::TimelineKind::kResolved, "reflex", "", "", "resolved", ""});
  const incidents::Change deploy = change("chg-1", "checkout", 900);
  batch.changes = {deploy, change("chg-2", "payments", 950), change("chg-3", "search", 800)};
  const SuspectRecord suspect{1, {deploy, false, 100, "after deploy 4.2.900", ""}, 1000};
  batch.suspects = {suspect};
  batch.workflows = {workflow(1, true)};
  require_written(*store, batch);

  auto reader = require_value(open_reader(db->config()));
  auto with = [](auto set) {
    IncidentQuery q;
    set(q);
    return q;
  };
  auto with_change = [](auto set) {
    ChangeQuery q;
    set(q);
    return q;
  };
  auto ids = [&](const IncidentQuery& q) {
    std::vector<uint64_t> out;
    for (const auto& r : require_value(reader->incidents(q))) out.push_back(r.id);
    return out;
  };
  CHECK(ids({}) == std::vector<uint64_t>{3, 2, 1});
  CHECK(ids(with([](auto& q) { q.open_only = true; })) == std::vector<uint64_t>{3, 1});
  CHECK(ids(with([](auto& q) { q.status = incidents::IncidentStatus::kResolved; })) ==
        std::vector<uint64_t>{2});
  CHECK(ids(with([](auto& q) { q.service = "checkout"; })) == std::vector<uint64_t>{3, 1});
  CHECK(ids(with([](auto& q) { q.min_severity = Severity::kHigh; })) ==
        std::vector<uint64_t>{3, 1});
  CHECK(ids(with([](auto& q) { q.since_ms = 5000; })) == std::vector<uint64_t>{3, 2});
  CHECK(ids(with([](auto& q) { q.limit = 1; })) == std::vector<uint64_t>{3});
  CHECK(require_value(reader->incidents({}))[2] == first);

  reader->set_dependencies([](const std::string& service) {
    return service == "checkout" ? std::vector<std::string>{"payments"}
                                 : std::vector<std::string>{};
  });
  auto detail = require_value(reader->incident(1));
  REQUIRE(detail);
  CHECK(detail->incident == first);
  REQUIRE(detail->members.size() == 3);
  CHECK(detail->members[1] == incidents::MemberRow{1, "fp-a", "web-2", 1001});
  REQUIRE(detail->alerts.size() == 2);  // each member's alert once, in joining order
  CHECK(detail->alerts[0] == b);
  CHECK(detail->alerts[1] == a);
  CHECK(detail->timeline == timeline);
  REQUIRE(detail->suspect);
  CHECK(*detail->suspect == suspect);
  REQUIRE(detail->workflow);
  CHECK(*detail->workflow == workflow(1, true));
  REQUIRE(detail->changes.size() == 2);  // its service's and its dependency's, newest first
  CHECK(detail->changes[0].id == "chg-2");
  CHECK(detail->changes[1] == deploy);
  CHECK_FALSE(require_value(reader->incident(99)));
  auto plain = require_value(reader->incident(2));
  REQUIRE(plain);
  CHECK_FALSE(plain->suspect);
  CHECK_FALSE(plain->workflow);
  CHECK(plain->timeline.size() == 1);

  auto open = require_value(reader->open_alerts(10));
  REQUIRE(open.size() == 2);  // by since_ms, newest first, then fingerprint
  CHECK(open[0] == a);
  CHECK(open[1] == b);
  CHECK(require_value(reader->open_alerts(1)).size() == 1);

  auto changes = require_value(reader->changes({}));
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].id == "chg-2");
  CHECK(changes[2].id == "chg-3");
  CHECK(require_value(reader->changes(with_change([](auto& q) { q.service = "search"; }))).size() ==
        1);
  CHECK(require_value(reader->changes(with_change([](auto& q) { q.since_ms = 900; }))).size() == 2);
  CHECK(require_value(reader->changes(with_change([](auto& q) { q.limit = 1; }))).size() == 1);

  // The reader sees what is committed after it opened.
  batch = {};
  incidents::IncidentRow fourth = incident(4);
  fourth.opened_ms = 7000;
  batch.incidents.incidents = {fourth};
  require_written(*store, batch);
  CHECK(ids(with([](auto& q) { q.limit = 1; })) == std::vector<uint64_t>{4});
}
