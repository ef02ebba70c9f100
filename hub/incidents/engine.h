// IncidentEngine: correlation. Turns alert signals and remediation reports into
// incidents with a timeline, and says when someone should be notified.
//
// Pure logic with an explicit clock: every call takes `now_ms` (the hub's clock) and
// returns the Changes it made; the engine does no I/O and reads no clock. Its timers
// (auto-resolve, end of a reopen window, end of flapping) are due times inside the
// incident rows: next_due_ms() says when the hub's loop should call tick(), and every
// other call first runs whatever is due by its `now_ms`, so results depend only on the
// sequence of calls, never on when the loop happened to wake up. Rows persisted from
// Changes and read back (EngineSnapshot) restore an engine that continues exactly.
//
// Rules, in short (the tests spell each one out):
//  - Grouping: by the values of policy.group_by (default service, env) in the alert's
//    labels; an alert lacking one of them groups by its own fingerprint.
//  - A firing transition joins the open incident (triggered or acknowledged) of its
//    group; else reopens the group's incident resolved less than reopen_window ago;
//    else opens a new one. Pending alerts are recorded but never open anything. A signal
//    that repeats an alert's firing state (sources that resend) joins an open incident
//    of its group but neither opens nor reopens one.
//  - Related symptoms: when the verdict hook names an open incident the alert is a
//    symptom of (a dependency's), a firing transition that would open or reopen its own
//    group's incident joins that incident instead, its entries saying "related symptom".
//  - Severity is the highest of the firing members; affected hosts are the distinct
//    hosts of the firing members.
//  - When every member has resolved, the incident resolves resolve_after later unless a
//    member fires or an alert joins first.
//  - Manual resolve with alerts still firing: the incident resolves anyway; those alerts
//    stay members (the row still counts them as firing) and no auto-resolve is set. It
//    reopens only on a new firing transition within the reopen window (one of them
//    resolving and firing again, or another alert of the group), which is what "the
//    problem came back" means. A source resending "still firing" does not reopen what a
//    person resolved.
//  - More than flap_threshold reopens within flap_window mark the incident flapping: no
//    notify intents until it has not reopened for flap_window, when the flag clears.
//
// Loop thread only. Memory holds the open alerts and the incidents still open or inside
// their reopen window (hash maps by fingerprint, group and id, so a signal costs the
// same with 10 or 100,000 open alerts); history lives in the store.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "common/status.h"
#include "hub/incidents/alert_book.h"
#include "hub/incidents/alert_signal.h"
#include "hub/incidents/compact_key.h"
#include "hub/incidents/grouping.h"
#include "hub/incidents/incident.h"
#include "protocol/messages.h"

namespace reflex::hub::incidents {

struct IncidentPolicy {
  std::vector<std::string> group_by{"service", "env"};
  std::string service_label = "service";  // whose value names the service for k of n
  int64_t resolve_after_ms = 5 * 60'000;
  int64_t reopen_window_ms = 60 * 60'000;
  uint32_t flap_threshold = 3;  // reopens; one more within flap_window marks flapping
  int64_t flap_window_ms = 60 * 60'000;
};

// Ok, or an "invalid_policy" error naming the field (negative durations, a zero flap
// window, an empty group key).
Status validate_policy(const IncidentPolicy& policy);

// A remediation report from an agent, with what the registry knows about the agent.
struct RemediationReport {
  std::string agent_id;
  std::string host;
  protocol::Labels agent_labels;  // to find the open incident of the agent's service group
  protocol::Remediation remediation;
};

// The seam for silences and inhibition: given a signal, returns why it must notify
// nobody ("silenced by 42"), or "" when it may. The answer is recorded on the timeline
// entries the signal causes and drops the notify intents it would cause.
using SuppressionHook = std::function<std::string(const AlertSignal& signal, int64_t now_ms)>;

// The suppression stage's fuller answer (IncidentEngine::set_verdict_hook): the reason as
// above, and the open incident the signal is a symptom of (a dependency's), if any. A
// firing transition that would open or reopen an incident of its own group joins that
// incident instead, as a related symptom: its joining entry reads "related symptom: ..."
// with `related_note`. An alert whose own group has an open incident joins that one as
// ever, and a `related_incident` the engine does not hold open is ignored.
struct SuppressionVerdict {
  std::string reason;             // "" when the signal may notify
  uint64_t related_incident = 0;  // 0: none
  std::string related_note;       // "checkout depends on postgres"
};
using VerdictHook = std::function<SuppressionVerdict(const AlertSignal& signal, int64_t now_ms)>;

// Known hosts of a service, for "k of n hosts" (see known_hosts_by_service()).
using KnownHostsFn = std::function<uint32_t(const std::string& service)>;

class IncidentEngine {
 public:
  explicit IncidentEngine(IncidentPolicy policy = {});

