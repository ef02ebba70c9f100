// heal_latency: how long reflex-agent takes from a failure to the start of its
// remediation, next to Monit at its fastest setting (`set daemon 1`), in the same run.
//
//   heal_latency [--agent PATH] [--hub PATH] [--trials 25] [--process-interval 5] ...
//
// Two scenarios, each timed from the benchmark's CLOCK_REALTIME just before it breaks
// something to the CLOCK_REALTIME that heal_latency_stamp, the remediation command both
// supervisors run, reads first thing:
//   process: a service (a detached process with a pidfile) is SIGKILLed; the supervisor
//            runs the restart command (stamp, then start the service again);
//   http:    the HTTP target turns from 200 to 500; the supervisor runs its action (stamp).
// It starts, in a scratch directory: a reflex-hub (the agent reports to it), the HTTP
// target, reflex-agent and Monit with generated configurations (heal_latency_config.h),
// each supervising its own copy of the service, which each starts itself at first. The
// benchmark is the services' child subreaper and reaps a killed one at once. Progress
// goes to stderr; the report (Markdown, then "heal_latency_<name> <value>" lines) to
// stdout. Exit status: 0 when it ran (whether or not the targets were met; the report
// says MISSED), 1 when it could not, 130 when interrupted. Every process it started is
// stopped on every way out, and a service left behind exits when the benchmark is gone.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "bench/agent_footprint_daemons.h"
#include "bench/agent_footprint_targets.h"
#include "bench/heal_latency_config.h"
#include "bench/heal_latency_report.h"
#include "bench/heal_latency_trials.h"
#include "bench/support/child_process.h"
#include "bench/support/format.h"
#include "bench/support/hub_process.h"
#include "bench/support/paths.h"

using namespace reflex;
using namespace reflex::bench;
using namespace reflex::bench::heal;

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_interrupted{false};
void on_signal(int) {
  g_interrupted.store(true);
}

struct Options {
  std::string agent_binary;
  std::string hub_binary;
  std::string stamp_binary;
  std::string work_dir;
  int trials = 25;
  double process_interval = 60;
  double http_interval = 1;
  double wait_limit = 0;  // seconds; 0: from the intervals
  double max_pause = 1;   // seconds
  bool keep = false;
  bool compare = true;
  uint64_t seed = 0;  // of the pauses before each break; 0: from the clock
};

