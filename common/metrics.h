// Counters, gauges and histograms that the hub and the agent keep about themselves,
// rendered in the Prometheus text exposition format (version 0.0.4) for /metrics.
//
// Thread rules: every method may be called from any thread. Updating a metric is a few
// relaxed atomic operations and never locks, so the event loop can count freely while
// HTTP threads render. Creating families and children takes a mutex; look children up
// once, keep the reference, and increment it on the hot path.
//
// Error philosophy: metric and label names and bucket bounds are constants in our own
// code, so a bad one (or a family re-registered with a different shape, or with() given
// the wrong number of label values) is a programming error and aborts with a message at
// start-up. Values are data: a counter given a negative or NaN amount ignores it rather
// than crash the process it measures. validate_*() let code check names from elsewhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace reflex::metrics {

// The Content-Type of render()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// One sample line of the text format, `name{k="v",...} value\n`, for exporters whose series
// come and go (an agent's windows) and so do not live in a Registry. Label values are
// escaped; label names that are not valid Prometheus names have the offending characters
// replaced by '_'.
void append_sample(std::string& out, std::string_view name,
                   const std::vector<std::pair<std::string, std::string>>& labels, double value);

// Monotonic. Whole increments are exact up to 2^64; fractional amounts (seconds, bytes
// as double) are summed separately in a double.
class Counter {
 public:
  void inc(uint64_t n = 1) { whole_.fetch_add(n, std::memory_order_relaxed); }
  // Negative and NaN amounts are ignored: a counter never goes backwards.
  void add(double amount);
  double value() const;

 private:
  template <class>
  friend class Family;  // renders the whole part exactly
  std::atomic<uint64_t> whole_{0};
  std::atomic<double> fractional_{0.0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void sub(double delta) { add(-delta); }
  void inc() { add(1.0); }
  void dec() { add(-1.0); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Counts observations into fixed buckets; an observation lands in the first bucket
// whose upper bound is >= it (NaN lands only in +Inf, as in the Go client).
class Histogram {
 public:
  // `bounds`: finite upper bounds, strictly increasing; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  // Buckets and count always agree; sum may miss observations still in flight.
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket, not cumulative
  std::atomic<double> sum_{0.0};
};

namespace detail {
// What the registry keeps about one metric name, whatever its type.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  virtual void render(std::string& out) const = 0;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};
}  // namespace detail

// All children of one metric name, one per combination of label values.
template <class Metric>
class Family final : public detail::FamilyBase {
 public:
  // The child for these label values (in label-name order), created on first use.
  // The reference stays valid for the Registry's lifetime.
  Metric& with(std::initializer_list<std::string_view> values);
  Metric& with(std::span<const std::string> values);

  void render(std::string& out) const override;

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds)
      : FamilyBase(std::move(name), std::move(help), std::move(label_names)),
        bounds_(std::move(bounds)) {}
  Metric& child(std::vector<std::string> values);
  void render_histogram(std::string& out, const std::vector<std::string>& values,
                        const Histogram& histogram) const;

  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  // Sorted, so render() is deterministic; unique_ptr, so references stay put.
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

// Instantiated in metrics.cc for these three types only.
extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// The metrics of one process (or one test). Not a singleton: whoever owns the process
// wiring creates it and passes it by reference. Must outlive every reference it hands
// out.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registering a name again with the same type, help, labels (and bounds) returns the
  // existing family, so two modules may declare the same metric.
  CounterFamily& counter_family(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names);
  GaugeFamily& gauge_family(std::string_view name, std::string_view help,
                            std::vector<std::string> label_names);
  HistogramFamily& histogram_family(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names,
                                    std::vector<double> bounds);

  // Unlabelled metrics.
  Counter& counter(std::string_view name, std::string_view help);
  Gauge& gauge(std::string_view name, std::string_view help);
  Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds);

  // Every family sorted by name, children sorted by label values. Families without
  // children still show their HELP and TYPE lines.
  std::string render() const;

 private:
  template <class Metric>
  Family<Metric>& family(std::string_view name, std::string_view help,
                         std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<detail::FamilyBase>, std::less<>> families_;
};

// `count` bounds: start, start*factor, ... (start > 0, factor > 1, count >= 1).
std::vector<double> exponential_buckets(double start, double factor, int count);

// Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*.
Status validate_metric_name(std::string_view name);
// Label names: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved).
Status validate_label_name(std::string_view name);
// Histogram bounds: no NaN, strictly increasing; a trailing +Inf is allowed.
Status validate_buckets(std::span<const double> bounds);

}  // namespace reflex::metrics
