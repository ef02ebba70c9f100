#include "bench/incidents_correlation.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <random>
#include <string>

#include "hub/incidents/engine.h"
#include "hub/incidents/suppression.h"

namespace reflex::bench {
namespace {

using namespace reflex::hub::incidents;
using SteadyClock = std::chrono::steady_clock;

constexpr int64_t kStartMs = 1'800'000'000'000;

std::string service_name(size_t i) {
  return "svc-" + std::to_string(i);
}

// What a Prometheus-fed hub would see: per host, an alert of one of a few rules on one
// service, with the labels Prometheus adds.
AlertSignal signal_for(size_t alert, size_t services, protocol::AlertState state, int64_t at) {
  static const char* kRules[] = {"HighErrorRate", "HighLatency", "InstanceDown", "DiskFull"};
  const size_t service = alert % services;
  const std::string host = "host-" + std::to_string(alert);
  AlertSignal s;
  s.source = "external:alertmanager";
  s.fingerprint = "fp-" + std::to_string(alert);
  s.rule = kRules[(alert / services) % 4];
  s.state = state;
  s.severity = alert % 7 == 0 ? protocol::Severity::kCritical : protocol::Severity::kWarning;
  s.labels = {{"alertname", s.rule}, {"service", service_name(service)},
              {"env", "prod"},       {"instance", host + ":9100"},
              {"job", "node"},       {"severity", alert % 7 == 0 ? "critical" : "warning"}};
  s.annotations = {{"summary", s.rule + " on " + host}};
  s.host = host;
  s.at_ms = at;
  return s;
}

// The suppression stage as a production hub.yaml would set it: a dependency chain, one
// inhibit rule and a few silences, none of which matches the measured alerts (so every
// signal pays for every check).
Result<SuppressionConfig> suppression_config() {
  SuppressionConfig config;
  auto topology = ServiceTopology::build(
      {{"checkout", {"payments", "postgres"}}, {"payments", {"postgres"}}, {"svc-1", {"svc-2"}}});
  if (!topology) return topology.status();
  config.services = std::move(topology).value();
  auto source = parse_matchers("{severity=\"critical\", alertname=\"DatacenterDown\"}");
  auto target = parse_matchers("{severity=\"warning\"}");
  if (!source) return source.status();
  if (!target) return target.status();
  config.inhibit_rules.push_back(InhibitRule{.name = "dc-down-mutes-warnings",
                                             .source = std::move(source).value(),
                                             .target = std::move(target).value(),
                                             .equal = {"env"}});
  return config;
}

Status add_silences(Suppressor& suppressor, int64_t now_ms) {
  for (const char* text : {"{service=\"legacy\"}", "{env=\"staging\", alertname=~\"Disk.*\"}",
                           "{instance=~\"batch-.*\"}"}) {
    auto matchers = parse_matchers(text);
    if (!matchers) return matchers.status();
    SilenceSpec spec{.matchers = std::move(matchers).value(),
                     .starts_at_ms = now_ms,
                     .ends_at_ms = now_ms + 24 * 3600'000,
                     .created_by = "bench",
                     .comment = "bench"};
    auto created = suppressor.silences().create(std::move(spec), now_ms);
    if (!created) return created.status();
  }
  return Status::ok();
}

struct Stage {
  IncidentEngine engine;
  std::unique_ptr<Suppressor> suppressor;
  int64_t now = kStartMs;

  Status feed(const AlertSignal& signal) {
    auto changes = engine.on_signal(signal, now);
    if (!changes) return changes.status();
    suppressor->observe(*changes);
    suppressor->observe(signal);
    return Status::ok();
  }
};

// One size's engine with its open set loaded, and the measured stream it is fed in chunks.
struct Sized {
  Stage stage;
  std::mt19937_64 random{42};
  std::vector<bool> firing;  // one per open alert
  size_t fed = 0;            // measured signals so far
  double seconds = 0;        // spent on them
};

Status load(const CorrelationOptions& options, size_t open, Sized& sized) {
  auto config = suppression_config();
  if (!config) return config.status();
  Stage& stage = sized.stage;
  stage.suppressor = std::make_unique<Suppressor>(std::move(config).value());
  stage.engine.set_verdict_hook(stage.suppressor->verdict_hook());
  REFLEX_RETURN_IF_ERROR(add_silences(*stage.suppressor, stage.now));
  for (size_t i = 0; i < open; ++i) {
    REFLEX_RETURN_IF_ERROR(
        stage.feed(signal_for(i, options.services, protocol::AlertState::kFiring, stage.now)));
  }
  sized.firing.assign(open, true);
  return Status::ok();
}

// The measured stream: alerts of the open set resolve and fire again (transitions, the
// work correlation exists for), picked at random so no cache favours a small set.
// A resolved alert is re-fired before its incident's auto-resolve could fall due.
Status feed_chunk(const CorrelationOptions& options, size_t signals, Sized& sized) {
  Stage& stage = sized.stage;
  const auto start = SteadyClock::now();
  for (size_t e = 0; e < signals; ++e) {
    const size_t alert = sized.random() % sized.firing.size();
    sized.firing[alert] = !sized.firing[alert];
    const auto state =
        sized.firing[alert] ? protocol::AlertState::kFiring : protocol::AlertState::kResolved;
    stage.now += 1;  // 1 ms apart: 200,000 events span 200 s, below resolve_after
    REFLEX_RETURN_IF_ERROR(stage.feed(signal_for(alert, options.services, state, stage.now)));
  }
  sized.seconds += std::chrono::duration<double>(SteadyClock::now() - start).count();
  sized.fed += signals;
  return Status::ok();
}

}  // namespace

Result<std::vector<CorrelationRun>> measure_correlation(const CorrelationOptions& options) {
  std::vector<CorrelationRun> runs;
  for (size_t open : options.open_alerts) {
    CorrelationRun run;
    run.open_alerts = open;
    runs.push_back(std::move(run));
  }
  // Every size's engine is loaded first; the measured signals then go to them in turns of
  // options.chunk, so a slow moment of the machine (runs of one size vary by up to 30% on
  // a shared VM) falls on every size alike.
  for (int r = 0; r < options.repeat; ++r) {
    std::cerr << "correlation: run " << (r + 1) << "/" << options.repeat << "\n";
    std::vector<std::unique_ptr<Sized>> sized;
    for (CorrelationRun& run : runs) {
      const auto start = SteadyClock::now();
      sized.push_back(std::make_unique<Sized>());
      REFLEX_RETURN_IF_ERROR(load(options, run.open_alerts, *sized.back()));
      if (r == 0) {
        run.preload_seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
        run.incidents = sized.back()->stage.engine.incident_count();
      }
    }
    for (size_t done = 0; done < options.events; done += options.chunk) {
      const size_t n = std::min(options.chunk, options.events - done);
      for (auto& s : sized) REFLEX_RETURN_IF_ERROR(feed_chunk(options, n, *s));
    }
    for (size_t i = 0; i < runs.size(); ++i) {
      runs[i].per_second.push_back(static_cast<double>(sized[i]->fed) / sized[i]->seconds);
    }
  }
  return runs;
}

}  // namespace reflex::bench
