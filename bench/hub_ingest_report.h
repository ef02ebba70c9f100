// The hub ingest benchmark's report: Markdown tables for people (and for
// docs/benchmarks.md), then one "hub_ingest_<name> <value>" line per number for scripts.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/hub_ingest_load.h"

namespace reflex::bench {

// The documented goals, stated next to the results.
inline constexpr double kTargetEventsPerSecond = 100'000;
inline constexpr double kTargetShareOfCeiling = 0.5;

struct CeilingRuns {
  std::string key{};        // machine name: "zmq_curve", "decode", ...
  std::string title{};      // "ZeroMQ CurveZMQ, 1 DEALER -> ROUTER, tcp loopback"
  std::string unit{};       // "frames/s"
  std::string reference{};  // an earlier figure from this machine, or empty
  std::string notes{};
  bool on_hub_path = true;  // false: a comparison, not a limit of the measured configuration
  std::vector<double> rates{};
  std::vector<std::string> details{};  // Rate::detail of each run
};

struct Report {
  std::optional<LoadOptions> load_options;
  std::optional<LoadResult> load;
  std::vector<CeilingRuns> ceilings;
  double ceiling_frame_bytes = 0;
};

void print_markdown(const Report& report, std::ostream& out);
void print_lines(const Report& report, std::ostream& out);

}  // namespace reflex::bench