std::string absolute(const std::string& path) {
  std::error_code ec;
  return std::filesystem::absolute(path, ec).string();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int ms(double seconds) {
  return static_cast<int>(seconds * 1000);
}

Subject subject(std::string key, Supervised supervised, std::unique_ptr<Observer> observer) {
  Subject s;
  s.key = std::move(key);
  s.supervised = std::move(supervised);
  s.observer = std::move(observer);
  return s;
}

// What the run leaves behind: the services (named by their pidfiles) and orphans that
// exited. Declared before the supervisors, so on every way out it runs after they were
// stopped and cannot restart anything.
struct Leftovers {
  std::vector<std::string> pidfiles;
  std::vector<pid_t> started;  // the processes the run started itself
  void reap() const { reap_orphans(started); }
  ~Leftovers() {
    for (const auto& f : pidfiles) {
      const pid_t pid = read_pid(f);
      if (running(pid)) (void)kill_service(pid, 2000);
    }
    reap();
  }
};

int run(const Options& opt, OrphanGuard& guard) {
  auto scratch = ScratchDir::create(opt.work_dir, "reflex-heal-latency-");
  if (!scratch) {
    std::cerr << scratch.status().to_string() << "\n";
    return 1;
  }
  ScratchDir& dir = **scratch;
  if (opt.keep) dir.keep();
  auto fail = [&](const std::string& what) {
    std::cerr << "heal_latency: " << what << "\n";
    if (!opt.keep) std::cerr << "(rerun with --keep to keep " << dir.path().string() << ")\n";
    return 1;
  };
  const auto t0 = Clock::now();

  auto http = FlipServer::start();
  if (!http) return fail(http.status().to_string());
  const std::string hub_yaml =
      "listen: tcp://127.0.0.1:0\nhttp: 127.0.0.1:0\nstore: {path: " + dir.file("hub.db") + "}\n";
  if (auto st = dir.write("hub.yaml", hub_yaml); !st) return fail(st.to_string());
  auto hub = HubProcess::start(opt.hub_binary, dir.file("hub.yaml"), dir.path().string(),
                               dir.file("hub.log"), std::chrono::seconds(15));
  if (!hub) return fail("the hub did not start: " + hub.status().to_string());

  auto supervised = [&](const std::string& key) {
    const std::string home = dir.file(key);
    std::error_code ec;
    std::filesystem::create_directories(home, ec);
    return Supervised{.stamp_program = opt.stamp_binary,
                      .pidfile = home + "/svc.pid",
                      .service_stamps = home + "/restart.stamps",
                      .http_stamps = home + "/http.stamps",
                      .http_port = (*http)->port(),
                      .http_path = "/" + key,
                      .watch_pid = static_cast<int>(::getpid())};
  };
  Leftovers leftovers;
  leftovers.started.push_back((*hub)->pid());
  std::vector<Subject> subjects;
  HealReport report;
  report.trials = opt.trials;
  report.seed = opt.seed;
  report.max_pause_s = opt.max_pause;
  report.process_interval_s = opt.process_interval;
  report.http_interval_s = opt.http_interval;

  // reflex-agent.
  auto status_port = free_port(false);
  if (!status_port) return fail("no free port on 127.0.0.1");
  AgentPlan plan;
  plan.supervised = supervised("reflex");
  plan.hub_endpoint = (*hub)->ingest_endpoint();
  plan.spool_path = dir.file("spool.db");
  plan.status_port = *status_port;
  plan.process_interval_ms = ms(opt.process_interval);
  plan.http_interval_ms = ms(opt.http_interval);
  plan.verify_within_ms = ms(2 * std::max(opt.process_interval, opt.http_interval) + 5);
  report.agent_yaml = agent_yaml(plan);
  if (auto st = dir.write("agent.yaml", report.agent_yaml); !st) return fail(st.to_string());
  leftovers.pidfiles.push_back(plan.supervised.pidfile);
  auto agent = ChildProcess::start({opt.agent_binary, "--config", dir.file("agent.yaml")},
                                   dir.path().string(), dir.file("agent.log"), &guard);
  if (!agent) return fail("cannot start the agent: " + agent.status().to_string());
  subjects.push_back(subject("reflex", plan.supervised, reflex_observer(*status_port)));
  subjects.back().status_port = *status_port;
  leftovers.started.push_back((*agent)->pid());
  std::cerr << "started reflex-agent (pid " << (*agent)->pid() << ")\n";

  // Monit, on the same service and target, with the same commands.
  std::unique_ptr<ChildProcess> monit;
  std::string monit_title = "Monit";
  if (opt.compare) {
    const std::string binary = find_program("monit");
    if (binary.empty()) {
      return fail(
          "monit is not installed (scripts/install-deps --bench installs it), or "
          "run with --no-compare");
    }
    const std::string version = package_version("monit");
    if (!version.empty()) monit_title += " " + version;
    Supervised s = supervised("monit");
    const std::string home = dir.file("monit");
    report.monitrc = monit_config(home, s);
    if (auto st = dir.write("monit/monitrc", report.monitrc); !st) return fail(st.to_string());
    // Monit refuses a control file that others may read.
    ::chmod((home + "/monitrc").c_str(), 0600);
    leftovers.pidfiles.push_back(s.pidfile);
    auto started = ChildProcess::start({binary, "-I", "-c", home + "/monitrc"}, home,
                                       home + "/monit.out", &guard);
    if (!started) return fail("cannot start monit: " + started.status().to_string());
    monit = std::move(started).value();
    subjects.push_back(subject("monit", s, monit_observer(home + "/monit.log", **http, "/monit")));
    leftovers.started.push_back(monit->pid());
    std::cerr << "started monit (pid " << monit->pid() << ")\n";
  }

  auto died = [&](ChildProcess& p, const std::string& name) {
    return fail(name + " exited with status " + std::to_string(p.exit_status()) + "; its log:\n" +
                p.log_tail(4000));
  };
  auto check_alive = [&]() -> std::optional<int> {
    if ((*agent)->exited()) return died(**agent, "reflex-agent");
    if (monit && monit->exited()) return died(*monit, "monit");
    return std::nullopt;
  };
  TrialLimits limits;
  limits.wait_ms =
      opt.wait_limit > 0
          ? ms(opt.wait_limit)
          : ms(std::max(30.0, 3 * std::max(opt.process_interval, opt.http_interval) + 10));
  limits.interrupted = &g_interrupted;
  std::mt19937_64 random(opt.seed);
  limits.random = &random;
  limits.pause_ms = ms(opt.max_pause);
  auto failed = [&](const Status& st) {
    if (st.code() == "interrupted") return 130;
    if (auto code = check_alive()) return *code;
    return fail(st.to_string());
  };

  // Each supervisor starts its service itself, which also warms up the stamp program.
  std::cerr << "waiting for each supervisor to start its service\n";
  for (auto& s : subjects) {
    if (auto st = await_service(s, limits); !st) return failed(st);
  }

  std::cerr << "process trials: SIGKILL the service, time the restart; and the floor: the "
               "benchmark forks and execs the stamp program itself\n";
  std::vector<double> floor_ms;
  for (int i = 1; i <= opt.trials; ++i) {
    std::cerr << "  " << i << "/" << opt.trials << ":";
    auto floor = spawn_floor_trial(opt.stamp_binary, dir.file("floor.stamps"));
    if (!floor) return fail(floor.status().to_string());
    floor_ms.push_back(*floor);
    std::cerr << " floor " << fixed(*floor, 1) << " ms";
    for (auto& s : subjects) {
      if (auto st = process_trial(s, limits); !st) return failed(st);
      std::cerr << " " << s.key << " " << fixed(s.process_ms.back(), 1) << " ms";
    }
    std::cerr << "\n";
    leftovers.reap();
  }

  std::cerr << "HTTP trials: answer 500, time the action\n";
  std::vector<Subject*> all;
  for (auto& s : subjects) all.push_back(&s);
  int64_t healthy_since = 0;
  for (int i = 1; i <= opt.trials; ++i) {
    if (auto st = await_http(all, healthy_since, limits); !st) return failed(st);
    auto flipped = http_trial(all, **http, limits);
    if (!flipped) return failed(flipped.status());
    healthy_since = *flipped;
    std::cerr << "  " << i << "/" << opt.trials << ":";
    for (auto* s : all) std::cerr << " " << s->key << " " << fixed(s->http_ms.back(), 1) << " ms";
    std::cerr << "\n";
    leftovers.reap();
  }
  if (auto code = check_alive()) return *code;

  report.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  report.load_after = read_text("/proc/loadavg").substr(0, 14);
  for (auto& s : subjects) {
    const std::string title = s.key == "reflex" ? "reflex-agent" : monit_title;
    report.process.push_back({s.key, title, s.process_ms});
    report.http.push_back({s.key, title, s.http_ms});
  }
  report.reflex_phases = subjects.front().phases;
  report.process.push_back({"floor", "none: fork + exec by the benchmark", floor_ms});

  if (auto st = (*agent)->stop(std::chrono::seconds(10)); !st) {
    std::cerr << "note: reflex-agent " << st.message() << "\n";
  }
  if (monit) (void)monit->stop(std::chrono::seconds(5));
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
      "heal_latency: failure-to-remediation latency of reflex-agent beside Monit at "
      "`set daemon 1` (a killed process; an HTTP check turning bad)"};
  Options opt;
  opt.agent_binary = sibling_binary("agent", "reflex-agent");
  opt.hub_binary = sibling_binary("hub", "reflex-hub");
  opt.stamp_binary = sibling_binary("bench", "heal_latency_stamp");
  opt.work_dir = default_work_dir();
  app.add_option("--agent", opt.agent_binary, "the reflex-agent binary")->capture_default_str();
  app.add_option("--hub", opt.hub_binary, "the reflex-hub binary")->capture_default_str();
  app.add_option("--stamp", opt.stamp_binary, "the heal_latency_stamp binary")
      ->capture_default_str();
  app.add_option("--trials", opt.trials, "trials per supervisor and scenario")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--process-interval", opt.process_interval,
                 "seconds between the agent's process check runs; long, so that only the "
                 "event of the process's exit can detect it fast")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--http-interval", opt.http_interval,
                 "seconds between the agent's HTTP check runs (Monit's cycle is 1 s)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--wait-limit", opt.wait_limit,
                 "seconds any one wait may take (default: from the intervals, at least 30)")
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--dir", opt.work_dir, "where the scratch directory goes")->capture_default_str();
  app.add_option("--max-pause", opt.max_pause,
                 "a break waits a random 0 to this many seconds after the supervisors "
                 "settled (Monit's cycle and the agent's rule tick are 1 s)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--seed", opt.seed, "seed of the random pauses before each break (0: any)")
      ->capture_default_str();
  app.add_flag("--keep", opt.keep, "keep the scratch directory (configurations, logs, stamps)");
  app.add_flag("!--no-compare", opt.compare, "measure only reflex-agent, not Monit");
  CLI11_PARSE(app, argc, argv);
  if (opt.seed == 0) opt.seed = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  // The supervisors run in the scratch directory.
  opt.stamp_binary = absolute(opt.stamp_binary);
  if (::access(opt.stamp_binary.c_str(), X_OK) != 0) {
    std::cerr << "heal_latency: cannot execute " << opt.stamp_binary << " (--stamp)\n";
    return 1;
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  // The detached services become our children when their starter exits, so a killed one
  // is reaped at once; with PID 1 reaping late, supervisors would see a zombie.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    std::cerr << "heal_latency: cannot become a child subreaper\n";
    return 1;
  }

  // Forked before any thread; kills what run() started if this process dies mid-way.
  auto guard = OrphanGuard::start();
  if (!guard) {
    std::cerr << "heal_latency: " << guard.status().to_string() << "\n";
    return 1;
  }
  const int code = run(opt, **guard);
  if (code == 130) std::cerr << "heal_latency: interrupted; stopped everything it started\n";
  return code;
}
