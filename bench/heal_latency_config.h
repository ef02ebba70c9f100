// The configurations the heal latency benchmark writes: reflex-agent's agent.yaml and
// Monit's control file. Each supervisor watches its own copy of the service and its own
// path of the HTTP target, and runs the same commands (the stamp program). Pure functions
// of their inputs, so what was measured can be read back from the code (and from the
// report, which quotes the agent's file).
#pragma once

#include <string>
#include <vector>

namespace reflex::bench::heal {

// The names both configurations use.
inline constexpr const char* kServiceCheck = "svc";  // the process check
inline constexpr const char* kServiceRule = "svc-down";
inline constexpr const char* kHttpCheck = "web";  // the HTTP check
inline constexpr const char* kHttpRule = "web-bad";

// What one supervisor watches and runs.
struct Supervised {
  std::string stamp_program;   // heal_latency_stamp, absolute
  std::string pidfile;         // its copy of the service
  std::string service_stamps;  // where its restart command stamps
  std::string http_stamps;     // where its HTTP action stamps
  int http_port = 0;           // the HTTP target
  std::string http_path;       // its path there: "/reflex", "/monit"
  int watch_pid = 0;           // the benchmark: the service exits when it is gone
};

// The restart command: stamp, then start the service. Both supervisors run exactly this.
std::vector<std::string> restart_argv(const Supervised& s);
// The HTTP scenario's action: stamp only.
std::vector<std::string> http_action_argv(const Supervised& s);

struct AgentPlan {
  Supervised supervised;
  std::string hub_endpoint;  // "tcp://127.0.0.1:PORT"
  std::string spool_path;
  int status_port = 0;
  int process_interval_ms = 0;
  int http_interval_ms = 0;
  int verify_within_ms = 0;  // of both actions: longer than either check interval
};

std::string agent_yaml(const AgentPlan& plan);

// Monit at its fastest cycle (`set daemon 1`), no HTTP interface, its files in `dir`.
std::string monit_config(const std::string& dir, const Supervised& s);

}  // namespace reflex::bench::heal
