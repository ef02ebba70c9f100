// Inhibition: alerts that are symptoms of something already known notify nobody.
//
//  - Topology: hub.yaml `services` say what each service depends on. While a (transitive)
//    dependency of service S has an open incident, alerts of S are symptoms of it:
//    "inhibited by dependency postgres (incident 7)".
//  - Inhibit rules, as Alertmanager has them: while a firing alert matches a rule's
//    source matchers, alerts matching its target matchers with the same values of its
//    `equal` labels are inhibited.
//
// Both are decisions over indexes the hub keeps current from what the engine did
// (OpenIncidentIndex from Changes, InhibitIndex from signals), so a decision costs the
// same with 10 or 100,000 open alerts. Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "hub/incidents/alert_signal.h"
#include "hub/incidents/incident.h"
#include "hub/incidents/matchers.h"

namespace reflex::hub::incidents {

// ---- topology ----

// service -> the services it depends on, as hub.yaml lists them.
using ServiceDependencies = std::map<std::string, std::vector<std::string>>;

class ServiceTopology {
 public:
  // Refuses ("dependency_cycle") a cycle, naming it: "checkout -> payments -> checkout"
  // (a service depending on itself is "a -> a"); and ("invalid_argument") an empty
  // service name. A dependency need not be declared itself (a leaf such as postgres).
  static Result<ServiceTopology> build(const ServiceDependencies& services);

  // Every service `service` depends on, directly or not, nearest first (breadth-first,
  // in the order listed), each once. Empty for a service without dependencies or unknown.
  const std::vector<std::string>& dependencies(const std::string& service) const;
  const ServiceDependencies& declared() const { return declared_; }
  bool empty() const { return declared_.empty(); }

 private:
  ServiceDependencies declared_;
  std::unordered_map<std::string, std::vector<std::string>> closure_;
};

// The incidents open now, by the service they are about. The hub feeds it every
// engine call's Changes (and the snapshot on restart); it keeps each incident's group
// labels so env-scoped inhibition can compare them.
class OpenIncidentIndex {
 public:
  void apply(const Changes& changes);  // open rows are held, resolved rows dropped
  void restore(const EngineSnapshot& snapshot);
  void clear() { by_service_.clear(); }

  // Open incidents of `service` by id, with their group labels; null when none.
  const std::map<uint64_t, protocol::Labels>* of(const std::string& service) const;

 private:
  void apply_row(const IncidentRow& row);
  std::unordered_map<std::string, std::map<uint64_t, protocol::Labels>> by_service_;
};

struct DependencyPolicy {
  bool enabled = true;                    // false: related incidents are still found
  std::vector<std::string> equal{"env"};  // a dependency's incident inhibits only alerts
                                          // with the same values of these labels
  std::string service_label = "service";  // the engine's IncidentPolicy::service_label
};

struct DependencyHit {
  std::string dependency;
  uint64_t incident_id = 0;
  bool operator==(const DependencyHit&) const = default;
};

// The open incident of a dependency of the service in `labels`, if any. An incident
// qualifies when its group labels agree with `labels` on every `equal` label the group
// has (an incident grouped by service alone is not scoped). Of several, the one
// furthest down the dependency chain, the likeliest cause; then the lowest id.
std::optional<DependencyHit> dependency_incident(const ServiceTopology& topology,
                                                 const DependencyPolicy& policy,
                                                 const OpenIncidentIndex& open,
                                                 const protocol::Labels& labels);

// ---- inhibit rules ----

struct InhibitRule {
  std::string name;  // for reasons; "inhibit_rules[i]" when hub.yaml gives none
  Matchers source;
  Matchers target;
  std::vector<std::string> equal;
};

// Per rule, a count of firing source alerts by their `equal` label values, updated as
// alerts fire and resolve; a check is one hash lookup per rule whose target matches.
// Rules are fixed for the index's life: on a config reload build a new index and replay
// the firing alerts (as on restart, from the store's alert labels).
class InhibitIndex {
 public:
  explicit InhibitIndex(std::vector<InhibitRule> rules = {});

  // An alert's current state. A firing alert counts as a source of each rule whose source
  // matchers it matches; any other state (or a later call) removes what it counted.
  // `labels` as match_labels() makes them.
  void on_alert(const std::string& fingerprint, const protocol::Labels& labels, bool firing);
  void observe(const AlertSignal& signal) {
    on_alert(signal.fingerprint, match_labels(signal),
             signal.state == protocol::AlertState::kFiring);
  }

  // Why the alert is inhibited: "inhibited by rule critical-mutes-warning (firing source
  // with cluster="eu1")"; nullopt when no rule inhibits it. An alert never inhibits
  // itself (it may match a rule's source and target both), as in Alertmanager.
  std::optional<std::string> inhibited(const std::string& fingerprint,
                                       const protocol::Labels& labels) const;

  const std::vector<InhibitRule>& rules() const { return rules_; }
  size_t counted_sources() const { return contributions_.size(); }

 private:
  std::string key(size_t rule, const protocol::Labels& labels) const;

  std::vector<InhibitRule> rules_;
  // Per rule: equal-label key -> firing source alerts with those values.
  std::vector<std::unordered_map<std::string, uint32_t>> counts_;
  // Fingerprint -> (rule, key) it is counted under, to undo on resolve.
  std::unordered_map<std::string, std::vector<std::pair<size_t, std::string>>> contributions_;
};

}  // namespace reflex::hub::incidents
