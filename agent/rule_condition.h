// A rule's condition over one window stat, as operators write it: `p99 > 250ms`,
// `error_rate > 5%`, `state == CRITICAL`, `value > 90`, `count < 1`.
//
// Thresholds are kept in the stat's base unit: milliseconds for latency stats, a ratio
// (0..1) for error_rate, events or increments per second for rate and counter_rate, the
// Nagios code (OK=0 .. UNKNOWN=3) for state, the gauge's own unit for value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/windows.h"
#include "common/status.h"

namespace reflex::agent {

enum class Stat : uint8_t {
  kCount,
  kErrors,
  kErrorRate,
  kP50,
  kP95,
  kP99,
  kMax,
  kRate,
  kValue,
  kState,
  kCounterRate,
};
enum class Op : uint8_t { kGt, kGe, kLt, kLe, kEq, kNe };

const char* stat_name(Stat s);  // "p99", "error_rate", ...
const char* op_name(Op op);     // ">", ">=", ...

struct Condition {
  Stat stat = Stat::kCount;
  Op op = Op::kGt;
  double threshold = 0;

  bool operator==(const Condition&) const = default;
};

// Parses `<stat> <op> <threshold>` (spaces optional). Threshold units by stat:
//   p50 p95 p99 max   a number of ms, or with a unit: 250ms, 0.25s, 800us
//   error_rate        a ratio (0.05) or a percentage (5%)
//   state             OK, WARNING, CRITICAL, UNKNOWN (any case) or 0..3
//   value             a number, in the gauge's unit (a trailing % is allowed and kept
//                     as is: percent gauges hold 0..100); time units convert to ms
//   rate counter_rate a number per second, or with /s or /m (per minute)
//   count errors      a whole number of events
// The error message says what is wrong ("unknown stat \"p98\" (known: ...)").
Result<Condition> parse_condition(std::string_view text);
// The canonical spelling parse_condition reads back: "p99 > 250ms", "error_rate > 5%".
std::string format_condition(const Condition& c);
// The threshold alone, in the same spelling ("250ms", "5%", "CRITICAL").
std::string format_threshold(Stat stat, double value);

bool holds(const Condition& c, double value);
// Whether some value satisfies both conditions (on the same stat). Exact: both are
// half-lines, points or a line minus a point, so a witness, when there is one, is among
// a few candidates built from the two thresholds; it is returned.
std::optional<double> common_value(const Condition& a, const Condition& b);

// The value of `stat` in `stats`, or nullopt when the window holds no data for it:
// no latencies (p50..max), no gauge ever (value), no state ever (state), no events
// (error_rate: a rate of nothing is not zero). count, errors, rate and counter_rate
// always have a value (zero is data for them).
std::optional<double> stat_value(Stat stat, const WindowStats& stats);

}  // namespace reflex::agent
