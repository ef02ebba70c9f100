// agent_footprint: what a real reflex-agent costs with 50 checks at a 1 s interval and
// 10,000 StatsD datagrams/s, next to the idle footprint of Monit, collectd and
// zabbix_agentd measured in the same run.
//
//   agent_footprint [--agent PATH] [--hub PATH] [--seconds 60] [--warmup 5] ...
//
// It starts, in a scratch directory: a reflex-hub (loopback, found through its ready
// file), an HTTP server and a TCP listener for the checks to probe, the comparison
// daemons, and reflex-agent with a generated agent.yaml; it then sends the StatsD load and
// samples every program's /proc entries. Only the measured programs' own pids are
// counted, never this process. Progress goes to stderr; the report (Markdown, then
// "agent_footprint_<name> <value>" lines) to stdout. Exit status: 0 when it ran (whether
// or not the targets were met; the report says MISSED), 1 when it could not, 130 when
// interrupted. Every process it started is stopped on every way out.
#include <signal.h>
#include <unistd.h>

#include <httplib.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "bench/agent_footprint_config.h"
#include "bench/agent_footprint_daemons.h"
#include "bench/agent_footprint_report.h"
#include "bench/agent_footprint_sampler.h"
#include "bench/agent_footprint_statsd.h"
#include "bench/agent_footprint_targets.h"
#include "bench/support/child_process.h"
#include "bench/support/format.h"
#include "bench/support/hub_process.h"
#include "bench/support/paths.h"
#include "bench/support/proc_stats.h"

using namespace reflex;
using namespace reflex::bench;

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_interrupted{false};
void on_signal(int) {
  g_interrupted.store(true);
}

