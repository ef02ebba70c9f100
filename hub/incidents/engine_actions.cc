// IncidentEngine, part 3: what people and agents do to incidents (acknowledge, resolve,
// assign, note, remediation reports), reading, and snapshot/restore.
#include <algorithm>

#include "hub/incidents/engine.h"

namespace reflex::hub::incidents {
namespace {

Status invalid_argument(const std::string& field, const std::string& what) {
  return Status::error("invalid_argument", field + ": " + what);
}

Status not_held(uint64_t id) {
  return Status::error("not_found", "incident " + std::to_string(id) +
                                        " is not open or recently resolved (older incidents are "
                                        "read-only)");
}

std::string describe_remediation(const RemediationReport& report) {
  const protocol::Remediation& r = report.remediation;
  std::string text = r.action;
  if (!r.target.empty()) text += " " + r.target;
  if (!report.host.empty()) text += " on " + report.host;
  text += ": ";
  text += protocol::remediation_outcome_name(r.outcome);
  if (r.attempt > 0) text += " (attempt " + std::to_string(r.attempt) + ")";
  if (r.exit_code) text += ", exit " + std::to_string(*r.exit_code);
  if (!r.reason.empty()) text += ": " + r.reason;
  if (r.dry_run) text += " [dry run]";
  return text;
}

}  // namespace

Result<Changes> IncidentEngine::acknowledge(uint64_t id, const std::string& actor, int64_t now_ms) {
  if (actor.empty()) return invalid_argument("actor", "must not be empty");
  Call call;
  run_due(now_ms, call);
  Incident* inc = find(id);
  if (!inc) return fail(call, not_held(id));
  IncidentRow& r = inc->row;
  if (r.status == IncidentStatus::kResolved) {
    return fail(call, Status::error("conflict", "incident " + std::to_string(id) +
                                                    " is resolved; only an open incident can be "
                                                    "acknowledged"));
  }
  if (r.status == IncidentStatus::kAcknowledged) return finish(call);
  r.status = IncidentStatus::kAcknowledged;
  r.acknowledged_ms = now_ms;
  r.acknowledged_by = actor;
  call.ch.events.push_back({.incident_id = id,
                            .kind = IncidentEventKind::kAcknowledged,
                            .at_ms = now_ms,
                            .option = {},
                            .actor = actor});
  add_timeline(call, id, TimelineKind::kAcknowledged, actor, "acknowledged by " + actor);
  mark(call, id);
  return finish(call);
}

Result<Changes> IncidentEngine::resolve(uint64_t id, const std::string& actor, int64_t now_ms) {
  if (actor.empty()) return invalid_argument("actor", "must not be empty");
  Call call;
  run_due(now_ms, call);
  Incident* inc = find(id);
  if (!inc) return fail(call, not_held(id));
  if (inc->row.open()) resolve_incident(*inc, actor, "resolved by " + actor, call);
  return finish(call);
}

Result<Changes> IncidentEngine::assign(uint64_t id, const std::string& owner,
                                       const std::string& actor, int64_t now_ms) {
  if (actor.empty()) return invalid_argument("actor", "must not be empty");
  Call call;
  run_due(now_ms, call);
  Incident* inc = find(id);
  if (!inc) return fail(call, not_held(id));
  if (inc->row.owner == owner) return finish(call);
  inc->row.owner = owner;
  add_timeline(call, id, TimelineKind::kAssigned, actor,
               owner.empty() ? "unassigned" : "assigned to " + owner);
  mark(call, id);
  return finish(call);
}

Result<Changes> IncidentEngine::add_note(uint64_t id, const std::string& text,
                                         const std::string& actor, int64_t now_ms) {
  if (actor.empty()) return invalid_argument("actor", "must not be empty");
  if (text.empty()) return invalid_argument("text", "must not be empty");
  if (id == 0 || id >= next_id_) {
    return Status::error("not_found", "incident " + std::to_string(id) + " does not exist");
  }
  Call call;
  run_due(now_ms, call);
  add_timeline(call, id, TimelineKind::kNote, actor, text);
  return finish(call);
}

Result<Changes> IncidentEngine::respond(uint64_t id, const std::string& option,
                                        const std::string& actor, int64_t now_ms) {
  if (actor.empty()) return invalid_argument("actor", "must not be empty");
  if (option.empty()) return invalid_argument("option", "must not be empty");
  Call call;
  run_due(now_ms, call);
  Incident* inc = find(id);
  if (!inc) return fail(call, not_held(id));
  if (!inc->row.open()) {
    return fail(call, Status::error("conflict", "incident " + std::to_string(id) +
                                                    " is resolved; responses apply to open "
                                                    "incidents"));
  }
  call.ch.events.push_back({.incident_id = id,
                            .kind = IncidentEventKind::kResponse,
                            .at_ms = now_ms,
                            .option = option,
                            .actor = actor});
  add_timeline(call, id, TimelineKind::kResponse, actor, option + " by " + actor);
  return finish(call);
}

Result<Changes> IncidentEngine::on_remediation(const RemediationReport& report, int64_t now_ms) {
  const protocol::Remediation& rem = report.remediation;
  if (report.agent_id.empty()) return invalid_argument("agent_id", "must not be empty");
  if (static_cast<unsigned>(rem.outcome) >
      static_cast<unsigned>(protocol::RemediationOutcome::kExhausted)) {
    return invalid_argument("remediation.outcome",
                            "unknown outcome " + std::to_string(static_cast<int>(rem.outcome)));
  }
  Call call;
  run_due(now_ms, call);
  Incident* inc = nullptr;
  if (const AlertRecord* a = book_.find(rem.alert_fingerprint)) inc = find(a->incident_id);
  if (!inc) {
    const Group g = group_of(report.agent_labels, policy_.group_by, rem.alert_fingerprint);
    if (auto it = by_group_.find(g.key); it != by_group_.end()) {
      Incident* candidate = find(it->second);
      if (candidate && candidate->row.open()) inc = candidate;
    }
  }
  if (!inc) return finish(call);
  add_timeline(call, inc->row.id, TimelineKind::kRemediation, "agent:" + report.agent_id,
               describe_remediation(report), rem.alert_fingerprint, report.host);
  if (rem.outcome == protocol::RemediationOutcome::kExhausted && inc->row.open()) {
    std::string reason = "local remediation exhausted";
    if (!report.host.empty()) reason += " on " + report.host;
    if (!rem.reason.empty()) reason += ": " + rem.reason;
    notify(call, *inc, NotifyKind::kRemediationExhausted, std::move(reason));
  }
  return finish(call);
}

const IncidentRow* IncidentEngine::incident(uint64_t id) const {
  const Incident* inc = find(id);
  return inc ? &inc->row : nullptr;
}

std::optional<uint64_t> IncidentEngine::open_incident_for(const std::string& group_key) const {
  auto it = by_group_.find(group_key);
  if (it == by_group_.end()) return std::nullopt;
  const Incident* inc = find(it->second);
  if (!inc || !inc->row.open()) return std::nullopt;
  return it->second;
}

std::vector<std::string> IncidentEngine::members(uint64_t id) const {
  const Incident* inc = find(id);
  std::vector<std::string> out;
  if (inc) {
    out.reserve(inc->members.size());
    for (const auto& fp : inc->members) out.push_back(fp.str());
  }
  return out;
}

std::string IncidentEngine::describe_hosts(uint64_t id) const {
  const Incident* inc = find(id);
  if (!inc) return {};
  const uint32_t known =
      known_hosts_ && !inc->row.service.empty() ? known_hosts_(inc->row.service) : 0;
  return incidents::describe_hosts(inc->row.affected_hosts, known);
}

EngineSnapshot IncidentEngine::snapshot() const {
  EngineSnapshot s;
  s.next_incident_id = next_id_;
  std::vector<uint64_t> ids;
  ids.reserve(incidents_.size());
  for (const auto& [id, _] : incidents_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (uint64_t id : ids) {
    const Incident& inc = incidents_.at(id);
    s.incidents.push_back(inc.row);
    for (const auto& fp : inc.members) s.members.push_back({id, fp.str()});
  }
  s.alerts = book_.rows();
  return s;
}

Status IncidentEngine::restore(const EngineSnapshot& snap) {
  auto invalid = [](const std::string& what) { return Status::error("invalid_snapshot", what); };
  if (!incidents_.empty() || book_.size() > 0 || next_id_ != 1) {
    return invalid("restore needs an engine that holds nothing yet");
  }
  for (const IncidentRow& row : snap.incidents) {
    if (row.id == 0 || row.id >= snap.next_incident_id || incidents_.count(row.id)) {
      return invalid("incident id " + std::to_string(row.id) + " is 0, repeated or not below " +
                     "next_incident_id " + std::to_string(snap.next_incident_id));
    }
    if (row.open() || row.reopen_until_ms != 0) {
      auto [it, inserted] = by_group_.emplace(row.group_key, row.id);
      if (!inserted) {
        return invalid("incidents " + std::to_string(it->second) + " and " +
                       std::to_string(row.id) + " both take group " + row.group_key);
      }
    }
    Incident& inc = incidents_[row.id];
    inc.row = row;
    if (row.resolve_due_ms) dues_.insert({row.resolve_due_ms, row.id, DueKind::kAutoResolve});
    if (row.reopen_until_ms) dues_.insert({row.reopen_until_ms, row.id, DueKind::kReopenExpiry});
    if (row.settle_due_ms) dues_.insert({row.settle_due_ms, row.id, DueKind::kSettle});
  }
  for (const MemberRef& m : snap.members) {
    Incident* inc = find(m.incident_id);
    if (!inc) {
      return invalid("member " + m.fingerprint + " of incident " + std::to_string(m.incident_id) +
                     ", which is not held");
    }
    inc->members.emplace_back(m.fingerprint);
  }
  for (const AlertRow& a : snap.alerts) {
    book_.put(a.fingerprint, a.record);
    count(a.record, +1);
  }
  next_id_ = snap.next_incident_id;
  return Status::ok();
}

}  // namespace reflex::hub::incidents
