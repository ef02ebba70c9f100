#include "agent/rules.h"

#include <catch2/catch.hpp>

#include "common/clock.h"

using namespace reflex;
using namespace reflex::agent;
using protocol::Alert;
using protocol::AlertState;

namespace {

Result<RuleConfig> parse_rule(const std::string& yaml) {
  auto root = config::parse_yaml(yaml, "agent.yaml");
  if (!root) return root.status();
  config::Errors errors("agent.yaml");
  RuleConfig rule;
  {
    config::MapReader top(*root, "", errors);
    YAML::Node list = top.take("rules");
    config::MapReader r(list[0], "rules[0]", errors);
    read_rule(r, rule);
  }
  if (!errors.empty()) return errors.status();
  return rule;
}

RuleConfig rule(const std::string& body) {
  auto r = parse_rule("rules:\n  - " + body + "\n");
  INFO(r.status().to_string());
  REQUIRE(r);
  return *r;
}

std::string config_error(const std::string& body) {
  auto r = parse_rule("rules:\n  - " + body + "\n");
  REQUIRE_FALSE(r);
  return r.status().message();
}

// A store on simulated time with a 10 s window of 1 s slices, and an engine over it.
struct Bench {
  explicit Bench(std::vector<RuleConfig> rules) : engine(std::move(rules)) {}
  std::vector<Alert> evaluate() {
    return engine.evaluate(store, time.monotonic_ms(), time.now_ms());
  }
  // Advances one second, records with `fn`, evaluates; returns the alerts.
  template <class Fn>
  std::vector<Alert> second(Fn&& fn) {
    time.advance(Millis(1000));
    fn();
    return evaluate();
  }

