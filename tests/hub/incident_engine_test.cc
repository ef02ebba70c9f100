// Correlation: which incident a signal lands in, what the incident shows, and what people
// and agents add to it.
#include <catch2/catch.hpp>

#include "hub/incidents/engine.h"
#include "hub/incidents/lost_agent.h"
#include "tests/hub/incident_fixtures.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::incidents;
using namespace reflex::hub::incidents::testing;
using protocol::AlertState;
using protocol::Severity;

TEST_CASE("three agents reporting the same service failing become one incident with three hosts",
          "[hub][incidents]") {
  IncidentEngine engine;
  engine.set_known_hosts(
      [](const std::string& service) { return service == "checkout" ? 3u : 0u; });

  Changes first = feed(engine, firing("fp-web-1", "web-1", "checkout"), kT0);
  Changes second = feed(engine, firing("fp-web-2", "web-2", "checkout"), kT0 + 10 * kSec);
  Changes third = feed(engine, firing("fp-web-3", "web-3", "checkout"), kT0 + 20 * kSec);

  REQUIRE(engine.incident_count() == 1);
  REQUIRE(first.events.size() == 1);
  const uint64_t id = first.events[0].incident_id;
  CHECK(first.events[0].kind == IncidentEventKind::kOpened);
  const IncidentRow* inc = engine.incident(id);
  REQUIRE(inc);
  CHECK(inc->status == IncidentStatus::kTriggered);
  CHECK(inc->group_key == R"({service="checkout",env="prod"})");
  CHECK(inc->service == "checkout");
  CHECK(inc->title == "HighErrorRate on checkout");
  CHECK(inc->members == 3);
  CHECK(inc->firing == 3);
  CHECK(inc->affected_hosts == 3);
  CHECK(inc->first_alert_ms == kT0);
  CHECK(inc->last_alert_ms == kT0 + 20 * kSec);
  CHECK(engine.members(id) == std::vector<std::string>{"fp-web-1", "fp-web-2", "fp-web-3"});
  CHECK(engine.describe_hosts(id) == "3 of 3 hosts");
  // One page, not three.
  REQUIRE(first.notify.size() == 1);
  CHECK(first.notify[0].kind == NotifyKind::kOpened);
  CHECK(second.notify.empty());
  CHECK(third.notify.empty());
  CHECK(entry(third, TimelineKind::kAlertJoined).host == "web-3");
  CHECK(third.members == std::vector<MemberRow>{{id, "fp-web-3", "web-3", kT0 + 20 * kSec}});
}

TEST_CASE("k of n counts hosts, not alerts, and reads n from the known hosts of the service",
          "[hub][incidents]") {
  IncidentEngine engine;
  engine.set_known_hosts([](const std::string&) { return 12u; });
  feed(engine, firing("latency-web-1", "web-1", "checkout"), kT0);
  Changes ch = feed(engine,
                    alert("errors-web-1", "web-1", "checkout", AlertState::kFiring, Severity::kHigh,
                          "HighLatency"),
                    kT0 + kSec);
  const uint64_t id = ch.incidents.at(0).id;
  CHECK(engine.incident(id)->firing == 2);
  CHECK(engine.describe_hosts(id) == "1 of 12 hosts");
}

TEST_CASE("alerts of two services open two incidents", "[hub][incidents]") {
  IncidentEngine engine;
  Changes a = feed(engine, firing("fp-a", "web-1", "checkout"), kT0);
  Changes b = feed(engine, firing("fp-b", "db-1", "postgres"), kT0 + kSec);
  REQUIRE(engine.incident_count() == 2);
  CHECK(a.events.at(0).incident_id != b.events.at(0).incident_id);
  CHECK(b.notify.size() == 1);
  CHECK(engine.open_incident_for(R"({service="postgres",env="prod"})") ==
        b.events.at(0).incident_id);
}

