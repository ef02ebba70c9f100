#include "agent/rule_condition.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <sstream>

namespace reflex::agent {
namespace {

constexpr std::array<Stat, 11> kStats = {
    Stat::kCount, Stat::kErrors, Stat::kErrorRate, Stat::kP50,   Stat::kP95,        Stat::kP99,
    Stat::kMax,   Stat::kRate,   Stat::kValue,     Stat::kState, Stat::kCounterRate};
// Two-character operators first, so ">=" is not read as ">".
constexpr std::array<Op, 6> kOps = {Op::kGe, Op::kLe, Op::kEq, Op::kNe, Op::kGt, Op::kLt};

bool is_latency(Stat s) {
  return s == Stat::kP50 || s == Stat::kP95 || s == Stat::kP99 || s == Stat::kMax;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string number(double v) {
  std::ostringstream out;
  out.precision(10);
  out << v;
  return out.str();
}

std::optional<double> time_unit_ms(const std::string& unit) {
  if (unit.empty() || unit == "ms") return 1.0;
  if (unit == "s") return 1000.0;
  if (unit == "us") return 0.001;
  return std::nullopt;
}

// The threshold text for `stat`, converted to the stat's base unit.
Result<double> parse_threshold(Stat stat, const std::string& text) {
  auto fail = [&](const std::string& why) {
    return Status::error("bad_condition",
                         "threshold \"" + text + "\" for " + stat_name(stat) + ": " + why);
  };
  if (stat == Stat::kState) {
    if (auto st = parse_state(text)) return static_cast<double>(*st);
    if (text.size() == 1 && text[0] >= '0' && text[0] <= '3') return double(text[0] - '0');
    return fail("expected OK, WARNING, CRITICAL, UNKNOWN or 0..3");
  }
  static const std::regex re(
      R"(^([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*(\S*)$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return fail("expected a number");
  const double v = std::strtod(m[1].str().c_str(), nullptr);
  if (!std::isfinite(v)) return fail("the number is out of range");
  const std::string unit = m[2].str();
  if (is_latency(stat)) {
    auto scale = time_unit_ms(unit);
    if (!scale) return fail("unit \"" + unit + "\" is not a time unit (ms, s, us)");
    return v * *scale;
  }
  switch (stat) {
    case Stat::kErrorRate:
      if (unit == "%") return v / 100;
      if (!unit.empty()) return fail("expected a ratio (0.05) or a percentage (5%)");
      if (v > 1) return fail("a ratio is at most 1; write " + number(v) + "% for a percentage");
      return v;
    case Stat::kValue: {
      if (unit == "%") return v;
      auto scale = time_unit_ms(unit);
      if (!scale) return fail("unit \"" + unit + "\" is not understood (%, ms, s, us)");
      return v * *scale;
    }
    case Stat::kRate:
    case Stat::kCounterRate:
      if (unit.empty() || unit == "/s") return v;
      if (unit == "/m") return v / 60;
      return fail("expected a number per second, or with /s or /m");
    default:  // count, errors
      if (!unit.empty()) return fail("expected a plain number of events");
      return v;
  }
}

}  // namespace

const char* stat_name(Stat s) {
  switch (s) {
    case Stat::kCount:
      return "count";
    case Stat::kErrors:
      return "errors";
    case Stat::kErrorRate:
      return "error_rate";
    case Stat::kP50:
      return "p50";
    case Stat::kP95:
      return "p95";
    case Stat::kP99:
      return "p99";
    case Stat::kMax:
      return "max";
    case Stat::kRate:
      return "rate";
    case Stat::kValue:
      return "value";
    case Stat::kState:
      return "state";
    case Stat::kCounterRate:
      return "counter_rate";
  }
  return "?";
}

const char* op_name(Op op) {
  switch (op) {
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kEq:
      return "==";
    case Op::kNe:
      return "!=";
  }
  return "?";
}

Result<Condition> parse_condition(std::string_view text) {
  const std::string s = trim(text);
  size_t i = 0;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
  const std::string stat_text = s.substr(0, i);
  if (stat_text.empty()) {
    return Status::error(
        "bad_condition",
        "expected <stat> <op> <threshold>, like \"p99 > 250ms\", got \"" + s + "\"");
  }
  Condition c;
  bool known = false;
  std::string names;
  for (Stat st : kStats) {
    names += (names.empty() ? "" : ", ") + std::string(stat_name(st));
    if (stat_text == stat_name(st)) {
      c.stat = st;
      known = true;
    }
  }
  if (!known) {
    return Status::error("bad_condition",
                         "unknown stat \"" + stat_text + "\" (known: " + names + ")");
  }
  const std::string rest = trim(std::string_view(s).substr(i));
  bool have_op = false;
  size_t op_len = 0;
  for (Op op : kOps) {
    const std::string name = op_name(op);
    if (rest.compare(0, name.size(), name) == 0) {
      c.op = op;
      op_len = name.size();
      have_op = true;
      break;
    }
  }
  if (!have_op) {
    return Status::error("bad_condition", "expected an operator (>, >=, <, <=, ==, !=) after \"" +
                                              stat_text + "\" in \"" + s + "\"");
  }
  const std::string threshold = trim(std::string_view(rest).substr(op_len));
  if (threshold.empty()) {
    return Status::error("bad_condition", "missing threshold in \"" + s + "\"");
  }
  auto t = parse_threshold(c.stat, threshold);
  if (!t) return t.status();
  c.threshold = *t;
  return c;
}

std::string format_threshold(Stat stat, double value) {
  if (stat == Stat::kState) {
    const double code = std::round(value);
    if (code >= 0 && code <= 3 && code == value) {
      return state_name(static_cast<CheckState>(static_cast<int>(code)));
    }
    return number(value);
  }
  if (is_latency(stat)) return number(value) + "ms";
  if (stat == Stat::kErrorRate) return number(value * 100) + "%";
  return number(value);
}

std::string format_condition(const Condition& c) {
  return std::string(stat_name(c.stat)) + " " + op_name(c.op) + " " +
         format_threshold(c.stat, c.threshold);
}

bool holds(const Condition& c, double value) {
  switch (c.op) {
    case Op::kGt:
      return value > c.threshold;
    case Op::kGe:
      return value >= c.threshold;
    case Op::kLt:
      return value < c.threshold;
    case Op::kLe:
      return value <= c.threshold;
    case Op::kEq:
      return value == c.threshold;
    case Op::kNe:
      return value != c.threshold;
  }
  return false;
}

std::optional<double> common_value(const Condition& a, const Condition& b) {
  // Any non-empty intersection contains a threshold, the midpoint between them, or a
  // point beyond both.
  const double lo = std::min(a.threshold, b.threshold);
  const double hi = std::max(a.threshold, b.threshold);
  const double below = std::nextafter(lo, -INFINITY);
  const double above = std::nextafter(hi, INFINITY);
  for (double x : {a.threshold, b.threshold, lo + (hi - lo) / 2, below, above}) {
    if (holds(a, x) && holds(b, x)) return x;
  }
  return std::nullopt;
}

std::optional<double> stat_value(Stat stat, const WindowStats& stats) {
  switch (stat) {
    case Stat::kCount:
      return static_cast<double>(stats.count);
    case Stat::kErrors:
      return static_cast<double>(stats.errors);
    case Stat::kErrorRate:
      if (stats.count == 0) return std::nullopt;
      return stats.error_rate;
    case Stat::kP50:
      return stats.p50;
    case Stat::kP95:
      return stats.p95;
    case Stat::kP99:
      return stats.p99;
    case Stat::kMax:
      return stats.max;
    case Stat::kRate:
      return stats.rate;
    case Stat::kValue:
      return stats.value;
    case Stat::kState:
      if (!stats.state) return std::nullopt;
      return static_cast<double>(*stats.state);
    case Stat::kCounterRate:
      return stats.counter_rate;
  }
  return std::nullopt;
}

}  // namespace reflex::agent
