#include "common/metrics.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

using namespace reflex::metrics;

TEST_CASE("render shows labelled counters, gauges and histograms in exposition format") {
  Registry registry;
  auto& requests =
      registry.counter_family("reflex_requests_total", "Requests handled.", {"method", "code"});
  requests.with({"POST", "500"}).inc();
  requests.with({"GET", "404"}).inc(2);
  requests.with({"GET", "200"}).inc(3);
  registry.gauge("reflex_queue_depth", "Events waiting.").set(7);
  auto& latency =
      registry.histogram_family("reflex_latency_seconds", "Latency.", {"stage"}, {0.1, 0.5, 1});
  Histogram& ingest = latency.with({"ingest"});
  ingest.observe(0.25);
  ingest.observe(0.5);
  ingest.observe(3);
  registry.counter_family("reflex_unused_total", "Declared, never used.", {"peer"});

  CHECK(registry.render() ==
        "# HELP reflex_latency_seconds Latency.\n"
        "# TYPE reflex_latency_seconds histogram\n"
        "reflex_latency_seconds_bucket{stage=\"ingest\",le=\"0.1\"} 0\n"
        "reflex_latency_seconds_bucket{stage=\"ingest\",le=\"0.5\"} 2\n"
        "reflex_latency_seconds_bucket{stage=\"ingest\",le=\"1\"} 2\n"
        "reflex_latency_seconds_bucket{stage=\"ingest\",le=\"+Inf\"} 3\n"
        "reflex_latency_seconds_sum{stage=\"ingest\"} 3.75\n"
        "reflex_latency_seconds_count{stage=\"ingest\"} 3\n"
        "# HELP reflex_queue_depth Events waiting.\n"
        "# TYPE reflex_queue_depth gauge\n"
        "reflex_queue_depth 7\n"
        "# HELP reflex_requests_total Requests handled.\n"
        "# TYPE reflex_requests_total counter\n"
        "reflex_requests_total{method=\"GET\",code=\"200\"} 3\n"
        "reflex_requests_total{method=\"GET\",code=\"404\"} 2\n"
        "reflex_requests_total{method=\"POST\",code=\"500\"} 1\n"
        "# HELP reflex_unused_total Declared, never used.\n"
        "# TYPE reflex_unused_total counter\n");
}

TEST_CASE("unlabelled histograms put le as their only label") {
  Registry registry;
  Histogram& h = registry.histogram("reflex_batch_size", "Events per batch.", {1, 10, INFINITY});
  h.observe(1);
  h.observe(10);
  CHECK(registry.render() ==
        "# HELP reflex_batch_size Events per batch.\n"
        "# TYPE reflex_batch_size histogram\n"
        "reflex_batch_size_bucket{le=\"1\"} 1\n"
        "reflex_batch_size_bucket{le=\"10\"} 2\n"
        "reflex_batch_size_bucket{le=\"+Inf\"} 2\n"
        "reflex_batch_size_sum 11\n"
        "reflex_batch_size_count 2\n");
}

TEST_CASE("label values and help text are escaped") {
  Registry registry;
  registry.gauge_family("reflex_check_up", "Up (1) or \"down\" (0).\nPer check \\ host.", {"check"})
      .with({"a\\b\"c\nd"})
      .set(1);
  CHECK(registry.render() ==
        "# HELP reflex_check_up Up (1) or \"down\" (0).\\nPer check \\\\ host.\n"
        "# TYPE reflex_check_up gauge\n"
        "reflex_check_up{check=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST_CASE("histogram buckets are cumulative and each bound is inclusive") {
  Histogram h({1, 2, 5});
  for (double v : {0.5, 1.0, 1.5, 2.0, 2.0, 4.0, 5.0, 6.0, -3.0}) h.observe(v);
  h.observe(NAN);  // counted only in +Inf, like the Go client
  Histogram::Snapshot s = h.snapshot();
  CHECK(s.cumulative == std::vector<uint64_t>{3, 6, 8, 10});
  CHECK(s.count == 10);
  CHECK(std::isnan(s.sum));
}

TEST_CASE("numbers print as integers without exponent, others in shortest form") {
  Registry registry;
  auto& g = registry.gauge_family("g", "", {"v"});
  g.with({"a_million"}).set(1e6);
  g.with({"b_tenth"}).set(0.1);
  g.with({"c_negative"}).set(-2.5);
  g.with({"d_huge"}).set(1e300);
  g.with({"e_nan"}).set(NAN);
  g.with({"f_inf"}).set(INFINITY);
  g.with({"g_minus_inf"}).set(-INFINITY);
  g.with({"h_zero"}).set(-0.0);
  Counter& c = registry.counter("c_total", "");
  c.inc(18446744073709551615ull);  // 2^64-1 stays exact
  CHECK(registry.render() ==
        "# HELP c_total \n"
        "# TYPE c_total counter\n"
        "c_total 18446744073709551615\n"
        "# HELP g \n"
        "# TYPE g gauge\n"
        "g{v=\"a_million\"} 1000000\n"
        "g{v=\"b_tenth\"} 0.1\n"
        "g{v=\"c_negative\"} -2.5\n"
        "g{v=\"d_huge\"} 1e+300\n"
        "g{v=\"e_nan\"} NaN\n"
        "g{v=\"f_inf\"} +Inf\n"
        "g{v=\"g_minus_inf\"} -Inf\n"
        "g{v=\"h_zero\"} 0\n");
}

TEST_CASE("counters add fractions and ignore negative or NaN amounts") {
  Registry registry;
  Counter& c = registry.counter("reflex_busy_seconds_total", "Time spent busy.");
  c.inc(2);
  c.add(0.5);
  c.add(-1);
  c.add(NAN);
  CHECK(c.value() == 2.5);
  CHECK_THAT(registry.render(), Catch::EndsWith("reflex_busy_seconds_total 2.5\n"));
}

TEST_CASE("gauges set, add and subtract") {
  Gauge g;
  g.set(10);
  g.add(2.5);
  g.sub(0.5);
  g.inc();
  g.dec();
  g.dec();
  CHECK(g.value() == 11);
}

TEST_CASE("concurrent updates from several threads sum exactly") {
  Registry registry;
  auto& family = registry.counter_family("reflex_events_total", "Events.", {"kind"});
  Gauge& gauge = registry.gauge("reflex_in_flight", "In flight.");
  Histogram& histogram = registry.histogram("reflex_sizes", "Sizes.", {10, 100});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& shared = family.with({"shared"});  // looked up once, then hot
      Counter& own = family.with({"thread" + std::to_string(t)});
      for (int i = 0; i < kPerThread; ++i) {
        shared.inc();
        own.inc();
        gauge.add(1.0);
        histogram.observe(i % 200);
      }
    });
  }
  // Rendering while the counters move must be safe and never block them for long.
  for (int i = 0; i < 20; ++i) CHECK_FALSE(registry.render().empty());
  for (auto& thread : threads) thread.join();

  CHECK(family.with({"shared"}).value() == kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    CHECK(family.with({"thread" + std::to_string(t)}).value() == kPerThread);
  }
  CHECK(gauge.value() == kThreads * kPerThread);
  Histogram::Snapshot s = histogram.snapshot();
  CHECK(s.count == uint64_t{kThreads} * kPerThread);
  CHECK(s.cumulative[0] == uint64_t{kThreads} * (kPerThread / 200) * 11);   // 0..10
  CHECK(s.cumulative[1] == uint64_t{kThreads} * (kPerThread / 200) * 101);  // 0..100
  CHECK(s.sum == double{kThreads} * (kPerThread / 200) * (199.0 * 200 / 2));
  CHECK_THAT(registry.render(), Catch::Contains("reflex_events_total{kind=\"shared\"} 400000\n"));
}