TEST_CASE("an alert without every grouping label groups by its own fingerprint",
          "[hub][incidents]") {
  IncidentEngine engine;
  AlertSignal one = firing("disk-1", "web-1", "checkout");
  one.labels.erase("env");
  AlertSignal two = firing("disk-2", "web-2", "checkout");
  two.labels.erase("env");
  Changes a = feed(engine, one, kT0);
  Changes b = feed(engine, two, kT0 + kSec);
  REQUIRE(engine.incident_count() == 2);
  const IncidentRow* inc = engine.incident(a.events.at(0).incident_id);
  CHECK(inc->group_key == R"({fingerprint="disk-1"})");
  CHECK(inc->group_labels.empty());
  CHECK(inc->service == "checkout");  // still known for k of n
  // The same alert firing again stays in its own incident.
  feed(engine, resolved("disk-1", "web-1", "checkout"), kT0 + 2 * kSec);
  Changes again = feed(engine, one, kT0 + 3 * kSec);
  CHECK(engine.incident_count() == 2);
  CHECK(has_entry(again, TimelineKind::kAlertFiring));
}

TEST_CASE("pending alerts are recorded but open no incident", "[hub][incidents]") {
  IncidentEngine engine;
  Changes ch = feed(engine, alert("fp", "web-1", "checkout", AlertState::kPending), kT0);
  CHECK(engine.incident_count() == 0);
  CHECK(ch.events.empty());
  CHECK(ch.notify.empty());
  REQUIRE(ch.history.size() == 1);
  CHECK_FALSE(ch.history[0].from.has_value());
  CHECK(ch.history[0].to == AlertState::kPending);
  REQUIRE(ch.alerts.size() == 1);
  CHECK(ch.alerts[0].detail->labels.at("service") == "checkout");
  CHECK(engine.alert("fp")->state == AlertState::kPending);

  Changes fired = feed(engine, firing("fp", "web-1", "checkout"), kT0 + kMin);
  CHECK(engine.incident_count() == 1);
  REQUIRE(fired.history.size() == 1);
  CHECK(fired.history[0].from == AlertState::kPending);
  CHECK(fired.history[0].to == AlertState::kFiring);
}

TEST_CASE("severity rises with a critical member and falls back when it resolves",
          "[hub][incidents]") {
  IncidentEngine engine;
  Changes opened = feed(engine, firing("a", "web-1", "checkout", Severity::kWarning), kT0);
  const uint64_t id = opened.events.at(0).incident_id;
  CHECK(engine.incident(id)->severity == Severity::kWarning);
  CHECK(opened.notify.at(0).severity == Severity::kWarning);

  Changes up = feed(engine, firing("b", "web-2", "checkout", Severity::kCritical), kT0 + kSec);
  CHECK(engine.incident(id)->severity == Severity::kCritical);
  CHECK(entry(up, TimelineKind::kSeverityChanged).text ==
        "severity raised from warning to critical");
  REQUIRE(up.notify.size() == 1);
  CHECK(up.notify[0].kind == NotifyKind::kSeverityRaised);
  CHECK(up.notify[0].severity == Severity::kCritical);

  Changes down =
      feed(engine, resolved("b", "web-2", "checkout", Severity::kCritical), kT0 + 2 * kSec);
  CHECK(engine.incident(id)->severity == Severity::kWarning);
  CHECK(entry(down, TimelineKind::kSeverityChanged).text ==
        "severity lowered from critical to warning");
  CHECK(has_entry(down, TimelineKind::kAlertResolved));
  CHECK(down.notify.empty());
  CHECK(engine.incident(id)->affected_hosts == 1);
  CHECK(engine.incident(id)->peak_hosts == 2);
}

TEST_CASE("affected hosts count the hosts with a firing alert, as alerts resolve and fire again",
          "[hub][incidents]") {
  IncidentEngine engine;
  const uint64_t id = feed(engine, firing("a", "web-1", "checkout"), kT0).events.at(0).incident_id;
  feed(engine, firing("b", "web-1", "checkout"), kT0 + kSec);  // a second alert on web-1
  feed(engine, firing("c", "web-2", "checkout"), kT0 + kSec);
  auto hosts = [&] { return engine.incident(id)->affected_hosts; };
  CHECK(hosts() == 2);

  feed(engine, resolved("a", "web-1", "checkout"), kT0 + 2 * kSec);
  CHECK(hosts() == 2);  // b still fires on web-1
  feed(engine, resolved("b", "web-1", "checkout"), kT0 + 3 * kSec);
  CHECK(hosts() == 1);
  feed(engine, firing("b", "web-1", "checkout"), kT0 + 4 * kSec);
  CHECK(hosts() == 2);
  feed(engine, firing("b", "web-1", "checkout"), kT0 + 5 * kSec);  // a resend changes nothing
  CHECK(hosts() == 2);
  feed(engine, resolved("c", "web-2", "checkout"), kT0 + 6 * kSec);
  feed(engine, resolved("b", "web-1", "checkout"), kT0 + 6 * kSec);
  CHECK(hosts() == 0);
  CHECK(engine.incident(id)->peak_hosts == 2);
  feed(engine, firing("c", "web-2", "checkout"), kT0 + 7 * kSec);
  CHECK(hosts() == 1);
  CHECK(engine.incident(id)->firing == 1);
}

