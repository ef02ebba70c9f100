#include "bench/agent_footprint_config.h"

#include <nlohmann/json.hpp>
#include <sstream>

namespace reflex::bench {
namespace {

// A YAML double-quoted scalar (JSON string syntax is valid YAML).
std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump();
}

const char* const kServices[] = {"web", "api", "auth", "search", "billing"};

}  // namespace

std::string agent_yaml(const AgentPlan& p) {
  const std::string loopback = "127.0.0.1";
  std::ostringstream y;
  y << "# Written by bench/agent_footprint: " << kPeriodicChecks
    << " checks at a 1 s interval and one StatsD listener.\n"
    << "id: bench-agent\n"
    << "hub: {endpoints: [" << quoted(p.hub_endpoint) << "]}\n"
    << "spool: {path: " << quoted(p.spool_path) << "}\n"
    << "metrics_interval: 10s\n"
    << "status_http: {listen: " << quoted(loopback + ":" + std::to_string(p.status_port)) << "}\n"
    << "checks:\n";
  for (int i = 1; i <= kHttpChecks; ++i) {
    const char* service = kServices[(i - 1) % 5];
    y << "  - name: web-" << i << "\n"
      << "    type: http\n"
      << "    interval: 1s\n"
      << "    timeout: 2s\n"
      << "    labels: {service: " << service << ", env: bench}\n"
      << "    url: http://127.0.0.1:" << p.http_port << "/" << service << "/" << i << "/health\n";
  }
  for (int i = 1; i <= kTcpChecks; ++i) {
    y << "  - name: db-tcp-" << i << "\n"
      << "    type: tcp\n"
      << "    interval: 1s\n"
      << "    timeout: 2s\n"
      << "    labels: {service: db, env: bench}\n"
      << "    host: 127.0.0.1\n"
      << "    port: " << p.tcp_port << "\n";
  }
  for (int i = 1; i <= kCommandChecks; ++i) {
    // Mostly OK, one WARNING, as a fleet's plugins usually are.
    const bool warn = i == kCommandChecks;
    y << "  - name: disk-" << i << "\n"
      << "    type: command\n"
      << "    interval: 1s\n"
      << "    timeout: 2s\n"
      << "    command: [" << quoted(p.check_dummy) << ", \"" << (warn ? 1 : 0) << "\", \""
      << (warn ? "disk 85% full" : "disk ok") << "\"]\n";
  }
  for (int i = 1; i <= kProcessChecks && i <= static_cast<int>(p.process_names.size()); ++i) {
    y << "  - name: proc-" << i << "\n"
      << "    type: process\n"
      << "    interval: 1s\n"
      << "    process_name: " << quoted(p.process_names[static_cast<size_t>(i - 1)]) << "\n";
  }
  for (int i = 1; i <= kHostChecks; ++i) {
    y << "  - name: host" << (kHostChecks > 1 ? "-" + std::to_string(i) : "") << "\n"
      << "    type: host\n"
      << "    interval: 1s\n";
  }
  y << "  - name: app\n"
    << "    type: statsd\n"
    << "    listen: " << loopback << ":" << p.statsd_port << "\n"
    << "rules:\n"
    << "  - name: web-slow\n"
    << "    series: web-1\n"
    << "    when: p99 > 250ms\n"
    << "    for: 30s\n"
    << "    severity: high\n"
    << "  - name: api-errors\n"
    << "    series: web-2\n"
    << "    when: error_rate > 5%\n"
    << "    for: 30s\n"
    << "    severity: warning\n"
    << "  - name: db-slow\n"
    << "    series: db-tcp-1\n"
    << "    when: p99 > 100ms\n"
    << "    for: 60s\n"
    << "    severity: high\n";
  return y.str();
}

std::string monit_config(const std::string& dir) {
  return "# Written by bench/agent_footprint: Monit idle, as Debian's monitrc runs it.\n"
         "set daemon 120\n"
         "set logfile " +
         dir + "/monit.log\n" + "set idfile " + dir + "/monit.id\n" + "set statefile " + dir +
         "/monit.state\n" + "set pidfile " + dir + "/monit.pid\n" + "check system bench-monit\n";
}

std::string collectd_config(const std::string& dir) {
  return "# Written by bench/agent_footprint: collectd idle, a few local plugins, no network.\n"
         "Hostname \"bench\"\n"
         "FQDNLookup false\n"
         "BaseDir \"" +
         dir + "\"\n" + "PIDFile \"" + dir + "/collectd.pid\"\n" +
         "PluginDir \"/usr/lib/collectd\"\n"
         "TypesDB \"/usr/share/collectd/types.db\"\n"
         "Interval 10\n"
         "LoadPlugin logfile\n"
         "<Plugin logfile>\n"
         "  File \"" +
         dir + "/collectd.log\"\n" +
         "</Plugin>\n"
         "LoadPlugin cpu\n"
         "LoadPlugin memory\n"
         "LoadPlugin load\n"
         "LoadPlugin csv\n"
         "<Plugin csv>\n"
         "  DataDir \"" +
         dir + "/csv\"\n" + "</Plugin>\n";
}

std::string zabbix_agentd_config(const std::string& dir, int port) {
  return "# Written by bench/agent_footprint: zabbix_agentd idle, passive checks only.\n"
         "PidFile=" +
         dir + "/zabbix_agentd.pid\n" + "LogFile=" + dir + "/zabbix_agentd.log\n" +
         "ListenIP=127.0.0.1\n"
         "ListenPort=" +
         std::to_string(port) + "\n" +
         "Server=127.0.0.1\n"
         "AllowRoot=1\n";
}

}  // namespace reflex::bench
