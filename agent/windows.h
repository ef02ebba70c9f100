// Windows: the sliding windows every measured series keeps (collect -> windows -> rules).
//
// A series is a name and a label set. Each keeps a ring of `slices` time slices covering
// the last `length` of monotonic time; a slice holds the events, errors, latencies (a
// LatencySketch), counter increments and gauge readings recorded while it was current.
// Stats merge the slices still inside the window, so old data slides out a slice at a
// time: a window covers between length - length/slices and length of the past. Memory is
// bounded: at most max_series series, each with `slices` sketches of bounded size.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "agent/checks/check.h"
#include "agent/sketch.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/duration.h"
#include "protocol/messages.h"

namespace reflex::agent {

struct WindowConfig {
  Millis length = Millis(60'000);
  int slices = 12;
  size_t max_series = 5000;
};

// Reads `length` (at least 1s, a whole number of milliseconds per slice), `slices`
// (1..120) and `max_series` (1..1000000). Errors name the key path.
void read_window_config(config::MapReader& r, WindowConfig& out);

// What one series did within its window at `now`.
struct WindowStats {
  uint64_t count = 0;                          // events
  uint64_t errors = 0;                         // events that failed
  double error_rate = 0;                       // errors / count; 0 when count is 0
  std::optional<double> p50, p95, p99, max;    // latency in ms; absent without latencies
  double rate = 0;                             // events per second over the window length
  double counter_sum = 0;                      // counter increments within the window
  double counter_rate = 0;                     // counter_sum per second
  std::optional<double> gauge_min, gauge_max;  // gauge readings within the window
  // The latest gauge reading and check state, however old: a check that stopped
  // reporting keeps its last known value (see rules.h on silent series).
  std::optional<double> value;
  std::string unit;  // the latest gauge's unit
  std::optional<CheckState> state;
  std::string message;  // with the latest state
};

struct SeriesStats {
  std::string name;
  Labels labels;
  WindowStats stats;
};

// The agent's windows, fed by checks through the Recorder interface. The clock must
// outlive the store. Loop thread only.
class WindowStore final : public Recorder {
 public:
  WindowStore(const Clock& clock, WindowConfig config);

  // Recorder: placed in the slice of clock.monotonic_ms(). A new series beyond
  // max_series is refused and counted in dropped_series().
  void event(const std::string& series, const Labels& labels, bool error,
             std::optional<double> latency_ms) override;
  void gauge(const std::string& series, const Labels& labels, double value,
             const std::string& unit) override;
  void counter(const std::string& series, const Labels& labels, double delta) override;
  void state(const std::string& series, const Labels& labels, CheckState state,
             const std::string& message) override;

  // Forgets series that recorded nothing for more than 10 window lengths; returns how
  // many. The agent calls it periodically (e.g. once a window length).
  size_t expire(int64_t now_ms);

  // The stats of one series (nullopt when it does not exist), and of all of them, in
  // name then label order. `now_ms` is monotonic.
  std::optional<WindowStats> stats(const std::string& name, const Labels& labels,
                                   int64_t now_ms) const;
  std::vector<SeriesStats> snapshot(int64_t now_ms) const;
  // The `metrics` summary: per series `<name>.count`, `.errors`, `.error_rate`, `.rate`
  // (series with events), `.p50` `.p95` `.p99` `.max` (with latencies), `.counter_rate`
  // (series with counters), `.value` (with a gauge, in its unit), `.state` (0..3).
  std::vector<protocol::Sample> to_samples(int64_t now_ms) const;

  // Calls fn(name, labels) for every series, in name then label order.
  template <class Fn>
  void for_each_series(Fn&& fn) const {
    for (const auto& [key, series] : series_) fn(key.name, key.labels);
  }

  size_t size() const { return series_.size(); }
  uint64_t dropped_series() const { return dropped_series_; }
  const WindowConfig& config() const { return config_; }

 private:
  struct Slice {
    int64_t epoch = -1;  // now / slice length when it was current; -1: never used
    uint64_t count = 0;
    uint64_t errors = 0;
    LatencySketch latency;
    double counter_sum = 0;
    bool has_gauge = false;
    double gauge_last = 0, gauge_min = 0, gauge_max = 0;
  };
  struct Series {
    std::vector<Slice> ring;
    int64_t last_seen_ms = 0;
    bool has_events = false;
    bool has_counter = false;
    std::optional<double> gauge;
    std::string unit;
    std::optional<CheckState> state;
    std::string message;
  };
  struct Key {
    std::string name;
    Labels labels;
  };
  // Looks a series up without copying its name and labels (the recording hot path).
  struct KeyRef {
    const std::string& name;
    const Labels& labels;
  };
  struct KeyLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::tie(a.name, a.labels) < std::tie(b.name, b.labels);
    }
  };

  int64_t epoch_of(int64_t now_ms) const;
  // The series (created if there is room) and its current slice; nullptr when refused.
  Slice* current(const std::string& name, const Labels& labels, Series** series = nullptr);
  WindowStats stats_of(const Series& series, int64_t now_ms) const;

  const Clock& clock_;
  WindowConfig config_;
  int64_t slice_ms_;
  std::map<Key, Series, KeyLess> series_;
  uint64_t dropped_series_ = 0;
};

}  // namespace reflex::agent
