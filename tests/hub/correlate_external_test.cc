// External input through the correlate stage, against a real SQLite store on simulated
// time: alerts from monitoring tools and changes travel with the batch, end times are
// tracked on the stage's timer and survive a restart, a failed commit keeps nothing,
// and an incident that opens after a change names it the suspect.
#include <catch2/catch.hpp>
#include <future>

#include "common/sqlite.h"
#include "hub/correlate.h"
#include "hub/incidents/external_labels.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::hub;
using protocol::AlertState;

namespace {

constexpr int64_t kMin = 60'000;

struct Stage {
  Stage() {
    StoreConfig sc;
    sc.path = dir.file("hub.db");
    auto opened = open_store(sc);
    REQUIRE(opened);
    store = std::move(opened).value();
    start();
  }

  // A correlator on the store, as a (re)started hub makes one.
  void start() {
    correlator = std::make_unique<Correlator>(*store, registry, time, time, [this] { ++wakes; });
    REQUIRE(correlator->start(incident_policy({})));
  }

  // Correlates what is queued and commits it, as the hub does on a commit that succeeds.
  WriteBatch commit() {
    WriteBatch b;
    REQUIRE(correlator->correlate(b, time.now_ms()));
    REQUIRE(store->write_batch(b));
    correlator->committed();
    return b;
  }

  // An alert as POST /api/v2/alerts accepts it: firing until `ends_in` from now.
  incidents::ExternalAlert alert(const std::string& name, const std::string& service,
                                 int64_t ends_in_ms, const std::string& instance = "web-1:9100") {
    incidents::ExternalAlert a;
    a.signal.source = "external:alertmanager";
    a.signal.labels = {
        {"alertname", name}, {"service", service}, {"env", "prod"}, {"instance", instance}};
    a.signal.fingerprint = incidents::label_set_fingerprint(a.signal.labels);
    a.signal.rule = name;
    a.signal.state = AlertState::kFiring;
    a.signal.severity = protocol::Severity::kHigh;
    a.signal.host = incidents::host_from_labels(a.signal.labels);
    a.signal.at_ms = time.now_ms();
    a.starts_at_ms = time.now_ms();
    a.ends_at_ms = time.now_ms() + ends_in_ms;
    return a;
  }

  incidents::Change change(const std::string& service, const std::string& version) {
    incidents::Change c;
    c.service = service;
    c.environment = "prod";
    c.version = version;
    c.hosts = {"web-1"};
    c.author = "alice";
    c.source = "api";
    c.at_ms = time.now_ms();
    return c;
  }

  std::future<Result<InputReceipt>> submit(ExternalInput input) {
    auto answer = std::make_shared<InputAnswer>();
    auto done = answer->get_future();
    correlator->submit_input(std::move(input), answer);
    return done;
  }

  reflex::testing::TempDir dir;
  SimulatedTime time;
  AgentRegistry registry{LivenessPolicy{}};
  std::unique_ptr<HubStore> store;
  std::unique_ptr<Correlator> correlator;
  int wakes = 0;
};

ExternalInput alerts_input(std::vector<incidents::ExternalAlert> alerts) {
  ExternalInput in;
  in.alerts = std::move(alerts);
  return in;
}

ExternalInput change_input(incidents::Change change) {
  ExternalInput in;
  in.change = std::move(change);
  return in;
}

bool ready(const std::future<Result<InputReceipt>>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

std::vector<std::string> notes(const incidents::Changes& changes) {
  std::vector<std::string> out;
  for (const auto& e : changes.timeline) {
    if (e.kind == incidents::TimelineKind::kNote) out.push_back(e.text);
  }
  return out;
}

}  // namespace

TEST_CASE("an external alert opens an incident in the batch and is answered once it commits",
          "[hub][correlate][external]") {
  Stage s;
  auto a = s.alert("HighLatency", "checkout", 5 * kMin);
  auto done = s.submit(alerts_input({a}));
  CHECK(s.wakes == 1);
  WriteBatch b;
  REQUIRE(s.correlator->correlate(b, s.time.now_ms()));
  REQUIRE(b.incidents.incidents.size() >= 1);
  REQUIRE(b.expiry.size() == 1);
  CHECK(b.expiry[0].fingerprint == a.signal.fingerprint);
  CHECK(b.expiry[0].ends_at_ms == a.ends_at_ms);
  CHECK_FALSE(ready(done));  // not before its commit
  REQUIRE(s.store->write_batch(b));
  s.correlator->committed();
  auto receipt = done.get();
  REQUIRE(receipt);
  CHECK(receipt->signals == 1);
  CHECK(s.correlator->engine().incident(1)->title == "HighLatency on checkout");
  auto rows = s.store->load_external_expiry();
  REQUIRE(rows);
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].fingerprint == a.signal.fingerprint);
}

