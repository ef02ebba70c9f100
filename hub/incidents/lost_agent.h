// A lost agent is an alert of the hub itself, so it correlates like any other: an agent
// of checkout going silent joins (or opens) checkout's incident.
#pragma once

#include <cstdint>
#include <string>

#include "hub/incidents/alert_signal.h"
#include "hub/store.h"

namespace reflex::hub::incidents {

// "agent-lost:<id>": one alert per agent, whatever its labels.
std::string lost_agent_fingerprint(const std::string& agent_id);

// The signal for the agent's liveness as the registry now sees it: firing while it is
// lost, resolved when it is alive again. Source "hub:agents", rule "AgentLost", severity
// high, the agent's labels plus agent=<id>, host = its hostname.
AlertSignal lost_agent_signal(const AgentRecord& agent, int64_t at_ms);

}  // namespace reflex::hub::incidents
