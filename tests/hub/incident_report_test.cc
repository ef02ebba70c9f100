// The post-incident report as a pure function of the incident's record: its sections, in
// order, with what the record says, and free text that cannot break the Markdown.
#include "hub/incident_report.h"

#include <catch2/catch.hpp>

using namespace reflex;
using namespace reflex::hub;
using incidents::TimelineEntry;
using incidents::TimelineKind;

namespace {

constexpr int64_t kT0 = 1'767'261'600'000;  // 2026-01-01T10:00:00Z
constexpr int64_t kMin = 60'000;

TimelineEntry entry(int64_t at, TimelineKind kind, const std::string& actor,
                    const std::string& text, const std::string& host = "") {
  return {.incident_id = 7,
          .at_ms = at,
          .kind = kind,
          .actor = actor,
          .fingerprint = "",
          .host = host,
          .text = text,
          .suppressed = ""};
}

// Incident 7 on checkout/prod: opened at 10:00, two hosts, remediation tried twice,
// acknowledged by alice, a note by bob, assigned and resolved by alice at 10:42.
IncidentDetail resolved_incident() {
  IncidentDetail d;
  auto& r = d.incident;
  r.id = 7;
  r.title = "HighErrorRate on checkout";
  r.service = "checkout";
  r.group_labels = {{"service", "checkout"}, {"env", "prod"}};
  r.status = incidents::IncidentStatus::kResolved;
  r.severity = protocol::Severity::kHigh;
  r.opened_ms = kT0;
  r.acknowledged_ms = kT0 + 3 * kMin;
  r.acknowledged_by = "alice";
  r.resolved_ms = kT0 + 42 * kMin;
  r.resolved_by = "alice";
  r.owner = "alice";
  r.members = 2;
  r.peak_hosts = 2;
  d.members = {
      {.incident_id = 7, .fingerprint = "web-1/fp", .host = "host-1", .joined_ms = kT0},
      {.incident_id = 7, .fingerprint = "web-2/fp", .host = "host-2", .joined_ms = kT0 + kMin}};
  d.timeline = {
      entry(kT0, TimelineKind::kOpened, "agent:web-1", "opened by HighErrorRate", "host-1"),
      entry(kT0 + kMin, TimelineKind::kAlertJoined, "agent:web-2", "HighErrorRate joined",
            "host-2"),
      entry(kT0 + 2 * kMin, TimelineKind::kRemediation, "agent:web-1",
            "restart checkout on host-1: failed (attempt 1), exit 1: unit not found", "host-1"),
      entry(kT0 + 3 * kMin, TimelineKind::kAcknowledged, "alice", "acknowledged by alice"),
      entry(kT0 + 4 * kMin, TimelineKind::kRemediation, "agent:web-1",
            "restart checkout on host-1: succeeded (attempt 2)", "host-1"),
      entry(kT0 + 5 * kMin, TimelineKind::kNote, "bob", "rolled back 4.2.1"),
      entry(kT0 + 6 * kMin, TimelineKind::kNote, "alice", "watching error rate"),
      entry(kT0 + 7 * kMin, TimelineKind::kAssigned, "alice", "assigned to alice"),
      entry(kT0 + 42 * kMin, TimelineKind::kResolved, "alice", "resolved: by alice"),
  };
  return d;
}

ReportContext context(uint32_t known_hosts, int64_t now_ms = 0) {
  return {.known_hosts = known_hosts, .now_ms = now_ms, .suspect = std::nullopt};
}

bool has(const std::string& text, const std::string& part) {
  INFO(text);
  return text.find(part) != std::string::npos;
}

// The lines from `heading` up to the next "## " heading.
std::string section(const std::string& report, const std::string& heading) {
  const auto start = report.find("\n" + heading + "\n");
  if (start == std::string::npos) return "";
  const auto end = report.find("\n## ", start + heading.size() + 1);
  return report.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

TEST_CASE("a report has its title and its sections in order", "[hub][incident-report]") {
  const std::string md = render_incident_report(resolved_incident(), context(5));
  CHECK(md.rfind("# Incident 7: HighErrorRate on checkout\n", 0) == 0);
  size_t last = 0;
  for (const char* h : {"## Summary", "## Impact", "## Suspect change", "## Timeline",
                        "## Remediation attempts", "## Responders"}) {
    const size_t at = md.find(std::string("\n") + h + "\n");
    INFO(h);
    REQUIRE(at != std::string::npos);
    CHECK(at > last);
    last = at;
  }
}

TEST_CASE("the summary gives service, environment, status, severity, times, duration and hosts",
          "[hub][incident-report]") {
  const std::string s =
      section(render_incident_report(resolved_incident(), context(5)), "## Summary");
  CHECK(has(s, "| Service | checkout |"));
  CHECK(has(s, "| Environment | prod |"));
  CHECK(has(s, "| Status | resolved |"));
  CHECK(has(s, "| Severity | high |"));
  CHECK(has(s, "| Opened | 2026-01-01T10:00:00Z |"));
  CHECK(has(s, "| Acknowledged | 2026-01-01T10:03:00Z by alice, 3m 0s after opening |"));
  CHECK(has(s, "| Resolved | 2026-01-01T10:42:00Z by alice |"));
  CHECK(has(s, "| Duration | 42m 0s |"));
  CHECK(has(s, "| Hosts | 2 of 5 hosts affected at the peak |"));
  CHECK(has(s, "| Owner | alice |"));

  const std::string impact =
      section(render_incident_report(resolved_incident(), context(5)), "## Impact");
  CHECK(has(impact, "- Hosts: 2 of 5 hosts at the peak"));
  CHECK(has(impact, "- Hosts with alerts: host-1, host-2"));
  CHECK(has(impact, "- Duration: 42m 0s"));
}

TEST_CASE("an open incident's report runs its duration to now", "[hub][incident-report]") {
  IncidentDetail d = resolved_incident();
  d.incident.status = incidents::IncidentStatus::kAcknowledged;
  d.incident.resolved_ms = 0;
  d.incident.resolved_by.clear();
  d.incident.affected_hosts = 1;
  const std::string md = render_incident_report(d, context(0, kT0 + 90 * kMin + 5'000));
  CHECK(has(md, "| Resolved | not yet |"));
  CHECK(has(md, "| Duration | 1h 30m 5s so far (still open) |"));
  CHECK(has(md, "| Hosts | 1 host affected now |"));
}

TEST_CASE("the timeline lists every entry with its UTC time, actor and text",
          "[hub][incident-report]") {
  const IncidentDetail d = resolved_incident();
  const std::string t = section(render_incident_report(d, {}), "## Timeline");
  CHECK(has(t, "| Time (UTC) | Event | Actor | Host | Details |"));
  CHECK(
      has(t, "| 2026-01-01T10:00:00Z | opened | agent:web-1 | host-1 | opened by HighErrorRate |"));
  CHECK(has(t, "| 2026-01-01T10:05:00Z | note | bob | - | rolled back 4.2.1 |"));
  CHECK(has(t, "| 2026-01-01T10:42:00Z | resolved | alice | - | resolved: by alice |"));
  size_t rows = 0;
  for (size_t p = t.find("\n| 2026-"); p != std::string::npos; p = t.find("\n| 2026-", p + 1)) {
    ++rows;
  }
  CHECK(rows == d.timeline.size());
}

TEST_CASE("remediation attempts are listed with their outcomes and counted",
          "[hub][incident-report]") {
  const std::string r =
      section(render_incident_report(resolved_incident(), {}), "## Remediation attempts");
  CHECK(has(r, "2 attempts: 1 failed, 1 succeeded"));
  CHECK(has(r,
            "| 2026-01-01T10:02:00Z | agent:web-1 | host-1 | failed | restart checkout on "
            "host-1: failed (attempt 1), exit 1: unit not found |"));
  CHECK(has(r, "| 2026-01-01T10:04:00Z | agent:web-1 | host-1 | succeeded |"));

  IncidentDetail quiet = resolved_incident();
  std::erase_if(quiet.timeline,
                [](const TimelineEntry& e) { return e.kind == TimelineKind::kRemediation; });
  CHECK(
      has(section(render_incident_report(quiet, {}), "## Remediation attempts"), "none recorded"));
}

TEST_CASE("responders are the people who acted, each with their first action",
          "[hub][incident-report]") {
  IncidentDetail d = resolved_incident();
  d.timeline.push_back(entry(kT0 + 50 * kMin, TimelineKind::kResolved, "reflex", "resolved"));
  const auto people = incident_responders(d.timeline);
  REQUIRE(people.size() == 2);
  CHECK(people[0] == Responder{.actor = "alice",
                               .first_ms = kT0 + 3 * kMin,
                               .actions = {"acknowledged", "note", "assigned", "resolved"}});
  CHECK(people[1] == Responder{.actor = "bob", .first_ms = kT0 + 5 * kMin, .actions = {"note"}});
  const std::string r = section(render_incident_report(d, {}), "## Responders");
  CHECK(has(r, "| alice | 2026-01-01T10:03:00Z | acknowledged, note, assigned, resolved |"));
  CHECK(has(r, "| bob | 2026-01-01T10:05:00Z | note |"));
  CHECK_FALSE(has(r, "reflex"));
  CHECK_FALSE(has(r, "agent:web-1"));
}

TEST_CASE("the suspect change section shows a recorded suspect, else none recorded",
          "[hub][incident-report]") {
  CHECK(has(section(render_incident_report(resolved_incident(), {}), "## Suspect change"),
            "none recorded"));
  incidents::Suspect s;
  s.change.id = "chg-3";
  s.change.service = "checkout";
  s.change.environment = "prod";
  s.change.version = "4.2.1";
  s.change.strategy = incidents::DeployStrategy::kCanary;
  s.change.author = "carol";
  s.change.at_ms = kT0 - 2 * kMin;
  s.lead_ms = 2 * kMin;
  s.summary = "started 2 minutes after deploy 4.2.1 of checkout by carol";
  s.evidence = "error rate 12.0% on the 2 changed hosts vs 0.4% on the 10 others";
  const std::string sec = section(
      render_incident_report(resolved_incident(), {.known_hosts = 0, .now_ms = 0, .suspect = s}),
      "## Suspect change");
  CHECK_FALSE(has(sec, "none recorded"));
  CHECK(has(sec, "- started 2 minutes after deploy 4.2.1 of checkout by carol"));
  CHECK(has(sec,
            "- Change: chg-3 of checkout in prod, version 4.2.1, at 2026-01-01T09:58:00Z, "
            "2m 0s before the incident opened"));
  CHECK(has(sec, "- Strategy: canary"));
  CHECK(has(sec, "- Author: carol"));
  CHECK(has(sec, "- Evidence: error rate 12.0%"));
}

TEST_CASE("free text cannot break a table or start a section of its own",
          "[hub][incident-report]") {
  IncidentDetail d = resolved_incident();
  d.incident.title = "bad\n## Owned";
  d.timeline.push_back(entry(kT0 + 43 * kMin, TimelineKind::kNote, "mallory",
                             "a | b\n## Responders\n<script>x</script>"));
  const std::string md = render_incident_report(d, {});
  CHECK(md.rfind("# Incident 7: bad ## Owned\n", 0) == 0);
  CHECK(md.find("\n## Owned") == std::string::npos);
  CHECK(has(md, "| a \\| b<br>## Responders<br>&lt;script&gt;x&lt;/script&gt; |"));
  size_t headings = 0;
  for (size_t p = md.find("\n## Responders"); p != std::string::npos;
       p = md.find("\n## Responders", p + 1)) {
    ++headings;
  }
  CHECK(headings == 1);
}

TEST_CASE("outcomes are read from remediation entries and durations are spelled out",
          "[hub][incident-report]") {
  CHECK(remediation_outcome("restart nginx on web-1: not_recovered (attempt 2)") ==
        "not_recovered");
  CHECK(remediation_outcome("restart nginx: skipped: cooldown") == "skipped");
  CHECK(remediation_outcome("run x: custom thing") == "");
  CHECK(describe_duration(0) == "0s");
  CHECK(describe_duration(-5) == "0s");
  CHECK(describe_duration(12'999) == "12s");
  CHECK(describe_duration(4 * kMin) == "4m 0s");
  CHECK(describe_duration(3'600'000 + 2 * kMin + 3'000) == "1h 2m 3s");
  CHECK(describe_duration(2 * 86'400'000LL + 3'600'000) == "2d 1h 0m 0s");
}