  // Takes effect for decisions made from now on; timers already due keep their times.
  void set_policy(IncidentPolicy policy) { policy_ = std::move(policy); }
  const IncidentPolicy& policy() const { return policy_; }
  void set_suppression_hook(SuppressionHook hook) {
    suppression_ = std::move(hook);
    verdicts_ = nullptr;
  }
  // Replaces the suppression hook with one that may also name a related incident.
  void set_verdict_hook(VerdictHook hook) {
    verdicts_ = std::move(hook);
    suppression_ = nullptr;
  }
  void set_known_hosts(KnownHostsFn fn) { known_hosts_ = std::move(fn); }

  // ---- inputs ----
  // A signal that fails validate_signal() is refused and changes nothing.
  Result<Changes> on_signal(const AlertSignal& signal, int64_t now_ms);
  // Joins the timeline of the incident holding the alert the report names, else of the
  // open incident of the agent's group; with neither, nothing changes (the report is in
  // the hub's event log all the same). `exhausted` on an open incident is a notify
  // intent. Refuses an empty agent id or an unknown outcome.
  Result<Changes> on_remediation(const RemediationReport& report, int64_t now_ms);

  // ---- people ----
  // Each refuses an empty actor ("invalid_argument"), an incident the engine does not
  // hold ("not_found": resolved incidents past their reopen window are read-only here)
  // and, for acknowledge, a resolved incident ("conflict"). Repeating the current state
  // (acknowledging twice, resolving a resolved incident, assigning the same owner)
  // changes nothing and is not an error.
  Result<Changes> acknowledge(uint64_t id, const std::string& actor, int64_t now_ms);
  Result<Changes> resolve(uint64_t id, const std::string& actor, int64_t now_ms);
  // An empty owner unassigns.
  Result<Changes> assign(uint64_t id, const std::string& owner, const std::string& actor,
                         int64_t now_ms);
  // Notes are accepted for any incident ever opened, held or not.
  Result<Changes> add_note(uint64_t id, const std::string& text, const std::string& actor,
                           int64_t now_ms);
  // A response option other than acknowledge and resolve (those are the calls above):
  // recorded on the timeline and returned as a kResponse event, which runs the workflow
  // steps on response:<option>. Refuses an empty option or actor, an incident the engine
  // does not hold, and a resolved incident ("conflict").
  Result<Changes> respond(uint64_t id, const std::string& option, const std::string& actor,
                          int64_t now_ms);

  // ---- timers ----
  // The earliest due time, if any; call tick() at or after it.
  std::optional<int64_t> next_due_ms() const;
  // Runs every timer due at or before now_ms, each at its own due time.
  Changes tick(int64_t now_ms);

  // ---- reading ----
  const IncidentRow* incident(uint64_t id) const;
  // The open incident of a group key, if any.
  std::optional<uint64_t> open_incident_for(const std::string& group_key) const;
  // Member fingerprints in joining order.
  std::vector<std::string> members(uint64_t id) const;
  const AlertRecord* alert(const std::string& fingerprint) const { return book_.find(fingerprint); }
  size_t alert_count() const { return book_.size(); }
  size_t incident_count() const { return incidents_.size(); }
  // "3 of 12 hosts" for a held incident, n from the known-hosts function.
  std::string describe_hosts(uint64_t id) const;

