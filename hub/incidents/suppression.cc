#include "hub/incidents/suppression.h"

namespace reflex::hub::incidents {

Suppressor::Suppressor(SuppressionConfig config) {
  reconfigure(std::move(config));
}

void Suppressor::reconfigure(SuppressionConfig config) {
  topology_ = std::move(config.services);
  dependencies_ = std::move(config.dependencies);
  inhibit_ = InhibitIndex(std::move(config.inhibit_rules));
  silences_.set_windows(std::move(config.maintenance));
  silences_.set_policy(config.silence_reminders);
}

SuppressionDecision Suppressor::decide(const AlertSignal& signal, int64_t now_ms) const {
  SuppressionDecision d;
  const protocol::Labels labels = match_labels(signal);
  d.related = dependency_incident(topology_, dependencies_, open_, labels);
  if (auto why = silences_.match(labels, now_ms)) {
    d.reason = std::move(*why);
  } else if (d.related && dependencies_.enabled) {
    d.reason = "inhibited by dependency " + d.related->dependency + " (incident " +
               std::to_string(d.related->incident_id) + ")";
  } else if (auto rule = inhibit_.inhibited(signal.fingerprint, labels)) {
    d.reason = std::move(*rule);
  }
  return d;
}

SuppressionVerdict Suppressor::verdict(const AlertSignal& signal, int64_t now_ms) const {
  SuppressionDecision d = decide(signal, now_ms);
  SuppressionVerdict v;
  v.reason = std::move(d.reason);
  if (d.related) {
    v.related_incident = d.related->incident_id;
    auto service = signal.labels.find(dependencies_.service_label);
    v.related_note = (service == signal.labels.end() ? std::string("it") : service->second) +
                     " depends on " + d.related->dependency;
  }
  return v;
}

}  // namespace reflex::hub::incidents