struct Options {
  std::string agent_binary;
  std::string hub_binary;
  std::string check_dummy = "/usr/lib/nagios/plugins/check_dummy";
  std::string work_dir;
  double seconds = 60;
  double warmup = 5;
  double sample_interval = 0.5;
  double statsd_rate = 10'000;
  double start_limit = 20;
  bool keep = false;
  bool compare = true;
};

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Sleeps up to `seconds`, waking early when interrupted or when `stop()` says so.
template <class Stop>
void pause_for(double seconds, Stop stop) {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until && !g_interrupted.load() && !stop()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// A program under measurement: its process, if it runs, and its samples.
struct Subject {
  SubjectResult result;
  std::unique_ptr<ChildProcess> process;
  std::vector<TreeSample> samples;
  TreeSample first, last;

  bool running() const { return process && result.failure.empty(); }
  // Records why it cannot be measured (once) when its process has ended.
  void check_alive(const std::string& when) {
    if (!running() || !process->exited()) return;
    result.failure = "exited " + when + " with status " + std::to_string(process->exit_status()) +
                     ": " + one_line(process->log_tail(300));
  }
  static std::string one_line(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    std::replace(text.begin(), text.end(), '|', '/');
    return text;
  }
};

// How many of `names` the text of the agent's /metrics mentions, as sent or with dots
// made underscores.
int names_seen(const std::string& metrics, const std::vector<std::string>& names) {
  int seen = 0;
  for (std::string name : names) {
    if (metrics.find(name) != std::string::npos) {
      ++seen;
      continue;
    }
    std::replace(name.begin(), name.end(), '.', '_');
    if (metrics.find(name) != std::string::npos) ++seen;
  }
  return seen;
}

int run(const Options& opt, OrphanGuard& guard) {
  auto scratch = ScratchDir::create(opt.work_dir, "reflex-agent-footprint-");
  if (!scratch) {
    std::cerr << scratch.status().to_string() << "\n";
    return 1;
  }
  ScratchDir& dir = **scratch;
  if (opt.keep) dir.keep();
  auto fail = [&](const std::string& what) {
    std::cerr << "agent_footprint: " << what << "\n";
    if (!opt.keep) std::cerr << "(rerun with --keep to keep " << dir.path().string() << ")\n";
    return 1;
  };

  // What the checks probe.
  auto http = HttpTarget::start();
  if (!http) return fail(http.status().to_string());
  auto tcp = TcpListener::start();
  if (!tcp) return fail(tcp.status().to_string());

  // The hub the agent reports to.
  const std::string hub_yaml =
      "listen: tcp://127.0.0.1:0\nhttp: 127.0.0.1:0\nstore: {path: " + dir.file("hub.db") + "}\n";
  if (auto st = dir.write("hub.yaml", hub_yaml); !st) return fail(st.to_string());
  auto hub = HubProcess::start(opt.hub_binary, dir.file("hub.yaml"), dir.path().string(),
                               dir.file("hub.log"), std::chrono::seconds(15));
  if (!hub) return fail("the hub did not start: " + hub.status().to_string());

  Subject agent;
  agent.result.key = "agent";
  agent.result.title = "reflex-agent";
  agent.result.workload =
      std::to_string(kPeriodicChecks) + " checks at 1 s (" + std::to_string(kHttpChecks) +
      " http, " + std::to_string(kTcpChecks) + " tcp, " + std::to_string(kCommandChecks) +
      " command, " + std::to_string(kProcessChecks) + " process, " + std::to_string(kHostChecks) +
      " host) + " + grouped(opt.statsd_rate) + " StatsD datagrams/s";
  std::vector<Subject> subjects;
  subjects.push_back(std::move(agent));

  // The comparison daemons, each in a directory of its own.
  if (opt.compare) {
    for (const ComparisonDaemon& d : comparison_daemons()) {
      Subject s;
      const std::string version = package_version(d.package);
      s.result.key = d.key;
      s.result.title = d.name + (version.empty() ? "" : " " + version);
      s.result.workload = d.workload;
      const std::string home = dir.file(d.key);
      std::error_code ec;
      std::filesystem::create_directories(home, ec);
      auto started = start_daemon(d, home, guard);
      if (started) {
        s.process = std::move(started).value();
        std::cerr << "started " << d.key << " (pid " << s.process->pid() << ")\n";
      } else {
        s.result.failure = started.status().message();
        std::cerr << d.key << ": " << s.result.failure << "\n";
      }
      subjects.push_back(std::move(s));
    }
  }
  Subject& the_agent = subjects.front();  // reflex-agent; the vector no longer grows

  // The agent, on ports chosen now.
  auto status_port = free_port(false);
  auto statsd_port = free_port(true);
  if (!status_port || !statsd_port) return fail("no free port on 127.0.0.1");
  char self_name[64] = {};
  {
    std::ifstream in("/proc/self/comm");
    in.getline(self_name, sizeof self_name);
  }
  AgentPlan plan;
  plan.hub_endpoint = (*hub)->ingest_endpoint();
  plan.spool_path = dir.file("spool.db");
  plan.status_port = *status_port;
  plan.http_port = (*http)->port();
  plan.tcp_port = (*tcp)->port();
  plan.statsd_port = *statsd_port;
  plan.check_dummy = opt.check_dummy;
  // Processes that exist for the whole run: the hub, this benchmark, the agent itself and
  // the first process of the machine.
  plan.process_names = {"reflex-hub", self_name, "reflex-agent", first_line("/proc/1/comm")};
  if (auto st = dir.write("agent.yaml", agent_yaml(plan)); !st) return fail(st.to_string());
  auto started = ChildProcess::start({opt.agent_binary, "--config", dir.file("agent.yaml")},
                                     dir.path().string(), dir.file("agent.log"), &guard);
  if (!started) return fail("cannot start the agent: " + started.status().to_string());
  the_agent.process = std::move(started).value();
  std::cerr << "started reflex-agent (pid " << the_agent.process->pid() << ") with "
            << kPeriodicChecks << " checks; waiting for its first HTTP check\n";

  // Up once its checks reach the HTTP target.
  pause_for(opt.start_limit,
            [&] { return (*http)->requests() > 0 || the_agent.process->exited(); });
  if (g_interrupted.load()) return 130;
  // A dead agent fails the run, with its whole log (the end of it, when long).
  auto agent_died = [&](const std::string& when) {
    return fail("reflex-agent exited " + when + " with status " +
                std::to_string(the_agent.process->exit_status()) + "; its log:\n" +
                the_agent.process->log_tail(6000));
  };
  if (the_agent.process->exited()) return agent_died("at start-up");
  if ((*http)->requests() == 0) {
    return fail("reflex-agent made no HTTP check request within " +
                std::to_string(static_cast<int>(opt.start_limit)) + " s; its log:\n" +
                the_agent.process->log_tail(6000));
  }

  auto sender = StatsdSender::start(*statsd_port, opt.statsd_rate, statsd_packets(4096, 1));
  if (!sender) return fail(sender.status().to_string());
  std::cerr << "sending " << opt.statsd_rate << " StatsD datagrams/s; warming up for " << opt.warmup
            << " s\n";
  pause_for(opt.warmup, [&] { return the_agent.process->exited(); });
  if (g_interrupted.load()) return 130;
  if (the_agent.process->exited()) return agent_died("during the warm-up");
  for (auto& s : subjects) s.check_alive("during the warm-up");

  // The measured window.
  std::cerr << "measuring for " << opt.seconds << " s\n";
  auto sample_all = [&](auto into) {
    const auto all = scan_processes();
    for (auto& s : subjects) {
      if (s.running()) into(s, sample_tree(s.process->pid(), all));
    }
  };
  const uint64_t sent0 = (*sender)->sent(), skipped0 = (*sender)->skipped(),
                 errors0 = (*sender)->errors();
  const uint64_t http0 = (*http)->requests(), tcp0 = (*tcp)->connections();
  const auto t0 = Clock::now();
  sample_all([](Subject& s, const TreeSample& t) {
    s.first = t;
    s.samples.push_back(t);
  });
  auto span = [](double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  const Clock::duration interval = span(opt.sample_interval);
  const Clock::time_point end = t0 + span(opt.seconds);
  auto next = t0;
  while (!g_interrupted.load()) {
    next += interval;
    if (next > end) next = end;
    std::this_thread::sleep_until(next);
    if (the_agent.process->exited()) return agent_died("during the measurement");
    for (auto& s : subjects) s.check_alive("during the measurement");
    sample_all([](Subject& s, const TreeSample& t) {
      s.last = t;
      s.samples.push_back(t);
    });
    if (next >= end) break;
  }
  if (g_interrupted.load()) return 130;
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();

  FootprintReport report;
  report.seconds = wall;
  report.warmup_seconds = opt.warmup;
  report.sample_interval = opt.sample_interval;
  report.statsd_rate = opt.statsd_rate;
  report.statsd_sent = (*sender)->sent() - sent0;
  report.statsd_skipped = (*sender)->skipped() - skipped0;
  report.statsd_errors = (*sender)->errors() - errors0;
  report.http_requests = (*http)->requests() - http0;
  report.tcp_connections = (*tcp)->connections() - tcp0;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  report.ticks_per_second = ticks;
  {
    const auto all = scan_processes();
    for (auto& s : subjects) {
      if (!s.running()) continue;
      s.result.footprint = summarize(s.samples, s.first, s.last, wall, ticks);
      s.result.hwm_kb = read_memory(s.process->pid()).peak_kb;
      s.result.pss_kb = tree_pss_kb(s.process->pid(), all);
    }
  }
  sender->reset();

  // What the agent says it took in, kept for a look afterwards.
  const auto names = statsd_metric_names();
  report.statsd_names_total = static_cast<int>(names.size());
  {
    httplib::Client client("127.0.0.1", *status_port);
    client.set_connection_timeout(2);
    client.set_read_timeout(5);
    if (auto res = client.Get("/metrics"); res && res->status == 200) {
      report.statsd_names_seen = names_seen(res->body, names);
      (void)dir.write("agent-metrics.txt", res->body);
    }
    if (auto res = client.Get("/status"); res && res->status == 200) {
      (void)dir.write("agent-status.json", res->body);
    }
  }

  // Stop everything; a program that needed SIGKILL is noted, not a failure of the run.
  if (auto st = the_agent.process->stop(std::chrono::seconds(10)); !st) {
    report.agent_stop_note = "reflex-agent " + st.message() + ".";
  } else if (the_agent.process->exit_status() != 0) {
    report.agent_stop_note = "reflex-agent exited with status " +
                             std::to_string(the_agent.process->exit_status()) + " on SIGTERM.";
  }
  for (auto& s : subjects) {
    if (s.process) (void)s.process->stop(std::chrono::seconds(5));
    report.subjects.push_back(s.result);
  }
  if (auto st = (*hub)->stop(std::chrono::seconds(10)); !st) {
    std::cerr << "note: the hub " << st.message() << "\n";
  }
  if (opt.keep) std::cerr << "kept " << dir.path().string() << "\n";

  print_markdown(report, std::cout);
  std::cout << "\n";
  print_lines(report, std::cout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "agent_footprint: RSS and CPU of a real reflex-agent under 50 checks at 1 s and a StatsD "
      "load, beside idle Monit, collectd and zabbix_agentd"};
  Options opt;
  opt.agent_binary = sibling_binary("agent", "reflex-agent");
  opt.hub_binary = sibling_binary("hub", "reflex-hub");
  opt.work_dir = default_work_dir();
  app.add_option("--agent", opt.agent_binary, "the reflex-agent binary")->capture_default_str();
  app.add_option("--hub", opt.hub_binary, "the reflex-hub binary")->capture_default_str();
  app.add_option("--check-dummy", opt.check_dummy, "the plugin the command checks run")
      ->capture_default_str();
  app.add_option("--seconds", opt.seconds, "length of the measured window")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--warmup", opt.warmup, "seconds of load before measuring")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  app.add_option("--sample-interval", opt.sample_interval, "seconds between RSS samples")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 60.0));
  app.add_option("--statsd-rate", opt.statsd_rate, "StatsD datagrams per second to the agent")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1'000'000.0));
  app.add_option("--start-limit", opt.start_limit,
                 "seconds to wait for the agent's first HTTP check")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 600.0));
  app.add_option("--dir", opt.work_dir, "where the scratch directory goes")->capture_default_str();
  app.add_flag("--keep", opt.keep,
               "keep the scratch directory (configs, logs, the agent's /metrics and /status)");
  app.add_flag("!--no-compare", opt.compare, "measure only reflex-agent, no comparison daemons");
  CLI11_PARSE(app, argc, argv);
  // The agent runs in the scratch directory.
  if (opt.check_dummy.find('/') != std::string::npos) {
    std::error_code ec;
    opt.check_dummy = std::filesystem::absolute(opt.check_dummy, ec).string();
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // Forked before any thread; kills what run() started if this process dies mid-way.
  auto guard = OrphanGuard::start();
  if (!guard) {
    std::cerr << "agent_footprint: " << guard.status().to_string() << "\n";
    return 1;
  }
  const int code = run(opt, **guard);
  if (code == 130) std::cerr << "agent_footprint: interrupted; stopped everything it started\n";
  return code;
}
