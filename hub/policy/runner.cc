#include "hub/policy/runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>
#include <utility>

#include "common/duration.h"
#include "hub/oncall/escalation.h"
#include "hub/policy/ci_job.h"
#include "hub/policy/step_calls.h"
#include "hub/policy/templates.h"
#include "protocol/codec.h"

namespace reflex::hub::policy {
namespace {

using incidents::IncidentEventKind;
using incidents::IncidentRow;
using incidents::NotifyKind;

// What a chat message shows of an incident: when it changes, the message is refreshed.
std::tuple<std::string, std::string, protocol::Severity, uint32_t> shown(const IncidentFacts& f) {
  return {f.title, f.status, f.severity, f.affected_hosts};
}

std::optional<std::string> workflow_event(NotifyKind k) {
  switch (k) {
    case NotifyKind::kOpened:
      return "opened";
    case NotifyKind::kReopened:
      return "reopened";
    case NotifyKind::kSeverityRaised:
    case NotifyKind::kRemediationExhausted:
      return "escalated";
    case NotifyKind::kResolved:
      return "resolved";
    case NotifyKind::kSettled:
      return std::nullopt;
  }
  return std::nullopt;
}

std::string describe_result(const std::string& object, const nlohmann::json& data) {
  auto s = [&](const char* k) { return data.value(k, std::string()); };
  if (object.starts_with("message:")) return "message " + s("ts") + " in " + s("channel");
  if (object == "channel") return "channel " + s("name") + " (" + s("id") + ")";
  if (object == "ticket") return "ticket " + s("key");
  if (object == "status_page") return "status page incident " + s("id");
  if (object == "page") return "paged (" + s("dedup_key") + ")";
  if (object.starts_with("ci:")) return describe_ci(data);
  return "";
}

// The escalation object's data while its policy pages: {"state": "paging", "policy",
// "started_ms", "next_step", "next_at_ms", "message", "route", "step"}; afterwards
// "state" says why it stopped (acknowledged, resolved, exhausted, failed).
const char* const kEscalation = "escalation";
bool paging(const IncidentWorkflow& w) {
  auto it = w.objects.find(kEscalation);
  return it != w.objects.end() && it->second.data.value("state", "") == "paging";
}
std::optional<int64_t> escalation_due(const IncidentWorkflow& w) {
  if (!paging(w)) return std::nullopt;
  const auto& d = w.objects.at(kEscalation).data;
  if (!d.contains("next_at_ms")) return std::nullopt;
  return d.at("next_at_ms").get<int64_t>();
}

// Calls to agents keep, besides their step's parameters, in `with`: "host", and once
// sent "agent" and "deadline_ms". A rollback's verification is the "verify" object:
// {"state": "watching" | "verified" | "failed", "due_ms", "within"}.
const char* const kVerify = "verify";
constexpr Millis kDefaultCommandTimeout(5 * 60 * 1000);

bool to_agent(const WorkflowCall& c) {
  return c.integration == "agents";
}
int64_t deadline_of(const WorkflowCall& c) {
  auto it = c.with.find("deadline_ms");
  return it == c.with.end() ? 0 : std::stoll(it->second);
}
std::optional<int64_t> verify_due(const IncidentWorkflow& w) {
  auto it = w.objects.find(kVerify);
  if (it == w.objects.end() || it->second.data.value("state", "") != "watching")
    return std::nullopt;
  return it->second.data.value("due_ms", int64_t{0});
}

// Holding pages while agents heal (Route::hold_while_healing). The "healing" object maps
// the fingerprints of the incident's alerts to {"heals": what heals it ("fix-app on
// web-1"; "" when nobody does), "firing"}; it exists once an alert of the incident said
// an agent heals it (annotation `healing`). An alert that resolved keeps what healed it.
// The "holds" object lists the held routes: {"route", "event", "at_ms", "for_ms",
// "until_ms"} (no "until_ms" while no alert of the incident fires: it waits to resolve).
const char* const kHealing = "healing";
const char* const kHolds = "holds";
const char* const kHealingAnnotation = "healing";

// What heals the incident's alerts ("fix-app on web-1, fix-app on web-2"); empty unless
// an agent heals every one.
std::string healing_by(const IncidentWorkflow& w) {
  auto it = w.objects.find(kHealing);
  if (it == w.objects.end() || it->second.data.empty()) return "";
  std::set<std::string> what;
  for (const auto& [_, alert] : it->second.data.items()) {
    const std::string heals = alert.value("heals", "");
    if (heals.empty()) return "";
    what.insert(heals);
  }
  std::string out;
  for (const auto& h : what) out += (out.empty() ? "" : ", ") + h;
  return out;
}
bool any_firing(const IncidentWorkflow& w) {
  auto it = w.objects.find(kHealing);
  if (it == w.objects.end()) return false;
  for (const auto& [_, alert] : it->second.data.items()) {
    if (alert.value("firing", false)) return true;
  }
  return false;
}
const nlohmann::json* holds_of(const IncidentWorkflow& w) {
  auto it = w.objects.find(kHolds);
  return it == w.objects.end() || it->second.data.empty() ? nullptr : &it->second.data;
}
std::optional<int64_t> hold_due(const IncidentWorkflow& w) {
  const nlohmann::json* holds = holds_of(w);
  if (!holds) return std::nullopt;
  std::optional<int64_t> due;
  for (const auto& h : *holds) {
    if (!h.contains("until_ms")) continue;  // its alerts resolved: waiting for the incident
    const int64_t until = h.at("until_ms").get<int64_t>();
    if (!due || until < *due) due = until;
  }
  return due;
}

// The call a command id names: "wf:<incident>:<seq>".
std::optional<std::pair<uint64_t, uint64_t>> parse_command_id(const std::string& id) {
  unsigned long long incident = 0, seq = 0;
  int used = 0;
  if (std::sscanf(id.c_str(), "wf:%llu:%llu%n", &incident, &seq, &used) != 2 ||
      static_cast<size_t>(used) != id.size()) {
    return std::nullopt;
  }
  return std::pair<uint64_t, uint64_t>{incident, seq};
}

std::string describe_result(const protocol::CommandResult& r) {
  std::string text = protocol::command_status_name(r.status);
  if (r.exit_code) text += ", exit " + std::to_string(*r.exit_code);
  text += " in " + std::to_string(r.duration_ms) + " ms";
  if (!r.message.empty()) text += ": " + r.message;
  return text;
}

std::string target_name(const oncall::PageTarget& t) {
  switch (t.kind) {
    case oncall::PageTarget::Kind::kChannel:
      return t.channel;
    case oncall::PageTarget::Kind::kNobody:
      return "nobody on call in " + t.schedule;
    case oncall::PageTarget::Kind::kPerson:
      break;
  }
  std::string name = t.person.name.empty() ? t.person.id : t.person.name;
  return t.schedule.empty() ? name : name + " (" + t.schedule + ")";
}

}  // namespace

WorkflowRunner::WorkflowRunner(Outbox& outbox,
                               std::function<const incidents::IncidentRow*(uint64_t)> incident)
    : outbox_(outbox), incident_(std::move(incident)) {}

void WorkflowRunner::configure(RunnerSettings settings) {
  settings_ = std::move(settings);
}

Status WorkflowRunner::start(
    std::vector<IncidentWorkflow> active,
    const std::function<Result<std::optional<OutboxRow>>(uint64_t)>& find_row) {
  for (auto& w : active) {
    for (const auto& c : w.calls) {
      if (c.state != CallState::kSent) continue;
      if (to_agent(c)) {  // sent again: the agent ignores a command id it already has
        auto command = command_for(w, c, deadline_of(c));
        if (command) outgoing_.emplace_back(c.with.at("agent"), std::move(command).value());
        continue;
      }
      by_outbox_[c.outbox_id] = w.incident_id;
      auto row = find_row(c.outbox_id);
      if (!row) return row.status();
      if (*row && ((*row)->state == OutboxState::kDone || (*row)->state == OutboxState::kDead)) {
        finished_.push_back(std::move(**row));
      }
    }
    const uint64_t id = w.incident_id;
    docs_.emplace(id, std::move(w));
    index_due(id);
  }
  return Status::ok();
}

std::optional<int64_t> WorkflowRunner::next_due_ms() const {
  if (due_.empty()) return std::nullopt;
  return due_.begin()->first;
}

void WorkflowRunner::index_due(uint64_t incident_id) {
  if (auto old = due_of_.find(incident_id); old != due_of_.end()) {
    due_.erase({old->second, incident_id});
    due_of_.erase(old);
  }
  auto it = docs_.find(incident_id);
  if (it == docs_.end()) return;
  std::optional<int64_t> next;
  auto consider = [&](std::optional<int64_t> due) {
    if (due && (!next || *due < *next)) next = due;
  };
  const IncidentWorkflow& w = it->second;
  consider(escalation_due(w));
  consider(verify_due(w));
  consider(hold_due(w));
  for (const auto& c : w.calls) {
    if (to_agent(c) && c.state == CallState::kSent) consider(deadline_of(c));
  }
  if (!next) return;
  due_of_.emplace(incident_id, *next);
  due_.emplace(*next, incident_id);
}

const IncidentWorkflow* WorkflowRunner::find(uint64_t incident_id) const {
  auto it = docs_.find(incident_id);
  return it == docs_.end() ? nullptr : &it->second;
}

void WorkflowRunner::on_finished(const OutboxRow& row,
                                 const std::function<void()>& request_commit) {
  if (!by_outbox_.contains(row.id)) return;
  finished_.push_back(row);
  request_commit();
}

IncidentWorkflow& WorkflowRunner::touch(uint64_t incident_id, int64_t now_ms, WriteBatch& batch) {
  auto it = docs_.find(incident_id);
  if (!before_.contains(incident_id)) {
    before_.emplace(incident_id,
                    it == docs_.end() ? std::nullopt : std::optional<IncidentWorkflow>(it->second));
  }
  touched_.insert(incident_id);
  if (it != docs_.end()) {
    it->second.updated_ms = now_ms;
    return it->second;
  }
  IncidentWorkflow w;
  w.incident_id = incident_id;
  w.updated_ms = now_ms;
  w.facts.id = incident_id;
  const IncidentRow* row = nullptr;
  for (const auto& r : batch.incidents.incidents) {
    if (r.id == incident_id) row = &r;  // the last one wins
  }
  if (!row && incident_) row = incident_(incident_id);
  if (row) set_facts(w.facts, *row);
  return docs_.emplace(incident_id, std::move(w)).first->second;
}

void WorkflowRunner::stage(WriteBatch& batch, int64_t now_ms) {
  touched_.clear();
  by_outbox_before_ = by_outbox_;
  finished_in_batch_ = std::exchange(finished_, {});
  for (const auto& row : finished_in_batch_) {
    auto it = by_outbox_.find(row.id);
    if (it == by_outbox_.end()) continue;
    finish_call(touch(it->second, now_ms, batch), row, batch, now_ms);
  }
  update_facts(batch, now_ms);

  std::vector<Event> events;
  for (const auto& n : batch.incidents.notify) {
    if (auto name = workflow_event(n.kind)) {
      events.push_back({.incident_id = n.incident_id,
                        .name = *name,
                        .at_ms = n.at_ms,
                        .pager_ack = false,
                        .pager_resolve = false});
    }
  }
  for (const auto& e : batch.incidents.events) {
    Event ev{.incident_id = e.incident_id,
             .name = {},
             .at_ms = e.at_ms,
             .pager_ack = false,
             .pager_resolve = false};
    if (e.kind == IncidentEventKind::kAcknowledged) {
      ev.name = "acknowledged";
      ev.pager_ack = true;
    } else if (e.kind == IncidentEventKind::kResponse) {
      ev.name = "response:" + e.option;
    } else if (e.kind == IncidentEventKind::kResolved) {
      ev.pager_resolve = true;  // the steps run on the notify intent
    } else if (e.kind == IncidentEventKind::kReleased) {
      if (docs_.contains(e.incident_id)) touch(e.incident_id, now_ms, batch).held = false;
      continue;
    } else {
      continue;
    }
    events.push_back(std::move(ev));
  }
  for (const auto& e : events) run_event(e, batch, now_ms);
  command_results(batch, now_ms);
  watch_due(batch, now_ms);

  for (uint64_t id : touched_) {
    auto it = docs_.find(id);
    if (it == docs_.end()) continue;
    pump(it->second, batch, now_ms);
    if (!it->second.calls.empty() || !it->second.objects.empty()) {
      batch.workflows.push_back(it->second);
    }
  }
  for (uint64_t id : touched_) index_due(id);
}

void WorkflowRunner::committed() {
  outgoing_.insert(outgoing_.end(), std::make_move_iterator(commands_.begin()),
                   std::make_move_iterator(commands_.end()));
  commands_.clear();
  // An agent not connected now gets its command when it is (its hello makes a batch),
  // until the call finishes (a result, or its deadline).
  std::erase_if(outgoing_, [&](const auto& out) {
    return agents_.send && agents_.send(out.first, out.second);
  });
  for (uint64_t id : touched_) {
    auto it = docs_.find(id);
    if (it != docs_.end() && !it->second.active()) {
      docs_.erase(it);
      index_due(id);
    }
  }
  before_.clear();
  touched_.clear();
  finished_in_batch_.clear();
}

void WorkflowRunner::failed() {
  for (auto& [id, doc] : before_) {
    if (doc) {
      docs_[id] = std::move(*doc);
    } else {
      docs_.erase(id);
    }
    index_due(id);
  }
  before_.clear();
  touched_.clear();
  commands_.clear();
  by_outbox_ = std::move(by_outbox_before_);
  by_outbox_before_.clear();
  finished_in_batch_.insert(finished_in_batch_.end(), finished_.begin(), finished_.end());
  finished_ = std::exchange(finished_in_batch_, {});
}

void WorkflowRunner::finish_call(IncidentWorkflow& w, const OutboxRow& row, WriteBatch& batch,
                                 int64_t now_ms) {
  by_outbox_.erase(row.id);
  for (auto& c : w.calls) {
    if (c.state != CallState::kSent || c.outbox_id != row.id) continue;
    const bool done = row.state == OutboxState::kDone;
    c.state = done ? CallState::kDone : CallState::kFailed;
    c.note = done ? "" : row.last_error;
    for (auto& [name, o] : w.objects) {
      if (o.call_seq != c.seq || o.state != ObjectState::kPending) continue;
      o.state = done ? ObjectState::kReady : ObjectState::kFailed;
      if (done) {
        o.data.update(object_data(name, row.payload, row.result, settings_.links));
        c.note = describe_result(name, o.data);
      }
    }
    if (c.kind != "refresh" || !done) {
      step_entry(batch, w, c,
                 done ? "done" + (c.note.empty() ? "" : ": " + c.note) : "failed: " + c.note,
                 now_ms);
    }
    // A rollback by CI job is verified from when the job was accepted.
    if (done) watch_rollback(w, c, batch, now_ms);
    if (c.kind == "refresh" && done) {
      // Only the latest refresh of a message is worth keeping: the document stays small
      // however often the incident changes.
      const uint64_t seq = c.seq;
      const std::string message = c.step;
      std::erase_if(w.calls, [&](const WorkflowCall& other) {
        return other.kind == "refresh" && other.step == message && other.seq != seq &&
               other.state == CallState::kDone;
      });
    }
    return;
  }
}

void WorkflowRunner::update_facts(WriteBatch& batch, int64_t now_ms) {
  // An alert naming its source problem gives the incident it joins that problem (the
  // first one named stays), though problem_id is not one of the group labels.
  std::map<std::string, std::string> problems;  // alert fingerprint -> problem id
  for (const auto& a : batch.incidents.alerts) {
    if (!a.detail) continue;
    auto it = a.detail->labels.find(kProblemLabel);
    if (it != a.detail->labels.end() && !it->second.empty()) problems[a.fingerprint] = it->second;
  }
  // The alert that opens an incident (its first member) lends it its labels, for routes
  // and templates.
  if (!settings_.policy.routes.empty()) {
    std::map<std::string, const protocol::Labels*> labels;  // fingerprint -> its labels
    for (const auto& a : batch.incidents.alerts) {
      if (a.detail) labels[a.fingerprint] = &a.detail->labels;
    }
    for (const auto& m : batch.incidents.members) {
      const auto it = labels.find(m.fingerprint);
      if (it == labels.end() || docs_.contains(m.incident_id)) continue;
      IncidentWorkflow& w = touch(m.incident_id, now_ms, batch);  // sets the facts
      w.facts.alert_labels = *it->second;
      for (const auto& [name, value] : *it->second) w.facts.labels.try_emplace(name, value);
    }
  }
  for (const auto& m : batch.incidents.members) {
    auto it = problems.find(m.fingerprint);
    if (it == problems.end()) continue;
    touch(m.incident_id, now_ms, batch).facts.labels.emplace(kProblemLabel, it->second);
  }
  track_healing(batch, now_ms);
  for (const auto& s : batch.suspects) {
    IncidentWorkflow& w = touch(s.incident_id, now_ms, batch);
    w.facts.has_suspect = true;
    const incidents::Change& change = s.suspect.change;
    const auto strategy = incidents::deploy_strategy_name(change.strategy);
    if (!strategy.empty()) w.facts.labels["deploy_strategy"] = std::string(strategy);
    // For templates: {{suspect.version}}, {{suspect.hosts}} (the rollback's hosts), ...
    std::string hosts;
    for (const auto& h : change.hosts) hosts += (hosts.empty() ? "" : ",") + h;
    w.objects["suspect"] = {.state = ObjectState::kReady,
                            .call_seq = 0,
                            .data = {{"id", change.id},
                                     {"service", change.service},
                                     {"version", change.version},
                                     {"hosts", hosts},
                                     {"strategy", std::string(strategy)},
                                     {"commit", change.commit},
                                     {"author", change.author},
                                     {"link", change.link},
                                     {"summary", s.suspect.summary}}};
  }
  for (const auto& r : batch.incidents.incidents) {
    auto it = docs_.find(r.id);
    if (it == docs_.end() || facts_current(it->second.facts, r)) continue;
    IncidentWorkflow& w = touch(r.id, now_ms, batch);
    const auto was_shown = shown(w.facts);
    set_facts(w.facts, r);
    if (shown(w.facts) == was_shown) continue;
    for (const auto& [name, o] : w.objects) {
      if (!name.starts_with("message:") || o.state == ObjectState::kFailed) continue;
      bool waiting = false;
      for (const auto& c : w.calls) {
        waiting =
            waiting || (c.kind == "refresh" && c.step == name && c.state == CallState::kWaiting);
      }
      if (waiting) continue;
      WorkflowCall call;
      call.kind = "refresh";
      call.step = name;
      call.at_ms = now_ms;
      add_call(w, std::move(call), batch, now_ms);
    }
  }
}

void WorkflowRunner::run_event(const Event& e, WriteBatch& batch, int64_t now_ms) {
  IncidentWorkflow& w = touch(e.incident_id, now_ms, batch);  // a new one has the facts
  if (!e.name.empty()) {
    // Held routes: escalating (remediation exhausted, severity raised) runs their held
    // steps now; resolving or acknowledging ends the hold, and those routes' steps for
    // the event are not run either (they would close what was never opened).
    std::set<std::string> dropped;
    if (e.name == "escalated") {
      if (auto it = w.objects.find(kHealing); it != w.objects.end()) {
        for (auto& [fingerprint, alert] : it->second.data.items()) {
          healing_alerts_.erase(fingerprint);
          alert["heals"] = "";
        }
      }
      release_holds(w, "escalated", batch, now_ms);
    } else if (e.name == "resolved" || e.name == "acknowledged") {
      dropped = drop_holds(w, e.name == "resolved" ? "healed" : e.name, batch, now_ms);
    }
    const IncidentFacts facts = w.facts;
    const std::string healing = healing_by(w);
    for (const Route* route : select_routes(settings_.policy, facts)) {
      if (dropped.contains(route->name)) continue;
      if ((e.name == "opened" || e.name == "reopened") && !healing.empty() &&
          route->hold_while_healing.count() > 0) {
        hold(w, *route, e, healing, batch, now_ms);
        continue;
      }
      run_route(w, *route, e.name, e.at_ms, facts, batch, now_ms);
    }
  }
  if (e.pager_ack || e.pager_resolve) {
    stop_escalation(w, e.pager_ack ? "acknowledged" : "resolved", batch, now_ms);
  }
  if (e.pager_resolve && verify_due(w)) {
    auto& v = w.objects.at(kVerify).data;
    v["state"] = "verified";
    note(batch, w,
         "rollback verified: the incident resolved within " + v.value("within", "") +
             " of the rollback",
         now_ms);
  }
  if ((e.pager_ack || e.pager_resolve) && w.objects.contains("page")) {
    WorkflowCall call;
    call.event = e.pager_ack ? "acknowledged" : "resolved";
    call.kind = e.pager_ack ? "pager.acknowledge" : "pager.resolve";
    call.step = "page";
    call.at_ms = e.at_ms;
    add_call(w, std::move(call), batch, now_ms);
  }
}

void WorkflowRunner::run_route(IncidentWorkflow& w, const Route& route, const std::string& event,
                               int64_t at_ms, const IncidentFacts& facts, WriteBatch& batch,
                               int64_t now_ms) {
  auto wf = settings_.policy.workflows.find(route.workflow);
  if (wf == settings_.policy.workflows.end()) return;
  for (const Step* step : steps_for(wf->second, event, facts)) {
    WorkflowCall call;
    call.event = event;
    call.route = route.name;
    call.step = step->name;
    call.kind = step_kind_name(step->kind);
    call.with = step->with;
    call.at_ms = at_ms;
    if (integration_for(call.kind, call.with) == "agents") {
      // One command per host: the step's hosts, or the incident's. The hosts may name
      // what the workflow knows ({{suspect.hosts}}: a canary's), as the step's other
      // parameters may when its command is sent.
      std::vector<std::string> hosts =
          call.with.contains("hosts")
              ? split_list(render_template(call.with["hosts"], facts_with_refs(w, now_ms)))
          : agents_.hosts ? agents_.hosts(w.incident_id)
                          : std::vector<std::string>{};
      if (hosts.empty()) hosts.push_back("");  // skipped, saying so
      for (const auto& host : hosts) {
        WorkflowCall one = call;
        one.with["host"] = host;
        add_call(w, std::move(one), batch, now_ms);
      }
      continue;
    }
    if (step->kind == StepKind::kPage) {
      // Reflex's own escalation policy, else PagerDuty's.
      call.with["policy"] = render_template(call.with["policy"], facts);
      if (settings_.oncall.policies.contains(call.with["policy"])) call.kind = "escalate";
    }
    // A last word before archiving; a topic after creating.
    if (step->kind == StepKind::kChatArchive && step->with.contains("text")) {
      WorkflowCall say = call;
      say.kind = "chat.say";
      add_call(w, std::move(say), batch, now_ms);
    }
    const bool topic = step->kind == StepKind::kChatCreateChannel && step->with.contains("topic");
    WorkflowCall say = call;
    add_call(w, std::move(call), batch, now_ms);
    if (topic) {
      say.kind = "chat.say";
      say.with["text"] = say.with["topic"];
      add_call(w, std::move(say), batch, now_ms);
    }
  }
}

void WorkflowRunner::track_healing(WriteBatch& batch, int64_t now_ms) {
  // What the batch's signals say of each alert, in order: an agent heals it while it
  // fires with the annotation; one that resolves keeps what healed it. Kept by
  // fingerprint (healing_alerts_) while it fires, since its incident may open later
  // (group_wait).
  std::map<std::string, std::string> heals;  // fingerprint -> what heals it, "": nobody
  for (const auto& a : batch.incidents.alerts) {
    if (!a.detail) continue;  // a row of the engine's own, not a signal: nothing new
    const std::string& fp = a.fingerprint;
    if (a.record.state != protocol::AlertState::kFiring) {
      if (auto it = healing_alerts_.find(fp); it != healing_alerts_.end()) {
        heals[fp] = it->second;
        healing_alerts_.erase(it);
      }
      continue;
    }
    auto it = a.detail->annotations.find(kHealingAnnotation);
    if (it == a.detail->annotations.end() || it->second.empty()) {
      heals[fp] = "";
      healing_alerts_.erase(fp);
    } else {
      heals[fp] = healing_alerts_[fp] =
          it->second + (a.record.host.empty() ? "" : " on " + a.record.host);
    }
  }
  // The alerts of each incident the batch concerns, and whether they fire now: rows
  // naming it, and members joining it (which fire). An incident's alerts are tracked
  // from the first one an agent heals, so one opening with a healed and an unhealed alert
  // holds nothing. While no alert is healed, only those already tracked can change, which
  // spares a batch of alerts nobody heals building the map.
  const bool any_healed =
      !healing_alerts_.empty() ||
      std::any_of(heals.begin(), heals.end(), [](const auto& h) { return !h.second.empty(); });
  auto concerns = [&](uint64_t id) {
    if (id == 0) return false;
    if (any_healed) return true;
    auto doc = docs_.find(id);
    return doc != docs_.end() && doc->second.objects.contains(kHealing);
  };
  std::map<uint64_t, std::map<std::string, bool>> concerned;
  for (const auto& a : batch.incidents.alerts) {
    if (concerns(a.record.incident_id)) {
      concerned[a.record.incident_id][a.fingerprint] =
          a.record.state == protocol::AlertState::kFiring;
    }
  }
  for (const auto& m : batch.incidents.members) {
    if (concerns(m.incident_id)) concerned[m.incident_id].try_emplace(m.fingerprint, true);
  }
  auto healed = [&](const std::string& fp) {
    auto it = heals.find(fp);
    if (it != heals.end()) return it->second;
    auto kept = healing_alerts_.find(fp);
    return kept == healing_alerts_.end() ? std::string() : kept->second;
  };
  for (const auto& [id, alerts] : concerned) {
    auto doc = docs_.find(id);
    const bool tracked = doc != docs_.end() && doc->second.objects.contains(kHealing);
    if (!tracked && std::none_of(alerts.begin(), alerts.end(),
                                 [&](const auto& a) { return !healed(a.first).empty(); })) {
      continue;
    }
    IncidentWorkflow& w = touch(id, now_ms, batch);
    WorkflowObject& o = w.objects[kHealing];
    o.state = ObjectState::kReady;
    if (!o.data.is_object()) o.data = nlohmann::json::object();
    for (const auto& [fp, firing] : alerts) {
      nlohmann::json& alert = o.data[fp];
      std::string by = healed(fp);
      // A row of the engine's own says nothing of healing: what was known stays.
      if (by.empty() && !heals.contains(fp) && alert.is_object()) by = alert.value("heals", "");
      alert = {{"heals", by}, {"firing", firing}};
    }
    if (!holds_of(w)) continue;
    if (healing_by(w).empty()) {
      release_holds(w, "unhealed", batch, now_ms);
      continue;
    }
    // No alert fires: the holds wait for the incident to resolve (resolve_after) without
    // a deadline; an alert firing again, still healed, starts a new one.
    const bool firing = any_firing(w);
    for (auto& h : w.objects.at(kHolds).data) {
      if (!firing) {
        h.erase("until_ms");
      } else if (!h.contains("until_ms")) {
        h["until_ms"] = now_ms + h.value("for_ms", int64_t{0});
      }
    }
  }
}

void WorkflowRunner::hold(IncidentWorkflow& w, const Route& route, const Event& e,
                          const std::string& healing, WriteBatch& batch, int64_t now_ms) {
  WorkflowObject& o = w.objects[kHolds];
  o.state = ObjectState::kReady;
  if (!o.data.is_array()) o.data = nlohmann::json::array();
  nlohmann::json h = {{"route", route.name},
                      {"event", e.name},
                      {"at_ms", e.at_ms},
                      {"for_ms", route.hold_while_healing.count()}};
  // Healed already (every alert resolved): it waits for the incident to resolve.
  if (any_firing(w)) h["until_ms"] = now_ms + route.hold_while_healing.count();
  o.data.push_back(std::move(h));
  note(batch, w,
       "route " + route.name + ": " + e.name + " steps held for up to " +
           format_duration(route.hold_while_healing) + " while agents heal (" + healing + ")",
       now_ms);
}

void WorkflowRunner::release_holds(IncidentWorkflow& w, const std::string& why, WriteBatch& batch,
                                   int64_t now_ms) {
  const nlohmann::json* holds = holds_of(w);
  if (!holds) return;
  const nlohmann::json held = *holds;
  w.objects.erase(kHolds);
  const IncidentFacts facts = w.facts;
  for (const auto& h : held) {
    const std::string name = h.value("route", "");
    const std::string event = h.value("event", "");
    std::string text = "route " + name + ": ";
    if (why == "escalated") {
      text += "healing did not fix it (the incident escalated)";
    } else if (why == "unhealed") {
      text += "an alert no agent heals joined";
    } else {
      text += "still " + facts.status + " after " +
              format_duration(Millis(h.value("for_ms", int64_t{0}))) + " of healing";
    }
    const auto& routes = settings_.policy.routes;
    auto route =
        std::find_if(routes.begin(), routes.end(), [&](const Route& r) { return r.name == name; });
    if (route == routes.end()) {
      note(batch, w, text + "; the route is no longer configured, so nothing runs", now_ms);
      continue;
    }
    note(batch, w, text + ": running its held " + event + " steps", now_ms);
    run_route(w, *route, event, h.value("at_ms", int64_t{0}), facts, batch, now_ms);
  }
}

std::set<std::string> WorkflowRunner::drop_holds(IncidentWorkflow& w, const std::string& why,
                                                 WriteBatch& batch, int64_t now_ms) {
  std::set<std::string> routes;
  const nlohmann::json* holds = holds_of(w);
  if (!holds) return routes;
  for (const auto& h : *holds) routes.insert(h.value("route", ""));
  w.objects.erase(kHolds);
  for (const auto& r : routes) {
    note(batch, w,
         "route " + r + ": " +
             (why == "healed" ? "resolved while agents healed it" : "acknowledged while held") +
             "; its held steps are not run",
         now_ms);
  }
  return routes;
}

void WorkflowRunner::add_call(IncidentWorkflow& w, WorkflowCall call, WriteBatch& batch,
                              int64_t now_ms) {
  call.seq = w.next_seq++;
  call.integration = integration_for(call.kind, call.with);
  call.state = CallState::kWaiting;
  if (call.integration.empty()) {
    call.state = CallState::kSkipped;
    call.note = not_run_reason(call.kind, call.with);
  } else if (call.integration != "oncall" && call.integration != "agents" &&
             !settings_.integrations.contains(call.integration)) {
    call.state = CallState::kSkipped;
    call.note = "integrations." + call.integration + " is not configured";
    if (call.kind == "page") {
      call.note = "'" + call.with["policy"] + "' is not one of escalation_policies, and " +
                  call.note + " to page it";
    }
  }
  if (call.state == CallState::kSkipped)
    step_entry(batch, w, call, "skipped: " + call.note, now_ms);
  w.calls.push_back(std::move(call));
}

IncidentFacts WorkflowRunner::facts_with_refs(const IncidentWorkflow& w, int64_t now_ms) const {
  IncidentFacts f = w.facts;
  f.refs = object_refs(w.objects);
  set_business_times(f, settings_.policy.business_hours, now_ms);
  for (const auto& [name, schedule] : settings_.oncall.schedules) {
    const oncall::Shift shift = oncall::on_call(schedule, now_ms);
    auto person = settings_.oncall.people.find(shift.user);
    if (person == settings_.oncall.people.end()) continue;  // nobody on call
    f.oncall[name] = {{"id", person->second.id},
                      {"name", person->second.name},
                      {"slack", person->second.slack},
                      {"email", person->second.email}};
  }
  return f;
}

void WorkflowRunner::pump(IncidentWorkflow& w, WriteBatch& batch, int64_t now_ms) {
  // By index: starting an escalation adds the calls of its first level.
  for (size_t i = 0; i < w.calls.size(); ++i) {
    if (w.calls[i].kind == "escalate" && w.calls[i].state == CallState::kWaiting) {
      start_escalation(w, i, batch, now_ms);
    }
  }
  // One call at a time per integration; per host for commands to agents.
  auto lane = [](const WorkflowCall& c) {
    return to_agent(c) ? "agents:" + c.with.at("host") : c.integration;
  };
  std::set<std::string> busy;  // lanes with a call sent or waiting in front
  for (const auto& c : w.calls) {
    if (c.state == CallState::kSent) busy.insert(lane(c));
  }
  for (auto& c : w.calls) {
    if (c.state != CallState::kWaiting || busy.contains(lane(c))) continue;
    if (to_agent(c)) {
      send_command(w, c, batch, now_ms);
      if (c.state == CallState::kSent) busy.insert(lane(c));
      continue;
    }
    const IncidentFacts facts = facts_with_refs(w, now_ms);
    CallPlan plan = plan_call(c, facts, w.objects);
    if (plan.verdict == CallPlan::Verdict::kWait) {
      c.note = plan.reason;
      busy.insert(c.integration);
      continue;
    }
    if (plan.verdict == CallPlan::Verdict::kSkip) {
      c.state = CallState::kSkipped;
      c.note = plan.reason;
      step_entry(batch, w, c, "skipped: " + c.note, now_ms);
      continue;
    }
    auto row = outbox_.enqueue(batch, {.integration = c.integration,
                                       .operation = plan.operation,
                                       .idempotency_key = "wf:" + std::to_string(w.incident_id) +
                                                          ":" + std::to_string(c.seq),
                                       .incident_id = w.incident_id,
                                       .payload = plan.payload});
    if (!row) {
      c.state = CallState::kFailed;
      c.note = row.status().message();
      step_entry(batch, w, c, "failed: " + c.note, now_ms);
      continue;
    }
    c.state = CallState::kSent;
    c.outbox_id = row->id;
    c.note = "outbox " + std::to_string(row->id);
    by_outbox_[row->id] = w.incident_id;
    busy.insert(c.integration);
    if (!plan.creates.empty()) {
      WorkflowObject& o = w.objects[plan.creates];
      o = {.state = ObjectState::kPending, .call_seq = c.seq, .data = nlohmann::json::object()};
      if (plan.creates.starts_with("message:")) {
        o.data["template"] = c.with.contains("text") ? c.with.at("text") : "";
        o.data["buttons"] =
            c.with.contains("buttons") ? render_template(c.with.at("buttons"), facts) : "";
      }
    }
    if (c.kind == "chat.update") {
      auto it = w.objects.find(first_message(w.objects));
      if (it != w.objects.end()) it->second.data["template"] = c.with.at("text");
    }
    if (c.kind != "refresh") step_entry(batch, w, c, "sent (" + c.note + ")", now_ms);
  }
}

Result<protocol::Command> WorkflowRunner::command_for(const IncidentWorkflow& w,
                                                      const WorkflowCall& c,
                                                      int64_t deadline_ms) const {
  const IncidentFacts facts = facts_with_refs(w, deadline_ms);
  auto param = [&](const char* name) {
    auto it = c.with.find(name);
    return it == c.with.end() ? std::string() : render_template(it->second, facts);
  };
  protocol::Command command;
  command.id = "wf:" + std::to_string(w.incident_id) + ":" + std::to_string(c.seq);
  command.action = param("action");
  command.target = param("target");
  command.deadline_ms = static_cast<uint64_t>(deadline_ms);
  // "K=V, K2=V2" (ci_job.h): the action's declared parameters (the agent refuses others).
  auto params = parse_ci_parameters(param("parameters"));
  if (!params) return params.status();
  command.params = std::move(params).value();
  return command;
}

void WorkflowRunner::send_command(IncidentWorkflow& w, WorkflowCall& c, WriteBatch& batch,
                                  int64_t now_ms) {
  auto skip = [&](std::string why) {
    c.state = CallState::kSkipped;
    c.note = std::move(why);
    step_entry(batch, w, c, "skipped: " + c.note, now_ms);
  };
  const std::string host = c.with["host"];
  if (host.empty()) return skip("no affected host to run it on");
  const auto agent = agents_.agent_for ? agents_.agent_for(host) : std::nullopt;
  if (!agent) return skip("no agent connected to this hub runs on host " + host);
  Millis timeout = kDefaultCommandTimeout;
  if (auto it = c.with.find("timeout"); it != c.with.end()) {
    auto parsed = parse_duration(render_template(it->second, facts_with_refs(w, now_ms)));
    if (!parsed || parsed->count() <= 0) return skip("timeout: expected a positive duration");
    timeout = *parsed;
  }
  auto command = command_for(w, c, now_ms + timeout.count());
  if (!command) return skip(command.status().message());
  c.with["agent"] = *agent;
  c.with["deadline_ms"] = std::to_string(command->deadline_ms);
  c.state = CallState::kSent;
  c.note = "command " + command->id + " to agent " + *agent;
  step_entry(batch, w, c, "sent (" + c.note + ")", now_ms);
  commands_.emplace_back(*agent, std::move(command).value());
}

void WorkflowRunner::command_results(WriteBatch& batch, int64_t now_ms) {
  for (const auto& e : batch.events) {
    if (e.type != protocol::MessageType::kCommandResult) continue;
    auto env = protocol::decode(e.frame);
    const auto* result = env ? std::get_if<protocol::CommandResult>(&env->body) : nullptr;
    const auto call = result ? parse_command_id(result->id) : std::nullopt;
    if (!call || !docs_.contains(call->first)) continue;
    IncidentWorkflow& w = touch(call->first, now_ms, batch);
    for (auto& c : w.calls) {
      if (c.seq != call->second || !to_agent(c) || c.state != CallState::kSent ||
          c.with["agent"] != e.agent_id) {
        continue;
      }
      finish_command(w, c, result->status == protocol::CommandStatus::kOk, describe_result(*result),
                     batch, now_ms);
    }
  }
}

void WorkflowRunner::finish_command(IncidentWorkflow& w, WorkflowCall& c, bool ok,
                                    const std::string& what, WriteBatch& batch, int64_t now_ms) {
  c.state = ok ? CallState::kDone : CallState::kFailed;
  c.note = what;
  step_entry(batch, w, c, (ok ? "done: " : "failed: ") + what, now_ms);
  const std::string id = "wf:" + std::to_string(w.incident_id) + ":" + std::to_string(c.seq);
  std::erase_if(outgoing_, [&](const auto& out) { return out.second.id == id; });
  if (ok) watch_rollback(w, c, batch, now_ms);
}

void WorkflowRunner::watch_rollback(IncidentWorkflow& w, const WorkflowCall& c, WriteBatch& batch,
                                    int64_t now_ms) {
  auto within = c.with.find("verify_within");
  if (c.kind != "rollback" || within == c.with.end() || w.facts.status == "resolved") return;
  auto d = parse_duration(render_template(within->second, facts_with_refs(w, now_ms)));
  if (!d) return;
  w.objects[kVerify] = {
      .state = ObjectState::kReady,
      .call_seq = c.seq,
      .data = {
          {"state", "watching"}, {"due_ms", now_ms + d->count()}, {"within", format_duration(*d)}}};
  note(batch, w, "rollback done: watching the incident for " + format_duration(*d), now_ms);
}

void WorkflowRunner::watch_due(WriteBatch& batch, int64_t now_ms) {
  auto overdue = [&](const WorkflowCall& c) {
    return to_agent(c) && c.state == CallState::kSent && deadline_of(c) <= now_ms;
  };
  // Only the documents with something due by now (index_due()).
  std::vector<uint64_t> due;
  for (auto it = due_.begin(); it != due_.end() && it->first <= now_ms; ++it) {
    due.push_back(it->second);
  }
  for (uint64_t id : due) {
    IncidentWorkflow& doc = docs_.at(id);
    const auto escalation = escalation_due(doc);
    const auto verify = verify_due(doc);
    const auto hold = hold_due(doc);
    if (std::none_of(doc.calls.begin(), doc.calls.end(), overdue) &&
        !(escalation && *escalation <= now_ms) && !(verify && *verify <= now_ms) &&
        !(hold && *hold <= now_ms)) {
      continue;
    }
    IncidentWorkflow& w = touch(id, now_ms, batch);
    if (hold && *hold <= now_ms) release_holds(w, "due", batch, now_ms);
    for (auto& c : w.calls) {
      if (overdue(c)) {
        finish_command(w, c, false, "no result from agent " + c.with["agent"] + " by its deadline",
                       batch, now_ms);
      }
    }
    if (escalation && *escalation <= now_ms) advance_escalation(w, batch, now_ms);
    if (verify && *verify <= now_ms) {
      auto& v = w.objects.at(kVerify).data;
      v["state"] = "failed";
      note(batch, w,
           "the rollback did not resolve the incident within " + v.value("within", "") +
               ": escalating",
           now_ms);
      run_event({.incident_id = id,
                 .name = "escalated",
                 .at_ms = now_ms,
                 .pager_ack = false,
                 .pager_resolve = false},
                batch, now_ms);
    }
  }
}

void WorkflowRunner::start_escalation(IncidentWorkflow& w, size_t call, WriteBatch& batch,
                                      int64_t now_ms) {
  WorkflowCall& c = w.calls[call];
  const std::string policy = c.with["policy"];
  if (paging(w)) {
    c.state = CallState::kSkipped;
    c.note = "escalation policy " + w.objects.at(kEscalation).data.value("policy", "") +
             " is already paging for this incident";
    step_entry(batch, w, c, "skipped: " + c.note, now_ms);
    return;
  }
  w.objects[kEscalation] = {.state = ObjectState::kReady,
                            .call_seq = c.seq,
                            .data = {{"state", "paging"},
                                     {"policy", policy},
                                     {"started_ms", now_ms},
                                     {"next_step", 0},
                                     {"next_at_ms", now_ms},
                                     {"message", c.with["message"]},
                                     {"route", c.route},
                                     {"step", c.step}}};
  c.state = CallState::kDone;
  c.note = "escalation policy " + policy + " started";
  step_entry(batch, w, c, "done: " + c.note, now_ms);
  advance_escalation(w, batch, now_ms);
}

void WorkflowRunner::advance_escalation(IncidentWorkflow& w, WriteBatch& batch, int64_t now_ms) {
  if (!paging(w)) return;
  nlohmann::json& d = w.objects.at(kEscalation).data;
  const std::string policy = d.value("policy", "");
  const oncall::EscalationState state{.policy = policy,
                                      .started_ms = d.value("started_ms", int64_t{0}),
                                      .next_step = d.value("next_step", int64_t{0}),
                                      .acknowledged = false};
  auto decision = oncall::escalate(settings_.oncall, state, now_ms);
  if (!decision) {
    d["state"] = "failed";
    d.erase("next_at_ms");
    note(batch, w, "escalation " + policy + " stopped: " + decision.status().message(), now_ms);
    return;
  }
  std::string message = d.value("message", "");
  if (message.empty())
    message = "{{severity}}: {{title}} ({{affected_hosts}} hosts of {{service}})";
  const std::string route = d.value("route", "");
  const std::string step = d.value("step", "");
  for (const auto& page : decision->due) {
    const std::string level = "level " + std::to_string(page.level + 1) +
                              (page.round > 0 ? ", round " + std::to_string(page.round + 1) : "");
    std::string who;
    for (const auto& t : page.targets) {
      who += (who.empty() ? "" : ", ") + target_name(t);
      auto notify = [&](const char* kind, std::map<std::string, std::string> with) {
        WorkflowCall n;
        n.event = "escalation";
        n.route = route;
        n.step = step;
        n.kind = kind;
        n.with = std::move(with);
        n.with["text"] = message;
        n.with["level"] = level;
        n.with["to"] = target_name(t);
        n.at_ms = now_ms;
        add_call(w, std::move(n), batch, now_ms);
      };
      if (t.kind == oncall::PageTarget::Kind::kChannel)
        notify("notify.chat", {{"channel", t.channel}});
      if (t.kind != oncall::PageTarget::Kind::kPerson) continue;
      const oncall::Person& p = t.person;
      if (!p.slack.empty()) notify("notify.chat", {{"channel", p.slack}});
      if (!p.phone_webhook.empty()) notify("notify.webhook", {{"url", p.phone_webhook}});
      if (p.slack.empty() && p.phone_webhook.empty())
        notify("notify.email", {{"address", p.email}});
    }
    note(batch, w, "escalation " + policy + ", " + level + ": " + (who.empty() ? "nobody" : who),
         now_ms);
  }
  d["next_step"] = decision->next_step;
  if (decision->next_at_ms) {
    d["next_at_ms"] = *decision->next_at_ms;
  } else {
    d["state"] = "exhausted";
    d.erase("next_at_ms");
    note(batch, w, "escalation " + policy + ": every level was notified and nobody acknowledged",
         now_ms);
  }
}

void WorkflowRunner::stop_escalation(IncidentWorkflow& w, const std::string& why, WriteBatch& batch,
                                     int64_t now_ms) {
  if (!paging(w)) return;
  nlohmann::json& d = w.objects.at(kEscalation).data;
  d["state"] = why;
  d.erase("next_at_ms");
  for (auto& c : w.calls) {
    if (c.kind.starts_with("notify.") && c.state == CallState::kWaiting) {
      c.state = CallState::kSkipped;
      c.note = "the incident was " + why + " first";
    }
  }
  note(batch, w,
       "escalation " + d.value("policy", "") + " stopped: " + why + " after " +
           std::to_string(d.value("next_step", int64_t{0})) + " level(s) notified",
       now_ms);
}

void WorkflowRunner::note(WriteBatch& batch, const IncidentWorkflow& w, std::string text,
                          int64_t now_ms) {
  batch.incidents.timeline.push_back({.incident_id = w.incident_id,
                                      .at_ms = now_ms,
                                      .kind = incidents::TimelineKind::kStep,
                                      .actor = "reflex",
                                      .fingerprint = {},
                                      .host = {},
                                      .text = std::move(text),
                                      .suppressed = {}});
}

void WorkflowRunner::step_entry(WriteBatch& batch, const IncidentWorkflow& w, const WorkflowCall& c,
                                const std::string& what, int64_t now_ms) {
  std::string text;
  if (c.kind == "refresh") {
    text = "chat message updated in place: " + what;
  } else {
    text =
        (c.route.empty() ? "" : c.route + "/") + c.step + " (" + c.kind + ")" +
        (c.event.empty() ? "" : " on " + c.event) +
        // The person an escalation notifies (an email step's `to` is a template).
        (c.kind.starts_with("notify.") && c.with.contains("to") ? " to " + c.with.at("to") : "") +
        ": " + what;
  }
  note(batch, w, std::move(text), now_ms);
}

}  // namespace reflex::hub::policy
