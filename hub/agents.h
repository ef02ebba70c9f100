// The hub's view of its agents: registration, heartbeats and liveness.
//
// AgentRegistry lives on the loop thread. It changes in memory and queues what must be
// written; the hub takes the queued writes as one WriteBatch and commits them together.
// Whether an agent is lost is decided by the pure function is_overdue().
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "hub/store.h"
#include "protocol/messages.h"

namespace reflex::hub {

struct LivenessPolicy {
  int64_t lost_after_missed = 3;
  int64_t default_heartbeat_ms = 5000;
};

// True when `agent` has missed `lost_after_missed` heartbeats at `now_ms`.
bool is_overdue(const AgentRecord& agent, int64_t now_ms, const LivenessPolicy& policy);

// An agent's last `metrics` summary: its checks' series as it last reported them (state,
// latencies, error rates, gauges). Shown to operators; not stored.
struct AgentMetrics {
  int64_t at_ms = 0;  // hub clock, when it arrived
  std::vector<protocol::Sample> samples;
};

class AgentRegistry {
 public:
  explicit AgentRegistry(LivenessPolicy policy) : policy_(policy) {}

  // Restores the agents recorded before a restart.
  void load(std::vector<AgentRecord> agents);
  // A row another hub sharing the store wrote (the agent is connected there): when it is
  // newer than what this registry saw, the agent's description and last sighting are
  // taken from it, so the agent is not judged lost here. True when it was lost and is
  // alive again (a state change, queued as on_hello's are).
  bool seen_elsewhere(const AgentRecord& row);
  void set_policy(LivenessPolicy policy) { policy_ = policy; }

  void on_hello(const std::string& agent_id, const protocol::Hello& hello, int64_t now_ms);
  // False when the agent has not said hello (it must register first).
  bool on_heartbeat(const std::string& agent_id, const protocol::Heartbeat& hb, int64_t now_ms);
  // An event with sequence `seq` was accepted for `agent_id` (registered): its mark is
  // written with the next commit, in the same transaction as the event.
  void on_event(const std::string& agent_id, uint64_t seq, int64_t now_ms);
  // A `metrics` summary arrived from a registered agent: it replaces the last one. At most
  // kMaxKeptSamples samples are kept per agent.
  void on_metrics(const std::string& agent_id, const protocol::Metrics& metrics, int64_t now_ms);
  static constexpr size_t kMaxKeptSamples = 500;
  // Puts the sequence mark back after a failed commit discarded the events above it.
  void reset_mark(const std::string& agent_id, uint64_t seq);

  // Marks every overdue alive agent lost; returns how many changed.
  size_t check_liveness(int64_t now_ms);

  // The writes queued since the last call.
  WriteBatch take_batch();
  // Puts a batch back after a failed commit, ahead of newer writes.
  void restore_batch(WriteBatch batch);

  std::vector<AgentRecord> snapshot() const;
  const AgentRecord* find(const std::string& id) const;
  // Null when the agent has sent no summary since the hub started.
  const AgentMetrics* last_metrics(const std::string& id) const;
  size_t count(AgentState state) const;

 private:
  void seen(AgentRecord& a, int64_t now_ms, const char* reason);
  void change_state(AgentRecord& a, AgentState to, int64_t now_ms, std::string reason);

  LivenessPolicy policy_;
  std::map<std::string, AgentRecord> agents_;
  std::set<std::string> dirty_;  // ordered: deterministic batches
  std::vector<AgentStateChange> changes_;
  std::map<std::string, AgentMetrics> metrics_;
};

}  // namespace reflex::hub
