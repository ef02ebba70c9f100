// The Correlator's external input: alerts and events from monitoring tools, their
// expiry, changes (deploys) and the suspects named for incidents that open after one.
#include "hub/correlate.h"

#include <algorithm>

#include "protocol/codec.h"

namespace reflex::hub {
namespace {

constexpr size_t kSuspectCandidates = 50;

// The environment labels name (an incident's group, an agent), as changes name it.
std::string environment_of(const protocol::Labels& labels) {
  for (const char* key : {"env", "environment"}) {
    auto it = labels.find(key);
    if (it != labels.end()) return it->second;
  }
  return "";
}

}  // namespace

void Correlator::submit_input(ExternalInput input, std::shared_ptr<InputAnswer> answer) {
  queued_inputs_.push_back({std::move(input), std::move(answer)});
  wake_();
}

void Correlator::answer_inputs(const Status& why) {
  for (auto& q : queued_inputs_) q.answer->set_value(why);
  queued_inputs_.clear();
  for (auto& a : awaiting_inputs_) a.first->set_value(why);
  awaiting_inputs_.clear();
}

Status Correlator::expire_external(int64_t now_ms, WriteBatch& batch, incidents::Changes& out) {
  // The labels and annotations of an expiring alert are in its stored row only (the
  // expiry keeps its end), read while no batch is in flight: the row of its latest send,
  // committed with an earlier batch, since expiry runs before this batch's input.
  for (const auto& ended : expiry_->expire(now_ms)) {
    const std::string what = "the expiry of external alert " + ended.fingerprint;
    auto row = store_.load_external_expiry_row(ended.fingerprint);
    if (!row) return row.status().with_context(what);
    if (!*row) return Status::error("corrupt", what + ": it has no stored row");
    auto signal = incidents::expired_signal(**row);
    if (!signal) return signal.status().with_context(what);
    signal->at_ms = ended.ends_at_ms;
    batch.expiry.push_back({ended.fingerprint, std::nullopt});
    take(on_signal(*signal, now_ms), what, out);
  }
  return Status::ok();
}

void Correlator::feed_external(const incidents::AlertSignal& signal, int64_t now_ms,
                               WriteBatch& batch, incidents::Changes& out, size_t& taken) {
  auto result = on_signal(signal, now_ms);
  taken += result ? 1 : 0;
  take(std::move(result), "alert " + signal.rule + " from " + signal.source, out);
  // A resolution that comes by other means (an Alertmanager webhook for an alert also
  // posted to /api/v2/alerts) ends the tracking too.
  if (signal.state == protocol::AlertState::kResolved && expiry_->forget(signal.fingerprint)) {
    batch.expiry.push_back({signal.fingerprint, std::nullopt});
  }
}

InputReceipt Correlator::feed_input(ExternalInput& input, int64_t now_ms, WriteBatch& batch,
                                    incidents::Changes& out) {
  InputReceipt receipt;
  // The change first: an alert sent with it may open an incident it is the suspect of.
  if (input.change) {
    incidents::Change& change = *input.change;
    if (change_log_->add(change)) {
      note_canary(change);
      batch.changes.push_back(change);
    } else {
      receipt.duplicate = true;
    }
    receipt.change = change;
  }
  for (const auto& alert : input.alerts) {
    const size_t before = receipt.signals;
    auto result = on_signal(alert.signal, now_ms);
    receipt.signals += result ? 1 : 0;
    take(std::move(result), "alert " + alert.signal.rule + " from " + alert.signal.source, out);
    if (receipt.signals > before) batch.expiry.push_back(expiry_->observe(alert));
  }
  for (const auto& signal : input.signals)
    feed_external(signal, now_ms, batch, out, receipt.signals);
  return receipt;
}

void Correlator::name_suspects(const incidents::Changes& out, int64_t now_ms, WriteBatch& batch,
                               incidents::Changes& timeline) {
  if (change_log_->size() == 0) return;
  for (const auto& event : out.events) {
    if (event.kind != incidents::IncidentEventKind::kOpened) continue;
    const incidents::IncidentRow* row = engine_->incident(event.incident_id);
    if (!row || row->service.empty()) continue;
    incidents::SuspectQuery q;
    q.service = row->service;
    q.environment = environment_of(row->group_labels);
    if (dependencies_) q.dependencies = dependencies_(row->service);
    q.opened_at_ms = row->opened_ms;
    for (const auto& fp : engine_->members(row->id)) {
      const incidents::AlertRecord* alert = engine_->alert(fp);
      if (alert && !alert->host.empty() && alert->state == protocol::AlertState::kFiring) {
        q.affected_hosts.push_back(alert->host);
      }
    }
    const auto candidates = change_log_->recent(q.service, q.dependencies, kSuspectCandidates);
    auto suspect = incidents::find_suspect(q, candidates, suspect_policy_);
    if (!suspect) continue;
    // A canary's evidence compares its hosts' error rate and latency with the others'.
    if (suspect->change.strategy == incidents::DeployStrategy::kCanary) {
      q.host_stats = canary_stats(*row, q.environment);
      suspect = incidents::find_suspect(q, candidates, suspect_policy_);
    }
    std::string text = "suspect: " + suspect->summary;
    if (!suspect->evidence.empty()) text += " (" + suspect->evidence + ")";
    timeline.timeline.push_back(incidents::TimelineEntry{.incident_id = row->id,
                                                         .at_ms = now_ms,
                                                         .kind = incidents::TimelineKind::kNote,
                                                         .actor = "reflex",
                                                         .fingerprint = "",
                                                         .host = "",
                                                         .text = std::move(text),
                                                         .suppressed = ""});
    batch.suspects.push_back(
        SuspectRecord{.incident_id = row->id, .suspect = std::move(*suspect), .at_ms = now_ms});
  }
}

bool Correlator::canary_recent(int64_t now_ms) const {
  return newest_canary_ms_ >= 0 && now_ms - newest_canary_ms_ <= suspect_policy_.window_ms;
}

void Correlator::note_canary(const incidents::Change& change) {
  if (change.strategy == incidents::DeployStrategy::kCanary) {
    newest_canary_ms_ = std::max(newest_canary_ms_, change.at_ms);
  }
}

std::map<std::string, incidents::HostStats> Correlator::canary_stats(
    const incidents::IncidentRow& row, const std::string& environment) const {
  // The series the incident is about: that of its first agent alert in this batch (the
  // one that opened it).
  const protocol::Labels* alert_labels = nullptr;
  for (const auto& fp : engine_->members(row.id)) {
    auto it = batch_alert_labels_.find(fp);
    if (it != batch_alert_labels_.end() && it->second.contains("series")) {
      alert_labels = &it->second;
      break;
    }
  }
  std::map<std::string, incidents::HostStats> stats;  // host name -> stats
  if (!alert_labels) return stats;
  for (const auto& [agent_id, frame] : latest_metrics_) {
    const AgentRecord* agent = registry_.find(agent_id);
    if (!agent) continue;
    const auto service = agent->labels.find(policy_.service_label);
    if (service == agent->labels.end() || service->second != row.service) continue;
    const std::string env = environment_of(agent->labels);
    if (!environment.empty() && !env.empty() && env != environment) continue;
    auto envelope = protocol::decode(frame);
    const auto* metrics = envelope ? std::get_if<protocol::Metrics>(&envelope->body) : nullptr;
    if (!metrics) continue;
    if (auto s = incidents::series_stats(*metrics, *alert_labels)) stats[agent->hostname] = *s;
  }
  return stats;
}

}  // namespace reflex::hub
