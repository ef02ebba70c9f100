#include "hub/incidents/lost_agent.h"

namespace reflex::hub::incidents {

std::string lost_agent_fingerprint(const std::string& agent_id) {
  return "agent-lost:" + agent_id;
}

AlertSignal lost_agent_signal(const AgentRecord& agent, int64_t at_ms) {
  AlertSignal s;
  s.source = "hub:agents";
  s.fingerprint = lost_agent_fingerprint(agent.id);
  s.rule = "AgentLost";
  const bool lost = agent.state == AgentState::kLost;
  s.state = lost ? protocol::AlertState::kFiring : protocol::AlertState::kResolved;
  s.severity = protocol::Severity::kHigh;
  s.labels = agent.labels;
  s.labels["agent"] = agent.id;
  const std::string host = agent.hostname.empty() ? agent.id : agent.hostname;
  s.annotations["summary"] = lost ? "agent " + agent.id + " on " + host + " stopped reporting"
                                  : "agent " + agent.id + " on " + host + " is back";
  s.host = agent.hostname;
  s.at_ms = at_ms;
  return s;
}

}  // namespace reflex::hub::incidents