  SimulatedTime time;
  WindowStore store{time, WindowConfig{Millis(10'000), 10, 1000}};
  RuleEngine engine;
};

const Labels kWeb = {{"service", "web"}};

}  // namespace

TEST_CASE("conditions are read in the units operators write", "[agent][rules]") {
  struct Case {
    const char* text;
    Stat stat;
    Op op;
    double threshold;
  };
  for (const Case& c : {
           Case{"p99 > 250ms", Stat::kP99, Op::kGt, 250},
           Case{"p99>0.25s", Stat::kP99, Op::kGt, 250},
           Case{"p95 <= 800us", Stat::kP95, Op::kLe, 0.8},
           Case{"max >= 1000", Stat::kMax, Op::kGe, 1000},
           Case{"error_rate > 5%", Stat::kErrorRate, Op::kGt, 0.05},
           Case{"error_rate > 0.05", Stat::kErrorRate, Op::kGt, 0.05},
           Case{"state == CRITICAL", Stat::kState, Op::kEq, 2},
           Case{"state != ok", Stat::kState, Op::kNe, 0},
           Case{"value > 90", Stat::kValue, Op::kGt, 90},
           Case{"value > 90%", Stat::kValue, Op::kGt, 90},
           Case{"count < 1", Stat::kCount, Op::kLt, 1},
           Case{"rate >= 120/m", Stat::kRate, Op::kGe, 2},
           Case{"counter_rate < 0.5/s", Stat::kCounterRate, Op::kLt, 0.5},
       }) {
    INFO(c.text);
    auto parsed = parse_condition(c.text);
    REQUIRE(parsed);
    CHECK(parsed->stat == c.stat);
    CHECK(parsed->op == c.op);
    CHECK(parsed->threshold == Approx(c.threshold));
    auto again = parse_condition(format_condition(*parsed));
    REQUIRE(again);
    CHECK(again->threshold == Approx(parsed->threshold));
  }
  CHECK(format_condition(*parse_condition("error_rate>0.05")) == "error_rate > 5%");
  CHECK(format_condition(*parse_condition("state == critical")) == "state == CRITICAL");
}

TEST_CASE("bad condition text says what is wrong", "[agent][rules]") {
  auto msg = [](const char* text) {
    auto c = parse_condition(text);
    REQUIRE_FALSE(c);
    return c.status().message();
  };
  CHECK_THAT(msg("p98 > 1"), Catch::Contains("unknown stat \"p98\" (known: count, errors"));
  CHECK_THAT(msg("p99 = 1"), Catch::Contains("expected an operator"));
  CHECK_THAT(msg("p99 >"), Catch::Contains("missing threshold"));
  CHECK_THAT(msg("p99 > 2 minutes"), Catch::Contains("is not a time unit"));
  CHECK_THAT(msg("error_rate > 5"), Catch::Contains("write 5% for a percentage"));
  CHECK_THAT(msg("state == BROKEN"), Catch::Contains("expected OK, WARNING, CRITICAL"));
  CHECK_THAT(msg("count > lots"), Catch::Contains("expected a number"));
  CHECK_THAT(msg("> 5"), Catch::Contains("expected <stat> <op> <threshold>"));
}

TEST_CASE("a rule is read with its defaults", "[agent][rules]") {
  auto r = rule(
      "{name: web-slow, series: web, when: 'p99 > 250ms', recover: 'p99 < 200ms', for: 30s, "
      "severity: high, labels: {team: edge}, annotations: {summary: slow}}");
  CHECK(r.name == "web-slow");
  CHECK(r.series == "web");
  CHECK(r.when == Condition{Stat::kP99, Op::kGt, 250});
  CHECK(r.recover == Condition{Stat::kP99, Op::kLt, 200});
  CHECK(r.for_ == Millis(30'000));
  CHECK(r.severity == Severity::kHigh);
  CHECK(r.labels.at("team") == "edge");
  CHECK(r.annotations.at("summary") == "slow");
  auto minimal = rule("{name: down, series: web, when: 'count < 1'}");
  CHECK(minimal.for_ == Millis(0));
  CHECK(minimal.severity == Severity::kWarning);
  CHECK_FALSE(minimal.recover);
}

TEST_CASE("rule config errors name the key path and what was wrong", "[agent][rules]") {
  CHECK_THAT(config_error("{name: a, series: web, when: 'p99 >> 250ms'}"),
             Catch::Contains("agent.yaml:2: rules[0].when: threshold \"> 250ms\" for p99"));
  CHECK_THAT(config_error("{name: a, series: web, when: 'p98 > 1'}"),
             Catch::Contains("rules[0].when: unknown stat \"p98\""));
  CHECK_THAT(config_error("{name: a, series: web, when: 'p99 > 250ms', recover: 'p99 < 300ms'}"),
             Catch::Contains("rules[0].recover: \"p99 < 300ms\" can hold together with when "
                             "\"p99 > 250ms\""));
  CHECK_THAT(config_error("{name: a, series: web, when: 'p99 > 250ms', recover: 'p99 != 0'}"),
             Catch::Contains("rules[0].recover: \"p99 != 0ms\" can hold together"));
  CHECK_THAT(config_error("{name: a, series: web, when: 'p99 > 250ms', recover: 'p50 < 100'}"),
             Catch::Contains("rules[0].recover: must be a condition on p99"));
  CHECK_THAT(config_error("{series: web, when: 'count < 1'}"),
             Catch::Contains("rules[0].name: missing required key"));
  CHECK_THAT(config_error("{name: a, when: 'count < 1'}"),
             Catch::Contains("rules[0].series: missing required key"));
  CHECK_THAT(config_error("{name: a, series: web, when: 'count < 1', severity: page}"),
             Catch::Contains("rules[0].severity: must be one of critical, high, info, warning"));
  CHECK_THAT(config_error("{name: a, series: web, when: 'count < 1', for: 30}"),
             Catch::Contains("rules[0].for:"));
  CHECK_THAT(config_error("{name: a, series: web, when: 'count < 1', fro: 30s}"),
             Catch::Contains("rules[0].fro: unknown key"));
  // A recover on the edge of `when` cannot overlap it: accepted.
  CHECK(parse_rule("rules: [{name: a, series: web, when: 'p99 > 250ms', recover: 'p99 <= 250'}]"));
}

TEST_CASE("evaluation is a pure function of the previous state, the window and now",
          "[agent][rules]") {
  RuleConfig r = rule("{name: hot, series: temp, when: 'value > 90', for: 10s}");
  WindowStats hot;
  hot.value = 95;
  RuleState s;
  auto d = evaluate(r, s, hot, 1000);
  CHECK(d.next.phase == RulePhase::kPending);
  CHECK(d.next.since_ms == 1000);
  REQUIRE(d.transition);
  CHECK(d.transition->state == AlertState::kPending);
  CHECK(d.transition->value == 95);
  CHECK(d.transition->threshold == 90);
  // The same inputs give the same answer.
  CHECK(evaluate(r, s, hot, 1000).next.since_ms == d.next.since_ms);
  CHECK_FALSE(evaluate(r, d.next, hot, 10'999).transition);
  auto fired = evaluate(r, d.next, hot, 11'000);
  CHECK(fired.next.phase == RulePhase::kFiring);
  CHECK(fired.transition->state == AlertState::kFiring);

  r.for_ = Millis(0);
  auto at_once = evaluate(r, RuleState{}, hot, 5);
  CHECK(at_once.next.phase == RulePhase::kFiring);
  CHECK(at_once.transition->state == AlertState::kFiring);
}

TEST_CASE("a rule with `for` is pending first and fires only after the duration",
          "[agent][rules]") {
  Bench b({rule("{name: web-slow, series: web, when: 'p99 > 250ms', for: 30s}")});
  const int64_t started_wall = b.time.now_ms() + 1000;
  auto alerts = b.second([&] { b.store.event("web", kWeb, false, 400.0); });
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].state == AlertState::kPending);
  CHECK(alerts[0].active_since_ms == uint64_t(started_wall));
  for (int i = 1; i < 30; ++i) {
    INFO("second " << i);
    CHECK(b.second([&] { b.store.event("web", kWeb, false, 400.0); }).empty());
  }
  alerts = b.second([&] { b.store.event("web", kWeb, false, 400.0); });
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].state == AlertState::kFiring);
  CHECK(alerts[0].rule == "web-slow");
  CHECK(alerts[0].value == Approx(400).epsilon(0.01));
  CHECK(alerts[0].threshold == 250);
  CHECK(alerts[0].active_since_ms == uint64_t(started_wall));
  CHECK(alerts[0].labels == Labels{{"series", "web"}, {"service", "web"}});
}

TEST_CASE("a blip shorter than `for` never fires", "[agent][rules]") {
  Bench b({rule("{name: web-slow, series: web, when: 'p99 > 250ms', for: 30s}")});
  std::vector<Alert> all;
  for (int i = 0; i < 60; ++i) {
    // Slow for 5 s; with a 10 s window the condition holds for 15 s, less than 30 s.
    const double latency = i < 5 ? 400.0 : 20.0;
    for (const auto& a : b.second([&] { b.store.event("web", kWeb, false, latency); })) {
      all.push_back(a);
    }
  }
  REQUIRE(all.size() == 2);
  CHECK(all[0].state == AlertState::kPending);
  CHECK(all[1].state == AlertState::kResolved);  // the pending alert is withdrawn
  CHECK(all[0].fingerprint == all[1].fingerprint);
}

TEST_CASE("hysteresis: a value oscillating between recover and when does not flap",
          "[agent][rules]") {
  Bench b({rule("{name: hot, series: temp, when: 'value > 90', recover: 'value < 80'}"),
           rule("{name: hot-no-band, series: temp, when: 'value > 90'}")});
  std::map<std::string, std::vector<AlertState>> seen;
  for (double v : {95, 85, 92, 81, 91, 88, 79, 85}) {
    for (const auto& a : b.second([&] { b.store.gauge("temp", {}, v, "C"); })) {
      seen[a.rule].push_back(a.state);
    }
  }
  CHECK(seen["hot"] == std::vector<AlertState>{AlertState::kFiring, AlertState::kResolved});
  // Without the band, the same readings flap three times.
  CHECK(seen["hot-no-band"].size() == 6);
}

TEST_CASE("a firing rule resolves when its condition stops holding", "[agent][rules]") {
  Bench b({rule("{name: errors, series: web, when: 'error_rate > 5%', severity: critical}")});
  auto alerts = b.second([&] {
    b.store.event("web", kWeb, true, 10.0);
    b.store.event("web", kWeb, false, 10.0);
  });
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].state == AlertState::kFiring);
  CHECK(alerts[0].value == Approx(0.5));
  CHECK(alerts[0].threshold == Approx(0.05));
  CHECK(alerts[0].severity == Severity::kCritical);
  const auto since = alerts[0].active_since_ms;

  std::vector<Alert> later;
  for (int i = 0; i < 12 && later.empty(); ++i) {
    later = b.second([&] { b.store.event("web", kWeb, false, 10.0); });
  }
  REQUIRE(later.size() == 1);
  CHECK(later[0].state == AlertState::kResolved);
  CHECK(later[0].value == 0);
  CHECK(later[0].active_since_ms == since);
  CHECK(later[0].fingerprint == alerts[0].fingerprint);
}

TEST_CASE("a rule fires on state == CRITICAL and resolves on OK", "[agent][rules]") {
  Bench b({rule("{name: nginx-down, series: nginx, when: 'state == CRITICAL'}")});
  CHECK(b.second([&] { b.store.state("nginx", kWeb, CheckState::kWarning, "slow"); }).empty());
  auto alerts = b.second([&] { b.store.state("nginx", kWeb, CheckState::kCritical, "refused"); });
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].state == AlertState::kFiring);
  CHECK(alerts[0].value == 2);
  alerts = b.second([&] { b.store.state("nginx", kWeb, CheckState::kOk, "fine"); });
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].state == AlertState::kResolved);
}