TEST_CASE("acknowledging, assigning and noting record the actor and the time", "[hub][incidents]") {
  IncidentEngine engine;
  const uint64_t id = feed(engine, firing("a", "web-1", "checkout"), kT0).events.at(0).incident_id;

  Changes ack = ok(engine.acknowledge(id, "alice", kT0 + kMin));
  const IncidentRow* inc = engine.incident(id);
  CHECK(inc->status == IncidentStatus::kAcknowledged);
  CHECK(inc->acknowledged_by == "alice");
  CHECK(inc->acknowledged_ms == kT0 + kMin);
  CHECK(ack.events == std::vector<IncidentEvent>{
                          {id, IncidentEventKind::kAcknowledged, kT0 + kMin, "", "alice"}});
  CHECK(entry(ack, TimelineKind::kAcknowledged).actor == "alice");
  CHECK(ack.incidents.at(0).status == IncidentStatus::kAcknowledged);
  CHECK(ok(engine.acknowledge(id, "bob", kT0 + 2 * kMin)).empty());  // already: nothing
  CHECK(engine.incident(id)->acknowledged_by == "alice");

  Changes assigned = ok(engine.assign(id, "bob", "alice", kT0 + 3 * kMin));
  CHECK(engine.incident(id)->owner == "bob");
  const TimelineEntry& a = entry(assigned, TimelineKind::kAssigned);
  CHECK(a.actor == "alice");
  CHECK(a.at_ms == kT0 + 3 * kMin);
  CHECK(a.text == "assigned to bob");

  Changes note = ok(engine.add_note(id, "rolling back 4.2.1", "bob", kT0 + 4 * kMin));
  CHECK(note.timeline == std::vector<TimelineEntry>{{id, kT0 + 4 * kMin, TimelineKind::kNote, "bob",
                                                     "", "", "rolling back 4.2.1", ""}});

  // A firing alert joining an acknowledged incident joins it and pages nobody.
  Changes joined = feed(engine, firing("b", "web-2", "checkout"), kT0 + 5 * kMin);
  CHECK(engine.incident_count() == 1);
  CHECK(engine.incident(id)->status == IncidentStatus::kAcknowledged);
  CHECK(joined.notify.empty());

  Changes done = ok(engine.resolve(id, "bob", kT0 + 6 * kMin));
  CHECK(engine.incident(id)->resolved_by == "bob");
  CHECK(engine.incident(id)->resolved_ms == kT0 + 6 * kMin);
  CHECK(entry(done, TimelineKind::kResolved).actor == "bob");
  auto late_ack = engine.acknowledge(id, "carol", kT0 + 7 * kMin);
  REQUIRE_FALSE(late_ack);
  CHECK(late_ack.status().code() == "conflict");
}

