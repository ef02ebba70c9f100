// agent.yaml: who this agent is, which hub it reports to, and how often.
//
// Every key has an embedded default: an agent with no config file is named after its
// host and reports to a hub on localhost.
#pragma once

#include <string>
#include <vector>

#include "agent/checks/check_config.h"
#include "agent/heal/action_config.h"
#include "agent/rules.h"
#include "agent/spool.h"
#include "agent/windows.h"
#include "common/config.h"
#include "common/log.h"
#include "common/status.h"
#include "protocol/messages.h"

namespace reflex::agent {

struct UplinkConfig {
  std::string server_key;                   // the hub's CURVE public key (Z85); empty: plaintext
  std::string secret_key_file;              // this agent's CURVE secret key (NAME.key_secret)
  uint64_t window = 1000;                   // events in flight without acknowledgement
  Millis ack_timeout = Millis(5000);        // no progress for this long: resend / fail over
  int64_t failover_after = 3;               // failed attempts before the next endpoint
  Millis failback_after = Millis(300'000);  // then try the first endpoint again
};

struct SpoolConfig {
  std::string path = "reflex-agent-spool.db";
  SpoolLimits limits;
};

// Generates `events` metrics events at `rate` per second: for load tests and benchmarks
// of the delivery path. Off (0) by default.
struct LoadTestConfig {
  int64_t events = 0;
  int64_t rate = 1000;
};

// The agent's own HTTP surface on loopback: GET /metrics, /status, /healthz.
struct StatusHttpConfig {
  bool enabled = true;
  std::string listen = "127.0.0.1:7181";  // port 0: any free port
};

struct AgentConfig {
  std::string id;        // default: the hostname
  std::string hostname;  // default: gethostname()
  protocol::Labels labels;
  std::vector<std::string> hub_endpoints = {"tcp://127.0.0.1:7171"};
  Millis heartbeat_interval = Millis(5000);
  UplinkConfig uplink;
  SpoolConfig spool;
  std::vector<CheckConfig> checks;
  WindowConfig windows;
  std::vector<RuleConfig> rules;
  std::vector<heal::ActionConfig> actions;   // remediation actions that rules' `heal` name
  heal::HostGuardrailConfig remediation;     // host-wide budget and dry run
  Millis metrics_interval = Millis(10'000);  // a `metrics` summary of every series
  StatusHttpConfig status_http;
  LoadTestConfig load_test;
  LogConfig log;
};

Result<AgentConfig> read_agent_config(const YAML::Node& root, const std::string& file);
// Loads and validates a file; an empty path means the embedded defaults.
Result<AgentConfig> load_agent_config(const std::string& path);

}  // namespace reflex::agent