TEST_CASE("an external alert not sent again resolves at its end on the stage's timer",
          "[hub][correlate][external]") {
  Stage s;
  auto a = s.alert("HighLatency", "checkout", 2 * kMin);
  s.submit(alerts_input({a}));
  s.commit();
  const int wakes = s.wakes;
  s.time.advance(Millis(2 * kMin - 1));
  CHECK(s.wakes == wakes);
  s.time.advance(Millis(1));
  CHECK(s.wakes == wakes + 1);  // the end time is on the timer
  WriteBatch b = s.commit();
  REQUIRE(b.expiry.size() == 1);
  CHECK_FALSE(b.expiry[0].ends_at_ms);  // its end is cleared
  CHECK(s.correlator->engine().alert(a.signal.fingerprint)->state == AlertState::kResolved);
  CHECK(s.correlator->expiry().size() == 0);
  CHECK(s.store->load_external_expiry()->empty());
}

TEST_CASE("an external alert sent again before its end keeps firing until the new end",
          "[hub][correlate][external]") {
  Stage s;
  s.submit(alerts_input({s.alert("HighLatency", "checkout", 2 * kMin)}));
  s.commit();
  s.time.advance(Millis(kMin));
  auto again = s.alert("HighLatency", "checkout", 2 * kMin);
  s.submit(alerts_input({again}));
  s.commit();
  s.time.advance(Millis(kMin + 1));
  s.commit();
  CHECK(s.correlator->engine().alert(again.signal.fingerprint)->state == AlertState::kFiring);
  s.time.advance(Millis(kMin));
  s.commit();
  CHECK(s.correlator->engine().alert(again.signal.fingerprint)->state == AlertState::kResolved);
}

TEST_CASE("external input whose commit fails is answered unavailable and nothing of it is kept",
          "[hub][correlate][external]") {
  Stage s;
  ExternalInput in = alerts_input({s.alert("HighLatency", "checkout", 5 * kMin)});
  in.change = s.change("checkout", "4.2.1");
  auto done = s.submit(std::move(in));
  WriteBatch b;
  REQUIRE(s.correlator->correlate(b, s.time.now_ms()));
  CHECK(b.changes.size() == 1);
  s.correlator->failed(Status::error("busy", "database is locked"));
  auto receipt = done.get();
  REQUIRE_FALSE(receipt);
  CHECK(receipt.status().code() == "unavailable");
  CHECK(s.correlator->engine().alert_count() == 0);
  CHECK(s.correlator->expiry().size() == 0);
  CHECK(s.correlator->change_log().size() == 0);
  // Nothing armed for an alert that was never kept: time passing changes nothing.
  const int wakes = s.wakes;
  s.time.advance(Millis(10 * kMin));
  CHECK(s.wakes == wakes);
}

TEST_CASE("a restarted stage restores tracked end times and changes from the store",
          "[hub][correlate][external]") {
  Stage s;
  auto a = s.alert("HighLatency", "checkout", 3 * kMin);
  ExternalInput in = alerts_input({a});
  in.change = s.change("checkout", "4.2.1");
  auto done = s.submit(std::move(in));
  s.commit();
  auto receipt = done.get();
  REQUIRE(receipt);
  REQUIRE(receipt->change);
  CHECK(receipt->change->id == "chg-1");

  s.start();  // as after a hub restart
  CHECK(s.correlator->expiry().size() == 1);
  CHECK(s.correlator->expiry().next_due_ms() == a.ends_at_ms);
  CHECK(s.correlator->change_log().size() == 1);
  // The next change continues the ids.
  auto second = s.submit(change_input(s.change("checkout", "4.2.2")));
  s.commit();
  CHECK(second.get()->change->id == "chg-2");
  // The restored end time is on the timer.
  const int wakes = s.wakes;
  s.time.advance(Millis(3 * kMin));
  CHECK(s.wakes > wakes);
  s.commit();
  CHECK(s.correlator->engine().alert(a.signal.fingerprint)->state == AlertState::kResolved);
}

