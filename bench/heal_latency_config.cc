#include "bench/heal_latency_config.h"

#include <nlohmann/json.hpp>
#include <sstream>

namespace reflex::bench::heal {
namespace {

// A YAML double-quoted scalar (JSON string syntax is valid YAML).
std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump();
}

std::string yaml_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quoted(items[i]);
  return out + "]";
}

// Monit splits a program's string on spaces itself; our paths have none.
std::string monit_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return "\"" + out + "\"";
}

std::string ms(int value) {
  return std::to_string(value) + "ms";
}

}  // namespace

std::vector<std::string> restart_argv(const Supervised& s) {
  return {s.stamp_program, s.service_stamps, s.pidfile, std::to_string(s.watch_pid)};
}

std::vector<std::string> http_action_argv(const Supervised& s) {
  return {s.stamp_program, s.http_stamps};
}

std::string agent_yaml(const AgentPlan& p) {
  const Supervised& s = p.supervised;
  // Budgets and cooldowns out of the way: every trial must be healed, none refused.
  const std::string guardrails =
      "    cooldown: 0s\n    budget: {max_runs: 1000, window: 1h}\n"
      "    timeout: 10s\n    verify_within: " +
      ms(p.verify_within_ms) + "\n";
  std::ostringstream y;
  y << "# Written by bench/heal_latency.\n"
    << "id: bench-heal\n"
    << "hub: {endpoints: [" << quoted(p.hub_endpoint) << "]}\n"
    << "spool: {path: " << quoted(p.spool_path) << "}\n"
    << "status_http: {listen: " << quoted("127.0.0.1:" + std::to_string(p.status_port)) << "}\n"
    << "remediation: {budget: {max_runs: 100000, window: 1h}}\n"
    << "checks:\n"
    << "  - name: " << kServiceCheck << "\n"
    << "    type: process\n"
    << "    pidfile: " << quoted(s.pidfile) << "\n"
    << "    interval: " << ms(p.process_interval_ms) << "\n"
    << "  - name: " << kHttpCheck << "\n"
    << "    type: http\n"
    << "    url: " << quoted("http://127.0.0.1:" + std::to_string(s.http_port) + s.http_path)
    << "\n"
    << "    interval: " << ms(p.http_interval_ms) << "\n"
    << "actions:\n"
    << "  - name: restart-svc\n"
    << "    type: exec\n"
    << "    command: " << yaml_list(restart_argv(s)) << "\n"
    << guardrails << "  - name: stamp-web\n"
    << "    type: exec\n"
    << "    command: " << yaml_list(http_action_argv(s)) << "\n"
    << guardrails << "rules:\n"
    << "  - name: " << kServiceRule << "\n"
    << "    series: " << kServiceCheck << "\n"
    << "    when: state == CRITICAL\n"
    << "    heal: [restart-svc]\n"
    << "  - name: " << kHttpRule << "\n"
    << "    series: " << kHttpCheck << "\n"
    << "    when: state == CRITICAL\n"
    << "    heal: [stamp-web]\n";
  return y.str();
}

std::string monit_config(const std::string& dir, const Supervised& s) {
  std::ostringstream m;
  m << "# Written by bench/heal_latency: Monit at its fastest cycle.\n"
    << "set daemon 1\n"
    << "set logfile " << dir << "/monit.log\n"
    << "set idfile " << dir << "/monit.id\n"
    << "set statefile " << dir << "/monit.state\n"
    << "set pidfile " << dir << "/monit.pid\n"
    << "check process " << kServiceCheck << " with pidfile " << s.pidfile << "\n"
    << "  start program = " << monit_command(restart_argv(s)) << " with timeout 10 seconds\n"
    << "check host " << kHttpCheck << " with address 127.0.0.1\n"
    << "  if failed port " << s.http_port << " protocol http request \"" << s.http_path
    << "\" status = 200 with timeout 1 seconds then exec " << monit_command(http_action_argv(s))
    << "\n";
  return m.str();
}

}  // namespace reflex::bench::heal