TEST_CASE("references stay valid after many more children are added") {
  Registry registry;
  auto& family = registry.counter_family("reflex_peer_messages_total", "Messages.", {"peer"});
  Counter& first = family.with({"peer-0"});
  first.inc();
  std::vector<Counter*> seen;
  for (int i = 1; i < 5000; ++i) seen.push_back(&family.with({"peer-" + std::to_string(i)}));
  for (int i = 0; i < 50; ++i) registry.gauge("reflex_filler_" + std::to_string(i), "").set(i);
  first.inc();
  CHECK(&family.with({"peer-0"}) == &first);
  CHECK(family.with({"peer-0"}).value() == 2);
  for (int i = 1; i < 5000; ++i) CHECK(&family.with({"peer-" + std::to_string(i)}) == seen[i - 1]);
  std::vector<std::string> runtime_values = {"peer-0"};
  CHECK(&family.with(runtime_values) == &first);
}

TEST_CASE("registering a metric again returns the same family") {
  Registry registry;
  auto& a = registry.counter_family("reflex_restarts_total", "Restarts.", {"unit"});
  auto& b = registry.counter_family("reflex_restarts_total", "Restarts.", {"unit"});
  CHECK(&a == &b);
  CHECK(&registry.counter("x_total", "X.") == &registry.counter("x_total", "X."));
  auto& h1 = registry.histogram_family("h", "H.", {}, {1, 2});
  auto& h2 = registry.histogram_family("h", "H.", {}, {1, 2, INFINITY});
  CHECK(&h1 == &h2);
}

TEST_CASE("metric and label names are validated") {
  CHECK(validate_metric_name("reflex_events_total").is_ok());
  CHECK(validate_metric_name("_private:recorded_rule").is_ok());
  CHECK(validate_metric_name(":colon_first").is_ok());
  CHECK(validate_metric_name("").code() == "invalid_name");
  CHECK(validate_metric_name("9lives").code() == "invalid_name");
  CHECK(validate_metric_name("has-dash").code() == "invalid_name");
  CHECK(validate_metric_name("has space").code() == "invalid_name");
  CHECK_THAT(validate_metric_name("bad.name").message(), Catch::Contains("\"bad.name\""));

  CHECK(validate_label_name("host_name2").is_ok());
  CHECK(validate_label_name("has:colon").code() == "invalid_name");
  CHECK(validate_label_name("__reserved").code() == "invalid_name");
  CHECK(validate_label_name("2x").code() == "invalid_name");
}

TEST_CASE("bucket bounds must be strictly increasing") {
  CHECK(validate_buckets(std::vector<double>{0.1, 1, 10}).is_ok());
  CHECK(validate_buckets(std::vector<double>{}).is_ok());
  CHECK(validate_buckets(std::vector<double>{1, INFINITY}).is_ok());
  CHECK(validate_buckets(std::vector<double>{1, 1}).code() == "invalid_buckets");
  CHECK(validate_buckets(std::vector<double>{2, 1}).code() == "invalid_buckets");
  CHECK(validate_buckets(std::vector<double>{1, NAN}).code() == "invalid_buckets");
  CHECK(validate_buckets(std::vector<double>{INFINITY, 1}).code() == "invalid_buckets");
  CHECK(validate_buckets(std::vector<double>{-INFINITY, 1}).code() == "invalid_buckets");
  CHECK(exponential_buckets(0.5, 2, 4) == std::vector<double>{0.5, 1, 2, 4});
}