TEST_CASE("a change followed by an incident of its service is named its suspect",
          "[hub][correlate][external]") {
  Stage s;
  auto c = s.change("checkout", "4.2.1");
  c.strategy = incidents::DeployStrategy::kCanary;
  s.submit(change_input(c));
  s.commit();
  s.time.advance(Millis(2 * kMin));
  s.submit(alerts_input({s.alert("HighErrorRate", "checkout", 5 * kMin)}));
  WriteBatch b = s.commit();
  REQUIRE(b.suspects.size() == 1);
  CHECK(b.suspects[0].incident_id == 1);
  CHECK(b.suspects[0].suspect.change.version == "4.2.1");
  CHECK(b.suspects[0].suspect.lead_ms == 2 * kMin);
  // No per-host figures in the hub: the canary evidence says so, the overlap is there.
  CHECK(b.suspects[0].suspect.evidence ==
        "no error rate or latency for the changed hosts; 1 of 1 affected host changed");
  CHECK(notes(b.incidents) ==
        std::vector<std::string>{"suspect: started 2 minutes after deploy 4.2.1 of checkout by "
                                 "alice (no error rate or latency for the changed hosts; 1 of 1 "
                                 "affected host changed)"});

  StoreConfig sc;
  sc.path = s.dir.file("hub.db");
  auto reader = open_reader(sc);
  REQUIRE(reader);
  auto detail = (*reader)->incident(1);
  REQUIRE(detail);
  REQUIRE(*detail);
  REQUIRE((*detail)->suspect);
  CHECK((*detail)->suspect->suspect.change == b.suspects[0].suspect.change);
  CHECK((*detail)->suspect->suspect.summary == b.suspects[0].suspect.summary);
  REQUIRE((*detail)->changes.size() == 1);
  CHECK((*detail)->changes[0].id == "chg-1");
}

TEST_CASE("a change followed by silence, or by an incident elsewhere or much later, names nothing",
          "[hub][correlate][external]") {
  Stage s;
  s.submit(change_input(s.change("checkout", "4.2.1")));
  WriteBatch first = s.commit();
  CHECK(first.suspects.empty());
  s.time.advance(Millis(10 * kMin));
  CHECK(s.commit().suspects.empty());  // silence

  s.submit(alerts_input({s.alert("DiskFull", "billing", 5 * kMin)}));
  WriteBatch other = s.commit();
  CHECK(other.incidents.events.size() >= 1);
  CHECK(other.suspects.empty());  // another service

  s.time.advance(Millis(25 * kMin));  // 35 minutes after the change: beyond the window
  s.submit(alerts_input({s.alert("HighErrorRate", "checkout", 5 * kMin)}));
  WriteBatch late = s.commit();
  CHECK(late.suspects.empty());
  CHECK(notes(late.incidents).empty());
}

TEST_CASE("a change of a dependency is the suspect when the topology names it",
          "[hub][correlate][external]") {
  Stage s;
  s.correlator->set_dependencies([](const std::string& service) {
    return service == "checkout" ? std::vector<std::string>{"payments"}
                                 : std::vector<std::string>{};
  });
  s.submit(change_input(s.change("payments", "9.0")));
  s.commit();
  s.time.advance(Millis(kMin));
  s.submit(alerts_input({s.alert("HighErrorRate", "checkout", 5 * kMin)}));
  WriteBatch b = s.commit();
  REQUIRE(b.suspects.size() == 1);
  CHECK(b.suspects[0].suspect.on_dependency);
  CHECK(b.suspects[0].suspect.change.service == "payments");
}

