// What the agent says about itself on its local HTTP surface: a snapshot of its state,
// taken on the loop thread, and the two renderings of it (GET /status as JSON, GET
// /metrics in the Prometheus text format), plus the table `reflex-agent status` prints.
#pragma once

#include <string>
#include <vector>

#include "agent/checks/check.h"
#include "agent/heal/healer.h"
#include "agent/rules.h"
#include "agent/windows.h"

namespace reflex::agent {

struct AgentSnapshot {
  std::string id;
  std::string hostname;
  std::string version;
  int64_t now_ms = 0;
  int64_t uptime_ms = 0;
  std::string hub_endpoint;
  bool registered = false;
  uint64_t in_flight = 0;
  uint64_t spool_depth = 0;  // events written, not yet acknowledged: pending delivery
  uint64_t spool_bytes = 0;
  uint64_t spool_last_seq = 0;
  uint64_t spool_acked_seq = 0;
  uint64_t spool_dropped = 0;
  std::vector<CheckStatus> checks;
  std::vector<RuleStatus> rules;
  std::vector<SeriesStats> series;
  uint64_t dropped_series = 0;
  heal::HealStatus heal;
};

// GET /status: the agent, its uplink and spool, every check with its last result and
// every rule state (series stats are in /metrics).
std::string status_json(const AgentSnapshot& s);
// GET /metrics: the agent's own health and every series' window stats.
std::string metrics_text(const AgentSnapshot& s);
// `reflex-agent status`: the /status document as readable tables; an error message when
// the document is not one.
std::string status_table(const std::string& status_json_text);

}  // namespace reflex::agent