TEST_CASE("a glob series gives separate alerts per label set with their own fingerprints",
          "[agent][rules]") {
  Bench b({rule("{name: disk-full, series: 'disk.*', when: 'value > 90', labels: {team: ops}}")});
  auto alerts = b.second([&] {
    b.store.gauge("disk.used", {{"mount", "/"}}, 95, "%");
    b.store.gauge("disk.used", {{"mount", "/var"}}, 97, "%");
    b.store.gauge("disk.used", {{"mount", "/home"}}, 50, "%");
    b.store.gauge("diskless", {}, 99, "%");
  });
  REQUIRE(alerts.size() == 2);
  CHECK(alerts[0].labels == Labels{{"mount", "/"}, {"series", "disk.used"}, {"team", "ops"}});
  CHECK(alerts[1].labels.at("mount") == "/var");
  CHECK(alerts[1].value == 97);
  CHECK(alerts[0].fingerprint != alerts[1].fingerprint);
  CHECK(b.engine.status().size() == 3);
}

TEST_CASE("fingerprints are stable across restarts and platforms", "[agent][rules]") {
  // Golden values: FNV-1a 64 as documented in rules.h. Changing them breaks the hub's
  // deduplication of alerts raised before an upgrade.
  CHECK(fingerprint("", {}) == "cbf29ce484222325");
  CHECK(
      fingerprint("disk-full", {{"series", "disk.used"}, {"mount", "/var"}, {"team", "storage"}}) ==
      "7f3ac30a13c9ea9c");

  auto fire = [] {
    Bench b(
        {rule("{name: disk-full, series: disk.used, when: 'value > 90', "
              "labels: {team: storage}}")});
    return b.second([&] { b.store.gauge("disk.used", {{"mount", "/var"}}, 95, "%"); });
  };
  auto first = fire();
  auto after_restart = fire();
  REQUIRE(first.size() == 1);
  REQUIRE(after_restart.size() == 1);
  CHECK(first[0].fingerprint == "7f3ac30a13c9ea9c");
  CHECK(after_restart[0].fingerprint == first[0].fingerprint);
}

