// incidents: the hub's incident stage under load, beside Alertmanager from Debian.
//
//   incidents [all|correlation|memory|ingest] [--hub PATH] [--alertmanager PATH] ...
//
//   correlation  signals/s through the incident engine and suppression stage holding 10,
//                1,000 and 100,000 open alerts (in process; must stay within 20%)
//   memory       RSS of reflex-hub and of Alertmanager each holding the same 100,000
//                open alerts, posted through POST /api/v2/alerts
//   ingest       POST /api/v2/alerts with 1 and with 100 alerts per request, the same
//                client against both; the hub must have committed every alert, which the
//                benchmark checks in its store afterwards
//
// Progress goes to stderr; the report (Markdown, then "incidents_<name> <value>" lines)
// to stdout. scripts/bench builds Release, runs this and updates docs/benchmarks.md.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "bench/agent_footprint_daemons.h"
#include "bench/incidents_correlation.h"
#include "bench/incidents_load.h"
#include "bench/incidents_servers.h"
#include "bench/support/format.h"
#include "bench/support/paths.h"
#include "bench/support/proc_stats.h"
#include "bench/support/stats.h"

using namespace reflex;
using namespace reflex::bench;

namespace {

struct Options {
  std::string mode = "all";
  std::string hub_binary;
  std::string alertmanager_binary;
  std::string work_dir;
  CorrelationOptions correlation;
  size_t memory_alerts = 100'000;
  size_t ingest_alerts = 50'000;
  size_t connections = 16;
  int repeat = 3;
  size_t services = 1'000;
  std::vector<size_t> per_request = {1, 100};
  std::string receiver = "both";  // or one of them alone, for profiling it
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using Starter = std::function<Result<std::unique_ptr<Receiver>>(const ScratchDir&)>;

struct Contender {
  std::string name;
  Starter start;
  bool is_reflex = false;
};

// Starts `who` in a fresh directory, posts `bodies`, optionally lets `observe` look at the
// running process, stops it and, for the hub, checks that its store holds every alert.
Result<LoadResult> post_to_fresh(const Options& opt, const Contender& who,
                                 const AlertBodies& bodies, size_t connections,
                                 const std::function<void(pid_t)>& observe = {}) {
  auto dir = ScratchDir::create(opt.work_dir, "reflex-bench-incidents-");
  if (!dir) return dir.status();
  auto receiver = who.start(**dir);
  if (!receiver) return receiver.status();
  auto load = post_all((*receiver)->http_port(), "/api/v2/alerts", bodies, connections);
  if (!load) return load.status();
  if (observe) observe((*receiver)->pid());
  REFLEX_RETURN_IF_ERROR((*receiver)->stop());
  if (who.is_reflex) {
    auto stored = stored_external_alerts(**dir);
    if (!stored) return stored.status();
    if (*stored != bodies.alerts) {
      (*dir)->keep();
      return Status::error("incidents", "the hub acknowledged " + std::to_string(bodies.alerts) +
                                            " alerts but its store holds " +
                                            std::to_string(*stored) + " (kept " +
                                            (*dir)->path().string() + ")");
    }
  }
  return load;
}

int run_correlation(const Options& opt) {
  auto runs = measure_correlation(opt.correlation);
  if (!runs) {
    std::cerr << "correlation failed: " << runs.status().to_string() << "\n";
    return 1;
  }
  std::cout << "### Correlation throughput\n\n"
            << "Signals through the incident engine with the suppression stage as its hook "
               "(3 silences, a dependency chain, one inhibit rule), "
            << grouped(static_cast<double>(opt.correlation.events))
            << " firing/resolved transitions of random open alerts per size and run (the sizes "
               "fed in turns of "
            << grouped(static_cast<double>(opt.correlation.chunk)) << "), median of "
            << opt.correlation.repeat << " runs.\n\n"
            << "| open alerts | open incidents | signals/s (median) | runs |\n"
            << "|---:|---:|---:|---|\n";
  double lowest = 0, highest = 0;
  for (const auto& run : *runs) {
    const double m = median(run.per_second);
    lowest = lowest == 0 ? m : std::min(lowest, m);
    highest = std::max(highest, m);
    std::string all;
    for (double r : run.per_second) all += (all.empty() ? "" : ", ") + grouped(r);
    std::cout << "| " << grouped(static_cast<double>(run.open_alerts)) << " | " << run.incidents
              << " | " << grouped(m) << " | " << all << " |\n";
  }
  const double spread = highest > 0 ? (highest - lowest) / highest * 100 : 0;
  std::cout << "\nSlowest median is " << fixed(spread, 1)
            << "% below the fastest (target: within 20%): " << (spread <= 20 ? "met" : "MISSED")
            << ".\n\n";
  for (const auto& run : *runs) {
    std::cout << "incidents_correlation_per_s_" << run.open_alerts << " "
              << fixed(median(run.per_second), 0) << "\n";
  }
  std::cout << "incidents_correlation_spread_pct " << fixed(spread, 1) << "\n";
  return 0;
}

int run_memory(const Options& opt, const std::vector<Contender>& contenders) {
  const AlertBodies bodies = make_alert_bodies(0, opt.memory_alerts, 100, opt.services, now_ms());
  std::map<std::string, Memory> memory;
  for (const auto& who : contenders) {
    std::cerr << "memory: " << who.name << " with " << opt.memory_alerts << " alerts\n";
    auto load = post_to_fresh(opt, who, bodies, 4, [&](pid_t pid) {
      // Let background work (Go's collector, the hub's commits) settle before reading.
      std::this_thread::sleep_for(std::chrono::seconds(3));
      memory[who.name] = read_memory(pid);
    });
    if (!load) {
      std::cerr << "memory failed for " << who.name << ": " << load.status().to_string() << "\n";
      return 1;
    }
  }
  const double reflex_mib = memory["reflex-hub"].rss_kb / 1024.0;
  const double am_mib = memory["alertmanager"].rss_kb / 1024.0;
  const double ratio = am_mib > 0 ? reflex_mib / am_mib : 0;
  std::cout << "### Memory with " << grouped(static_cast<double>(opt.memory_alerts))
            << " open alerts\n\n"
            << "Each receiver started fresh and was sent the same alerts (100 per request), "
               "then left 3 s to settle.\n\n"
            << "| receiver | RSS (MiB) | peak RSS (MiB) |\n|---|---:|---:|\n";
  for (const auto& who : contenders) {
    std::cout << "| " << who.name << " | " << fixed(memory[who.name].rss_kb / 1024.0, 1) << " | "
              << fixed(memory[who.name].peak_kb / 1024.0, 1) << " |\n";
  }
  if (contenders.size() < 2) return 0;  // --receiver: one side alone, nothing to compare
  std::cout << "\nreflex-hub holds them in " << fixed(ratio * 100, 0)
            << "% of Alertmanager's RSS (target: under 33%): "
            << (ratio > 0 && ratio < 1.0 / 3 ? "met" : "MISSED") << ".\n\n"
            << "incidents_memory_reflex_mib " << fixed(reflex_mib, 1) << "\n"
            << "incidents_memory_alertmanager_mib " << fixed(am_mib, 1) << "\n";
  return 0;
}

int run_ingest(const Options& opt, const std::vector<Contender>& contenders) {
  std::cout
      << "### POST /api/v2/alerts ingest\n\n"
      << opt.connections << " keep-alive connections, "
      << grouped(static_cast<double>(opt.ingest_alerts))
      << " distinct alerts per run, each receiver started fresh per run; median of " << opt.repeat
      << " runs, alternating which goes first. reflex-hub answers after "
         "its SQLite commit (synchronous=FULL); the benchmark checks its store holds "
         "every alert. Alertmanager keeps them in memory.\n\n"
      << "| alerts per request | receiver | alerts/s (median) | runs |\n|---:|---|---:|---|\n";
  std::vector<std::string> lines;
  bool met = true;
  for (size_t per_request : opt.per_request) {
    const AlertBodies bodies =
        make_alert_bodies(0, opt.ingest_alerts, per_request, opt.services, now_ms());
    std::map<std::string, std::vector<double>> rates;
    for (int r = 0; r < opt.repeat; ++r) {
      for (size_t k = 0; k < contenders.size(); ++k) {
        const auto& who = contenders[(k + r) % contenders.size()];
        std::cerr << "ingest: " << per_request << " per request, " << who.name << " run " << (r + 1)
                  << "/" << opt.repeat << "\n";
        auto load = post_to_fresh(opt, who, bodies, opt.connections);
        if (!load) {
          std::cerr << "ingest failed for " << who.name << ": " << load.status().to_string()
                    << "\n";
          return 1;
        }
        rates[who.name].push_back(load->alerts_per_second());
      }
    }
    for (const auto& who : contenders) {
      std::string all;
      for (double v : rates[who.name]) all += (all.empty() ? "" : ", ") + grouped(v);
      std::cout << "| " << per_request << " | " << who.name << " | "
                << grouped(median(rates[who.name])) << " | " << all << " |\n";
      lines.push_back("incidents_ingest_" + std::to_string(per_request) + "_" +
                      (who.is_reflex ? "reflex" : "alertmanager") + "_per_s " +
                      fixed(median(rates[who.name]), 0));
    }
    if (contenders.size() == 2) {
      met = met && median(rates["reflex-hub"]) >= median(rates["alertmanager"]);
    }
  }
  if (contenders.size() == 2) {
    std::cout << "\nreflex-hub at least equal to Alertmanager at both sizes: "
              << (met ? "met" : "MISSED") << ".\n\n";
  }
  for (const auto& line : lines) std::cout << line << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  opt.hub_binary = sibling_binary("hub", "reflex-hub");
  opt.alertmanager_binary = find_program("prometheus-alertmanager");
  opt.work_dir = default_work_dir();

  CLI::App app{"The hub's incident stage under load, beside Alertmanager"};
  app.add_option("mode", opt.mode, "all, correlation, memory or ingest")
      ->check(CLI::IsMember({"all", "correlation", "memory", "ingest"}));
  app.add_option("--hub", opt.hub_binary, "reflex-hub binary");
  app.add_option("--alertmanager", opt.alertmanager_binary, "Alertmanager binary");
  app.add_option("--work-dir", opt.work_dir, "where scratch directories go");
  app.add_option("--events", opt.correlation.events, "signals per correlation run")
      ->check(CLI::Range(1000, 100'000'000));
  app.add_option("--open-alerts", opt.correlation.open_alerts,
                 "open alert counts the correlation runs compare")
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--memory-alerts", opt.memory_alerts, "open alerts for the memory comparison")
      ->check(CLI::Range(100, 10'000'000));
  app.add_option("--ingest-alerts", opt.ingest_alerts, "alerts per ingest run")
      ->check(CLI::Range(100, 10'000'000));
  app.add_option("--connections", opt.connections, "load client connections")
      ->check(CLI::Range(1, 512));
  app.add_option("--repeat", opt.repeat, "runs per measurement (correlation: at least 5)")
      ->check(CLI::Range(1, 50));
  app.add_option("--per-request", opt.per_request, "alerts per request in the ingest runs")
      ->check(CLI::Range(1, 10'000));
  app.add_option("--receiver", opt.receiver, "both, or only reflex-hub or alertmanager")
      ->check(CLI::IsMember({"both", "reflex-hub", "alertmanager"}));
  CLI11_PARSE(app, argc, argv);
  // Single correlation runs vary by up to 30% on a shared VM; the median of five runs
  // is what the 20% target is judged on.
  opt.correlation.repeat = std::max(opt.repeat, 5);

  if (opt.mode != "correlation" && opt.alertmanager_binary.empty()) {
    std::cerr << "incidents: prometheus-alertmanager not found (scripts/install-deps --bench "
                 "installs it); pass --alertmanager PATH\n";
    return 2;
  }
  auto guard = OrphanGuard::start();
  if (!guard) {
    std::cerr << "incidents: " << guard.status().to_string() << "\n";
    return 1;
  }
  std::vector<Contender> contenders = {
      {.name = "reflex-hub",
       .start = [&](const ScratchDir& dir) { return start_reflex(opt.hub_binary, dir); },
       .is_reflex = true},
      {.name = "alertmanager",
       .start =
           [&](const ScratchDir& dir) {
             return start_alertmanager(opt.alertmanager_binary, dir, guard->get());
           },
       .is_reflex = false},
  };

  if (opt.receiver != "both") {
    std::erase_if(contenders, [&](const Contender& c) { return c.name != opt.receiver; });
  }

  int status = 0;
  if (opt.mode == "all" || opt.mode == "correlation") status |= run_correlation(opt);
  if (status == 0 && (opt.mode == "all" || opt.mode == "memory")) {
    status |= run_memory(opt, contenders);
  }
  if (status == 0 && (opt.mode == "all" || opt.mode == "ingest")) {
    status |= run_ingest(opt, contenders);
  }
  if (!opt.alertmanager_binary.empty()) {
    std::cout << "\nincidents_alertmanager_version \"" << package_version("prometheus-alertmanager")
              << "\"\n";
  }
  return status;
}
