#include "hub/agents.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace reflex::hub {

bool is_overdue(const AgentRecord& agent, int64_t now_ms, const LivenessPolicy& policy) {
  const int64_t interval =
      agent.heartbeat_ms > 0 ? agent.heartbeat_ms : policy.default_heartbeat_ms;
  return now_ms - agent.last_seen_ms > interval * policy.lost_after_missed;
}

void AgentRegistry::load(std::vector<AgentRecord> agents) {
  for (auto& a : agents) agents_[a.id] = std::move(a);
}

bool AgentRegistry::seen_elsewhere(const AgentRecord& row) {
  auto [it, inserted] = agents_.try_emplace(row.id, row);
  AgentRecord& a = it->second;
  if (inserted) return false;  // registered through another hub, as its row says
  if (row.last_seen_ms <= a.last_seen_ms) return false;
  // What the agent said of itself; its liveness stays this hub's judgement.
  a.hostname = row.hostname;
  a.version = row.version;
  a.labels = row.labels;
  a.heartbeat_ms = row.heartbeat_ms;
  a.spool_depth = row.spool_depth;
  a.open_circuits = row.open_circuits;
  a.acked_seq = std::max(a.acked_seq, row.acked_seq);
  const bool was_lost = a.state == AgentState::kLost;
  seen(a, row.last_seen_ms, "heard by another hub");
  if (was_lost) dirty_.insert(a.id);
  return was_lost;
}

void AgentRegistry::on_hello(const std::string& agent_id, const protocol::Hello& hello,
                             int64_t now_ms) {
  auto [it, inserted] = agents_.try_emplace(agent_id);
  AgentRecord& a = it->second;
  a.id = agent_id;
  a.hostname = hello.hostname;
  a.version = hello.agent_version;
  a.labels = hello.labels;
  a.heartbeat_ms = hello.heartbeat_ms;
  if (inserted) {
    a.first_seen_ms = now_ms;
    a.last_seen_ms = now_ms;
    spdlog::info("agent {} registered from host {} (version {})", agent_id, a.hostname, a.version);
    change_state(a, AgentState::kAlive, now_ms, "registered");
  } else {
    seen(a, now_ms, "hello");
  }
  dirty_.insert(agent_id);
}

bool AgentRegistry::on_heartbeat(const std::string& agent_id, const protocol::Heartbeat& hb,
                                 int64_t now_ms) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return false;
  AgentRecord& a = it->second;
  a.spool_depth = hb.spool_depth;
  a.open_circuits = hb.open_circuits;
  seen(a, now_ms, "heartbeat");
  dirty_.insert(agent_id);
  return true;
}

void AgentRegistry::on_event(const std::string& agent_id, uint64_t seq, int64_t now_ms) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;
  it->second.acked_seq = seq;
  seen(it->second, now_ms, "event");
  dirty_.insert(agent_id);
}

void AgentRegistry::on_metrics(const std::string& agent_id, const protocol::Metrics& metrics,
                               int64_t now_ms) {
  if (!agents_.contains(agent_id)) return;
  AgentMetrics& m = metrics_[agent_id];
  m.at_ms = now_ms;
  const size_t n = std::min(metrics.samples.size(), kMaxKeptSamples);
  m.samples.assign(metrics.samples.begin(), metrics.samples.begin() + static_cast<ptrdiff_t>(n));
}

void AgentRegistry::reset_mark(const std::string& agent_id, uint64_t seq) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;
  it->second.acked_seq = seq;
  dirty_.insert(agent_id);
}

void AgentRegistry::seen(AgentRecord& a, int64_t now_ms, const char* reason) {
  a.last_seen_ms = now_ms;
  if (a.state == AgentState::kLost) {
    spdlog::info("agent {} is alive again", a.id);
    change_state(a, AgentState::kAlive, now_ms, reason);
  }
}

size_t AgentRegistry::check_liveness(int64_t now_ms) {
  size_t changed = 0;
  for (auto& [id, a] : agents_) {
    if (a.state == AgentState::kAlive && is_overdue(a, now_ms, policy_)) {
      spdlog::warn("agent {} ({}) lost: no heartbeat for {} ms", id, a.hostname,
                   now_ms - a.last_seen_ms);
      change_state(a, AgentState::kLost, now_ms,
                   "missed " + std::to_string(policy_.lost_after_missed) + " heartbeats");
      dirty_.insert(id);
      ++changed;
    }
  }
  return changed;
}

void AgentRegistry::change_state(AgentRecord& a, AgentState to, int64_t now_ms,
                                 std::string reason) {
  a.state = to;
  a.state_since_ms = now_ms;
  changes_.push_back({a.id, to, now_ms, std::move(reason)});
}

WriteBatch AgentRegistry::take_batch() {
  WriteBatch batch;
  for (const auto& id : dirty_) batch.agents.push_back(agents_.at(id));
  dirty_.clear();
  batch.state_changes.swap(changes_);
  return batch;
}

void AgentRegistry::restore_batch(WriteBatch batch) {
  for (const auto& a : batch.agents) dirty_.insert(a.id);  // rows are rewritten from memory
  batch.state_changes.insert(batch.state_changes.end(), changes_.begin(), changes_.end());
  changes_ = std::move(batch.state_changes);
}

std::vector<AgentRecord> AgentRegistry::snapshot() const {
  std::vector<AgentRecord> out;
  out.reserve(agents_.size());
  for (const auto& [_, a] : agents_) out.push_back(a);
  return out;
}

const AgentRecord* AgentRegistry::find(const std::string& id) const {
  auto it = agents_.find(id);
  return it == agents_.end() ? nullptr : &it->second;
}

const AgentMetrics* AgentRegistry::last_metrics(const std::string& id) const {
  auto it = metrics_.find(id);
  return it == metrics_.end() ? nullptr : &it->second;
}

size_t AgentRegistry::count(AgentState state) const {
  size_t n = 0;
  for (const auto& [_, a] : agents_) n += a.state == state;
  return n;
}

}  // namespace reflex::hub
