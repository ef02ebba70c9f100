// The heal latency benchmark's report: a Markdown table for people (and for
// docs/benchmarks.md) with the verdict on each target, the configurations that were
// measured, then one "heal_latency_<name> <value>" line per number for scripts.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "bench/heal_latency_observers.h"

namespace reflex::bench::heal {

// The documented goals, for the process scenario (kill -> restart started).
inline constexpr double kTargetP99Ms = 10;
inline constexpr double kTargetSpeedup = 40;  // Monit's median / Reflex's

struct LatencySeries {
  std::string key;    // "reflex", "monit"
  std::string title;  // "reflex-agent", "Monit 1:5.33.0-1"
  std::vector<double> ms;
};

struct HealReport {
  int trials = 0;          // asked for, per supervisor and scenario
  uint64_t seed = 0;       // of the pauses before each break
  double max_pause_s = 0;  // the longest of them
  double process_interval_s = 0;
  double http_interval_s = 0;
  std::vector<LatencySeries> process;  // Reflex first, then Monit when compared
  std::vector<LatencySeries> http;
  std::vector<Phases> reflex_phases;
  std::string agent_yaml;
  std::string monitrc;     // empty without Monit
  double seconds = 0;      // the run's wall time
  std::string load_after;  // /proc/loadavg at the end
};

void print_markdown(const HealReport& report, std::ostream& out);
void print_lines(const HealReport& report, std::ostream& out);

}  // namespace reflex::bench::heal
