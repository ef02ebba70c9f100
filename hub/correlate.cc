#include "hub/correlate.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

#include "hub/incidents/alert_signal.h"
#include "hub/incidents/grouping.h"
#include "hub/incidents/lost_agent.h"
#include "hub/input_answerer.h"
#include "protocol/codec.h"

namespace reflex::hub {
namespace {

constexpr int64_t kRefusalLogEveryMs = 10'000;
constexpr size_t kChangesPerService = 50;  // held in memory for suspects; all are stored

Status commit_failed(const Status& why) {
  return Status::error("unavailable", "the hub could not commit this change (" + why.to_string() +
                                          "); nothing changed, try again");
}

// An incident changed by several signals of one batch has a row for each; the last one
// holds them all, so the store, the workflows and the dashboards get only that (in the
// order of their last change).
void keep_last_rows(std::vector<incidents::IncidentRow>& rows) {
  std::unordered_set<uint64_t> later;
  size_t kept = rows.size();
  for (size_t i = rows.size(); i-- > 0;) {
    if (!later.insert(rows[i].id).second) continue;
    if (--kept != i) rows[kept] = std::move(rows[i]);
  }
  rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(kept));
}

}  // namespace

std::string agent_alert_fingerprint(const std::string& agent_id, const std::string& fingerprint) {
  return agent_id + "/" + fingerprint;
}

incidents::IncidentPolicy incident_policy(const IncidentsConfig& cfg) {
  incidents::IncidentPolicy p;
  p.group_by = cfg.group_by;
  p.resolve_after_ms = cfg.resolve_after.count();
  p.reopen_window_ms = cfg.reopen_window.count();
  p.flap_threshold = static_cast<uint32_t>(cfg.flap_threshold);
  p.flap_window_ms = cfg.flap_window.count();
  return p;
}

Correlator::Correlator(HubStore& store, const AgentRegistry& registry, const Clock& clock,
                       Timers& timers, std::function<void()> wake)
    : store_(store),
      registry_(registry),
      clock_(clock),
      timers_(timers),
      wake_(std::move(wake)),
      engine_(std::make_unique<incidents::IncidentEngine>()),
      expiry_(std::make_unique<incidents::ExternalExpiry>()),
      change_log_(std::make_unique<incidents::ChangeLog>(kChangesPerService)),
      answerer_(std::make_unique<InputAnswerer>()) {}

Correlator::~Correlator() {
  if (timer_) timers_.cancel(timer_);
  const Status stopping = Status::error("unavailable", "the hub is stopping");
  for (auto& q : queued_) q.answer->set_value(stopping);
  for (auto& a : awaiting_) a->set_value(stopping);
  answer_inputs(stopping);
}

Status Correlator::start(const incidents::IncidentPolicy& policy) {
  policy_ = policy;
  started_ = true;
  return restore().with_context("restoring incidents from the store");
}

void Correlator::set_suppression(incidents::SuppressionConfig config) {
  suppress_.configure(std::move(config));
  if (started_) wake_();
}

void Correlator::submit(SilenceCommand command, std::shared_ptr<SilenceAnswer> answer) {
  suppress_.submit(std::move(command), std::move(answer));
  wake_();
}

void Correlator::set_metrics(metrics::Registry& registry) {
  notify_counter_ = &registry.counter_family(
      "reflex_hub_notify_intents_total",
      "Incident changes someone should hear about, by kind (suppressed ones are not counted).",
      {"kind"});
  suppress_.set_metrics(registry);
}

void Correlator::set_policy(const incidents::IncidentPolicy& policy) {
  policy_ = policy;
  engine_->set_policy(policy);
}

Status Correlator::restore() {
  auto snapshot = store_.load_incidents();
  if (!snapshot) return snapshot.status();
  auto engine = std::make_unique<incidents::IncidentEngine>(policy_);
  REFLEX_RETURN_IF_ERROR(engine->restore(*snapshot));
  REFLEX_RETURN_IF_ERROR(suppress_.restore(*engine, *snapshot, clock_.now_ms()));
  engine->set_known_hosts([this](const std::string& service) -> uint32_t {
    const auto hosts =
        incidents::known_hosts_by_service(registry_.snapshot(), policy_.service_label);
    auto it = hosts.find(service);
    return it == hosts.end() ? 0 : it->second;
  });
  // External input is restored with the engine, so that they agree: an alert tracked for
  // expiry is one the engine holds, and a change is in the log only if it is stored.
  auto ends = store_.load_external_expiry();
  if (!ends) return ends.status();
  auto expiry = std::make_unique<incidents::ExternalExpiry>();
  REFLEX_RETURN_IF_ERROR(expiry->restore(*ends));
  auto changes = store_.load_changes(kChangesPerService);
  if (!changes) return changes.status();
  auto log = std::make_unique<incidents::ChangeLog>(kChangesPerService);
  log->restore(changes->recent, changes->next_seq);
  for (const auto& change : changes->recent) note_canary(change);
  engine_ = std::move(engine);
  expiry_ = std::move(expiry);
  change_log_ = std::move(log);
  needs_restore_ = false;
  rearm();
  return Status::ok();
}

