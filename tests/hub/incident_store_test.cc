// Persistence: the store reads back exactly what the engine holds, and an engine
// restarted from the file continues exactly like one that never stopped.
#include <catch2/catch.hpp>

#include <functional>

#include "hub/incidents/incident_store.h"
#include "tests/hub/incident_fixtures.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::hub::incidents;
using namespace reflex::hub::incidents::testing;
using protocol::AlertState;
using protocol::Severity;

namespace {

// A scenario as a list of calls, so the same calls can run on several engines.
using Step = std::function<Changes(IncidentEngine&)>;

Step at(int64_t now, AlertSignal s) {
  return [now, s](IncidentEngine& e) { return feed(e, s, now); };
}
Step tick_at(int64_t now) {
  return [now](IncidentEngine& e) { return e.tick(now); };
}
Step act(std::function<Result<Changes>(IncidentEngine&)> f) {
  return [f](IncidentEngine& e) { return ok(f(e)); };
}

RemediationReport remediation(const std::string& fp, protocol::RemediationOutcome outcome) {
  RemediationReport r;
  r.agent_id = "web-1";
  r.host = "web-1";
  r.agent_labels = {{"service", "checkout"}, {"env", "prod"}};
  r.remediation.alert_fingerprint = fp;
  r.remediation.action = "restart_unit";
  r.remediation.target = "nginx";
  r.remediation.outcome = outcome;
  return r;
}

AlertSignal pending(const std::string& fp, const std::string& host, const std::string& svc) {
  return alert(fp, host, svc, AlertState::kPending);
}

// Leaves, at the restart, one incident of each kind the engine can hold: open and
// acknowledged with an owner; open with an auto-resolve due; resolved inside its reopen
// window; flapping and resolved with its settle timer due; resolved by hand with an
// alert still firing; plus a pending alert.
std::vector<Step> before_restart() {
  const int64_t m = kMin;
  return {
      at(kT0, firing("co-1", "web-1", "checkout")),
      at(kT0 + 10 * kSec, firing("co-2", "web-2", "checkout")),
      at(kT0 + 20 * kSec, firing("co-3", "web-3", "checkout", Severity::kCritical)),
      act([](IncidentEngine& e) { return e.acknowledge(1, "alice", kT0 + m); }),
      act([](IncidentEngine& e) { return e.assign(1, "bob", "alice", kT0 + m); }),
      act([](IncidentEngine& e) { return e.add_note(1, "looking at 4.2.1", "bob", kT0 + m); }),
      act([](IncidentEngine& e) {
        return e.on_remediation(remediation("co-1", protocol::RemediationOutcome::kFailed),
                                kT0 + m);
      }),
      at(kT0 + 2 * m, firing("pay-1", "pay-1", "payments")),     // incident 2
      at(kT0 + 2 * m, firing("inv-1", "inv-1", "inventory")),    // incident 3
      at(kT0 + 3 * m, resolved("pay-1", "pay-1", "payments")),   // due +8m
      at(kT0 + 3 * m, resolved("inv-1", "inv-1", "inventory")),  // due +8m
      tick_at(kT0 + 8 * m),                                      // 2 and 3 resolve
      at(kT0 + 9 * m, firing("pay-1", "pay-1", "payments")),     // 2 reopens
      at(kT0 + 10 * m, firing("se-1", "se-1", "search")),        // incident 4
      at(kT0 + 11 * m, resolved("se-1", "se-1", "search")),      // flaps below
      tick_at(kT0 + 16 * m),
      at(kT0 + 17 * m, firing("se-1", "se-1", "search")),
      at(kT0 + 18 * m, resolved("se-1", "se-1", "search")),
      tick_at(kT0 + 23 * m),
      at(kT0 + 24 * m, firing("se-1", "se-1", "search")),
      at(kT0 + 25 * m, resolved("se-1", "se-1", "search")),
      tick_at(kT0 + 30 * m),
      at(kT0 + 31 * m, firing("se-1", "se-1", "search")),  // 3rd reopen: flapping
      at(kT0 + 32 * m, resolved("se-1", "se-1", "search")),
      at(kT0 + 33 * m, firing("sh-1", "sh-1", "shipping")),  // incident 5
      act([](IncidentEngine& e) { return e.resolve(5, "carol", kT0 + 34 * m); }),
      at(kT0 + 35 * m, pending("cart-1", "cart-1", "cart")),
      at(kT0 + 36 * m, resolved("pay-1", "pay-1", "payments")),  // due +41m
  };
}

std::vector<Step> after_restart() {
  const int64_t m = kMin;
  return {
      at(kT0 + 38 * m, firing("pay-1", "pay-1", "payments")),   // cancels the auto-resolve
      tick_at(kT0 + 39 * m),                                    // search resolves at +37m
      at(kT0 + 40 * m, firing("inv-1", "inv-1", "inventory")),  // reopens 3 within the window
      at(kT0 + 41 * m, firing("se-1", "se-1", "search")),       // flapping: no notify
      at(kT0 + 42 * m, firing("sh-1", "sh-1", "shipping")),     // resend: nothing
      at(kT0 + 43 * m, resolved("sh-1", "sh-1", "shipping")),
      at(kT0 + 44 * m, firing("sh-1", "sh-1", "shipping")),  // reopens 5
      at(kT0 + 45 * m, firing("cart-1", "cart-1", "cart")),  // incident 6
      at(kT0 + 46 * m, resolved("co-3", "web-3", "checkout", Severity::kCritical)),
      act([](IncidentEngine& e) {
        return e.on_remediation(remediation("co-1", protocol::RemediationOutcome::kExhausted),
                                kT0 + 47 * m);
      }),
      act([](IncidentEngine& e) { return e.acknowledge(3, "dave", kT0 + 48 * m); }),
      tick_at(kT0 + 80 * m),  // search settles (+71m)
      at(kT0 + 81 * m, resolved("se-1", "se-1", "search")),
      at(kT0 + 81 * m, resolved("co-1", "web-1", "checkout")),
      at(kT0 + 81 * m, resolved("co-2", "web-2", "checkout")),
      at(kT0 + 81 * m, resolved("pay-1", "pay-1", "payments")),
      at(kT0 + 81 * m, resolved("inv-1", "inv-1", "inventory")),
      at(kT0 + 81 * m, resolved("sh-1", "sh-1", "shipping")),
      at(kT0 + 81 * m, resolved("cart-1", "cart-1", "cart")),
      tick_at(kT0 + 200 * m),  // everything resolves and leaves memory
  };
}

// Only time passes: every timer held at the restart runs by itself.
std::vector<Step> quiet_after_restart() {
  return {tick_at(kT0 + 40 * kMin), tick_at(kT0 + 61 * kMin), tick_at(kT0 + 68 * kMin),
          tick_at(kT0 + 94 * kMin), tick_at(kT0 + 97 * kMin), tick_at(kT0 + 200 * kMin)};
}

std::vector<Changes> run(IncidentEngine& engine, const std::vector<Step>& steps,
                         IncidentStore* store = nullptr) {
  std::vector<Changes> out;
  for (const auto& step : steps) {
    out.push_back(step(engine));
    if (store) {
      INFO("step " << out.size());
      REQUIRE(store->write(out.back()));
      auto loaded = store->tables().load();
      REQUIRE(loaded);
      CHECK(*loaded == engine.snapshot());
    }
  }
  return out;
}

std::unique_ptr<IncidentStore> open_store(const std::string& path) {
  auto store = IncidentStore::open(path);
  INFO(store.status().to_string());
  REQUIRE(store);
  return std::move(store).value();
}

bool any_settled(const std::vector<Changes>& all) {
  for (const auto& ch : all) {
    if (has_entry(ch, TimelineKind::kSettled)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the store reads back exactly what the engine holds after every write",
          "[hub][incidents]") {
  reflex::testing::TempDir dir;
  auto store = open_store(dir.file("incidents.db"));
  IncidentEngine engine(quick_policy());
  run(engine, before_restart(), store.get());
  run(engine, after_restart(), store.get());
  CHECK(engine.incident_count() == 0);
  CHECK(engine.alert_count() == 0);
}

TEST_CASE("an engine restarted from the store continues exactly like one that never stopped",
          "[hub][incidents]") {
  reflex::testing::TempDir dir;
  const std::string path = dir.file("incidents.db");
  IncidentEngine steady(quick_policy());
  std::vector<Changes> steady_before = run(steady, before_restart());
  {
    auto store = open_store(path);
    IncidentEngine first(quick_policy());
    std::vector<Changes> first_before = run(first, before_restart(), store.get());
    REQUIRE(first_before == steady_before);
    // What the restart must carry: open, acknowledged, timers, flapping, a window.
    const EngineSnapshot held = first.snapshot();
    REQUIRE(held.incidents.size() == 5);
    CHECK(first.incident(1)->status == IncidentStatus::kAcknowledged);
    CHECK(first.incident(2)->resolve_due_ms == kT0 + 41 * kMin);
    CHECK(first.incident(3)->reopen_until_ms == kT0 + 68 * kMin);
    CHECK(first.incident(4)->flapping);
    CHECK(first.incident(4)->resolve_due_ms == kT0 + 37 * kMin);
    CHECK(first.incident(5)->status == IncidentStatus::kResolved);
    CHECK(first.incident(5)->firing == 1);
  }  // the first engine and its store are gone

  auto store = open_store(path);
  auto loaded = store->tables().load();
  REQUIRE(loaded);
  IncidentEngine restarted(quick_policy());
  REQUIRE(restarted.restore(*loaded));
  CHECK(restarted.snapshot() == steady.snapshot());
  CHECK(restarted.next_due_ms() == steady.next_due_ms());

  std::vector<Changes> steady_after = run(steady, after_restart());
  std::vector<Changes> restarted_after = run(restarted, after_restart(), store.get());
  REQUIRE(restarted_after.size() == steady_after.size());
  for (size_t i = 0; i < steady_after.size(); ++i) {
    INFO("step " << i);
    CHECK(restarted_after[i] == steady_after[i]);
  }
  CHECK(restarted.snapshot() == steady.snapshot());

  // The scenario did what it says, so the equality above means something.
  auto any = [&](auto pred) {
    for (const auto& ch : steady_after) {
      if (pred(ch)) return true;
    }
    return false;
  };
  CHECK(any([](const Changes& c) {
    return has_event(c, IncidentEventKind::kReopened) && c.events[0].incident_id == 3;
  }));
  CHECK(any([](const Changes& c) { return has_entry(c, TimelineKind::kSettled); }));
  CHECK(any([](const Changes& c) { return has_entry(c, TimelineKind::kAutoResolveCancelled); }));
  CHECK(any([](const Changes& c) {
    return !c.notify.empty() && c.notify[0].kind == NotifyKind::kRemediationExhausted;
  }));
  CHECK(restarted.incident_count() == 0);

  // A second engine restored from the same file, left alone, runs every timer it
  // inherited exactly when the steady engine does.
  IncidentEngine steady_quiet(quick_policy());
  run(steady_quiet, before_restart());
  IncidentEngine restarted_quiet(quick_policy());
  REQUIRE(restarted_quiet.restore(*loaded));
  std::vector<Changes> expected = run(steady_quiet, quiet_after_restart());
  std::vector<Changes> got = run(restarted_quiet, quiet_after_restart());
  CHECK(got == expected);
  CHECK(any_settled(expected));
}

TEST_CASE("the store keeps the timeline, members and alert history after the engine lets go",
          "[hub][incidents]") {
  reflex::testing::TempDir dir;
  auto store = open_store(dir.file("incidents.db"));
  IncidentEngine engine(quick_policy());
  run(engine, before_restart(), store.get());
  run(engine, after_restart(), store.get());
  REQUIRE(engine.incident(1) == nullptr);

  auto row = store->tables().incident(1);
  REQUIRE(row);
  REQUIRE(row->has_value());
  CHECK((*row)->status == IncidentStatus::kResolved);
  CHECK((*row)->owner == "bob");
  CHECK((*row)->acknowledged_by == "alice");
  CHECK((*row)->peak_hosts == 3);
  CHECK_FALSE((*row)->retained);

  auto members = store->tables().members(1);
  REQUIRE(members);
  REQUIRE(members->size() == 3);
  CHECK((*members)[2] == MemberRow{1, "co-3", "web-3", kT0 + 20 * kSec});

  auto timeline = store->tables().timeline(1);
  REQUIRE(timeline);
  std::vector<TimelineKind> kinds;
  for (const auto& e : *timeline) kinds.push_back(e.kind);
  CHECK(kinds == std::vector<TimelineKind>{
                     TimelineKind::kOpened,
                     TimelineKind::kAlertJoined,
                     TimelineKind::kAlertJoined,
                     TimelineKind::kSeverityChanged,
                     TimelineKind::kAcknowledged,
                     TimelineKind::kAssigned,
                     TimelineKind::kNote,
                     TimelineKind::kRemediation,
                     TimelineKind::kAlertResolved,
                     TimelineKind::kSeverityChanged,
                     TimelineKind::kRemediation,
                     TimelineKind::kAlertResolved,
                     TimelineKind::kAlertResolved,
                     TimelineKind::kAutoResolveScheduled,
                     TimelineKind::kResolved,
                 });
  CHECK((*timeline)[6].text == "looking at 4.2.1");
  CHECK((*timeline)[6].actor == "bob");

  auto history = store->tables().alert_history("pay-1");
  REQUIRE(history);
  REQUIRE(history->size() == 6);
  CHECK_FALSE((*history)[0].from.has_value());
  CHECK((*history)[1].from == AlertState::kFiring);
  CHECK((*history)[1].to == AlertState::kResolved);
  CHECK((*history)[1].at_ms == kT0 + 3 * kMin);

  auto alert_row = store->tables().alert("co-3");
  REQUIRE(alert_row);
  REQUIRE(alert_row->has_value());
  CHECK((*alert_row)->detail->labels.at("service") == "checkout");
  CHECK((*alert_row)->detail->rule == "HighErrorRate");
  CHECK((*alert_row)->record.state == AlertState::kResolved);
  CHECK_FALSE((*alert_row)->retained);
}

TEST_CASE("an incident store in a directory that does not exist is an error naming the path",
          "[hub][incidents]") {
  auto store = IncidentStore::open("/nonexistent-dir/incidents.db");
  REQUIRE_FALSE(store);
  CHECK(store.status().message().find("/nonexistent-dir/incidents.db") != std::string::npos);
}

TEST_CASE("a snapshot is refused by an engine that already holds state", "[hub][incidents]") {
  IncidentEngine engine(quick_policy());
  feed(engine, firing("a", "web-1", "checkout"), kT0);
  const Status st = engine.restore(engine.snapshot());
  CHECK(st.code() == "invalid_snapshot");
}
