// The comparison daemons of the footprint benchmark, as Debian packages them: Monit,
// collectd and zabbix_agentd, each started in its foreground mode with a minimal idle
// configuration (agent_footprint_config.h) in a directory of its own.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench/support/child_process.h"
#include "common/status.h"

namespace reflex::bench {

struct ComparisonDaemon {
  std::string key;       // "monit", "collectd", "zabbix_agentd"
  std::string name;      // "Monit"
  std::string package;   // the Debian package that installs it
  std::string binary;    // a name looked up in PATH, /usr/sbin and /sbin
  std::string workload;  // what its configuration has it do
};

std::vector<ComparisonDaemon> comparison_daemons();

// The absolute path of `name` (PATH, then /usr/sbin, /sbin), or empty.
std::string find_program(const std::string& name);
// The installed version of a Debian package ("1:5.33.0-1"), or empty.
std::string package_version(const std::string& package);

// Writes the daemon's configuration into `dir` (which must exist) and starts it there.
// Fails with a reason when its binary is missing; a daemon that exits at once is found
// later through ChildProcess::exited(). `guard` must outlive the process.
Result<std::unique_ptr<ChildProcess>> start_daemon(const ComparisonDaemon& daemon,
                                                   const std::string& dir, OrphanGuard& guard);

}  // namespace reflex::bench
