// Which change probably caused an incident: a pure decision over the incident's facts
// and the recent changes of its service and of the services it depends on.
//
// The suspect is the latest change to the service, or to one of its dependencies, that
// took effect within `window` before the incident opened (at the opening time counts;
// after it does not). Changes of other services, of another environment (when both say
// theirs) and older ones are never suspects. No incident, no call: a change followed by
// silence marks nothing.
//
// Evidence by strategy:
//  - canary: the caller's per-host error rate and p99 latency, mean over the changed
//    hosts against the mean over the others: "error rate 12.0% on the 2 changed hosts vs
//    0.4% on the 10 others; p99 840ms vs 120ms".
//  - blue-green: "blue-green: green is active".
//  - any strategy, when the change lists hosts and the incident has affected hosts:
//    "3 of 4 affected hosts changed".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hub/incidents/changes.h"
#include "protocol/messages.h"

namespace reflex::hub::incidents {

// A host's recent health, as the caller measured it around the opening.
struct HostStats {
  double error_rate = 0;  // a fraction: 0.12 is 12%
  double p99_ms = 0;
};

struct SuspectQuery {
  std::string service;
  std::string environment;                // "" matches changes of any environment
  std::vector<std::string> dependencies;  // services the service depends on
  int64_t opened_at_ms = 0;
  std::vector<std::string> affected_hosts;
  // The service's hosts the caller has stats for: the changed ones and the others.
  std::map<std::string, HostStats> host_stats;
};

struct SuspectPolicy {
  int64_t window_ms = 30 * 60'000;
};

struct Suspect {
  Change change;
  bool on_dependency = false;
  int64_t lead_ms = 0;   // the incident opened this long after the change
  std::string summary;   // "started 2 minutes after deploy 4.2.1 of checkout by alice"
  std::string evidence;  // "" when there is nothing to say beyond the summary

  bool operator==(const Suspect&) const = default;
};

// `changes` in any order (ChangeLog::recent() gives newest first).
std::optional<Suspect> find_suspect(const SuspectQuery& query, const std::vector<Change>& changes,
                                    const SuspectPolicy& policy = {});

// A host's stats for the series an alert is about, from an agent's metrics summary: the
// samples "<series>.error_rate" and "<series>.p99" whose labels the alert carries (an
// agent's alert has the label `series` and its series' labels). nullopt when the summary
// has neither.
std::optional<HostStats> series_stats(const protocol::Metrics& metrics,
                                      const protocol::Labels& alert_labels);

// The canary comparison alone; says which side has no stats when one is missing.
std::string compare_canary(const std::vector<std::string>& changed_hosts,
                           const std::map<std::string, HostStats>& host_stats);

}  // namespace reflex::hub::incidents
