// A Recorder for check tests that keeps every call, in order.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/checks/check.h"

namespace reflex::agent::testing {

class RecorderSpy final : public Recorder {
 public:
  struct Event {
    std::string series;
    Labels labels;
    bool error;
    std::optional<double> latency_ms;
  };
  struct Value {  // a gauge or a counter
    std::string series;
    Labels labels;
    double value;
    std::string unit;
  };
  struct State {
    std::string series;
    CheckState state;
    std::string message;
  };

  void event(const std::string& series, const Labels& labels, bool error,
             std::optional<double> latency_ms) override {
    events.push_back({series, labels, error, latency_ms});
  }
  void gauge(const std::string& series, const Labels& labels, double value,
             const std::string& unit) override {
    gauges.push_back({series, labels, value, unit});
  }
  void counter(const std::string& series, const Labels& labels, double delta) override {
    counters.push_back({series, labels, delta, "c"});
  }
  void state(const std::string& series, const Labels&, CheckState s,
             const std::string& message) override {
    states.push_back({series, s, message});
  }

  size_t error_count() const {
    size_t n = 0;
    for (const auto& e : events) n += e.error ? 1 : 0;
    return n;
  }

  std::vector<Event> events;
  std::vector<Value> gauges;
  std::vector<Value> counters;
  std::vector<State> states;
};

}  // namespace reflex::agent::testing
