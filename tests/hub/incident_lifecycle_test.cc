// Timers under a simulated clock: auto-resolve, reopen windows, flapping, manual resolve.
#include <catch2/catch.hpp>

#include <set>

#include "hub/incidents/distinct.h"
#include "hub/incidents/engine.h"
#include "tests/hub/incident_fixtures.h"

using namespace reflex;
using namespace reflex::hub::incidents;
using namespace reflex::hub::incidents::testing;
using protocol::AlertState;
using protocol::Severity;

TEST_CASE("an incident resolves by itself resolve_after after its last alert resolves",
          "[hub][incidents]") {
  IncidentEngine engine(quick_policy());
  const uint64_t id = feed(engine, firing("a", "web-1", "checkout"), kT0).events.at(0).incident_id;
  feed(engine, firing("b", "web-2", "checkout"), kT0 + kSec);
  CHECK_FALSE(engine.next_due_ms());
  Changes one = feed(engine, resolved("a", "web-1", "checkout"), kT0 + kMin);
  CHECK_FALSE(has_entry(one, TimelineKind::kAutoResolveScheduled));  // b still fires
  Changes all = feed(engine, resolved("b", "web-2", "checkout"), kT0 + 2 * kMin);
  CHECK(entry(all, TimelineKind::kAutoResolveScheduled).text ==
        "every alert resolved; resolves by itself in 5m unless one fires again");
  REQUIRE(engine.next_due_ms() == kT0 + 7 * kMin);
  CHECK(engine.incident(id)->resolve_due_ms == kT0 + 7 * kMin);

  CHECK(engine.tick(kT0 + 7 * kMin - 1).empty());
  CHECK(engine.incident(id)->status == IncidentStatus::kTriggered);

  Changes done = engine.tick(kT0 + 7 * kMin);
  const IncidentRow* inc = engine.incident(id);
  CHECK(inc->status == IncidentStatus::kResolved);
  CHECK(inc->resolved_by == "reflex");
  CHECK(inc->resolved_ms == kT0 + 7 * kMin);
  CHECK(inc->resolve_due_ms == 0);
  CHECK(inc->reopen_until_ms == kT0 + 67 * kMin);
  CHECK(done.events == std::vector<IncidentEvent>{
                           {id, IncidentEventKind::kResolved, kT0 + 7 * kMin, "", "reflex"}});
  REQUIRE(done.notify.size() == 1);
  CHECK(done.notify[0].kind == NotifyKind::kResolved);
  CHECK(engine.next_due_ms() == kT0 + 67 * kMin);  // the end of the reopen window
}

TEST_CASE("an alert firing again before resolve_after cancels the auto-resolve",
          "[hub][incidents]") {
  IncidentEngine engine(quick_policy());
  const uint64_t id = feed(engine, firing("a", "web-1", "checkout"), kT0).events.at(0).incident_id;
  feed(engine, resolved("a", "web-1", "checkout"), kT0 + kMin);
  REQUIRE(engine.next_due_ms() == kT0 + 6 * kMin);

  Changes back = feed(engine, firing("a", "web-1", "checkout"), kT0 + 3 * kMin);
  CHECK(entry(back, TimelineKind::kAutoResolveCancelled).text ==
        "auto-resolve cancelled: HighErrorRate firing on web-1 (high)");
  CHECK(has_entry(back, TimelineKind::kAlertFiring));
  CHECK(back.notify.empty());  // still the same open incident: nobody paged again
  CHECK_FALSE(engine.next_due_ms());
  CHECK(engine.tick(kT0 + 10 * kMin).empty());
  CHECK(engine.incident(id)->status == IncidentStatus::kTriggered);

  // A new alert joining also keeps it open.
  feed(engine, resolved("a", "web-1", "checkout"), kT0 + 11 * kMin);
  Changes joined = feed(engine, firing("c", "web-3", "checkout"), kT0 + 12 * kMin);
  CHECK(has_entry(joined, TimelineKind::kAutoResolveCancelled));
  CHECK(engine.incident_count() == 1);
}