void Correlator::submit(IncidentAction action, std::shared_ptr<ActionAnswer> answer) {
  queued_.push_back({std::move(action), std::move(answer)});
  wake_();
}

Status Correlator::correlate(WriteBatch& batch, int64_t now_ms) {
  if (needs_restore_) {
    if (Status st = restore(); !st) {
      const Status why = commit_failed(st);
      for (auto& q : queued_) q.answer->set_value(why);
      queued_.clear();
      suppress_.refuse_queued(why);
      for (auto& q : queued_inputs_) q.answer->set_value(why);
      queued_inputs_.clear();
      return st.with_context("restoring incidents from the store");
    }
  }
  REFLEX_RETURN_IF_ERROR(suppress_.prepare().with_context("applying the suppression config"));
  batch_alert_labels_.clear();
  if (!canary_recent(now_ms)) latest_metrics_.clear();
  incidents::Changes out = engine_->tick(now_ms);
  suppress_.observe(out);
  // A failure here (the store cannot be read) fails the batch, and failed() restores.
  REFLEX_RETURN_IF_ERROR(expire_external(now_ms, batch, out));
  for (const auto& change : batch.state_changes) feed_state_change(change, now_ms, out);
  for (const auto& event : batch.events) feed_event(event, now_ms, out);
  for (auto& q : queued_inputs_) {
    awaiting_inputs_.emplace_back(std::move(q.answer), feed_input(q.input, now_ms, batch, out));
  }
  queued_inputs_.clear();
  for (auto& q : queued_) {
    auto result = run(q.action, now_ms);
    if (!result) {
      q.answer->set_value(result.status());
      continue;
    }
    suppress_.observe(*result);
    out.merge(std::move(result).value());
    awaiting_.push_back(std::move(q.answer));
  }
  queued_.clear();
  suppress_.run(batch, now_ms);
  incidents::Changes named;
  name_suspects(out, now_ms, batch, named);
  out.merge(std::move(named));
  notify_.insert(notify_.end(), out.notify.begin(), out.notify.end());
  batch.incidents.merge(std::move(out));
  keep_last_rows(batch.incidents.incidents);
  rearm();
  return Status::ok();
}

void Correlator::committed() {
  for (auto& a : awaiting_) a->set_value(Status::ok());
  awaiting_.clear();
  // Off the loop thread: see InputAnswerer.
  std::vector<InputAnswerer::Answer> answers;
  answers.reserve(awaiting_inputs_.size());
  for (auto& [answer, receipt] : awaiting_inputs_) {
    answers.emplace_back(std::move(answer), std::move(receipt));
  }
  awaiting_inputs_.clear();
  answerer_->post(std::move(answers));
  // Until the notification stages exist, what someone should hear about is logged.
  for (const auto& n : notify_) {
    if (notify_counter_) notify_counter_->with({incidents::notify_kind_name(n.kind)}).inc();
    spdlog::info("incident {}: {} ({}, {})", n.incident_id, n.reason,
                 incidents::notify_kind_name(n.kind), protocol::severity_name(n.severity));
  }
  notify_.clear();
  suppress_.committed();
}

void Correlator::failed(const Status& why) {
  const Status answer = commit_failed(why);
  for (auto& a : awaiting_) a->set_value(answer);
  awaiting_.clear();
  suppress_.failed(answer);
  for (auto& a : awaiting_inputs_) a.first->set_value(answer);
  awaiting_inputs_.clear();
  notify_.clear();
  if (Status st = restore(); !st) {
    needs_restore_ = true;
    spdlog::error("cannot restore incidents from the store after a failed commit, will retry: {}",
                  st.to_string());
  }
}

void Correlator::feed_state_change(const AgentStateChange& change, int64_t now_ms,
                                   incidents::Changes& out) {
  const AgentRecord* agent = registry_.find(change.agent_id);
  if (!agent) return;
  // An agent registering or coming back resolves its lost alert, if there is one.
  if (change.state == AgentState::kAlive &&
      !engine_->alert(incidents::lost_agent_fingerprint(change.agent_id))) {
    return;
  }
  AgentRecord then = *agent;
  then.state = change.state;
  const auto signal = incidents::lost_agent_signal(then, change.at_ms);
  take(on_signal(signal, now_ms), "the liveness of agent " + change.agent_id, out);
}

