// The full hub ingest benchmark: a real reflex-hub process under the load of many agents.
//
// One process simulates the fleet: each agent is a CurveZMQ DEALER with its own key,
// enrolled in the hub's allowlist, that says hello, waits for the answer, then streams
// sequenced metrics events with at most `window` unacknowledged, as reflex-agent does.
// Everything is bounded: the run stops sending at the time limit and waits at most the
// drain limit for the last acknowledgements. Single-threaded; blocks for the whole run.
//
// run_load() is the whole run against one reflex-hub on SQLite that it starts itself.
// Its parts serve hubs started elsewhere (bench/cluster: hubs sharing a PostgreSQL):
// write_fleet() writes the keys every hub must be given, drive_load() streams the load
// to the hubs it is given, and the caller counts what their store holds.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/support/hub_process.h"
#include "bench/support/proc_stats.h"
#include "common/curve_keys.h"
#include "common/status.h"

namespace reflex::bench {

struct LoadOptions {
  std::string hub_binary;         // run_load() only
  std::string work_dir = "/tmp";  // run_load(): a scratch directory for the hub is made in here
  int agents = 50;
  uint64_t events = 1'000'000;  // in total, split evenly over the agents
  uint32_t window = 1000;       // events in flight per agent, as reflex-agent's default
  std::chrono::milliseconds time_limit{60'000};   // stop sending after this
  std::chrono::milliseconds drain_limit{15'000};  // then wait this long for acks
  int io_threads = 1;                             // ZeroMQ I/O threads of the load generator
  bool keep_dir = false;  // run_load(): leave the scratch directory (hub.log, hub.db) behind
};

struct LoadResult {
  uint64_t sent = 0;    // events sent (each once: nothing is lost on loopback)
  uint64_t acked = 0;   // events acknowledged as durable
  uint64_t stored = 0;  // rows in the hub's events table after it stopped (run_load())
  bool time_limited = false;
  double seconds = 0;  // first event sent -> last acknowledgement received
  double events_per_second = 0;
  double frame_bytes = 0;  // mean size of an event frame
  double ack_p50_ms = 0, ack_p99_ms = 0, ack_max_ms = 0;
  uint64_t hub_peak_rss_kb = 0;     // VmHWM at the end of the run
  uint64_t hub_sampled_rss_kb = 0;  // the highest VmRSS seen while streaming
  // Time on and waiting for a CPU while streaming (profile_seconds of wall time), per
  // thread name (summed over the hubs when there are several).
  double profile_seconds = 0;
  std::map<std::string, ThreadTime> hub_threads;
  std::map<std::string, ThreadTime> load_threads;
  // From the hubs' /metrics, while streaming, summed.
  double commits = 0;
  double commit_seconds = 0;
  uint64_t errors = 0;  // error frames from the hub, undecodable replies
  std::string first_error;
  std::string scratch_dir;  // set when kept
  // The CREATE statements of the events table and its indexes in the hub's store.
  std::vector<std::string> events_schema;
};

// The simulated fleet's keys, written into a directory where hubs read them: the hub's
// CURVE key pair (one for every hub of a cluster, as agents pin it), one key per agent and
// the allowlist naming them.
struct Fleet {
  std::string hub_public_key;
  std::string hub_secret_key_file;
  std::string allowlist_file;
  std::vector<curve::Keypair> agent_keys;  // agent i: agent_id(i)

  // `security: {...}` for a hub.yaml, one line.
  std::string security_yaml() const;
};
Result<Fleet> write_fleet(const ScratchDir& dir, int agents);

// A hub the load goes to: its agent endpoint, and its process and HTTP port for the
// profile, the memory figures and the commit counters.
struct LoadTarget {
  std::string endpoint;
  pid_t pid = 0;
  int http_port = 0;
  bool metrics = true;  // serves /metrics (a standby hub of a cluster does not)
};

// Streams `options.events` from `options.agents` simulated agents, agent i to
// targets[i % targets.size()], and fills `result` except `stored` and `events_schema`. The
// hubs must run with `fleet`'s keys; they are left running.
Status drive_load(const LoadOptions& options, const Fleet& fleet,
                  const std::vector<LoadTarget>& targets, LoadResult& result);

// The whole run: starts options.hub_binary on a SQLite store in a scratch directory, drives
// the load to it, stops it and reads its store.
Result<LoadResult> run_load(const LoadOptions& options);

}  // namespace reflex::bench
