#include "bench/cluster_ingest.h"

#include "bench/cluster_hubs.h"
#include "bench/support/hub_process.h"
#include "tests/support/pg_server.h"

#include <chrono>
#include <thread>

namespace reflex::bench {
namespace {

// Where the server's WAL stands, in bytes since its start; the whole server's, so runs
// must not overlap (they do not).
Result<uint64_t> wal_position(const std::string& dsn) {
  auto text = query_text(dsn, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint");
  if (!text) return text.status();
  return static_cast<uint64_t>(std::stoull(*text));
}

// Waits (at most `limit`) until the leader has taken every event the standbys queued for
// it (event_relay empty); returns how long that took.
Result<double> drain_relay(const std::string& dsn, std::chrono::milliseconds limit) {
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    auto left = query_text(dsn, "SELECT count(*) FROM event_relay");
    if (!left) return left.status();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (*left == "0") return seconds;
    if (seconds * 1000 > static_cast<double>(limit.count())) {
      return Status::error("timeout", *left + " queued events still wait for the leader after " +
                                          std::to_string(limit.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Hubs sharing a fresh database: the fleet's keys on every hub, the load spread over the
// hubs that ingest (every hub), then the rows counted.
Result<IngestRun> run_on_postgres(const IngestConfig& config, const LoadOptions& load,
                                  testing::PgServer& pg, const std::string& database) {
  IngestRun run;
  REFLEX_RETURN_IF_ERROR(pg.create_database(database));
  auto dir = ScratchDir::create(load.work_dir, "reflex-bench-cluster-");
  if (!dir) return dir.status();
  if (load.keep_dir) {
    (*dir)->keep();
    run.load.scratch_dir = (*dir)->path().string();
  }
  auto fleet = write_fleet(**dir, load.agents);
  if (!fleet) return fleet.status();
  const std::string dsn = pg.dsn_for(database);
  // The default lease: failover is not under test here.
  const ClusterSetup setup{.hub_binary = load.hub_binary,
                           .dsn = dsn,
                           .lease = std::chrono::milliseconds(10'000),
                           .extra_yaml = fleet->security_yaml() + "\n"};
  auto hubs = start_cluster(setup, (*dir)->path(), config.hubs);
  if (!hubs) return hubs.status();
  auto ingesting = ingesting_hubs(*hubs);
  if (!ingesting) return ingesting.status();
  std::vector<LoadTarget> targets;
  for (const HubProcess* hub : *ingesting) {
    // A standby serves no /metrics: the commit counters are the leader's.
    targets.push_back(
        {hub->ingest_endpoint(), hub->pid(), hub->http_port(), hub->role() == "leader"});
  }
  run.ingesting = static_cast<int>(std::min(targets.size(), static_cast<size_t>(load.agents)));
  auto wal_before = wal_position(dsn);
  if (!wal_before) return wal_before.status();
  REFLEX_RETURN_IF_ERROR(drive_load(load, *fleet, targets, run.load));
  // What a standby acknowledged is stored, but what it queued for the leader is acted on
  // only once the leader has taken it: the run lasts until then.
  auto drained = drain_relay(dsn, load.drain_limit);
  if (!drained) return drained.status();
  run.relay_drain_seconds = *drained;
  run.load.seconds += *drained;
  if (run.load.seconds > 0) {
    run.load.events_per_second = static_cast<double>(run.load.acked) / run.load.seconds;
  }
  REFLEX_RETURN_IF_ERROR(stop_cluster(*hubs));
  auto wal_after = wal_position(dsn);
  if (!wal_after) return wal_after.status();
  run.wal_bytes = *wal_after - *wal_before;
  auto stored = count_events(dsn);
  if (!stored) return stored.status().with_context("counting the events in " + database);
  run.load.stored = *stored;
  auto table = query_text(dsn, "SELECT pg_total_relation_size('events')");
  if (!table) return table.status();
  run.table_bytes = static_cast<uint64_t>(std::stoull(*table));
  // A run's rows are not needed once counted; the next run gets a fresh database.
  if (!load.keep_dir) REFLEX_RETURN_IF_ERROR(drop_database(pg.dsn(), database));
  return run;
}

}  // namespace

std::vector<IngestConfig> ingest_configs() {
  return {
      {.key = "sqlite", .title = "one hub, SQLite", .store = IngestStore::sqlite, .hubs = 1},
      {.key = "pg_one", .title = "one hub, PostgreSQL", .store = IngestStore::postgres, .hubs = 1},
      {.key = "pg_two",
       .title = "two hubs, one PostgreSQL",
       .store = IngestStore::postgres,
       .hubs = 2},
  };
}

Result<IngestRun> run_ingest(const IngestConfig& config, const LoadOptions& load,
                             testing::PgServer& pg, const std::string& database) {
  if (config.store == IngestStore::postgres) return run_on_postgres(config, load, pg, database);
  auto result = run_load(load);
  if (!result) return result.status();
  return IngestRun{.load = std::move(result).value(), .ingesting = 1};
}

}  // namespace reflex::bench
