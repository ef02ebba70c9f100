// The hub's "inhibit/silence" stage, assembled: one decision per signal that the
// incident engine takes through IncidentEngine::set_suppression_hook(), in this order:
//   1. silences (people, through the API)        "silenced by 42 (alice)"
//   2. maintenance windows (hub.yaml)            "in maintenance window nightly-db until ..."
//   3. topology: a dependency's open incident    "inhibited by dependency postgres (incident 7)"
//   4. inhibit rules (hub.yaml)                  "inhibited by rule critical-mutes-warning ..."
// The first that applies is the reason; the engine records it on the timeline entries
// the signal causes and drops their notify intents, so the record stays complete.
//
// The Suppressor decides; the hub keeps its inputs current (see observe()) and writes
// the silence rows SilenceSet returns. Loop thread only; it must outlive the engine's
// use of hook().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hub/incidents/engine.h"
#include "hub/incidents/inhibition.h"
#include "hub/incidents/maintenance.h"
#include "hub/incidents/silences.h"
#include "hub/incidents/suppression_config.h"

namespace reflex::hub::incidents {

struct SuppressionDecision {
  std::string reason;  // "" when the signal may notify
  // The dependency's open incident, when topology applies (found even with
  // dependency inhibition off), for the hub to link the alert as a related symptom.
  std::optional<DependencyHit> related;
};

class Suppressor {
 public:
  explicit Suppressor(SuppressionConfig config = {});

  // A reload: new topology, rules, windows and reminder policy; silences and open
  // incidents are kept. The inhibit index starts empty: replay the firing alerts
  // through observe_alert() (as after a restart).
  void reconfigure(SuppressionConfig config);

  SuppressionDecision decide(const AlertSignal& signal, int64_t now_ms) const;
  // decide() as the engine's hook: set_suppression_hook(suppressor.hook()).
  SuppressionHook hook() const {
    return [this](const AlertSignal& s, int64_t now_ms) { return decide(s, now_ms).reason; };
  }

  // decide() as the engine's verdict hook (set_verdict_hook(suppressor.verdict_hook())):
  // the reason, and the dependency's open incident, which a firing alert then joins as a
  // related symptom ("checkout depends on postgres") instead of opening its own.
  SuppressionVerdict verdict(const AlertSignal& signal, int64_t now_ms) const;
  VerdictHook verdict_hook() const {
    return [this](const AlertSignal& s, int64_t now_ms) { return verdict(s, now_ms); };
  }

  // ---- keeping the inputs current ----
  // Every Changes the engine returns (signals, people, timers), in order.
  void observe(const Changes& changes) { open_.apply(changes); }
  // Every signal the engine accepted, after on_signal() returned.
  void observe(const AlertSignal& signal) { inhibit_.observe(signal); }
  // A firing alert known from the store (restart, reload): labels as stored plus
  // alertname and severity, as match_labels() adds them.
  void observe_alert(const std::string& fingerprint, const protocol::Labels& labels, bool firing) {
    inhibit_.on_alert(fingerprint, labels, firing);
  }
  // After IncidentEngine::restore(): the open incidents of the snapshot.
  void restore(const EngineSnapshot& snapshot) { open_.restore(snapshot); }

  const ServiceTopology& topology() const { return topology_; }
  SilenceSet& silences() { return silences_; }
  const SilenceSet& silences() const { return silences_; }
  const OpenIncidentIndex& open_incidents() const { return open_; }
  const InhibitIndex& inhibit_rules() const { return inhibit_; }

 private:
  ServiceTopology topology_;
  DependencyPolicy dependencies_;
  SilenceSet silences_;
  OpenIncidentIndex open_;
  InhibitIndex inhibit_;
};

}  // namespace reflex::hub::incidents