TEST_CASE("remediation reports join the timeline of the incident that holds their alert",
          "[hub][incidents]") {
  IncidentEngine engine;
  const uint64_t id =
      feed(engine, firing("fp-1", "web-1", "checkout"), kT0).events.at(0).incident_id;
  RemediationReport report;
  report.agent_id = "web-1";
  report.host = "web-1";
  report.agent_labels = {{"service", "checkout"}, {"env", "prod"}};
  report.remediation.rule = "HighErrorRate";
  report.remediation.alert_fingerprint = "fp-1";
  report.remediation.action = "restart_unit";
  report.remediation.target = "nginx";
  report.remediation.outcome = protocol::RemediationOutcome::kFailed;
  report.remediation.attempt = 2;
  report.remediation.exit_code = 1;

  Changes failed = ok(engine.on_remediation(report, kT0 + kMin));
  REQUIRE(failed.timeline.size() == 1);
  const TimelineEntry& e = failed.timeline[0];
  CHECK(e.incident_id == id);
  CHECK(e.kind == TimelineKind::kRemediation);
  CHECK(e.actor == "agent:web-1");
  CHECK(e.text == "restart_unit nginx on web-1: failed (attempt 2), exit 1");
  CHECK(failed.notify.empty());

  report.remediation.outcome = protocol::RemediationOutcome::kExhausted;
  report.remediation.exit_code.reset();
  report.remediation.reason = "budget";
  Changes exhausted = ok(engine.on_remediation(report, kT0 + 2 * kMin));
  REQUIRE(exhausted.notify.size() == 1);
  CHECK(exhausted.notify[0].kind == NotifyKind::kRemediationExhausted);
  CHECK(exhausted.notify[0].reason == "local remediation exhausted on web-1: budget");
  CHECK(exhausted.notify[0].incident_id == id);
}

TEST_CASE(
    "a remediation for an alert the hub has not seen joins the open incident of the "
    "agent's service group, and with none changes nothing",
    "[hub][incidents]") {
  IncidentEngine engine;
  RemediationReport report;
  report.agent_id = "web-9";
  report.host = "web-9";
  report.agent_labels = {{"service", "checkout"}, {"env", "prod"}};
  report.remediation.alert_fingerprint = "never-seen";
  report.remediation.action = "restart_unit";
  report.remediation.outcome = protocol::RemediationOutcome::kStarted;
  CHECK(ok(engine.on_remediation(report, kT0)).empty());

  const uint64_t id =
      feed(engine, firing("fp-1", "web-1", "checkout"), kT0).events.at(0).incident_id;
  Changes joined = ok(engine.on_remediation(report, kT0 + kSec));
  REQUIRE(joined.timeline.size() == 1);
  CHECK(joined.timeline[0].incident_id == id);
  CHECK(joined.timeline[0].host == "web-9");
}

TEST_CASE("a lost agent opens an incident of its service and resolves when it returns",
          "[hub][incidents]") {
  IncidentEngine engine(quick_policy());
  AgentRecord agent;
  agent.id = "agent-7";
  agent.hostname = "web-7";
  agent.labels = {{"service", "checkout"}, {"env", "prod"}};
  agent.state = AgentState::kLost;

  AlertSignal lost = lost_agent_signal(agent, kT0);
  CHECK(lost.fingerprint == "agent-lost:agent-7");
  CHECK(lost.source == "hub:agents");
  CHECK(lost.labels.at("agent") == "agent-7");
  Changes opened = ok(engine.on_signal(lost, kT0));
  REQUIRE(opened.events.size() == 1);
  const uint64_t id = opened.events[0].incident_id;
  CHECK(engine.incident(id)->title == "AgentLost on checkout");
  CHECK(engine.incident(id)->affected_hosts == 1);
  CHECK(entry(opened, TimelineKind::kOpened).host == "web-7");
  CHECK(opened.notify.size() == 1);

  // Another alert of the same service joins the lost agent's incident.
  feed(engine, firing("fp-web-1", "web-1", "checkout"), kT0 + kSec);
  CHECK(engine.incident_count() == 1);
  feed(engine, resolved("fp-web-1", "web-1", "checkout"), kT0 + 2 * kSec);

  agent.state = AgentState::kAlive;
  Changes back = ok(engine.on_signal(lost_agent_signal(agent, kT0 + kMin), kT0 + kMin));
  CHECK(has_entry(back, TimelineKind::kAlertResolved));
  CHECK(has_entry(back, TimelineKind::kAutoResolveScheduled));
  REQUIRE(engine.next_due_ms() == kT0 + kMin + 5 * kMin);
  Changes done = engine.tick(kT0 + 6 * kMin);
  CHECK(engine.incident(id)->status == IncidentStatus::kResolved);
  CHECK(engine.incident(id)->resolved_by == "reflex");
  CHECK(has_event(done, IncidentEventKind::kResolved));
}

