// The cluster benchmark's report: Markdown for people (and for docs/benchmarks.md), then
// one "cluster_<name> <value>" line per number for scripts.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "bench/cluster_failover.h"
#include "bench/cluster_ingest.h"

namespace reflex::bench {

struct ClusterReport {
  // Ingest: the options every run had, and each configuration's runs in the order made.
  LoadOptions load;
  int repeat = 0;
  std::vector<IngestConfig> configs;
  std::map<std::string, std::vector<IngestRun>> runs;  // by IngestConfig::key
  // Failover.
  std::chrono::milliseconds lease{0};
  std::vector<FailoverTrial> trials;
  int trials_wanted = 0;
  uint64_t seed = 0;             // of the pauses before the kills
  std::string postgres_version;  // SHOW server_version
  double seconds = 0;            // the whole benchmark

  bool has_ingest() const { return !runs.empty(); }
  bool has_failover() const { return trials_wanted > 0; }
};

void print_markdown(const ClusterReport& report, std::ostream& out);
void print_lines(const ClusterReport& report, std::ostream& out);

}  // namespace reflex::bench