  // ---- persistence ----
  EngineSnapshot snapshot() const;
  // Loads a snapshot into an engine that holds nothing yet.
  Status restore(const EngineSnapshot& snapshot);

 private:
  enum class DueKind : uint8_t { kAutoResolve, kReopenExpiry, kSettle };
  struct Due {
    int64_t at;
    uint64_t incident_id;
    DueKind kind;
    auto operator<=>(const Due&) const = default;
  };
  struct Incident {
    IncidentRow row;
    std::vector<CompactKey> members;  // fingerprints, inline: one per member, no heap block
    std::array<uint32_t, 4> firing_by_severity{};
    // host -> firing members. An entry that falls to zero stays until the incident is
    // let go (its hosts are its members' hosts, so they are bounded): an alert that
    // resolves and fires again then costs one lookup, not a node freed and allocated.
    absl::flat_hash_map<CompactKey, uint32_t, CompactKeyHash, CompactKeyEq> firing_hosts;
    uint32_t hosts_firing = 0;  // entries of firing_hosts above zero: the affected hosts
  };
  // What the current call is doing: where its changes go and what caused them.
  struct Call {
    int64_t at = 0;  // time of the entries being made: now, or a timer's due time
    const AlertSignal* signal = nullptr;
    std::string suppressed;  // the hook's answer for `signal`
    uint64_t related = 0;    // the verdict's related incident for `signal`
    std::string related_note;
    bool as_symptom = false;      // `signal` joins the related incident
    std::vector<uint64_t> fresh;  // opened or reopened in this call
    std::vector<uint64_t> dirty_incidents;
    std::vector<std::string> dirty_alerts;
    Changes ch;
  };

  // engine.cc: signals
  Incident* route_firing(const AlertSignal& s, AlertRecord& a, bool was_firing, Call& call);
  Incident& open_incident(const Group& g, const AlertSignal& s, Call& call);
  void reopen(Incident& inc, const AlertSignal& s, Call& call);
  void join(Incident& inc, const AlertSignal& s, AlertRecord& a, bool was_firing, Call& call);
  void count(const AlertRecord& a, int delta);
  void reconcile(Incident& inc, Call& call);
  bool holds(const AlertRecord& a) const;

  // engine_lifecycle.cc: timers, resolving, letting go
  void run_due(int64_t now_ms, Call& call);
  void set_due(Incident& inc, DueKind kind, int64_t at);
  void resolve_incident(Incident& inc, const std::string& actor, const std::string& why,
                        Call& call);
  void maybe_release(Incident& inc, Call& call);
  void release_alert(const std::string& fingerprint, Call& call);

  // engine_actions.cc and shared helpers
  Incident* find(uint64_t id);
  const Incident* find(uint64_t id) const;
  Result<Incident*> find_for_action(uint64_t id, const std::string& actor);
  void add_timeline(Call& call, uint64_t id, TimelineKind kind, std::string actor, std::string text,
                    const std::string& fingerprint = {}, const std::string& host = {});
  void notify(Call& call, const Incident& inc, NotifyKind kind, std::string reason);
  void mark(Call& call, uint64_t id);
  void mark_alert(Call& call, const std::string& fingerprint);
  AlertRow alert_row(const std::string& fingerprint, const AlertRecord& rec, bool retained,
                     const Call& call) const;
  // The call's changes with the rows of what it touched, after any pending ones.
  Changes finish(Call& call);
  // For a call that fails after running timers: keeps their changes for the next call.
  Status fail(Call& call, Status why);

  IncidentPolicy policy_;
  SuppressionHook suppression_;
  VerdictHook verdicts_;
  KnownHostsFn known_hosts_;
  AlertBook book_;
  std::unordered_map<uint64_t, Incident> incidents_;
  // Group key -> the group's incident that takes its next firing: open, or resolved
  // within its reopen window. At most one per group.
  std::unordered_map<std::string, uint64_t> by_group_;
  std::set<Due> dues_;
  uint64_t next_id_ = 1;
  // Changes made by timers that ran in a call that then failed; the next call returns
  // them, so nothing is lost and a failed call still changes nothing itself.
  Changes pending_;
};

}  // namespace reflex::hub::incidents
