// IncidentEngine, part 2: timers, resolving, letting go of incidents and alerts, and the
// bookkeeping every call shares (rows of what it touched, pending changes).

#include "common/duration.h"
#include "hub/incidents/distinct.h"
#include "hub/incidents/engine.h"

namespace reflex::hub::incidents {

std::optional<int64_t> IncidentEngine::next_due_ms() const {
  if (dues_.empty()) return std::nullopt;
  return dues_.begin()->at;
}

Changes IncidentEngine::tick(int64_t now_ms) {
  Call call;
  run_due(now_ms, call);
  return finish(call);
}

void IncidentEngine::run_due(int64_t now_ms, Call& call) {
  while (!dues_.empty() && dues_.begin()->at <= now_ms) {
    const Due due = *dues_.begin();
    Incident* inc = find(due.incident_id);
    if (!inc) {  // cannot happen: releasing an incident clears its timers first
      dues_.erase(dues_.begin());
      continue;
    }
    set_due(*inc, due.kind, 0);
    mark(call, due.incident_id);
    call.at = due.at;
    IncidentRow& r = inc->row;
    switch (due.kind) {
      case DueKind::kAutoResolve:
        if (r.open() && r.firing == 0) {
          resolve_incident(*inc, "reflex", "every alert resolved and none fired again", call);
        }
        break;
      case DueKind::kReopenExpiry:
        if (auto it = by_group_.find(r.group_key); it != by_group_.end() && it->second == r.id) {
          by_group_.erase(it);
        }
        mark(call, r.id);
        maybe_release(*inc, call);
        break;
      case DueKind::kSettle:
        r.flapping = false;
        r.recent_reopens.clear();
        add_timeline(call, r.id, TimelineKind::kSettled, "reflex",
                     "settled: no reopen for " + format_duration(Millis(policy_.flap_window_ms)) +
                         "; notifications resume");
        if (r.open()) notify(call, *inc, NotifyKind::kSettled, "stopped flapping, still open");
        mark(call, r.id);
        maybe_release(*inc, call);
        break;
    }
  }
  call.at = now_ms;
}

void IncidentEngine::set_due(Incident& inc, DueKind kind, int64_t at) {
  IncidentRow& r = inc.row;
  int64_t& field = kind == DueKind::kAutoResolve    ? r.resolve_due_ms
                   : kind == DueKind::kReopenExpiry ? r.reopen_until_ms
                                                    : r.settle_due_ms;
  if (field != 0) dues_.erase(Due{field, r.id, kind});
  field = at;
  if (at != 0) dues_.insert(Due{at, r.id, kind});
}

void IncidentEngine::resolve_incident(Incident& inc, const std::string& actor,
                                      const std::string& why, Call& call) {
  IncidentRow& r = inc.row;
  r.status = IncidentStatus::kResolved;
  r.resolved_ms = call.at;
  r.resolved_by = actor;
  set_due(inc, DueKind::kAutoResolve, 0);
  set_due(inc, DueKind::kReopenExpiry, call.at + policy_.reopen_window_ms);
  call.ch.events.push_back({.incident_id = r.id,
                            .kind = IncidentEventKind::kResolved,
                            .at_ms = call.at,
                            .option = {},
                            .actor = r.resolved_by});
  add_timeline(call, r.id, TimelineKind::kResolved, actor, "resolved: " + why);
  notify(call, inc, NotifyKind::kResolved, "resolved: " + why);
  mark(call, r.id);
}

void IncidentEngine::maybe_release(Incident& inc, Call& call) {
  IncidentRow& r = inc.row;
  if (r.open() || r.reopen_until_ms != 0 || r.settle_due_ms != 0 || r.resolve_due_ms != 0) return;
  const uint64_t id = r.id;
  for (const auto& key : inc.members) {
    AlertRecord* a = book_.find(key.view());
    if (!a || a->incident_id != id) continue;  // gone already, or moved to another incident
    const std::string fp = key.str();
    if (a->state == protocol::AlertState::kResolved) {
      release_alert(fp, call);
    } else {
      a->incident_id = 0;  // still firing or pending: stays, free to open a new incident
      mark_alert(call, fp);
    }
  }
  if (auto it = by_group_.find(r.group_key); it != by_group_.end() && it->second == id) {
    by_group_.erase(it);
  }
  r.retained = false;
  call.ch.incidents.push_back(r);  // its last row; finish() skips incidents no longer held
  call.ch.events.push_back({.incident_id = id,
                            .kind = IncidentEventKind::kReleased,
                            .at_ms = call.at,
                            .option = {},
                            .actor = {}});
  incidents_.erase(id);
}

void IncidentEngine::release_alert(const std::string& fingerprint, Call& call) {
  const AlertRecord* a = book_.find(fingerprint);
  if (!a) return;
  call.ch.alerts.push_back(alert_row(fingerprint, *a, false, call));
  book_.erase(fingerprint);
}

IncidentEngine::Incident* IncidentEngine::find(uint64_t id) {
  if (id == 0) return nullptr;
  auto it = incidents_.find(id);
  return it == incidents_.end() ? nullptr : &it->second;
}

const IncidentEngine::Incident* IncidentEngine::find(uint64_t id) const {
  if (id == 0) return nullptr;
  auto it = incidents_.find(id);
  return it == incidents_.end() ? nullptr : &it->second;
}

void IncidentEngine::add_timeline(Call& call, uint64_t id, TimelineKind kind, std::string actor,
                                  std::string text, const std::string& fingerprint,
                                  const std::string& host) {
  call.ch.timeline.push_back(TimelineEntry{id, call.at, kind, std::move(actor), fingerprint, host,
                                           std::move(text),
                                           call.signal ? call.suppressed : std::string()});
}

void IncidentEngine::notify(Call& call, const Incident& inc, NotifyKind kind, std::string reason) {
  if (inc.row.flapping) return;
  if (call.signal && !call.suppressed.empty()) return;
  call.ch.notify.push_back({inc.row.id, kind, std::move(reason), inc.row.severity, call.at});
}

void IncidentEngine::mark(Call& call, uint64_t id) {
  if (call.dirty_incidents.empty() || call.dirty_incidents.back() != id) {
    call.dirty_incidents.push_back(id);
  }
}

void IncidentEngine::mark_alert(Call& call, const std::string& fingerprint) {
  call.dirty_alerts.push_back(fingerprint);
}

AlertRow IncidentEngine::alert_row(const std::string& fingerprint, const AlertRecord& rec,
                                   bool retained, const Call& call) const {
  AlertRow row{fingerprint, rec, retained, std::nullopt};
  if (call.signal && call.signal->fingerprint == fingerprint) {
    const AlertSignal& s = *call.signal;
    row.detail = AlertRow::Detail{s.source, s.rule, s.labels, s.annotations};
  }
  return row;
}

Changes IncidentEngine::finish(Call& call) {
  for_each_distinct<uint64_t>(call.dirty_incidents, [&](uint64_t id) {
    if (const Incident* inc = find(id)) call.ch.incidents.push_back(inc->row);
  });
  for_each_distinct<std::string_view>(call.dirty_alerts, [&](const std::string& fp) {
    if (const AlertRecord* a = book_.find(fp)) {
      call.ch.alerts.push_back(alert_row(fp, *a, true, call));
    }
  });
  Changes out = std::exchange(pending_, Changes{});
  out.merge(std::move(call.ch));
  return out;
}

Status IncidentEngine::fail(Call& call, Status why) {
  pending_ = finish(call);
  return why;
}

}  // namespace reflex::hub::incidents
