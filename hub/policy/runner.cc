#include "hub/policy/runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
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

// The source monitoring problem an alert names (Dynatrace's problem id), for
// monitoring.comment: kept on the incident's facts beside its group labels.
const char* const kProblemLabel = "problem_id";

void set_facts(IncidentFacts& f, const IncidentRow& r) {
  f.id = r.id;
  f.title = r.title;
  f.status = incidents::incident_status_name(r.status);
  f.severity = r.severity;
  auto kept = [&](const char* name) {
    auto it = f.labels.find(name);
    return it == f.labels.end() ? std::string() : it->second;
  };
  const std::string strategy = kept("deploy_strategy");
  const std::string problem = kept(kProblemLabel);
  f.labels = r.group_labels;
  if (!strategy.empty()) f.labels.emplace("deploy_strategy", strategy);
  if (!problem.empty()) f.labels.emplace(kProblemLabel, problem);
  f.affected_hosts = r.open() ? r.affected_hosts : r.peak_hosts;
}

// What a chat message shows changed: it is refreshed.
bool shown_changed(const IncidentFacts& a, const IncidentFacts& b) {
  return a.title != b.title || a.status != b.status || a.severity != b.severity ||
         a.affected_hosts != b.affected_hosts;
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
  }
  return Status::ok();
}

std::optional<int64_t> WorkflowRunner::next_due_ms() const {
  std::optional<int64_t> next;
  auto consider = [&](std::optional<int64_t> due) {
    if (due && (!next || *due < *next)) next = due;
  };
  for (const auto& [_, w] : docs_) {
    consider(escalation_due(w));
    consider(verify_due(w));
    for (const auto& c : w.calls) {
      if (to_agent(c) && c.state == CallState::kSent) consider(deadline_of(c));
    }
  }
  return next;
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
    if (!it->second.calls.empty()) batch.workflows.push_back(it->second);
  }
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
    if (it != docs_.end() && !it->second.active()) docs_.erase(it);
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
  for (const auto& m : batch.incidents.members) {
    auto it = problems.find(m.fingerprint);
    if (it == problems.end()) continue;
    touch(m.incident_id, now_ms, batch).facts.labels.emplace(kProblemLabel, it->second);
  }
  for (const auto& s : batch.suspects) {
    IncidentWorkflow& w = touch(s.incident_id, now_ms, batch);
    w.facts.has_suspect = true;
    const auto strategy = incidents::deploy_strategy_name(s.suspect.change.strategy);
    if (!strategy.empty()) w.facts.labels["deploy_strategy"] = std::string(strategy);
  }
  for (const auto& r : batch.incidents.incidents) {
    auto it = docs_.find(r.id);
    if (it == docs_.end()) continue;
    IncidentFacts next = it->second.facts;
    set_facts(next, r);
    if (next == it->second.facts) continue;
    IncidentWorkflow& w = touch(r.id, now_ms, batch);
    const bool refresh = shown_changed(w.facts, next);
    w.facts = std::move(next);
    if (!refresh) continue;
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
    const IncidentFacts facts = w.facts;
    for (const Route* route : select_routes(settings_.policy, facts)) {
      auto wf = settings_.policy.workflows.find(route->workflow);
      if (wf == settings_.policy.workflows.end()) continue;
      for (const Step* step : steps_for(wf->second, e.name, facts)) {
        WorkflowCall call;
        call.event = e.name;
        call.route = route->name;
        call.step = step->name;
        call.kind = step_kind_name(step->kind);
        call.with = step->with;
        call.at_ms = e.at_ms;
        if (integration_for(call.kind, call.with) == "agents") {
          // One command per host: the step's hosts, or the incident's.
          std::vector<std::string> hosts =
              call.with.contains("hosts") ? split_list(render_template(call.with["hosts"], facts))
              : agents_.hosts             ? agents_.hosts(e.incident_id)
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
        const bool topic =
            step->kind == StepKind::kChatCreateChannel && step->with.contains("topic");
        WorkflowCall say = call;
        add_call(w, std::move(call), batch, now_ms);
        if (topic) {
          say.kind = "chat.say";
          say.with["text"] = say.with["topic"];
          add_call(w, std::move(say), batch, now_ms);
        }
      }
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
  for (auto& [id, doc] : docs_) {
    const auto escalation = escalation_due(doc);
    const auto verify = verify_due(doc);
    if (std::none_of(doc.calls.begin(), doc.calls.end(), overdue) &&
        !(escalation && *escalation <= now_ms) && !(verify && *verify <= now_ms)) {
      continue;
    }
    IncidentWorkflow& w = touch(id, now_ms, batch);
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
