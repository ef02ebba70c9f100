#include "bench/agent_footprint_daemons.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/agent_footprint_config.h"
#include "bench/agent_footprint_targets.h"

namespace reflex::bench {
namespace {

Status write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) return Status::error("io", "cannot write " + path);
  // Monit refuses a control file that others may read.
  if (::chmod(path.c_str(), mode) != 0) return Status::error("io", "cannot chmod " + path);
  return Status::ok();
}

}  // namespace

std::vector<ComparisonDaemon> comparison_daemons() {
  return {
      {"monit", "Monit", "monit", "monit", "idle: `check system`, 120 s cycle (Debian's)"},
      {"collectd", "collectd", "collectd-core", "collectd",
       "idle: cpu, memory, load plugins every 10 s, CSV output"},
      {"zabbix_agentd", "zabbix_agentd", "zabbix-agent", "zabbix_agentd",
       "idle: passive checks only, no server polling it"},
  };
}

std::string find_program(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::istringstream in(path);
    for (std::string d; std::getline(in, d, ':');) {
      if (!d.empty()) dirs.push_back(d);
    }
  }
  dirs.push_back("/usr/sbin");
  dirs.push_back("/sbin");
  for (const auto& d : dirs) {
    const std::string candidate = d + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string package_version(const std::string& package) {
  // The package name is one of ours, never user input.
  const std::string command = "dpkg-query -W -f='${Version}' " + package + " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return "";
  std::array<char, 128> buf{};
  std::string out;
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe)) out += buf.data();
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

Result<std::unique_ptr<ChildProcess>> start_daemon(const ComparisonDaemon& d,
                                                   const std::string& dir, OrphanGuard& guard) {
  const std::string binary = find_program(d.binary);
  if (binary.empty()) {
    return Status::error("missing", d.binary + " is not installed (Debian package " + d.package +
                                        "; scripts/install-deps --bench installs it)");
  }
  std::vector<std::string> argv;
  if (d.key == "monit") {
    const std::string cfg = dir + "/monitrc";
    REFLEX_RETURN_IF_ERROR(write_file(cfg, monit_config(dir), 0600));
    argv = {binary, "-I", "-c", cfg};
  } else if (d.key == "collectd") {
    const std::string cfg = dir + "/collectd.conf";
    REFLEX_RETURN_IF_ERROR(write_file(cfg, collectd_config(dir), 0644));
    argv = {binary, "-f", "-C", cfg};
  } else if (d.key == "zabbix_agentd") {
    auto port = free_tcp_port_in(20000, 32767);
    if (!port) return port.status();
    const std::string cfg = dir + "/zabbix_agentd.conf";
    REFLEX_RETURN_IF_ERROR(write_file(cfg, zabbix_agentd_config(dir, *port), 0644));
    argv = {binary, "-f", "-c", cfg};
  } else {
    return Status::error("usage", "unknown comparison daemon " + d.key);
  }
  return ChildProcess::start(argv, dir, dir + "/" + d.key + ".out", &guard);
}

}  // namespace reflex::bench