TEST_CASE("a firing rule whose series goes silent stays firing instead of flapping",
          "[agent][rules]") {
  Bench b({rule("{name: web-slow, series: web, when: 'p99 > 250ms'}")});
  auto alerts = b.second([&] { b.store.event("web", kWeb, false, 400.0); });
  REQUIRE(alerts.size() == 1);
  for (int i = 0; i < 30; ++i) CHECK(b.second([] {}).empty());  // the window empties
  b.store.expire(b.time.monotonic_ms() + 1'000'000);            // and the series goes
  REQUIRE(b.store.size() == 0);
  CHECK(b.evaluate().empty());
  auto status = b.engine.status();
  REQUIRE(status.size() == 1);
  CHECK(status[0].phase == RulePhase::kFiring);
  CHECK(*status[0].last_value == Approx(400).epsilon(0.01));
  CHECK(status[0].since_ms == b.time.now_ms() - 30'000);
}

TEST_CASE("a pending rule whose data disappears goes back to inactive", "[agent][rules]") {
  Bench b({rule("{name: hot, series: temp, when: 'p50 > 100', for: 1m}")});
  REQUIRE(b.second([&] { b.store.event("temp", {}, false, 500.0); }).size() == 1);
  std::vector<Alert> alerts;
  for (int i = 0; i < 12 && alerts.empty(); ++i) alerts = b.second([] {});
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].state == AlertState::kResolved);
  CHECK(b.engine.status()[0].phase == RulePhase::kInactive);
}

TEST_CASE("globs match any run of characters", "[agent][rules]") {
  CHECK(glob_match("disk.*", "disk.used"));
  CHECK(glob_match("disk.*", "disk."));
  CHECK_FALSE(glob_match("disk.*", "disk"));
  CHECK(glob_match("*.p99", "http.api.p99"));
  CHECK(glob_match("a*b*c", "aXbYbZc"));
  CHECK_FALSE(glob_match("a*b*c", "aXbYbZ"));
  CHECK(glob_match("web", "web"));
  CHECK_FALSE(glob_match("web", "web2"));
  CHECK(glob_match("*", ""));
}
