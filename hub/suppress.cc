#include "hub/suppress.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/duration.h"
#include "hub/incidents/rfc3339.h"

namespace reflex::hub {
namespace {

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

const char* suppression_kind(const std::string& reason) {
  if (starts_with(reason, "silenced by ")) return "silence";
  if (starts_with(reason, "in maintenance window ")) return "maintenance";
  if (starts_with(reason, "inhibited by dependency ")) return "dependency";
  if (starts_with(reason, "inhibited by rule ")) return "rule";
  return "other";
}

SuppressStage::SuppressStage(HubStore& store)
    : store_(store), suppressor_(std::make_unique<incidents::Suppressor>()) {}

SuppressStage::~SuppressStage() {
  const Status stopping = Status::error("unavailable", "the hub is stopping");
  refuse_queued(stopping);
  failed(stopping);
}

void SuppressStage::configure(incidents::SuppressionConfig config) {
  config_ = std::move(config);
  reconfigure_ = true;
}

void SuppressStage::set_metrics(metrics::Registry& registry) {
  suppressed_ = &registry.counter_family(
      "reflex_hub_signals_suppressed_total",
      "Alert signals recorded but notifying nobody, by what muted them (silence, "
      "maintenance, dependency, rule).",
      {"by"});
  reminders_ = &registry.counter("reflex_hub_silence_reminders_total",
                                 "Reminders that a long silence is about to end.");
}

incidents::VerdictHook SuppressStage::counted_hook() const {
  return [this](const incidents::AlertSignal& s, int64_t now_ms) {
    incidents::SuppressionVerdict v = suppressor_->verdict(s, now_ms);
    if (suppressed_ && !v.reason.empty()) suppressed_->with({suppression_kind(v.reason)}).inc();
    return v;
  };
}

Status SuppressStage::replay_firing(incidents::Suppressor& suppressor) {
  auto firing = store_.load_firing_alerts();
  if (!firing) return firing.status().with_context("reading the firing alerts");
  for (const auto& row : *firing) {
    if (!row.detail) continue;  // a row always has detail once a signal wrote it
    protocol::Labels labels = row.detail->labels;
    labels.emplace("alertname", row.detail->rule);
    labels.emplace("severity", protocol::severity_name(row.record.severity));
    suppressor.observe_alert(row.fingerprint, labels, true);
  }
  return Status::ok();
}

Status SuppressStage::restore(incidents::IncidentEngine& engine,
                              const incidents::EngineSnapshot& snapshot, int64_t now_ms) {
  auto silences = store_.load_silences(now_ms);
  if (!silences) return silences.status().with_context("reading the silences");
  auto next = std::make_unique<incidents::Suppressor>(config_);
  REFLEX_RETURN_IF_ERROR(
      next->silences().restore(std::move(silences).value()).with_context("restoring silences"));
  next->restore(snapshot);
  REFLEX_RETURN_IF_ERROR(replay_firing(*next));
  suppressor_ = std::move(next);
  reconfigure_ = false;
  engine.set_verdict_hook(counted_hook());
  return Status::ok();
}

Status SuppressStage::prepare() {
  if (!reconfigure_) return Status::ok();
  // Reconfigure a copy, so a store that cannot be read leaves everything as it was.
  auto next = std::make_unique<incidents::Suppressor>(*suppressor_);
  next->reconfigure(config_);
  REFLEX_RETURN_IF_ERROR(replay_firing(*next));
  suppressor_ = std::move(next);  // the engine's hook reads suppressor_ on each call
  reconfigure_ = false;
  return Status::ok();
}

void SuppressStage::submit(SilenceCommand command, std::shared_ptr<SilenceAnswer> answer) {
  queued_.push_back({std::move(command), std::move(answer)});
}

void SuppressStage::run(WriteBatch& batch, int64_t now_ms) {
  incidents::SilenceSet& set = suppressor_->silences();
  for (auto& q : queued_) {
    Result<incidents::Silence> row = q.command.kind == SilenceCommand::Kind::kCreate
                                         ? set.create(std::move(q.command.spec), now_ms)
                                         : set.expire(q.command.id, q.command.actor, now_ms);
    if (!row) {
      q.answer->set_value(row.status());
      continue;
    }
    batch.silences.push_back(*row);
    awaiting_.push_back({std::move(q.answer), std::move(row).value()});
  }
  queued_.clear();
  for (auto& row : set.reminders(now_ms)) {
    batch.silences.push_back(row);
    reminded_.push_back(std::move(row));
  }
  set.forget_ended_before(now_ms);  // the store keeps them; the API reads them there
}

void SuppressStage::committed() {
  for (auto& a : awaiting_) a.answer->set_value(std::move(a.row));
  awaiting_.clear();
  // Until the notification stages exist, the reminder for a silence's creator is logged.
  for (const auto& s : reminded_) {
    spdlog::info("silence {} by {} ends at {} (in {}): {}; matchers {}", s.id, s.created_by,
                 incidents::format_rfc3339_ms(s.ends_at_ms),
                 format_duration(Millis(std::max<int64_t>(0, s.ends_at_ms - s.reminded_ms))),
                 s.comment, incidents::matchers_to_string(s.matchers));
    if (reminders_) reminders_->inc();
  }
  reminded_.clear();
}

void SuppressStage::failed(const Status& answer) {
  for (auto& a : awaiting_) a.answer->set_value(answer);
  awaiting_.clear();
  reminded_.clear();
}

void SuppressStage::refuse_queued(const Status& answer) {
  for (auto& q : queued_) q.answer->set_value(answer);
  queued_.clear();
}

std::optional<int64_t> SuppressStage::next_due_ms(int64_t now_ms) const {
  return suppressor_->silences().next_reminder_ms(now_ms);
}

}  // namespace reflex::hub