TEST_CASE("a suppressed signal is recorded on the timeline with the reason and notifies nobody",
          "[hub][incidents]") {
  IncidentEngine engine;
  engine.set_suppression_hook([](const AlertSignal& s, int64_t) -> std::string {
    return s.labels.count("maintenance") ? "silenced by 42" : "";
  });
  AlertSignal quiet = firing("fp-1", "web-1", "checkout");
  quiet.labels["maintenance"] = "yes";
  Changes opened = feed(engine, quiet, kT0);
  REQUIRE(engine.incident_count() == 1);
  CHECK(opened.notify.empty());
  CHECK(entry(opened, TimelineKind::kOpened).suppressed == "silenced by 42");

  Changes loud = feed(engine, firing("fp-2", "web-2", "checkout", Severity::kCritical), kT0 + kSec);
  CHECK(entry(loud, TimelineKind::kAlertJoined).suppressed.empty());
  REQUIRE(loud.notify.size() == 1);
  CHECK(loud.notify[0].kind == NotifyKind::kSeverityRaised);
}

TEST_CASE("a source resending a firing alert adds no history and no timeline entry",
          "[hub][incidents]") {
  IncidentEngine engine;
  feed(engine, firing("fp-1", "web-1", "checkout"), kT0);
  Changes again = feed(engine, firing("fp-1", "web-1", "checkout"), kT0 + kMin);
  CHECK(again.history.empty());
  CHECK(again.timeline.empty());
  CHECK(again.notify.empty());
  REQUIRE(again.alerts.size() == 1);  // the current row still records last_ms
  CHECK(again.alerts[0].record.last_ms == kT0 + kMin);
  CHECK(again.alerts[0].record.since_ms == kT0);
}

TEST_CASE("an alert that resolves outside any incident leaves the engine's memory",
          "[hub][incidents]") {
  IncidentEngine engine;
  feed(engine, alert("fp", "web-1", "checkout", AlertState::kPending), kT0);
  Changes gone = feed(engine, resolved("fp", "web-1", "checkout"), kT0 + kMin);
  CHECK(engine.alert_count() == 0);
  REQUIRE(gone.alerts.size() == 1);
  CHECK_FALSE(gone.alerts[0].retained);
  CHECK(gone.alerts[0].detail.has_value());
  CHECK(gone.alerts[0].record.state == AlertState::kResolved);
}

namespace {

// A verdict hook that names `postgres_incident` as the related incident of checkout
// alerts, muting them when `mute` is set.
VerdictHook checkout_depends_on(const uint64_t& postgres_incident, bool mute) {
  return [&postgres_incident, mute](const AlertSignal& s, int64_t) {
    SuppressionVerdict v;
    if (s.labels.at("service") != "checkout" || postgres_incident == 0) return v;
    v.related_incident = postgres_incident;
    v.related_note = "checkout depends on postgres";
    if (mute) v.reason = "inhibited by dependency postgres";
    return v;
  };
}

}  // namespace

TEST_CASE("an alert whose dependency has an open incident joins it as a related symptom",
          "[hub][incidents]") {
  IncidentEngine engine;
  uint64_t pg = 0;
  engine.set_verdict_hook(checkout_depends_on(pg, true));
  pg = feed(engine, firing("fp-db", "db-1", "postgres"), kT0).events.at(0).incident_id;

  Changes co = feed(engine, firing("fp-web", "web-1", "checkout"), kT0 + kMin);
  CHECK(engine.incident_count() == 1);  // no incident of its own
  CHECK_FALSE(has_event(co, IncidentEventKind::kOpened));
  CHECK(co.members == std::vector<MemberRow>{{pg, "fp-web", "web-1", kT0 + kMin}});
  const TimelineEntry& joined = entry(co, TimelineKind::kAlertJoined);
  CHECK(joined.incident_id == pg);
  CHECK(joined.text ==
        "related symptom: HighErrorRate firing on web-1 (high); checkout depends on postgres");
  CHECK(joined.suppressed == "inhibited by dependency postgres");
  CHECK(co.notify.empty());
  CHECK(engine.alert("fp-web")->incident_id == pg);
  CHECK(engine.members(pg) == std::vector<std::string>{"fp-db", "fp-web"});
  // Its own group has no incident, so the next checkout alert is a symptom too.
  CHECK_FALSE(engine.open_incident_for(R"({service="checkout",env="prod"})"));
}

