// Checks: the agent's measuring stage (collect -> windows -> rules).
//
// A check measures one thing on this host and writes what it saw into a Recorder, which
// the agent wires to the sliding windows (agent/windows.h). Periodic checks (http, tcp,
// command, process, host) are run by a CheckRunner on their interval with their timeout;
// streaming checks (log, statsd) record as data arrives. Every check keeps a CheckStatus
// that /status shows. All of it runs on the agent's loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/duration.h"
#include "common/loop.h"
#include "common/status.h"
#include "protocol/messages.h"

namespace reflex::agent {

using Labels = protocol::Labels;

// The Nagios plugin states, in their exit-code order; every check reports one.
enum class CheckState : uint8_t { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };
const char* state_name(CheckState s);                         // "OK", "WARNING", ...
std::optional<CheckState> parse_state(const std::string& s);  // case-insensitive

// One performance value (a Nagios perfdata item, a host gauge, a TTFB), already in the
// base unit of its kind: milliseconds for time, bytes for sizes, percent as 0..100.
struct PerfValue {
  std::string name;
  double value = 0;
  std::string unit;  // "ms", "B", "%", "c" (a counter), "" (a plain number)
  Labels labels;     // added to the check's labels, e.g. {mount: /var}
};

// What a periodic check run produced.
struct CheckResult {
  CheckState state = CheckState::kUnknown;
  std::string message;                        // first line of output, or why it failed
  std::optional<double> latency_ms;           // total time of the probe, when it has one
  std::vector<PerfValue> perf;                // extra values, recorded as gauges "<check>.<name>"
  bool timed_out = false;                     // given up at the spec's timeout
  std::map<std::string, uint64_t> bad_input;  // problems in this run's input, by reason
};

// Where checks write what they measure. Series names are the check's name, or
// "<check>.<metric>" for the values a check derives; labels are the check's labels plus
// any the measurement adds. Loop thread only.
class Recorder {
 public:
  virtual ~Recorder() = default;
  // One request or probe: whether it failed and, when known, how long it took.
  virtual void event(const std::string& series, const Labels& labels, bool error,
                     std::optional<double> latency_ms) = 0;
  // The current value of something (a temperature, a queue depth, a disk's use in %).
  virtual void gauge(const std::string& series, const Labels& labels, double value,
                     const std::string& unit) = 0;
  // Something that happened `delta` times (a StatsD counter, already scaled by its rate).
  virtual void counter(const std::string& series, const Labels& labels, double delta) = 0;
  // The latest state of a check, with its message.
  virtual void state(const std::string& series, const Labels& labels, CheckState state,
                     const std::string& message) = 0;
};

// What /status shows for one check.
struct CheckStatus {
  std::string name;
  std::string type;
  uint64_t runs = 0;                          // periodic runs finished (or lines/datagrams read)
  uint64_t failures = 0;                      // runs whose state was not OK
  uint64_t timeouts = 0;                      // runs killed or abandoned at their timeout
  std::map<std::string, uint64_t> bad_input;  // "malformed_datagram" -> 3, ...
  CheckState last_state = CheckState::kUnknown;
  std::string last_message;
  std::optional<double> last_latency_ms;
  int64_t last_run_ms = 0;  // wall clock of the last result (0: none yet)
};

// Settings every check has.
struct CheckSpec {
  std::string name;  // unique; the series name
  std::string type;  // http, tcp, command, log, statsd, process, host
  Millis interval = Millis(10'000);
  Millis timeout = Millis(5'000);
  Labels labels;  // e.g. service, env
};

// The services a check may use; all outlive every check. Loop thread only.
struct CheckContext {
  EventLoop& loop;
  const Clock& clock;
  Timers& timers;
  Recorder& recorder;
};

// A periodic check: run() starts one probe and calls `done` exactly once, on the loop
// thread, with its result; it must give up (and clean up: kill, close) by the spec's
// timeout and then report kUnknown (or kCritical where the protocol says so, like a
// refused connection). The runner never starts a run while one is in flight.
//
// A check that learns between runs that its answer has changed (a watched process
// exited) asks for a run at once by calling the `wake` function its runner hands it
// through set_wake(); see CheckRunner for when that run starts.
class PeriodicCheck {
 public:
  virtual ~PeriodicCheck() = default;
  virtual const CheckSpec& spec() const = 0;
  virtual void run(std::function<void(CheckResult)> done) = 0;
  // Called once by the runner that takes the check, before its first run. `wake` may be
  // called any number of times, from anywhere on the loop thread (inside run() too),
  // while the check lives; it never runs the check from inside the call. Checks that
  // only measure on their interval ignore it.
  virtual void set_wake(std::function<void()> /*wake*/) {}
};

// A streaming check (log, statsd): starts reading on start(), records as data arrives
// and stops on stop() or destruction.
class StreamingCheck {
 public:
  virtual ~StreamingCheck() = default;
  virtual const CheckSpec& spec() const = 0;
  virtual Status start() = 0;
  virtual void stop() = 0;
  virtual const CheckStatus& status() const = 0;
};

}  // namespace reflex::agent