TEST_CASE("an alert returning within the reopen window reopens the incident", "[hub][incidents]") {
  IncidentEngine engine(quick_policy());
  const uint64_t id = feed(engine, firing("a", "web-1", "checkout"), kT0).events.at(0).incident_id;
  ok(engine.acknowledge(id, "alice", kT0 + kSec));
  feed(engine, resolved("a", "web-1", "checkout"), kT0 + kMin);
  engine.tick(kT0 + 6 * kMin);
  REQUIRE(engine.incident(id)->status == IncidentStatus::kResolved);

  // Another host of the same group, 59 minutes later.
  Changes back = feed(engine, firing("b", "web-2", "checkout"), kT0 + 65 * kMin);
  CHECK(engine.incident_count() == 1);
  const IncidentRow* inc = engine.incident(id);
  CHECK(inc->status == IncidentStatus::kTriggered);
  CHECK(inc->reopen_count == 1);
  CHECK(inc->acknowledged_by.empty());
  CHECK(inc->resolved_ms == 0);
  CHECK(inc->reopen_until_ms == 0);
  CHECK(inc->members == 2);
  CHECK(back.events ==
        std::vector<IncidentEvent>{{id, IncidentEventKind::kReopened, kT0 + 65 * kMin, "", ""}});
  CHECK(entry(back, TimelineKind::kReopened).text ==
        "reopened by HighErrorRate firing on web-2 (high) (reopen 1)");
  REQUIRE(back.notify.size() == 1);
  CHECK(back.notify[0].kind == NotifyKind::kReopened);
}

TEST_CASE("an alert returning after the reopen window opens a new incident", "[hub][incidents]") {
  IncidentEngine engine(quick_policy());
  const uint64_t id = feed(engine, firing("a", "web-1", "checkout"), kT0).events.at(0).incident_id;
  feed(engine, resolved("a", "web-1", "checkout"), kT0 + kMin);
  engine.tick(kT0 + 6 * kMin);  // resolved; the window ends at +66m

  Changes released = engine.tick(kT0 + 66 * kMin);
  CHECK(has_event(released, IncidentEventKind::kReleased));
  CHECK(engine.incident(id) == nullptr);  // left memory: the store keeps it
  CHECK(engine.alert_count() == 0);
  REQUIRE(released.incidents.size() == 1);
  CHECK_FALSE(released.incidents[0].retained);
  REQUIRE(released.alerts.size() == 1);
  CHECK_FALSE(released.alerts[0].retained);

  Changes fresh = feed(engine, firing("a", "web-1", "checkout"), kT0 + 67 * kMin);
  REQUIRE(fresh.events.size() == 1);
  CHECK(fresh.events[0].kind == IncidentEventKind::kOpened);
  CHECK(fresh.events[0].incident_id != id);
  CHECK(engine.incident(fresh.events[0].incident_id)->reopen_count == 0);
  auto note = engine.add_note(id, "post-mortem on Monday", "alice", kT0 + 68 * kMin);
  CHECK(note);  // notes still reach an incident the engine let go
  auto ack = engine.acknowledge(id, "alice", kT0 + 68 * kMin);
  REQUIRE_FALSE(ack);
  CHECK(ack.status().code() == "not_found");
}

