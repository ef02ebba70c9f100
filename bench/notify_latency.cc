// notify_latency: from an alert to the first chat message, reflex-hub beside Alertmanager.
//
//   notify_latency [--incidents N] [--interval MS] [--repeat R] [--hub PATH] ...
//
// Each run starts a fresh reflex-hub whose route posts every high-severity incident to
// its service's Slack channel (the Slack Web API played by a receiver in this process),
// and a fresh Alertmanager from Debian (group_by service and env, group_wait 0s,
// group_interval 1s) whose webhook goes to the same receiver. Alerts are sent open loop,
// one every --interval, and each latency runs from just before the alert is sent to the
// moment its notification reaches the receiver:
//   first   a new incident (a new group): reflex-hub's chat.postMessage, from a POST
//           /api/v2/alerts and from an agent's alert event over ZeroMQ; Alertmanager's
//           first notification of the group, from the same POST client
//   join    a second host's alert on an open incident (group): reflex-hub's chat.update of
//           the message in place; Alertmanager's notification carrying both alerts. Sent
//           in a shuffled order, so they meet Alertmanager's group_interval at every phase.
// reflex-hub commits the alert, the incident and the outbox row before it sends.
//
// Progress goes to stderr; the report (Markdown, then "notify_latency_<name> <value>"
// lines) to stdout. scripts/bench builds Release, runs this and updates
// docs/benchmarks.md.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "bench/agent_footprint_daemons.h"
#include "bench/incidents_servers.h"
#include "bench/notify_latency_receiver.h"
#include "bench/notify_latency_senders.h"
#include "bench/support/format.h"
#include "bench/support/paths.h"
#include "bench/support/stats.h"

using namespace reflex;
using namespace reflex::bench;

namespace {

constexpr auto kNotifyTimeout = std::chrono::seconds(15);

struct Options {
  std::string hub_binary;
  std::string alertmanager_binary;
  std::string work_dir;
  size_t incidents = 200;
  int interval_ms = 20;
  int repeat = 3;
};

std::string hub_yaml(const NotifyReceiver& receiver, const ScratchDir& dir) {
  return "integrations:\n"
         "  slack:\n"
         "    token_file: " +
         dir.file("slack-token") + "\n    base_url: " + receiver.slack_base_url() +
         "\n"
         "routes:\n"
         "  - name: urgent\n"
         "    match: {severity: [high, critical]}\n"
         "    workflow: chat\n"
         "workflows:\n"
         "  chat:\n"
         "    steps:\n"
         "      - name: post\n"
         "        on: [opened]\n"
         "        kind: chat.post\n"
         "        with:\n"
         "          channel: \"#{{service}}\"\n"
         "          text: \"{{severity}}: {{title}} on {{affected_hosts}} hosts\"\n"
         "          buttons: acknowledge, resolve\n";
}

std::string alertmanager_yaml(const NotifyReceiver& receiver) {
  return "route:\n"
         "  receiver: hook\n"
         "  group_by: [service, env]\n"
         "  group_wait: 0s\n"
         "  group_interval: 1s\n"
         "  repeat_interval: 1h\n"
         "receivers:\n"
         "  - name: hook\n"
         "    webhook_configs:\n"
         "      - url: " +
         receiver.alertmanager_url() + "\n        send_resolved: false\n";
}

// Latencies in milliseconds, by "<receiver> <measurement>".
using Samples = std::map<std::string, std::vector<double>>;

// Sends one alert per service, one every `interval` from the start (open loop: a slow
// answer does not delay the next send), then collects when each one's notification
// (`kind`, at least `min_alerts`) arrived.
Status measure(NotifyReceiver& receiver, const Options& opt,
               const std::vector<std::string>& services, Arrival::Kind kind, size_t min_alerts,
               const std::function<Status(const std::string&)>& send, std::vector<double>& out) {
  std::vector<SteadyTime> sent;
  sent.reserve(services.size());
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < services.size(); ++i) {
    std::this_thread::sleep_until(start + std::chrono::milliseconds(opt.interval_ms) * i);
    sent.push_back(std::chrono::steady_clock::now());
    REFLEX_RETURN_IF_ERROR(send(services[i]));
  }
  for (size_t i = 0; i < services.size(); ++i) {
    auto at = receiver.wait_for(kind, services[i], sent[i], min_alerts, sent[i] + kNotifyTimeout);
    if (!at) {
      return Status::error("notify", "no notification for " + services[i] + " within 15 s");
    }
    out.push_back(std::chrono::duration<double, std::milli>(*at - sent[i]).count());
  }
  return Status::ok();
}

