// The post-incident report: what GET /api/v1/incidents/{id}/report answers and
// `reflexctl incident report ID` prints. Markdown, a pure function of what the record
// holds, so it is tested without a hub and easy to extend (add to ReportContext).
//
// Sections, in order:
//   # Incident N: <title>
//   ## Summary          service, environment, status, severity, opened, acknowledged,
//                       resolved, duration, "k of n hosts", owner, reopens
//   ## Impact           hosts affected (peak, and which), duration, member alerts
//   ## Suspect change   the change the hub suspects, or "none recorded"
//   ## Timeline         every entry: time (UTC), kind, actor, host, text
//   ## Remediation attempts   the agents' remediation entries, with their outcome
//   ## Responders       people who acknowledged, resolved, assigned or noted, each with
//                       the time of their first action (the hub's own "reflex" is not one)
// Times are RFC 3339 UTC. Free text (titles, notes) is escaped so it cannot break a
// table or add sections.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hub/incidents/change_suspect.h"
#include "hub/store.h"

namespace reflex::hub {

// What the report needs beyond the incident's record.
struct ReportContext {
  uint32_t known_hosts = 0;                   // n in "k of n hosts"; 0: unknown
  int64_t now_ms = 0;                         // an open incident's duration runs to now
  std::optional<incidents::Suspect> suspect;  // the suspect change, when one is recorded
};

std::string render_incident_report(const IncidentDetail& detail, const ReportContext& ctx);

// ---- parts of the report, exposed for tests ----

// A person who acted on the incident.
struct Responder {
  std::string actor;
  int64_t first_ms = 0;              // their first action
  std::vector<std::string> actions;  // distinct timeline kinds, in order of first use
  bool operator==(const Responder&) const = default;
};
// Actors of acknowledged, resolved, assigned and note entries, in order of first action;
// "reflex" (the hub resolving by itself) and empty actors are left out.
std::vector<Responder> incident_responders(const std::vector<incidents::TimelineEntry>& timeline);

// The outcome in a remediation entry's text ("restart nginx on web-1: failed (attempt
// 2)" -> "failed"), "" when it names none.
std::string remediation_outcome(const std::string& text);

// "1h 2m 3s", "4m 0s", "12s", "0s"; negative durations count as 0.
std::string describe_duration(int64_t ms);

}  // namespace reflex::hub