TEST_CASE("an incident that reopens too often is marked flapping, stops notifying, then settles",
          "[hub][incidents]") {
  IncidentPolicy policy = quick_policy();  // more than 2 reopens within 30m: flapping
  policy.resolve_after_ms = kMin;
  IncidentEngine engine(policy);
  int64_t t = kT0;
  const uint64_t id = feed(engine, firing("a", "web-1", "checkout"), t).events.at(0).incident_id;
  // One cycle: resolve, auto-resolve a minute later, fire again a minute after that.
  auto cycle = [&]() {
    feed(engine, resolved("a", "web-1", "checkout"), t += kMin);
    Changes resolved_by_timer = engine.tick(t += kMin);
    REQUIRE(has_event(resolved_by_timer, IncidentEventKind::kResolved));
    Changes resolved_and_back = resolved_by_timer;
    resolved_and_back.merge(feed(engine, firing("a", "web-1", "checkout"), t += kMin));
    REQUIRE(has_event(resolved_and_back, IncidentEventKind::kReopened));
    return resolved_and_back;
  };
  Changes first = cycle();
  CHECK(first.notify.size() == 2);  // resolved, reopened
  Changes second = cycle();
  CHECK(second.notify.size() == 2);
  CHECK_FALSE(engine.incident(id)->flapping);

  Changes third = cycle();  // the third reopen within 30 minutes
  CHECK(engine.incident(id)->flapping);
  CHECK(engine.incident(id)->reopen_count == 3);
  CHECK(entry(third, TimelineKind::kFlapping).text ==
        "flapping: 3 reopens within 30m; no notifications until it stays resolved or open for "
        "30m");
  CHECK(third.notify.size() == 1);  // the resolve before the flapping reopen; nothing after

  Changes fourth = cycle();
  CHECK(fourth.notify.empty());
  CHECK(has_entry(fourth, TimelineKind::kReopened));  // still on the record
  const int64_t settle = t + 30 * kMin;
  CHECK(engine.incident(id)->settle_due_ms == settle);

  // Severity rising while flapping pages nobody either.
  Changes worse = feed(engine, firing("b", "web-2", "checkout", Severity::kCritical), t + kMin);
  CHECK(has_entry(worse, TimelineKind::kSeverityChanged));
  CHECK(worse.notify.empty());

  CHECK(engine.tick(settle - 1).empty());
  Changes settled = engine.tick(settle);
  CHECK_FALSE(engine.incident(id)->flapping);
  CHECK(engine.incident(id)->recent_reopens.empty());
  CHECK(entry(settled, TimelineKind::kSettled).at_ms == settle);
  REQUIRE(settled.notify.size() == 1);  // still open: say so now that it is quiet
  CHECK(settled.notify[0].kind == NotifyKind::kSettled);

  // Reopens spaced wider than the flap window never mark it flapping.
  t = settle;
  for (int i = 0; i < 3; ++i) {
    feed(engine, resolved("b", "web-2", "checkout"), t += kMin);
    feed(engine, resolved("a", "web-1", "checkout"), t += kMin);
    engine.tick(t += kMin);
    Changes back = feed(engine, firing("a", "web-1", "checkout"), t += 31 * kMin);
    CHECK(back.notify.size() == 1);
    feed(engine, firing("b", "web-2", "checkout"), t);
  }
  CHECK_FALSE(engine.incident(id)->flapping);
}

TEST_CASE("a manually resolved incident with firing alerts reopens only on a new firing",
          "[hub][incidents]") {
  IncidentEngine engine(quick_policy());
  const uint64_t id = feed(engine, firing("a", "web-1", "checkout"), kT0).events.at(0).incident_id;
  feed(engine, firing("b", "web-2", "checkout"), kT0 + kSec);
  Changes resolved_now = ok(engine.resolve(id, "alice", kT0 + kMin));
  CHECK(engine.incident(id)->status == IncidentStatus::kResolved);
  CHECK(engine.incident(id)->firing == 2);  // the alerts are still firing, and still members
  CHECK(entry(resolved_now, TimelineKind::kResolved).text == "resolved: resolved by alice");
  CHECK(ok(engine.resolve(id, "bob", kT0 + 2 * kMin)).empty());

  // A source resending "still firing" does not undo a person's decision.
  Changes resent = feed(engine, firing("a", "web-1", "checkout"), kT0 + 3 * kMin);
  CHECK(engine.incident(id)->status == IncidentStatus::kResolved);
  CHECK(resent.events.empty());

  // An alert that clears and fires again within the window reopens it.
  feed(engine, resolved("a", "web-1", "checkout"), kT0 + 4 * kMin);
  CHECK_FALSE(engine.incident(id)->resolve_due_ms);  // resolved already: no timer
  Changes back = feed(engine, firing("a", "web-1", "checkout"), kT0 + 5 * kMin);
  CHECK(has_event(back, IncidentEventKind::kReopened));
  CHECK(engine.incident(id)->firing == 2);  // b counts again
  CHECK(engine.incident(id)->affected_hosts == 2);
}

