// The configurations the footprint benchmark writes: reflex-agent's agent.yaml with the
// measured mix of checks, and minimal idle configurations of the comparison daemons.
// Pure functions of their inputs, so what was measured can be read back from the code.
#pragma once

#include <string>
#include <vector>

namespace reflex::bench {

// The measured mix: 50 checks at a 1 s interval, plus one StatsD listener.
inline constexpr int kHttpChecks = 30;
inline constexpr int kTcpChecks = 10;
inline constexpr int kCommandChecks = 5;
inline constexpr int kProcessChecks = 4;
inline constexpr int kHostChecks = 1;
inline constexpr int kPeriodicChecks =
    kHttpChecks + kTcpChecks + kCommandChecks + kProcessChecks + kHostChecks;

struct AgentPlan {
  std::string hub_endpoint;  // "tcp://127.0.0.1:PORT"
  std::string spool_path;
  int status_port = 0;                     // the agent's /status and /metrics
  int http_port = 0;                       // HttpTarget
  int tcp_port = 0;                        // TcpListener
  int statsd_port = 0;                     // where the agent's StatsD check listens
  std::string check_dummy;                 // Debian's check_dummy plugin
  std::vector<std::string> process_names;  // kProcessChecks names of running processes
};

std::string agent_yaml(const AgentPlan& plan);

// Monit with one `check system` and Debian's default 120 s cycle, no HTTP interface.
std::string monit_config(const std::string& dir);
// collectd with the cpu, memory and load plugins at Debian's default 10 s interval,
// writing CSV files under `dir` (no network).
std::string collectd_config(const std::string& dir);
// zabbix_agentd, passive only (3 listeners on 127.0.0.1:`port`), no active checks.
std::string zabbix_agentd_config(const std::string& dir, int port);

}  // namespace reflex::bench
