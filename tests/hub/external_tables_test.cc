#include "hub/incidents/external_tables.h"

#include <catch2/catch.hpp>

#include "hub/incidents/engine.h"
#include "hub/incidents/incident_store.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::hub::incidents;
using reflex::protocol::AlertState;
using reflex::protocol::Severity;

namespace {

constexpr int64_t kT0 = 1'767'261'600'000;
constexpr int64_t kMin = 60'000;

// A database file with the changes and the alerts with their ends, as the hub's store
// would hold them.
sqlite::Database open_db(const std::string& path) {
  auto db = sqlite::Database::open(path);
  INFO(db.status().to_string());
  REQUIRE(db);
  const sqlite::Migration migrations[] = {{1, kChangesSchemaSql},
                                          {2, kIncidentSchemaSql},
                                          {3, kExternalExpirySchemaSql},
                                          {4, kExpiryInAlertsSql}};
  REQUIRE(sqlite::migrate(*db, migrations));
  return std::move(db).value();
}

Change deploy(const std::string& service, int64_t at, const std::string& version) {
  Change c;
  c.service = service;
  c.environment = "prod";
  c.version = version;
  c.hosts = {"web-1", "web-2"};
  c.strategy = DeployStrategy::kCanary;
  c.commit = "c0ffee";
  c.author = "alice";
  c.link = "https://ci/" + version;
  c.source = "api";
  c.at_ms = at;
  return c;
}

ExternalAlert firing(const std::string& fp, int64_t ends_at, bool timeout) {
  ExternalAlert a;
  a.signal = AlertSignal{"external:alertmanager",
                         fp,
                         "DiskFull",
                         AlertState::kFiring,
                         Severity::kCritical,
                         {{"alertname", "DiskFull"}, {"instance", "db-1:9100"}},
                         {{"summary", "disk \"/\" 95% full"}},
                         "db-1",
                         kT0};
  a.starts_at_ms = kT0;
  a.ends_at_ms = ends_at;
  a.timeout = timeout;
  return a;
}

}  // namespace

TEST_CASE("Changes survive a restart: the latest per service and the id sequence",
          "[hub][changes]") {
  testing::TempDir dir;
  const std::string path = dir.file("hub.db");
  ChangeLog before(2);
  {
    sqlite::Database db = open_db(path);
    auto tables = ChangeTables::prepare(db);
    REQUIRE(tables);
    for (int i = 1; i <= 4; ++i) {
      for (const char* svc : {"checkout", "payments"}) {
        Change c = deploy(svc, kT0 + i * kMin, std::to_string(i));
        REQUIRE(before.add(c));
        auto stored = tables->append(c);
        REQUIRE(stored);
        CHECK(*stored);
      }
    }
    Change bg = deploy("api", kT0, "7");
    bg.strategy = DeployStrategy::kBlueGreen;
    bg.active_color = "green";
    bg.hosts.clear();
    REQUIRE(before.add(bg));
    REQUIRE(tables->append(bg));
  }
  sqlite::Database db = open_db(path);
  auto tables = ChangeTables::prepare(db);
  REQUIRE(tables);
  auto snap = tables->load(2);
  INFO(snap.status().to_string());
  REQUIRE(snap);
  CHECK(snap->next_seq == 10);
  CHECK(snap->recent.size() == 5);
  ChangeLog after(2);
  after.restore(snap->recent, snap->next_seq);
  for (const char* svc : {"checkout", "payments", "api"}) {
    CHECK(after.recent(svc, {}, 10) == before.recent(svc, {}, 10));
  }
  CHECK(after.recent("api", {}, 1).at(0).active_color == "green");
  Change next = deploy("checkout", kT0 + 9 * kMin, "9");
  REQUIRE(after.add(next));
  CHECK(next.id == "chg-10");
}

TEST_CASE("A redelivered change is stored once", "[hub][changes]") {
  testing::TempDir dir;
  sqlite::Database db = open_db(dir.file("hub.db"));
  auto tables = ChangeTables::prepare(db);
  REQUIRE(tables);
  Change c = deploy("checkout", kT0, "4.2.1");
  c.id = "github:acme/shop/deployments/777";
  CHECK(*tables->append(c));
  CHECK_FALSE(*tables->append(c));
  c.id.clear();
  CHECK(tables->append(c).status().code() == "invalid_argument");
  auto all = tables->list("", 0, 100);
  REQUIRE(all);
  CHECK(all->size() == 1);
  auto snap = tables->load(50);
  REQUIRE(snap);
  CHECK(snap->next_seq == 1);  // no generated ids yet
}