std::vector<std::string> names(const std::string& prefix, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(prefix + "-" + std::to_string(i));
  return out;
}

// The joining alerts go out in a shuffled order (the same in every run). In creation
// order each would arrive the same time after its group was created, so all would meet
// Alertmanager's group_interval tick at the same phase, and its figure would depend on
// where the first pass happened to end rather than on the wait for the next tick.
std::vector<std::string> shuffled(std::vector<std::string> v) {
  std::mt19937 rng(20261126);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

Status run_reflex(const Options& opt, NotifyReceiver& receiver, int round, Samples& samples) {
  auto dir = ScratchDir::create(opt.work_dir, "reflex-bench-notify-");
  if (!dir) return dir.status();
  REFLEX_RETURN_IF_ERROR((*dir)->write("slack-token", "xoxb-bench-token\n"));
  auto hub = start_reflex(opt.hub_binary, **dir, hub_yaml(receiver, **dir));
  if (!hub) return hub.status();
  AlertPoster poster((*hub)->http_port());
  auto post_on = [&](const std::string& instance) {
    return
        [&poster, instance](const std::string& service) { return poster.post(service, instance); };
  };
  const auto http = names("r" + std::to_string(round) + "-http", opt.incidents);
  REFLEX_RETURN_IF_ERROR(measure(receiver, opt, http, Arrival::Kind::kSlackPost, 0,
                                 post_on("host-0"), samples["reflex-hub first-http"]));

  auto agent = BenchAgent::connect((*hub)->ingest_endpoint(), "bench-agent", "bench-host");
  if (!agent) return agent.status();
  const auto by_agent = names("r" + std::to_string(round) + "-agent", opt.incidents);
  REFLEX_RETURN_IF_ERROR(measure(
      receiver, opt, by_agent, Arrival::Kind::kSlackPost, 0,
      [&](const std::string& s) { return (*agent)->alert(s); }, samples["reflex-hub first-agent"]));

  REFLEX_RETURN_IF_ERROR(measure(receiver, opt, shuffled(http), Arrival::Kind::kSlackUpdate, 0,
                                 post_on("host-1"), samples["reflex-hub join"]));
  return (*hub)->stop();
}

Status run_alertmanager(const Options& opt, NotifyReceiver& receiver, OrphanGuard* guard, int round,
                        Samples& samples) {
  auto dir = ScratchDir::create(opt.work_dir, "reflex-bench-notify-am-");
  if (!dir) return dir.status();
  auto am = start_alertmanager(opt.alertmanager_binary, **dir, guard, alertmanager_yaml(receiver));
  if (!am) return am.status();
  AlertPoster poster((*am)->http_port());
  auto post_on = [&](const std::string& instance) {
    return
        [&poster, instance](const std::string& service) { return poster.post(service, instance); };
  };
  const auto http = names("r" + std::to_string(round) + "-am", opt.incidents);
  REFLEX_RETURN_IF_ERROR(measure(receiver, opt, http, Arrival::Kind::kAlertmanager, 1,
                                 post_on("host-0"), samples["alertmanager first-http"]));
  REFLEX_RETURN_IF_ERROR(measure(receiver, opt, shuffled(http), Arrival::Kind::kAlertmanager, 2,
                                 post_on("host-1"), samples["alertmanager join"]));
  return (*am)->stop();
}

struct Row {
  std::string key;    // in Samples
  std::string label;  // in the table
  std::string metric;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  opt.hub_binary = sibling_binary("hub", "reflex-hub");
  opt.alertmanager_binary = find_program("prometheus-alertmanager");
  opt.work_dir = default_work_dir();

  CLI::App app{"From an alert to its first chat message, reflex-hub beside Alertmanager"};
  app.add_option("--hub", opt.hub_binary, "reflex-hub binary");
  app.add_option("--alertmanager", opt.alertmanager_binary, "Alertmanager binary");
  app.add_option("--work-dir", opt.work_dir, "where scratch directories go");
  app.add_option("--incidents", opt.incidents, "new incidents (groups) per run")
      ->check(CLI::Range(10, 100'000));
  app.add_option("--interval", opt.interval_ms, "milliseconds between alerts")
      ->check(CLI::Range(1, 10'000));
  app.add_option("--repeat", opt.repeat, "runs of each receiver")->check(CLI::Range(1, 50));
  CLI11_PARSE(app, argc, argv);

  if (opt.alertmanager_binary.empty()) {
    std::cerr << "notify_latency: prometheus-alertmanager not found (scripts/install-deps "
                 "--bench installs it); pass --alertmanager PATH\n";
    return 2;
  }
  auto guard = OrphanGuard::start();
  auto receiver = NotifyReceiver::start();
  if (!guard || !receiver) {
    std::cerr << "notify_latency: " << (!guard ? guard.status() : receiver.status()).to_string()
              << "\n";
    return 1;
  }

  Samples samples;
  for (int r = 0; r < opt.repeat; ++r) {
    // Alternate which goes first, so a busy moment of the machine spreads over both.
    for (int k = 0; k < 2; ++k) {
      const bool reflex_now = (k + r) % 2 == 0;
      std::cerr << "notify_latency: run " << (r + 1) << "/" << opt.repeat << ", "
                << (reflex_now ? "reflex-hub" : "alertmanager") << "\n";
      (*receiver)->clear();
      Status s = reflex_now ? run_reflex(opt, **receiver, r, samples)
                            : run_alertmanager(opt, **receiver, guard->get(), r, samples);
      if (!s) {
        std::cerr << "notify_latency failed: " << s.to_string() << "\n";
        return 1;
      }
    }
  }
  if ((*receiver)->rejected() > 0) {
    std::cerr << "notify_latency: the receiver refused " << (*receiver)->rejected()
              << " requests, the first: " << (*receiver)->first_rejection() << "\n";
    return 1;
  }

  const std::vector<Row> rows = {
      {"reflex-hub first-http", "new incident, from POST /api/v2/alerts", "reflex_first_http"},
      {"reflex-hub first-agent", "new incident, from an agent's alert event", "reflex_first_agent"},
      {"alertmanager first-http", "new group, from POST /api/v2/alerts", "alertmanager_first_http"},
      {"reflex-hub join", "second host joins: chat.update in place", "reflex_join"},
      {"alertmanager join", "second alert joins the group", "alertmanager_join"},
  };
  std::cout << "### From alert to chat\n\n"
            << opt.incidents << " incidents per run, one alert every " << opt.interval_ms << " ms, "
            << opt.repeat
            << " runs of each receiver alternating which goes first, each started fresh; "
               "percentiles over all runs. Milliseconds from just before the alert is sent "
               "to the notification's arrival at the receiver.\n\n"
            << "| receiver | what | p50 (ms) | p99 (ms) | max (ms) | alerts |\n"
            << "|---|---|---:|---:|---:|---:|\n";
  std::map<std::string, double> p50, p99;
  std::vector<std::string> lines;
  for (const auto& row : rows) {
    auto values = samples[row.key];
    const size_t n = values.size();
    p50[row.key] = percentile(values, 0.50);
    p99[row.key] = percentile(values, 0.99);
    const double max = percentile(values, 1.0);
    std::cout << "| " << row.key.substr(0, row.key.find(' ')) << " | " << row.label << " | "
              << fixed(p50[row.key], 2) << " | " << fixed(p99[row.key], 2) << " | " << fixed(max, 2)
              << " | " << n << " |\n";
    lines.push_back("notify_latency_" + row.metric + "_p50_ms " + fixed(p50[row.key], 2));
    lines.push_back("notify_latency_" + row.metric + "_p99_ms " + fixed(p99[row.key], 2));
  }
  const double first_ratio = p50["reflex-hub first-http"] / p50["alertmanager first-http"];
  const double join_ratio = p50["alertmanager join"] / p50["reflex-hub join"];
  const bool p99_met = p99["reflex-hub first-http"] < 20 && p99["reflex-hub first-agent"] < 20;
  std::cout << "\n- (a) reflex-hub's p99 for a new incident under 20 ms, from POST and from an "
               "agent: "
            << (p99_met ? "met" : "MISSED") << ".\n"
            << "- (a) its median from POST is " << fixed(first_ratio, 2)
            << "x Alertmanager's (target: within 2x): " << (first_ratio <= 2 ? "met" : "MISSED")
            << ".\n"
            << "- (b) a joining host reaches chat " << fixed(join_ratio, 0)
            << "x sooner than Alertmanager's grouped notification, by median (target: 10x): "
            << (join_ratio >= 10 ? "met" : "MISSED") << ".\n\n";
  for (const auto& line : lines) std::cout << line << "\n";
  std::cout << "notify_latency_first_ratio " << fixed(first_ratio, 2) << "\n"
            << "notify_latency_join_speedup " << fixed(join_ratio, 1) << "\n"
            << "notify_latency_alertmanager_version \""
            << package_version("prometheus-alertmanager") << "\"\n";
  return 0;
}
