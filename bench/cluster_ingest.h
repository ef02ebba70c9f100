// Durable ingest on each store a hub can have, in one run: one hub on SQLite, one hub on
// PostgreSQL, two hubs sharing one PostgreSQL. The same simulated fleet (hub_ingest's load
// generator, bench/hub_ingest_load.h) drives each; a run counts only when the store holds
// exactly the events sent and every one was acknowledged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/hub_ingest_load.h"
#include "common/status.h"

namespace reflex::testing {
class PgServer;
}

namespace reflex::bench {

enum class IngestStore { sqlite, postgres };

struct IngestConfig {
  std::string key;    // "sqlite", "pg_one", "pg_two": for the report's lines
  std::string title;  // "one hub, SQLite"
  IngestStore store = IngestStore::sqlite;
  int hubs = 1;
};

// The three configurations, in the order they are reported.
std::vector<IngestConfig> ingest_configs();

struct IngestRun {
  LoadResult load;    // load.stored: rows in the events table after the hubs stopped
  int ingesting = 0;  // hubs whose ready file named an agent endpoint, and got agents
  // PostgreSQL only: the events table's size (with its TOAST) after the run, and the WAL
  // the server wrote while the hubs streamed and stopped.
  uint64_t table_bytes = 0;
  uint64_t wal_bytes = 0;
  // Two hubs: after the last acknowledgement, until the leader had taken every event a
  // standby queued for it (included in load.seconds and load.events_per_second).
  double relay_drain_seconds = 0;

  bool valid() const { return load.stored == load.sent && load.acked == load.sent; }
};

// One run of `config`. PostgreSQL runs get a fresh database `database` of `pg`; `load`'s
// hub_binary, work_dir and keep_dir apply to them too.
Result<IngestRun> run_ingest(const IngestConfig& config, const LoadOptions& load,
                             testing::PgServer& pg, const std::string& database);

}  // namespace reflex::bench