TEST_CASE("Listing changes filters by service and time, newest first", "[hub][changes]") {
  testing::TempDir dir;
  sqlite::Database db = open_db(dir.file("hub.db"));
  auto tables = ChangeTables::prepare(db);
  REQUIRE(tables);
  ChangeLog log;
  for (int i = 0; i < 6; ++i) {
    Change c = deploy(i % 2 ? "payments" : "checkout", kT0 + i * kMin, std::to_string(i));
    REQUIRE(log.add(c));
    REQUIRE(tables->append(c));
  }
  auto checkout = tables->list("checkout", kT0 + kMin, 10);
  REQUIRE(checkout);
  REQUIRE(checkout->size() == 2);
  CHECK(checkout->at(0).version == "4");
  CHECK(checkout->at(1).version == "2");
  auto latest = tables->list("", 0, 3);
  REQUIRE(latest);
  REQUIRE(latest->size() == 3);
  CHECK(latest->at(0).version == "5");
  CHECK(latest->at(0) == log.recent("payments", {}, 1).at(0));
}

TEST_CASE("Ends stored beside the alerts' rows survive a restart and restore an equal expiry",
          "[hub][external]") {
  testing::TempDir dir;
  const std::string path = dir.file("hub.db");
  ExternalExpiry live;
  {
    sqlite::Database db = open_db(path);
    auto tables = ExpiryTables::prepare(db);
    REQUIRE(tables);
    auto alerts = IncidentTables::prepare(db);
    REQUIRE(alerts);
    IncidentEngine engine(IncidentPolicy{});
    // As the hub does: the engine takes the signal and writes the alert's row, then the
    // end goes beside it.
    auto send = [&](const ExternalAlert& a) {
      auto changes = engine.on_signal(a.signal, kT0);
      REQUIRE(changes);
      REQUIRE(alerts->append(*changes));
      REQUIRE(tables->apply(live.observe(a)));
    };
    for (int i = 0; i < 20; ++i) {
      send(firing("fp" + std::to_string(i), kT0 + (i % 5 + 1) * kMin, i % 2 == 0));
    }
    ExternalAlert resent = firing("fp3", kT0 + 30 * kMin, false);
    resent.signal.annotations["summary"] = "disk \"/\" 97% full";
    send(resent);
    ExternalAlert gone = firing("fp7", kT0, false);
    gone.signal.state = AlertState::kResolved;
    send(gone);
    for (const ExpiryEnd& e : live.expire(kT0 + kMin)) {
      auto row = tables->row(e.fingerprint);
      REQUIRE(row);
      REQUIRE(*row);
      CHECK((*row)->ends_at_ms == e.ends_at_ms);
      REQUIRE(tables->apply({e.fingerprint, std::nullopt}));
    }
    auto cleared = tables->row("fp7");  // resolved: its end was cleared
    REQUIRE(cleared);
    CHECK_FALSE(*cleared);
  }
  sqlite::Database db = open_db(path);
  auto tables = ExpiryTables::prepare(db);
  REQUIRE(tables);
  auto ends = tables->load();
  REQUIRE(ends);
  ExternalExpiry restored;
  REQUIRE(restored.restore(*ends));
  CHECK(restored.snapshot() == live.snapshot());
  CHECK(restored.size() == 15);  // 20 - the 4 that expired at +1m - the resolved fp7
  CHECK(restored.tracked("fp3")->ends_at_ms == kT0 + 30 * kMin);
  // What is read back is what the re-send carried.
  auto fp3 = tables->row("fp3");
  REQUIRE(fp3);
  REQUIRE(*fp3);
  CHECK((*fp3)->ends_at_ms == kT0 + 30 * kMin);
  auto signal = expired_signal(**fp3);
  REQUIRE(signal);
  CHECK(signal->labels == firing("fp3", 0, false).signal.labels);
  CHECK(signal->annotations.at("summary") == "disk \"/\" 97% full");
  CHECK(signal->severity == Severity::kCritical);
  CHECK(signal->host == "db-1");
  CHECK(signal->at_ms == kT0 + 30 * kMin);
  CHECK(restored.expire(kT0 + 60 * kMin) == live.expire(kT0 + 60 * kMin));
}

TEST_CASE("The end of an alert without a row is refused, a clear of one is not",
          "[hub][external]") {
  testing::TempDir dir;
  sqlite::Database db = open_db(dir.file("hub.db"));
  auto tables = ExpiryTables::prepare(db);
  REQUIRE(tables);
  const Status st = tables->apply({"nobody", kT0, false});
  CHECK(st.code() == "not_found");
  CHECK_THAT(st.message(), Catch::Contains("nobody"));
  CHECK(tables->apply({"nobody", std::nullopt}));
  CHECK(tables->load()->empty());
}
