// The full hub ingest benchmark: a real reflex-hub process under the load of many agents.
//
// One process simulates the fleet: each agent is a CurveZMQ DEALER with its own key,
// enrolled in the hub's allowlist, that says hello, waits for the answer, then streams
// sequenced metrics events with at most `window` unacknowledged, as reflex-agent does.
// Everything is bounded: the run stops sending at the time limit and waits at most the
// drain limit for the last acknowledgements. Single-threaded; blocks for the whole run.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/support/proc_stats.h"
#include "common/status.h"

namespace reflex::bench {

struct LoadOptions {
  std::string hub_binary;
  std::string work_dir = "/tmp";  // a scratch directory for the hub is made in here
  int agents = 50;
  uint64_t events = 1'000'000;  // in total, split evenly over the agents
  uint32_t window = 1000;       // events in flight per agent, as reflex-agent's default
  std::chrono::milliseconds time_limit{60'000};   // stop sending after this
  std::chrono::milliseconds drain_limit{15'000};  // then wait this long for acks
  int io_threads = 1;                             // ZeroMQ I/O threads of the load generator
  bool keep_dir = false;  // leave the scratch directory (hub.log, hub.db) behind
};

struct LoadResult {
  uint64_t sent = 0;    // events sent (each once: nothing is lost on loopback)
  uint64_t acked = 0;   // events acknowledged as durable
  uint64_t stored = 0;  // rows in the hub's events table after it stopped
  bool time_limited = false;
  double seconds = 0;  // first event sent -> last acknowledgement received
  double events_per_second = 0;
  double frame_bytes = 0;  // mean size of an event frame
  double ack_p50_ms = 0, ack_p99_ms = 0, ack_max_ms = 0;
  uint64_t hub_peak_rss_kb = 0;     // VmHWM at the end of the run
  uint64_t hub_sampled_rss_kb = 0;  // the highest VmRSS seen while streaming
  // Time on and waiting for a CPU while streaming (profile_seconds of wall time), per
  // thread name.
  double profile_seconds = 0;
  std::map<std::string, ThreadTime> hub_threads;
  std::map<std::string, ThreadTime> load_threads;
  // From the hub's /metrics, while streaming.
  double commits = 0;
  double commit_seconds = 0;
  uint64_t errors = 0;  // error frames from the hub, undecodable replies
  std::string first_error;
  std::string scratch_dir;  // set when kept
  // The CREATE statements of the events table and its indexes in the hub's store.
  std::vector<std::string> events_schema;
};

Result<LoadResult> run_load(const LoadOptions& options);

}  // namespace reflex::bench