TEST_CASE("timers run at their due time even when the next call comes late", "[hub][incidents]") {
  IncidentEngine engine(quick_policy());
  const uint64_t id = feed(engine, firing("a", "web-1", "checkout"), kT0).events.at(0).incident_id;
  feed(engine, resolved("a", "web-1", "checkout"), kT0 + kMin);  // due at +6m
  // No tick: the next signal comes at +20m and first runs what was due.
  Changes late = feed(engine, firing("a", "web-1", "checkout"), kT0 + 20 * kMin);
  REQUIRE(late.events.size() == 2);
  CHECK(late.events[0] == IncidentEvent{.incident_id = id,
                                        .kind = IncidentEventKind::kResolved,
                                        .at_ms = kT0 + 6 * kMin,
                                        .option = {},
                                        .actor = "reflex"});
  CHECK(late.events[1] == IncidentEvent{.incident_id = id,
                                        .kind = IncidentEventKind::kReopened,
                                        .at_ms = kT0 + 20 * kMin,
                                        .option = {},
                                        .actor = {}});
  CHECK(entry(late, TimelineKind::kResolved).at_ms == kT0 + 6 * kMin);
}

TEST_CASE("a failed call still delivers the changes of the timers it ran, with the next call",
          "[hub][incidents]") {
  IncidentEngine engine(quick_policy());
  const uint64_t id = feed(engine, firing("a", "web-1", "checkout"), kT0).events.at(0).incident_id;
  feed(engine, resolved("a", "web-1", "checkout"), kT0 + kMin);
  auto refused = engine.acknowledge(id, "alice", kT0 + 10 * kMin);  // resolved at +6m
  REQUIRE_FALSE(refused);
  CHECK(refused.status().code() == "conflict");
  Changes next = engine.tick(kT0 + 10 * kMin);
  CHECK(has_event(next, IncidentEventKind::kResolved));
  CHECK(next.events.size() == 1);
}

TEST_CASE("a timer run that resolves many incidents at once reports each of them once",
          "[hub][incidents]") {
  // More marks than are scanned for repeats (kDistinctScan): the hash set's path.
  IncidentEngine engine(quick_policy());
  std::set<uint64_t> opened;
  for (int i = 0; i < 12; ++i) {
    const std::string n = std::to_string(i);
    opened.insert(
        feed(engine, firing("a" + n, "web-" + n, "svc-" + n), kT0).events.at(0).incident_id);
    feed(engine, resolved("a" + n, "web-" + n, "svc-" + n), kT0 + kMin);
  }
  REQUIRE(opened.size() == 12);
  Changes done = engine.tick(kT0 + 6 * kMin);
  std::multiset<uint64_t> rows;
  for (const auto& r : done.incidents) {
    rows.insert(r.id);
    CHECK(r.status == IncidentStatus::kResolved);
  }
  CHECK(rows == std::multiset<uint64_t>(opened.begin(), opened.end()));
  CHECK(done.events.size() == 12);
}

TEST_CASE("for_each_distinct visits each item once, in first-seen order, short lists or long",
          "[hub][incidents]") {
  auto visit = [](const std::vector<std::string>& items) {
    std::vector<std::string> out;
    for_each_distinct<std::string_view>(items, [&](const std::string& s) { out.push_back(s); });
    return out;
  };
  CHECK(visit({}).empty());
  CHECK(visit({"b", "a", "b", "c", "a"}) == std::vector<std::string>{"b", "a", "c"});
  // Longer than the scan: repeats far apart, each kept where it first came.
  std::vector<std::string> items;
  for (int round = 0; round < 3; ++round) {
    for (int i = 9; i >= 0; --i) items.push_back("fp-" + std::to_string(i));
  }
  REQUIRE(items.size() > kDistinctScan);
  std::vector<std::string> once;
  for (int i = 9; i >= 0; --i) once.push_back("fp-" + std::to_string(i));
  CHECK(visit(items) == once);
}