TEST_CASE("a related symptom that is not muted still joins and may notify a raised severity",
          "[hub][incidents]") {
  IncidentEngine engine;
  uint64_t pg = 0;
  engine.set_verdict_hook(checkout_depends_on(pg, false));
  pg = feed(engine, firing("fp-db", "db-1", "postgres"), kT0).events.at(0).incident_id;
  Changes co = feed(engine, firing("fp-web", "web-1", "checkout", Severity::kCritical), kT0 + kMin);
  CHECK(engine.incident_count() == 1);
  CHECK(entry(co, TimelineKind::kAlertJoined).suppressed.empty());
  REQUIRE(co.notify.size() == 1);
  CHECK(co.notify[0].kind == NotifyKind::kSeverityRaised);
  CHECK(co.notify[0].incident_id == pg);
}

TEST_CASE("an alert whose own group has an open incident joins that one, related or not",
          "[hub][incidents]") {
  IncidentEngine engine;
  uint64_t pg = 0;
  engine.set_verdict_hook(checkout_depends_on(pg, true));
  const uint64_t own =
      feed(engine, firing("fp-web-1", "web-1", "checkout"), kT0).events.at(0).incident_id;
  pg = feed(engine, firing("fp-db", "db-1", "postgres"), kT0 + kSec).events.at(0).incident_id;
  Changes co = feed(engine, firing("fp-web-2", "web-2", "checkout"), kT0 + kMin);
  CHECK(engine.alert("fp-web-2")->incident_id == own);
  CHECK(entry(co, TimelineKind::kAlertJoined).text == "HighErrorRate firing on web-2 (high)");
}

TEST_CASE("a related incident the engine does not hold open is ignored", "[hub][incidents]") {
  IncidentEngine engine;
  uint64_t pg = 0;
  engine.set_verdict_hook(checkout_depends_on(pg, false));
  pg = feed(engine, firing("fp-db", "db-1", "postgres"), kT0).events.at(0).incident_id;
  ok(engine.resolve(pg, "alice", kT0 + kSec));
  Changes co = feed(engine, firing("fp-web", "web-1", "checkout"), kT0 + kMin);
  REQUIRE(has_event(co, IncidentEventKind::kOpened));
  CHECK(engine.alert("fp-web")->incident_id != pg);
  CHECK(engine.incident_count() == 2);

  pg = 999;  // never existed
  Changes other = feed(engine, firing("fp-web-9", "web-9", "checkout"), kT0 + 2 * kMin);
  CHECK(engine.alert("fp-web-9")->incident_id == engine.alert("fp-web")->incident_id);
  CHECK(other.notify.empty());
}

TEST_CASE("a related symptom keeps its dependency's incident open until it resolves too",
          "[hub][incidents]") {
  IncidentEngine engine(quick_policy());
  uint64_t pg = 0;
  engine.set_verdict_hook(checkout_depends_on(pg, true));
  pg = feed(engine, firing("fp-db", "db-1", "postgres"), kT0).events.at(0).incident_id;
  feed(engine, firing("fp-web", "web-1", "checkout"), kT0 + kSec);
  Changes recovered = feed(engine, resolved("fp-db", "db-1", "postgres"), kT0 + kMin);
  CHECK_FALSE(has_entry(recovered, TimelineKind::kAutoResolveScheduled));
  CHECK(engine.incident(pg)->firing == 1);

  // The symptom resolves and fires again: both on the dependency's timeline.
  Changes gone = feed(engine, resolved("fp-web", "web-1", "checkout"), kT0 + 2 * kMin);
  CHECK(entry(gone, TimelineKind::kAlertResolved).incident_id == pg);
  CHECK(has_entry(gone, TimelineKind::kAutoResolveScheduled));
  Changes back = feed(engine, firing("fp-web", "web-1", "checkout"), kT0 + 3 * kMin);
  CHECK(entry(back, TimelineKind::kAlertFiring).text ==
        "related symptom: HighErrorRate firing on web-1 (high) again; checkout depends on "
        "postgres");
  CHECK(engine.incident_count() == 1);
}
