// cluster: hubs sharing one PostgreSQL, measured.
//
//   cluster [all|ingest|failover] [--hub PATH] [--events 1000000] [--repeat 3]
//           [--trials 10] [--lease 2] ...
//
// ingest    durable events/s of one hub on SQLite, one hub on PostgreSQL and two hubs on
//           one PostgreSQL, in one run, runs interleaved (bench/cluster_ingest.h);
// failover  from the leader's SIGKILL to the first notification the new leader sends,
//           over --trials trials (bench/cluster_failover.h).
// Both use one throwaway PostgreSQL 15 server (tests/support/pg_server.h) with a fresh
// database per run. Progress goes to stderr; the report (Markdown, then
// "cluster_<name> <value>" lines) to stdout. Exit status 2 when a measurement is invalid
// (a store not holding exactly the events sent, a notification lost or sent twice), 1
// when the benchmark could not run. scripts/bench builds Release, runs this and updates
// docs/benchmarks.md.
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <random>

#include "bench/cluster_failover.h"
#include "bench/cluster_hubs.h"
#include "bench/cluster_ingest.h"
#include "bench/cluster_report.h"
#include "bench/support/paths.h"
#include "tests/support/pg_server.h"

using namespace reflex;
using namespace reflex::bench;

namespace {

using std::chrono::milliseconds;

// Runs every configuration `repeat` times, interleaved (each round starts with the next
// configuration), so a busy moment of the machine spreads over all of them. False when a
// run failed or was invalid.
bool run_ingest_rounds(ClusterReport& report, testing::PgServer& pg, int& databases) {
  bool ok = true;
  const size_t n = report.configs.size();
  for (int round = 0; round < report.repeat; ++round) {
    for (size_t i = 0; i < n; ++i) {
      const IngestConfig& c = report.configs[(static_cast<size_t>(round) + i) % n];
      std::cerr << "ingest " << c.title << ", run " << (round + 1) << "/" << report.repeat << "\n";
      auto run = run_ingest(c, report.load, pg, "ingest_" + std::to_string(++databases));
      if (!run) {
        std::cerr << "ingest " << c.title << " failed: " << run.status().to_string() << "\n";
        return false;
      }
      std::cerr << "  " << static_cast<uint64_t>(run->load.events_per_second) << " events/s, "
                << run->load.sent << " sent, " << run->load.acked << " acked, " << run->load.stored
                << " stored, " << run->ingesting << " hub(s) ingesting\n";
      if (!run->load.scratch_dir.empty()) std::cerr << "  kept " << run->load.scratch_dir << "\n";
      if (!run->valid()) ok = false;
      report.runs[c.key].push_back(std::move(run).value());
    }
  }
  return ok;
}

// False when a trial failed to run or measured an invalid failover.
bool run_failover_trials(ClusterReport& report, const FailoverOptions& options,
                         testing::PgServer& pg, int& databases) {
  std::mt19937_64 random(report.seed);
  // Anywhere in the leader's renewal cycle, which is a third of the lease.
  std::uniform_int_distribution<int64_t> pause_ms(0, options.lease.count() / 3);
  for (int i = 0; i < report.trials_wanted; ++i) {
    std::cerr << "failover trial " << (i + 1) << "/" << report.trials_wanted << "\n";
    const milliseconds pause(pause_ms(random));
    auto trial = run_failover_trial(options, pg, "failover_" + std::to_string(++databases), pause);
    if (!trial) {
      std::cerr << "failover trial failed: " << trial.status().to_string() << "\n";
      return false;
    }
    std::cerr << "  term after " << trial->elected_ms << " ms, posted after " << trial->posted_ms
              << " ms, " << trial->posted << " message(s)\n";
    if (!trial->scratch_dir.empty()) std::cerr << "  kept " << trial->scratch_dir << "\n";
    report.trials.push_back(*trial);
    if (!trial->valid()) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cluster: durable ingest on SQLite and PostgreSQL, and failover between hubs"};
  std::string mode = "all";
  ClusterReport report;
  report.configs = ingest_configs();
  report.repeat = 3;
  report.trials_wanted = 10;
  report.seed = std::random_device{}();
  LoadOptions& load = report.load;
  load.hub_binary = sibling_binary("hub", "reflex-hub");
  load.work_dir = default_work_dir();
  double time_limit_s = 30, drain_limit_s = 15, lease_s = 2;
  app.add_option("mode", mode, "all (default), ingest or failover")
      ->check(CLI::IsMember({"all", "ingest", "failover"}));
  app.add_option("--hub", load.hub_binary, "the reflex-hub binary")->capture_default_str();
  app.add_option("--agents", load.agents, "simulated agents, one CURVE DEALER each")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--events", load.events, "sequenced events per ingest run")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}));
  app.add_option("--window", load.window, "events in flight per agent")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000));
  app.add_option("--time-limit", time_limit_s, "seconds of sending per ingest run at most")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--drain-limit", drain_limit_s, "seconds to wait for the last acks")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--repeat", report.repeat, "runs of each ingest configuration (median reported)")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  app.add_option("--trials", report.trials_wanted, "failover trials")
      ->capture_default_str()
      ->check(CLI::Range(1, 200));
  app.add_option("--lease", lease_s, "cluster.lease of the failover trials, in seconds")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 600.0));
  app.add_option("--seed", report.seed, "seed of the pauses before the kills (default: random)");
  app.add_option("--dir", load.work_dir, "where scratch directories go")->capture_default_str();
  app.add_flag("--keep", load.keep_dir, "keep every run's scratch directory (configs, logs)");
  CLI11_PARSE(app, argc, argv);

  load.time_limit = milliseconds(static_cast<int64_t>(time_limit_s * 1000));
  load.drain_limit = milliseconds(static_cast<int64_t>(drain_limit_s * 1000));
  report.lease = milliseconds(static_cast<int64_t>(lease_s * 1000));
  const FailoverOptions failover{.hub_binary = load.hub_binary,
                                 .work_dir = load.work_dir,
                                 .lease = report.lease,
                                 .keep_dir = load.keep_dir};
  if (mode == "ingest") report.trials_wanted = 0;

  const auto started = std::chrono::steady_clock::now();
  int exit_code = 0;
  try {
    // Flushing as a production server does: SQLite in the same run flushes too.
    auto pg = testing::PgServer::launch({.durable = true});
    if (!pg) {
      std::cerr << "cannot start PostgreSQL: " << pg.status().to_string() << "\n";
      return 1;
    }
    auto version = query_text((*pg)->dsn(), "SHOW server_version");
    report.postgres_version = version ? *version : "15";
    int databases = 0;
    if (mode != "failover" && !run_ingest_rounds(report, **pg, databases)) exit_code = 2;
    if (mode != "ingest" && exit_code == 0 &&
        !run_failover_trials(report, failover, **pg, databases)) {
      exit_code = 2;
    }
  } catch (const std::exception& e) {
    // The test support throws when it cannot reserve a port or start its fake.
    std::cerr << "cluster: " << e.what() << "\n";
    return 1;
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  print_markdown(report, std::cout);
  std::cout << "\n";
  print_lines(report, std::cout);
  return exit_code;
}
