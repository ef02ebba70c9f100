// agent.yaml: who this agent is, which hub it reports to, and how often.
//
// Every key has an embedded default: an agent with no config file is named after its
// host and reports to a hub on localhost.
#pragma once

#include <string>
#include <vector>

#include "common/config.h"
#include "common/log.h"
#include "common/status.h"
#include "protocol/messages.h"

namespace reflex::agent {

struct AgentConfig {
  std::string id;        // default: the hostname
  std::string hostname;  // default: gethostname()
  protocol::Labels labels;
  std::vector<std::string> hub_endpoints = {"tcp://127.0.0.1:7171"};
  Millis heartbeat_interval = Millis(5000);
  LogConfig log;
};

Result<AgentConfig> read_agent_config(const YAML::Node& root, const std::string& file);
// Loads and validates a file; an empty path means the embedded defaults.
Result<AgentConfig> load_agent_config(const std::string& path);

}  // namespace reflex::agent
