#include "agent/sketch.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

using namespace reflex::agent;

namespace {

// The exact value the sketch approximates: rank floor(q * (n - 1)) of the sorted input.
double exact_quantile(std::vector<double> sorted, double q) {
  std::sort(sorted.begin(), sorted.end());
  return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
}

void check_accuracy(const std::vector<double>& values) {
  LatencySketch sketch;
  for (double v : values) sketch.add(v);
  REQUIRE(sketch.count() == values.size());
  for (double q : {0.5, 0.95, 0.99}) {
    const double exact = exact_quantile(values, q);
    const double got = sketch.quantile(q).value();
    INFO("q=" << q << " exact=" << exact << " sketch=" << got);
    CHECK(std::abs(got - exact) <= LatencySketch::kRelativeAccuracy * exact + 1e-12);
  }
  CHECK(sketch.quantile(0).value() == *std::min_element(values.begin(), values.end()));
  CHECK(sketch.quantile(1).value() == *std::max_element(values.begin(), values.end()));
}

}  // namespace

TEST_CASE("sketch quantiles of uniform latencies are within 1% of the exact percentiles",
          "[agent][sketch]") {
  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(1, 1000);
  std::vector<double> values(50'000);
  for (auto& v : values) v = dist(rng);
  check_accuracy(values);
}

TEST_CASE("sketch quantiles of log-normal latencies are within 1% of the exact percentiles",
          "[agent][sketch]") {
  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(std::log(50.0), 1.5);
  std::vector<double> values(50'000);
  for (auto& v : values) v = dist(rng);
  check_accuracy(values);
}

TEST_CASE("sketch quantiles of bimodal latencies are within 1% of the exact percentiles",
          "[agent][sketch]") {
  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  // 90% fast cache hits around 2 ms, 10% slow misses around 400 ms: p95 and p99 lie in
  // the slow mode, p50 in the fast one.
  std::normal_distribution<double> fast(2, 0.3), slow(400, 60);
  std::bernoulli_distribution miss(0.1);
  std::vector<double> values(50'000);
  for (auto& v : values) v = std::max(0.01, miss(rng) ? slow(rng) : fast(rng));
  check_accuracy(values);
}

TEST_CASE("a sketch keeps exact count, min, max and sum", "[agent][sketch]") {
  LatencySketch s;
  CHECK_FALSE(s.quantile(0.5));
  s.add(3);
  s.add(10, 3);
  s.add(0);  // the zero bin
  CHECK(s.count() == 5);
  CHECK(s.min() == 0);
  CHECK(s.max() == 10);
  CHECK(s.sum() == Approx(33));
  CHECK(s.quantile(0).value() == 0);
  CHECK(s.quantile(0.5).value() == Approx(10).epsilon(0.01));
}

TEST_CASE("a sketch ignores negative, NaN and infinite values", "[agent][sketch]") {
  LatencySketch s;
  s.add(-1);
  s.add(std::nan(""));
  s.add(INFINITY);
  CHECK(s.empty());
  s.add(5);
  CHECK(s.sum() == 5);
}

TEST_CASE("merging two sketches equals sketching the union", "[agent][sketch]") {
  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(std::log(20.0), 2);
  LatencySketch a, b, all;
  for (int i = 0; i < 20'000; ++i) {
    const double v = dist(rng);
    (i % 3 == 0 ? a : b).add(v);
    all.add(v);
  }
  a.merge(b);
  CHECK(a.same_bins(all));
  CHECK(a.sum() == Approx(all.sum()));
  for (double q : {0.0, 0.5, 0.9, 0.95, 0.99, 1.0}) CHECK(a.quantile(q) == all.quantile(q));
}

TEST_CASE("merging into an empty sketch copies it, merging an empty one changes nothing",
          "[agent][sketch]") {
  LatencySketch a, b;
  b.add(7);
  b.add(70);
  a.merge(b);
  CHECK(a.same_bins(b));
  a.merge(LatencySketch());
  CHECK(a.same_bins(b));
}

TEST_CASE("a sketch of a million values over many magnitudes stays within its memory bound",
          "[agent][sketch]") {
  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  // Log-uniform over 1e-5 .. 1e25 ms: 30 decades, more than 2048 bins can span.
  std::uniform_real_distribution<double> exponent(-5, 25);
  LatencySketch s;
  std::vector<double> values;
  values.reserve(1'000'000);
  for (int i = 0; i < 1'000'000; ++i) {
    values.push_back(std::pow(10.0, exponent(rng)));
    s.add(values.back());
  }
  CHECK(s.count() == 1'000'000);
  CHECK(s.bins() <= LatencySketch::kDefaultMaxBins);
  CHECK(s.memory_used() <= LatencySketch::memory_bound());
  CHECK(LatencySketch::memory_bound() <= 40 * 1024);
  // Collapsing folds the lowest bins: the high quantiles keep their 1% bound.
  for (double q : {0.95, 0.99}) {
    const double exact = exact_quantile(values, q);
    INFO("q=" << q);
    CHECK(std::abs(s.quantile(q).value() - exact) <= 0.01 * exact * (1 + 1e-9));
  }
}

TEST_CASE("merging sketches that together need too many bins folds the lowest ones",
          "[agent][sketch]") {
  LatencySketch low(64), high(64);
  for (int i = 0; i < 64; ++i) {
    low.add(std::pow(1.03, i));          // 64 distinct bins from 1 ms
    high.add(1000 * std::pow(1.03, i));  // and 64 from 1 s
  }
  REQUIRE(low.bins() == 64);
  low.merge(high);
  CHECK(low.bins() == 64);
  CHECK(low.count() == 128);
  CHECK(low.memory_used() <= LatencySketch::memory_bound(64));
  CHECK(low.quantile(0.99).value() == Approx(high.quantile(0.98).value()).epsilon(0.011));
  // Everything below 1 s went into the lowest kept bin: the median is overestimated.
  CHECK(low.quantile(0.25).value() >= 1000 * 0.99);
}

TEST_CASE("a sketch of latencies between 1 and 1000 ms stays small", "[agent][sketch]") {
  LatencySketch s;
  for (double v = 1; v <= 1000; v += 0.25) s.add(v);
  CHECK(s.bins() < 400);
  CHECK(s.memory_used() < 12 * 1024);
}
