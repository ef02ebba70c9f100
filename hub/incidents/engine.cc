// IncidentEngine, part 1: signals. How a signal finds its incident (route_firing), and
// how an incident's counters and derived fields follow its members (count, reconcile).
#include <algorithm>

#include "common/duration.h"
#include "hub/incidents/engine.h"

namespace reflex::hub::incidents {
namespace {

using protocol::AlertState;
using protocol::Severity;

std::string firing_text(const AlertSignal& s) {
  std::string t = s.rule + " firing";
  if (!s.host.empty()) t += " on " + s.host;
  return t + " (" + protocol::severity_name(s.severity) + ")";
}

bool contains(const std::vector<uint64_t>& ids, uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

Status invalid_policy(const std::string& field, const std::string& what) {
  return Status::error("invalid_policy", field + ": " + what);
}

}  // namespace

Status validate_policy(const IncidentPolicy& p) {
  for (size_t i = 0; i < p.group_by.size(); ++i) {
    if (p.group_by[i].empty()) {
      return invalid_policy("group_by[" + std::to_string(i) + "]", "must not be empty");
    }
  }
  if (p.service_label.empty()) return invalid_policy("service_label", "must not be empty");
  if (p.resolve_after_ms < 0) return invalid_policy("resolve_after", "must not be negative");
  if (p.reopen_window_ms < 0) return invalid_policy("reopen_window", "must not be negative");
  if (p.flap_window_ms <= 0) return invalid_policy("flap_window", "must be positive");
  return Status::ok();
}

IncidentEngine::IncidentEngine(IncidentPolicy policy) : policy_(std::move(policy)) {}

Result<Changes> IncidentEngine::on_signal(const AlertSignal& s, int64_t now_ms) {
  REFLEX_RETURN_IF_ERROR(validate_signal(s));
  Call call;
  run_due(now_ms, call);
  call.at = now_ms;
  call.signal = &s;
  if (suppression_) call.suppressed = suppression_(s, now_ms);
  if (verdicts_) {
    SuppressionVerdict v = verdicts_(s, now_ms);
    call.suppressed = std::move(v.reason);
    call.related = v.related_incident;
    call.related_note = std::move(v.related_note);
  }

  // The alert leaves its incident's counters and re-enters them (maybe elsewhere) below,
  // so every path keeps them exact.
  AlertBook::Applied applied = book_.apply(s, now_ms, call.ch.history);
  if (!applied.is_new) count(applied.before, -1);  // apply() leaves incident_id alone
  AlertRecord& a = *applied.alert;
  const bool was_firing = !applied.is_new && applied.before.state == AlertState::kFiring;
  Incident* before = find(a.incident_id);
  Incident* after = before;
  if (a.state == AlertState::kFiring) {
    after = route_firing(s, a, was_firing, call);
  } else if (before && applied.state_changed && a.state == AlertState::kResolved) {
    std::string text = s.rule + " resolved";
    if (!s.host.empty()) text += " on " + s.host;
    add_timeline(call, before->row.id, TimelineKind::kAlertResolved, s.source, std::move(text),
                 s.fingerprint, s.host);
  }
  count(a, +1);
  if (before && before != after) reconcile(*before, call);
  if (after) reconcile(*after, call);
  mark_alert(call, s.fingerprint);
  if (a.state == AlertState::kResolved && !holds(a)) release_alert(s.fingerprint, call);
  return finish(call);
}

IncidentEngine::Incident* IncidentEngine::route_firing(const AlertSignal& s, AlertRecord& a,
                                                       bool was_firing, Call& call) {
  const Group g = group_of(s.labels, policy_.group_by, s.fingerprint);
  Incident* target = nullptr;
  if (auto it = by_group_.find(g.key); it != by_group_.end()) target = find(it->second);
  if (target && target->row.open()) {
    join(*target, s, a, was_firing, call);
    return target;
  }
  if (was_firing) return find(a.incident_id);  // a resend neither opens nor reopens
  if (Incident* related = find(call.related); related && related->row.open()) {
    call.as_symptom = true;
    join(*related, s, a, was_firing, call);
    return related;
  }
  if (target && call.at < target->row.reopen_until_ms) {
    reopen(*target, s, call);
    join(*target, s, a, was_firing, call);
    return target;
  }
  Incident& inc = open_incident(g, s, call);
  join(inc, s, a, was_firing, call);
  return &inc;
}

IncidentEngine::Incident& IncidentEngine::open_incident(const Group& g, const AlertSignal& s,
                                                        Call& call) {
  const uint64_t id = next_id_++;
  Incident& inc = incidents_[id];
  IncidentRow& r = inc.row;
  r.id = id;
  r.group_key = g.key;
  r.group_labels = g.labels;
  if (auto it = s.labels.find(policy_.service_label); it != s.labels.end()) r.service = it->second;
  r.title = r.service.empty() ? s.rule : s.rule + " on " + r.service;
  r.status = IncidentStatus::kTriggered;
  r.severity = s.severity;
  r.opened_ms = call.at;
  r.first_alert_ms = s.at_ms;
  r.last_alert_ms = s.at_ms;
  by_group_[g.key] = id;
  call.fresh.push_back(id);
  call.ch.events.push_back({.incident_id = id,
                            .kind = IncidentEventKind::kOpened,
                            .at_ms = call.at,
                            .option = {},
                            .actor = {}});
  add_timeline(call, id, TimelineKind::kOpened, s.source, "opened by " + firing_text(s),
               s.fingerprint, s.host);
  notify(call, inc, NotifyKind::kOpened, "opened: " + r.title);
  mark(call, id);
  return inc;
}

void IncidentEngine::reopen(Incident& inc, const AlertSignal& s, Call& call) {
  IncidentRow& r = inc.row;
  r.status = IncidentStatus::kTriggered;
  ++r.reopen_count;
  r.resolved_ms = 0;
  r.resolved_by.clear();
  r.acknowledged_ms = 0;
  r.acknowledged_by.clear();
  r.severity = s.severity;  // settled by reconcile() without a "severity changed" entry
  set_due(inc, DueKind::kReopenExpiry, 0);
  auto& times = r.recent_reopens;
  times.erase(times.begin(), std::find_if(times.begin(), times.end(), [&](int64_t t) {
                return t > call.at - policy_.flap_window_ms;
              }));
  times.push_back(call.at);
  if (times.size() > policy_.flap_threshold + size_t{1}) times.erase(times.begin());
  call.fresh.push_back(r.id);
  call.ch.events.push_back({.incident_id = r.id,
                            .kind = IncidentEventKind::kReopened,
                            .at_ms = call.at,
                            .option = {},
                            .actor = {}});
  add_timeline(call, r.id, TimelineKind::kReopened, s.source,
               "reopened by " + firing_text(s) + " (reopen " + std::to_string(r.reopen_count) + ")",
               s.fingerprint, s.host);
  if (!r.flapping && times.size() > policy_.flap_threshold) {
    r.flapping = true;
    add_timeline(call, r.id, TimelineKind::kFlapping, "reflex",
                 "flapping: " + std::to_string(times.size()) + " reopens within " +
                     format_duration(Millis(policy_.flap_window_ms)) +
                     "; no notifications until it stays resolved or open for " +
                     format_duration(Millis(policy_.flap_window_ms)));
  }
  if (r.flapping) {
    set_due(inc, DueKind::kSettle, call.at + policy_.flap_window_ms);
  } else {
    notify(call, inc, NotifyKind::kReopened,
           "reopened: " + r.title + " (reopen " + std::to_string(r.reopen_count) + ")");
  }
  mark(call, r.id);
}

void IncidentEngine::join(Incident& inc, const AlertSignal& s, AlertRecord& a, bool was_firing,
                          Call& call) {
  IncidentRow& r = inc.row;
  const bool fresh = contains(call.fresh, r.id);  // its opened/reopened entry names the alert
  const bool joins = a.incident_id != r.id;
  // A symptom of this incident's problem, not a member of its group: its entries say so.
  auto text = [&](const std::string& what) {
    if (!call.as_symptom) return what;
    return "related symptom: " + what +
           (call.related_note.empty() ? std::string() : "; " + call.related_note);
  };
  if (joins) {
    inc.members.emplace_back(s.fingerprint);
    call.ch.members.push_back({r.id, s.fingerprint, s.host, call.at});
    a.incident_id = r.id;
    if (!fresh) {
      add_timeline(call, r.id, TimelineKind::kAlertJoined, s.source, text(firing_text(s)),
                   s.fingerprint, s.host);
    }
  } else if (!was_firing && !fresh) {
    add_timeline(call, r.id, TimelineKind::kAlertFiring, s.source, text(firing_text(s) + " again"),
                 s.fingerprint, s.host);
  }
  if (joins || !was_firing) {
    r.first_alert_ms = std::min(r.first_alert_ms, s.at_ms);
    r.last_alert_ms = std::max(r.last_alert_ms, s.at_ms);
  }
  mark(call, r.id);
}

void IncidentEngine::count(const AlertRecord& a, int delta) {
  if (a.state != AlertState::kFiring) return;
  Incident* inc = find(a.incident_id);
  if (!inc) return;
  inc->firing_by_severity[static_cast<size_t>(a.severity)] += delta;
  if (a.host.empty()) return;
  auto it = inc->firing_hosts.find(std::string_view(a.host));
  if (it == inc->firing_hosts.end()) it = inc->firing_hosts.emplace(CompactKey(a.host), 0).first;
  const bool was_affected = it->second > 0;
  it->second += delta;
  if (!was_affected && it->second > 0) ++inc->hosts_firing;
  if (was_affected && it->second == 0) --inc->hosts_firing;
}

void IncidentEngine::reconcile(Incident& inc, Call& call) {
  IncidentRow& r = inc.row;
  uint32_t firing = 0;
  std::optional<Severity> top;
  for (size_t i = 0; i < inc.firing_by_severity.size(); ++i) {
    firing += inc.firing_by_severity[i];
    if (inc.firing_by_severity[i] > 0) top = static_cast<Severity>(i);
  }
  r.firing = firing;
  r.affected_hosts = inc.hosts_firing;
  r.members = static_cast<uint32_t>(inc.members.size());
  mark(call, r.id);
  if (!r.open()) return;
  r.peak_hosts = std::max(r.peak_hosts, r.affected_hosts);
  const std::string actor = call.signal ? call.signal->source : "reflex";
  if (top && *top != r.severity) {
    const Severity was = r.severity;
    r.severity = *top;
    if (!contains(call.fresh, r.id)) {
      const bool raised = *top > was;
      const std::string text = std::string("severity ") + (raised ? "raised" : "lowered") +
                               " from " + protocol::severity_name(was) + " to " +
                               protocol::severity_name(*top);
      add_timeline(call, r.id, TimelineKind::kSeverityChanged, actor, text);
      if (raised) notify(call, inc, NotifyKind::kSeverityRaised, text);
    }
  }
  if (firing == 0 && r.resolve_due_ms == 0) {
    set_due(inc, DueKind::kAutoResolve, call.at + policy_.resolve_after_ms);
    add_timeline(call, r.id, TimelineKind::kAutoResolveScheduled, "reflex",
                 "every alert resolved; resolves by itself in " +
                     format_duration(Millis(policy_.resolve_after_ms)) + " unless one fires again");
  } else if (firing > 0 && r.resolve_due_ms != 0) {
    set_due(inc, DueKind::kAutoResolve, 0);
    add_timeline(call, r.id, TimelineKind::kAutoResolveCancelled, actor,
                 "auto-resolve cancelled: " +
                     (call.signal ? firing_text(*call.signal) : std::string("an alert fires")),
                 call.signal ? call.signal->fingerprint : std::string(),
                 call.signal ? call.signal->host : std::string());
  }
}

bool IncidentEngine::holds(const AlertRecord& a) const {
  return a.incident_id != 0 && incidents_.count(a.incident_id) > 0;
}

}  // namespace reflex::hub::incidents
