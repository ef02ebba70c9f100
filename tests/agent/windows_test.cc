#include "agent/windows.h"

#include <catch2/catch.hpp>

#include "common/clock.h"

using namespace reflex;
using namespace reflex::agent;

namespace {

Result<WindowConfig> parse(const std::string& yaml) {
  auto root = config::parse_yaml(yaml, "agent.yaml");
  if (!root) return root.status();
  config::Errors errors("agent.yaml");
  WindowConfig cfg;
  {
    config::MapReader top(*root, "", errors);
    auto w = top.child("windows");
    read_window_config(w, cfg);
  }
  if (!errors.empty()) return errors.status();
  return cfg;
}

const protocol::Sample* find_sample(const std::vector<protocol::Sample>& samples,
                                    const std::string& name) {
  for (const auto& s : samples) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const Labels kWeb = {{"service", "web"}};

}  // namespace

TEST_CASE("a window config is read with its defaults", "[agent][windows]") {
  auto cfg = parse("windows: {length: 30s, slices: 6, max_series: 100}\n");
  REQUIRE(cfg);
  CHECK(cfg->length == Millis(30'000));
  CHECK(cfg->slices == 6);
  CHECK(cfg->max_series == 100);
  auto defaults = parse("{}");
  REQUIRE(defaults);
  CHECK(defaults->length == Millis(60'000));
  CHECK(defaults->slices == 12);
}

TEST_CASE("window config errors name the key path", "[agent][windows]") {
  auto short_window = parse("windows: {length: 500ms}\n");
  REQUIRE_FALSE(short_window);
  CHECK_THAT(short_window.status().message(),
             Catch::Contains("agent.yaml:1: windows.length: must be at least 1s"));
  auto uneven = parse("windows: {length: 61s, slices: 12}\n");
  REQUIRE_FALSE(uneven);
  CHECK_THAT(uneven.status().message(),
             Catch::Contains("windows.length: 1m1s does not split into 12 slices"));
  auto seven = parse("windows: {slices: 7}\n");  // the default 60s does not split in 7
  REQUIRE_FALSE(seven);
  CHECK_THAT(seven.status().message(),
             Catch::Contains("windows.slices: 1m does not split into 7 slices"));
  auto slices = parse("windows:\n  slices: 500\n  lenght: 60s\n");
  REQUIRE_FALSE(slices);
  CHECK_THAT(slices.status().message(),
             Catch::Contains("agent.yaml:2: windows.slices: must be between 1 and 120"));
  CHECK_THAT(slices.status().message(), Catch::Contains("windows.lenght: unknown key"));
}

TEST_CASE("a window counts events, errors and latencies of one series", "[agent][windows]") {
  SimulatedTime time;
  WindowStore store(time, WindowConfig{Millis(60'000), 12, 100});
  for (int i = 1; i <= 100; ++i) {
    store.event("web", kWeb, /*error=*/i % 10 == 0, double(i));
    time.advance(Millis(100));
  }
  auto st = store.stats("web", kWeb, time.monotonic_ms());
  REQUIRE(st);
  CHECK(st->count == 100);
  CHECK(st->errors == 10);
  CHECK(st->error_rate == Approx(0.1));
  CHECK(st->rate == Approx(100.0 / 60));
  CHECK(*st->p50 == Approx(50).epsilon(0.01));
  CHECK(*st->p99 == Approx(99).epsilon(0.01));
  CHECK(*st->max == 100);
  CHECK_FALSE(st->value);
  CHECK_FALSE(store.stats("web", {{"service", "api"}}, time.monotonic_ms()));
}

TEST_CASE("old data slides out of the window a slice at a time", "[agent][windows]") {
  SimulatedTime time;
  WindowStore store(time, WindowConfig{Millis(10'000), 10, 100});  // 1 s slices
  store.event("web", kWeb, true, 900.0);
  time.advance(Millis(5'000));
  store.event("web", kWeb, false, 10.0);
  auto st = store.stats("web", kWeb, time.monotonic_ms());
  CHECK(st->count == 2);
  CHECK(*st->max == 900);

  time.advance(Millis(5'000));  // the first event's slice is now 10 s old: gone
  st = store.stats("web", kWeb, time.monotonic_ms());
  CHECK(st->count == 1);
  CHECK(st->errors == 0);
  CHECK(*st->max == 10);

  time.advance(Millis(5'000));
  st = store.stats("web", kWeb, time.monotonic_ms());
  CHECK(st->count == 0);
  CHECK(st->error_rate == 0);
  CHECK_FALSE(st->p99);
}

TEST_CASE("a reused slice forgets what it held a ring turn ago", "[agent][windows]") {
  SimulatedTime time;
  WindowStore store(time, WindowConfig{Millis(4'000), 4, 100});
  store.event("web", kWeb, true, 500.0);
  time.advance(Millis(4'000));  // same ring slot, next turn
  store.event("web", kWeb, false, 5.0);
  auto st = store.stats("web", kWeb, time.monotonic_ms());
  CHECK(st->count == 1);
  CHECK(st->errors == 0);
  CHECK(*st->max == 5);
}

TEST_CASE("gauges keep their latest value and the window's range", "[agent][windows]") {
  SimulatedTime time;
  WindowStore store(time, WindowConfig{Millis(10'000), 10, 100});
  const Labels var = {{"mount", "/var"}};
  store.gauge("disk.used", var, 70, "%");
  time.advance(Millis(2'000));
  store.gauge("disk.used", var, 95, "%");
  time.advance(Millis(2'000));
  store.gauge("disk.used", var, 80, "%");
  auto st = store.stats("disk.used", var, time.monotonic_ms());
  CHECK(st->value == 80);
  CHECK(st->unit == "%");
  CHECK(st->gauge_min == 70);
  CHECK(st->gauge_max == 95);
  CHECK(st->count == 0);

  time.advance(Millis(30'000));  // the readings slid out; the last value is still known
  st = store.stats("disk.used", var, time.monotonic_ms());
  CHECK(st->value == 80);
  CHECK_FALSE(st->gauge_max);
}

TEST_CASE("counters sum within the window and give a rate per second", "[agent][windows]") {
  SimulatedTime time;
  WindowStore store(time, WindowConfig{Millis(10'000), 10, 100});
  store.counter("app.signups", {}, 5);
  time.advance(Millis(3'000));
  store.counter("app.signups", {}, 15);
  auto st = store.stats("app.signups", {}, time.monotonic_ms());
  CHECK(st->counter_sum == 20);
  CHECK(st->counter_rate == Approx(2.0));
  time.advance(Millis(8'000));
  CHECK(store.stats("app.signups", {}, time.monotonic_ms())->counter_sum == 15);
}

TEST_CASE("the latest check state and message are kept", "[agent][windows]") {
  SimulatedTime time;
  WindowStore store(time, WindowConfig{});
  store.state("nginx", kWeb, CheckState::kWarning, "slow");
  store.state("nginx", kWeb, CheckState::kCritical, "connection refused");
  auto st = store.stats("nginx", kWeb, time.monotonic_ms());
  CHECK(st->state == CheckState::kCritical);
  CHECK(st->message == "connection refused");
}

TEST_CASE("series beyond max_series are refused and counted", "[agent][windows]") {
  SimulatedTime time;
  WindowStore store(time, WindowConfig{Millis(60'000), 12, 3});
  for (int i = 0; i < 5; ++i) store.event("s" + std::to_string(i), {}, false, 1.0);
  store.event("s0", {}, false, 1.0);  // an existing series still records
  CHECK(store.size() == 3);
  CHECK(store.dropped_series() == 2);
  CHECK(store.stats("s0", {}, time.monotonic_ms())->count == 2);
  CHECK_FALSE(store.stats("s4", {}, time.monotonic_ms()));
}

TEST_CASE("a series idle for more than ten window lengths is expired", "[agent][windows]") {
  SimulatedTime time;
  WindowStore store(time, WindowConfig{Millis(1'000), 1, 2});
  store.event("old", {}, false, 1.0);
  time.advance(Millis(5'000));
  store.event("recent", {}, false, 1.0);
  time.advance(Millis(5'000));
  CHECK(store.expire(time.monotonic_ms()) == 0);  // exactly 10 lengths idle: kept
  time.advance(Millis(1));
  CHECK(store.expire(time.monotonic_ms()) == 1);
  CHECK_FALSE(store.stats("old", {}, time.monotonic_ms()));
  CHECK(store.stats("recent", {}, time.monotonic_ms()));
  store.event("new", {}, false, 1.0);  // the freed room takes a new series
  CHECK(store.dropped_series() == 0);
  CHECK(store.size() == 2);
}

TEST_CASE("the metrics summary names each series' stats with units and labels",
          "[agent][windows]") {
  SimulatedTime time;
  WindowStore store(time, WindowConfig{Millis(10'000), 10, 100});
  store.event("web", kWeb, false, 20.0);
  store.event("web", kWeb, true, 40.0);
  store.state("web", kWeb, CheckState::kWarning, "one failure");
  store.gauge("disk.used", {{"mount", "/"}}, 42, "%");
  store.event("ping", {}, false, std::nullopt);  // no latency: no percentiles

  auto samples = store.to_samples(time.monotonic_ms());
  const auto* rate = find_sample(samples, "web.error_rate");
  REQUIRE(rate);
  CHECK(rate->value == Approx(0.5));
  CHECK(rate->unit == "ratio");
  CHECK(rate->labels == kWeb);
  REQUIRE(find_sample(samples, "web.p99"));
  CHECK(find_sample(samples, "web.p99")->unit == "ms");
  CHECK(find_sample(samples, "web.max")->value == 40);
  CHECK(find_sample(samples, "web.count")->value == 2);
  CHECK(find_sample(samples, "web.rate")->value == Approx(0.2));
  CHECK(find_sample(samples, "web.state")->value == 1);
  const auto* disk = find_sample(samples, "disk.used.value");
  REQUIRE(disk);
  CHECK(disk->value == 42);
  CHECK(disk->unit == "%");
  CHECK(disk->labels == Labels{{"mount", "/"}});
  CHECK_FALSE(find_sample(samples, "disk.used.count"));
  CHECK(find_sample(samples, "ping.count"));
  CHECK_FALSE(find_sample(samples, "ping.p50"));
}

TEST_CASE("a snapshot lists every series in name order", "[agent][windows]") {
  SimulatedTime time;
  WindowStore store(time, WindowConfig{});
  store.event("b", {}, false, 1.0);
  store.event("a", {{"x", "2"}}, false, 1.0);
  store.event("a", {{"x", "1"}}, true, 1.0);
  auto snap = store.snapshot(time.monotonic_ms());
  REQUIRE(snap.size() == 3);
  CHECK(snap[0].name == "a");
  CHECK(snap[0].labels.at("x") == "1");
  CHECK(snap[0].stats.errors == 1);
  CHECK(snap[2].name == "b");
}