TEST_CASE("a change delivered twice is stored once and answered as a duplicate",
          "[hub][correlate][external]") {
  Stage s;
  auto c = s.change("checkout", "57");
  c.id = "jenkins:https://ci/job/deploy/57/";
  auto first = s.submit(change_input(c));
  s.commit();
  auto second = s.submit(change_input(c));
  WriteBatch b = s.commit();
  CHECK(b.changes.empty());
  CHECK_FALSE(first.get()->duplicate);
  CHECK(second.get()->duplicate);
  StoreConfig sc;
  sc.path = s.dir.file("hub.db");
  auto reader = open_reader(sc);
  REQUIRE(reader);
  CHECK((*reader)->changes({})->size() == 1);
}

TEST_CASE("a resolution by webhook stops the expiry of the same alert",
          "[hub][correlate][external]") {
  Stage s;
  auto a = s.alert("HighLatency", "checkout", 5 * kMin);
  s.submit(alerts_input({a}));
  s.commit();
  ExternalInput in;
  auto resolved = a.signal;
  resolved.state = AlertState::kResolved;
  in.signals = {resolved};
  auto done = s.submit(std::move(in));
  WriteBatch b = s.commit();
  CHECK(done.get()->signals == 1);
  REQUIRE(b.expiry.size() == 1);
  CHECK_FALSE(b.expiry[0].ends_at_ms);
  CHECK(s.correlator->expiry().size() == 0);
}

TEST_CASE(
    "an expired external alert resolves with the labels and annotations of its latest "
    "re-send, also after a restart",
    "[hub][correlate][external]") {
  for (const bool restart : {false, true}) {
    CAPTURE(restart);
    Stage s;
    auto a = s.alert("HighLatency", "checkout", 2 * kMin);
    a.signal.annotations = {{"summary", "slow"}};
    s.submit(alerts_input({a}));
    s.commit();
    s.time.advance(Millis(kMin));
    auto again = s.alert("HighLatency", "checkout", 2 * kMin);
    again.signal.annotations = {{"summary", "slower"}, {"runbook_url", "http://rb/latency"}};
    again.signal.severity = protocol::Severity::kCritical;
    REQUIRE(again.signal.fingerprint == a.signal.fingerprint);
    s.submit(alerts_input({again}));
    s.commit();
    if (restart) s.start();

    s.time.advance(Millis(2 * kMin));
    WriteBatch b = s.commit();
    REQUIRE(b.expiry.size() == 1);
    CHECK_FALSE(b.expiry[0].ends_at_ms);
    const incidents::AlertRow* row = nullptr;
    for (const auto& r : b.incidents.alerts) {
      if (r.fingerprint == a.signal.fingerprint && r.detail) row = &r;
    }
    REQUIRE(row);  // the resolved signal's row, with what the alert was last sent with
    CHECK(row->record.state == AlertState::kResolved);
    CHECK(row->record.since_ms == again.ends_at_ms);
    CHECK(row->detail->source == "external:alertmanager");
    CHECK(row->detail->rule == "HighLatency");
    CHECK(row->detail->labels == again.signal.labels);
    CHECK(row->detail->annotations == again.signal.annotations);
    CHECK(s.correlator->engine().alert(a.signal.fingerprint)->host == "web-1");
  }
}

TEST_CASE(
    "an expiring alert whose stored end is gone fails the batch, and the stage restores "
    "from the store",
    "[hub][correlate][external]") {
  Stage s;
  auto a = s.alert("HighLatency", "checkout", 2 * kMin);
  s.submit(alerts_input({a}));
  s.commit();
  {
    auto db = sqlite::Database::open(s.dir.file("hub.db"));
    REQUIRE(db);
    REQUIRE(db->exec("UPDATE alerts SET ends_at_ms = NULL"));
  }
  s.time.advance(Millis(2 * kMin));
  WriteBatch b;
  auto st = s.correlator->correlate(b, s.time.now_ms());
  REQUIRE_FALSE(st);
  CHECK(st.code() == "corrupt");
  CHECK_THAT(st.message(), Catch::Contains(a.signal.fingerprint));
  s.correlator->failed(st);
  // Restored from the store, which tracks nothing now: the alert stays as stored.
  CHECK(s.correlator->expiry().size() == 0);
  CHECK(s.correlator->engine().alert(a.signal.fingerprint)->state == AlertState::kFiring);
  WriteBatch next = s.commit();
  CHECK(next.expiry.empty());
}