void Correlator::feed_event(const StoredEvent& event, int64_t now_ms, incidents::Changes& out) {
  if (event.type == protocol::MessageType::kMetrics) {
    if (canary_recent(now_ms)) latest_metrics_[event.agent_id] = event.frame;
    return;
  }
  if (event.type != protocol::MessageType::kAlert &&
      event.type != protocol::MessageType::kRemediation) {
    return;
  }
  const AgentRecord* agent = registry_.find(event.agent_id);
  auto env = protocol::decode(event.frame);
  if (!agent || !env) return;  // ingest accepted it from a registered agent: cannot happen
  if (const auto* alert = std::get_if<protocol::Alert>(&env->body)) {
    auto signal = incidents::signal_from_agent(agent->id, agent->hostname, agent->labels, *alert,
                                               event.ts_ms);
    signal.fingerprint = agent_alert_fingerprint(agent->id, alert->fingerprint);
    if (canary_recent(now_ms)) batch_alert_labels_[signal.fingerprint] = alert->labels;
    take(on_signal(signal, now_ms), "alert " + alert->rule + " of agent " + event.agent_id, out);
  } else if (const auto* rem = std::get_if<protocol::Remediation>(&env->body)) {
    incidents::RemediationReport report{agent->id, agent->hostname, agent->labels, *rem};
    if (!rem->alert_fingerprint.empty()) {
      report.remediation.alert_fingerprint =
          agent_alert_fingerprint(agent->id, rem->alert_fingerprint);
    }
    take(engine_->on_remediation(report, now_ms), "a remediation report of agent " + event.agent_id,
         out);
  }
}

Result<incidents::Changes> Correlator::run(const IncidentAction& a, int64_t now_ms) {
  switch (a.kind) {
    case IncidentAction::Kind::kAcknowledge:
      return engine_->acknowledge(a.incident_id, a.actor, now_ms);
    case IncidentAction::Kind::kResolve:
      return engine_->resolve(a.incident_id, a.actor, now_ms);
    case IncidentAction::Kind::kAssign:
      return engine_->assign(a.incident_id, a.owner, a.actor, now_ms);
    case IncidentAction::Kind::kNote:
      return engine_->add_note(a.incident_id, a.text, a.actor, now_ms);
    case IncidentAction::Kind::kRespond:
      if (a.option == "acknowledge") return engine_->acknowledge(a.incident_id, a.actor, now_ms);
      if (a.option == "resolve") return engine_->resolve(a.incident_id, a.actor, now_ms);
      return engine_->respond(a.incident_id, a.option, a.actor, now_ms);
  }
  return Status::error("invalid_argument", "unknown action");
}

Result<incidents::Changes> Correlator::on_signal(const incidents::AlertSignal& signal,
                                                 int64_t now_ms) {
  auto result = engine_->on_signal(signal, now_ms);
  if (result) suppress_.observe(signal);
  return result;
}

void Correlator::take(Result<incidents::Changes> result, const std::string& what,
                      incidents::Changes& out) {
  if (result) {
    suppress_.observe(*result);
    out.merge(std::move(result).value());
    return;
  }
  // Agents' input is untrusted: a bad alert is dropped from correlation (it stays in
  // the event log) and the hub goes on.
  const int64_t now = clock_.monotonic_ms();
  if (last_refusal_log_ms_ == 0 || now - last_refusal_log_ms_ >= kRefusalLogEveryMs) {
    last_refusal_log_ms_ = now;
    spdlog::warn("correlation refused {}: {} (logged at most every {} s)", what,
                 result.status().to_string(), kRefusalLogEveryMs / 1000);
  }
}

void Correlator::rearm() {
  auto due = engine_->next_due_ms();
  if (auto silences = suppress_.next_due_ms(clock_.now_ms())) {
    due = due ? std::min(*due, *silences) : *silences;
  }
  if (const auto ends = expiry_->next_due_ms(); ends && (!due || *ends < *due)) due = ends;
  if (timer_ && due && *due == timer_due_) return;
  if (timer_) timers_.cancel(timer_);
  timer_ = 0;
  if (!due) return;
  timer_due_ = *due;
  const int64_t delay = std::max<int64_t>(0, *due - clock_.now_ms());
  timer_ = timers_.start(Millis(delay), Millis(0), [this] {
    timer_ = 0;
    wake_();
  });
}

}  // namespace reflex::hub
