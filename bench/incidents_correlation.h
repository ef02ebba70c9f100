// The correlation stage alone, in process: how many alert signals per second the
// incident engine (with the suppression stage as its hook: silences, a maintenance-free
// window set, dependency inhibition and an inhibit rule) takes while it already holds
// 10, 1,000 or 100,000 open alerts. No I/O: this is the cost the hub's loop pays per
// signal before the group commit, which must not grow with what is open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace reflex::bench {

struct CorrelationOptions {
  std::vector<size_t> open_alerts{10, 1'000, 100'000};
  size_t events = 200'000;  // signals measured per size and run
  size_t chunk = 10'000;    // the sizes are fed in turns of this many signals
  int repeat = 5;
  size_t services = 1'000;  // incidents group by service (and env)
};

struct CorrelationRun {
  size_t open_alerts = 0;
  std::vector<double> per_second;  // one per repeat
  double preload_seconds = 0;      // building the open set, first repeat
  size_t incidents = 0;            // open incidents the engine held
};

// One CorrelationRun per size in options.open_alerts, in order.
Result<std::vector<CorrelationRun>> measure_correlation(const CorrelationOptions& options);

}  // namespace reflex::bench
