// hub_ingest: how many events per second a real reflex-hub makes durable, next to the
// ceilings of the parts of its path (ZeroMQ, decoding, SQLite) measured in the same run.
//
//   hub_ingest [all|full|ceilings] [--hub PATH] [--agents 50] [--events 1000000] ...
//
// Progress goes to stderr; the report (Markdown, then "hub_ingest_<name> <value>" lines)
// to stdout. scripts/bench builds Release, runs this and updates docs/benchmarks.md.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "bench/hub_ingest_ceilings.h"
#include "bench/hub_ingest_load.h"
#include "bench/hub_ingest_report.h"
#include "bench/hub_ingest_workload.h"
#include "bench/support/paths.h"

using namespace reflex;
using namespace reflex::bench;

namespace {

// Distinct frames the ceilings cycle through.
constexpr size_t kCeilingFrames = 50'000;

// Runs `measure` `repeat` times into `runs`; the first failure ends the benchmark.
template <class Measure>
bool repeat_into(CeilingRuns& runs, int repeat, Measure measure) {
  for (int i = 0; i < repeat; ++i) {
    std::cerr << "ceiling " << runs.key << " run " << (i + 1) << "/" << repeat << "\n";
    Result<Rate> rate = measure();
    if (!rate) {
      std::cerr << "ceiling " << runs.key << " failed: " << rate.status().to_string() << "\n";
      return false;
    }
    runs.rates.push_back(rate->per_second());
    runs.details.push_back(rate->detail);
  }
  return true;
}

// How the SQLite ceiling's table was made, in a few words.
std::string schema_text(const CeilingOptions& opt) {
  if (opt.events_schema.empty()) return "table as in `bench/hub_ingest_ceilings.cc` (no full run)";
  const std::string& table = opt.events_schema.front();
  const size_t indexes = opt.events_schema.size() - 1;
  std::string out = "the schema read from the hub's store: ";
  out += table.find("WITHOUT ROWID") != std::string::npos ? "WITHOUT ROWID, " : "rowid table, ";
  out += table.find("PRIMARY KEY") != std::string::npos ? "primary key, " : "no primary key, ";
  if (indexes == 0) return out + "no other index";
  return out + std::to_string(indexes) + (indexes == 1 ? " index" : " indexes");
}

bool run_ceilings(Report& report, const CeilingOptions& opt, int repeat) {
  const auto frames = sample_frames(opt.agents, kCeilingFrames, 1'700'000'000'000);
  size_t bytes = 0;
  for (const auto& f : frames) bytes += f.size();
  report.ceiling_frame_bytes = static_cast<double>(bytes) / static_cast<double>(frames.size());
  const std::string rows = std::to_string(opt.rows_per_commit) + " rows/transaction";

  CeilingRuns curve{.key = "zmq_curve",
                    .title = "ZeroMQ CurveZMQ, 1 DEALER -> ROUTER, tcp loopback",
                    .unit = "frames/s",
                    .notes = "receiver only counts"};
  CeilingRuns decode{.key = "decode",
                     .title = "`protocol::decode`, one core",
                     .unit = "decodes/s",
                     .reference = "~800,000/s per core",
                     .notes = "per second of the thread's CPU time"};
  CeilingRuns store{.key = "sqlite",
                    .title = "SQLite insert, the hub's events table",
                    .unit = "rows/s",
                    .reference = "~600,000 rows/s",
                    .notes = rows + ", WAL, synchronous=FULL, " + schema_text(opt)};
  CeilingRuns plain{.key = "zmq_plaintext",
                    .title = "ZeroMQ plaintext, 1 DEALER -> ROUTER, tcp loopback",
                    .unit = "frames/s",
                    .reference = "~2,500,000 frames/s",
                    .notes = "the hub here runs CurveZMQ",
                    .on_hub_path = false};
  CeilingRuns indexed{.key = "sqlite_indexed",
                      .title = "SQLite insert with one secondary index",
                      .unit = "rows/s",
                      .reference = "~100,000 rows/s",
                      .notes = std::string("as above plus `") + kSecondaryIndexSql + "`",
                      .on_hub_path = false};
  const bool ok =
      repeat_into(curve, repeat, [&] { return zmq_throughput(frames, true, opt); }) &&
      repeat_into(plain, repeat, [&] { return zmq_throughput(frames, false, opt); }) &&
      repeat_into(decode, repeat, [&] { return decode_rate(frames, opt); }) &&
      repeat_into(store, repeat, [&] { return sqlite_insert_rate(frames, false, opt); }) &&
      repeat_into(indexed, repeat, [&] { return sqlite_insert_rate(frames, true, opt); });
  report.ceilings = {curve, decode, store, plain, indexed};
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hub_ingest: durable events/s of a real reflex-hub, and the ceilings of its path"};
  std::string mode = "all";
  LoadOptions load;
  load.hub_binary = sibling_binary("hub", "reflex-hub");
  load.work_dir = default_work_dir();
  CeilingOptions ceilings;
  double time_limit_s = 60, drain_limit_s = 15, ceiling_limit_s = 3;
  int repeat = 3;
  app.add_option("mode", mode, "all (default), full (the hub only) or ceilings")
      ->check(CLI::IsMember({"all", "full", "ceilings"}));
  app.add_option("--hub", load.hub_binary, "the reflex-hub binary")->capture_default_str();
  app.add_option("--agents", load.agents, "simulated agents, one CURVE DEALER each")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--events", load.events, "sequenced events in total")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}));
  app.add_option("--window", load.window, "events in flight per agent")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000));
  app.add_option("--time-limit", time_limit_s, "seconds of sending at most")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--drain-limit", drain_limit_s, "seconds to wait for the last acks")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--io-threads", load.io_threads, "ZeroMQ I/O threads of the load generator")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  app.add_option("--repeat", repeat, "runs of each ceiling (the median is reported)")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  app.add_option("--ceiling-time-limit", ceiling_limit_s, "seconds per ceiling run at most")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--rows-per-commit", ceilings.rows_per_commit,
                 "rows per transaction in the SQLite ceilings (the hub commits <= 1024 frames)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000}));
  app.add_option("--dir", load.work_dir, "where scratch directories go (the hub's store, SQLite)")
      ->capture_default_str();
  app.add_flag("--keep", load.keep_dir, "keep the hub's scratch directory (hub.log, hub.db)");
  CLI11_PARSE(app, argc, argv);

  load.time_limit = std::chrono::milliseconds(static_cast<int64_t>(time_limit_s * 1000));
  load.drain_limit = std::chrono::milliseconds(static_cast<int64_t>(drain_limit_s * 1000));
  ceilings.work_dir = load.work_dir;
  ceilings.agents = load.agents;
  ceilings.time_limit = std::chrono::milliseconds(static_cast<int64_t>(ceiling_limit_s * 1000));

  Report report;
  int exit_code = 0;
  if (mode != "ceilings") {
    std::cerr << "full run: " << load.hub_binary << ", " << load.agents << " agents, "
              << load.events << " events, window " << load.window << "\n";
    auto result = run_load(load);
    if (!result) {
      std::cerr << "full run failed: " << result.status().to_string() << "\n";
      return 1;
    }
    if (!result->scratch_dir.empty()) std::cerr << "kept " << result->scratch_dir << "\n";
    // A store that does not hold exactly what was sent is a failed benchmark.
    if (result->stored != result->sent || result->acked != result->sent) exit_code = 2;
    ceilings.events_schema = result->events_schema;
    report.load_options = load;
    report.load = std::move(result).value();
  }
  if (mode != "full" && !run_ceilings(report, ceilings, repeat)) exit_code = 1;
  print_markdown(report, std::cout);
  std::cout << "\n";
  print_lines(report, std::cout);
  return exit_code;
}
