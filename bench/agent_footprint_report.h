// The agent footprint benchmark's report: a Markdown table for people (and for
// docs/benchmarks.md) with the verdict on each target, then one
// "agent_footprint_<name> <value>" line per number for scripts.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "bench/agent_footprint_sampler.h"

namespace reflex::bench {

// The documented goals for reflex-agent under the benchmark's load.
inline constexpr double kTargetRssMiB = 10;
inline constexpr double kTargetCpuPercent = 2;

// One measured program: reflex-agent or a comparison daemon.
struct SubjectResult {
  std::string key;       // machine name: "agent", "monit", "collectd", "zabbix_agentd"
  std::string title;     // "reflex-agent", "Monit 1:5.33.0-1"
  std::string workload;  // what it was doing
  std::string failure;   // why it was not measured; empty when it was
  Footprint footprint;
  uint64_t hwm_kb = 0;  // the main process's VmHWM at the end
  uint64_t pss_kb = 0;  // PSS of all its processes at the end
};

struct FootprintReport {
  double seconds = 0;  // the measured window
  double warmup_seconds = 0;
  double sample_interval = 0;           // seconds between RSS samples
  double ticks_per_second = 100;        // of the CPU figures: sysconf(_SC_CLK_TCK)
  std::vector<SubjectResult> subjects;  // reflex-agent first
  // What the agent was given during the window, as delivered.
  double statsd_rate = 0;  // asked for, packets/s
  uint64_t statsd_sent = 0, statsd_skipped = 0, statsd_errors = 0;
  uint64_t http_requests = 0, tcp_connections = 0;
  int statsd_names_total = 0;
  int statsd_names_seen = -1;   // in the agent's /metrics afterwards; -1: no /metrics
  std::string agent_stop_note;  // how the agent stopped, when not cleanly
};

void print_markdown(const FootprintReport& report, std::ostream& out);
void print_lines(const FootprintReport& report, std::ostream& out);

}  // namespace reflex::bench
