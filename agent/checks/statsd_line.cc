// parse_statsd_line: the StatsD line protocol (see statsd_check.h), kept apart from the
// listener so it stays a pure function.
#include <cctype>
#include <charconv>
#include <cmath>

#include "agent/checks/statsd_check.h"

namespace reflex::agent {
namespace {

constexpr size_t kMaxName = 255;
constexpr size_t kMaxSetMember = 255;
constexpr size_t kMaxTags = 16;

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
         c == '/';
}

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxName) return false;
  for (char c : s) {
    if (!name_char(c)) return false;
  }
  return true;
}

// A finite decimal, with an optional sign ('+' included, which from_chars refuses).
std::optional<double> parse_number(std::string_view s) {
  const bool plus = !s.empty() && s.front() == '+';
  if (plus) s.remove_prefix(1);
  if (s.empty() || s.front() == '+' || (plus && s.front() == '-')) return std::nullopt;
  double v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

Status parse_tags(std::string_view s, Labels& out) {
  size_t count = 0;
  while (true) {
    const size_t comma = s.find(',');
    const std::string_view tag = s.substr(0, comma);
    const size_t colon = tag.find(':');
    const std::string_view key = tag.substr(0, colon);
    const std::string_view value = colon == std::string_view::npos ? "" : tag.substr(colon + 1);
    if (!valid_name(key) || key.find('/') != std::string_view::npos) {
      return Status::error("bad_tags", "invalid tag \"" + std::string(tag) + "\"");
    }
    for (char c : value) {
      if (std::iscntrl(static_cast<unsigned char>(c))) {
        return Status::error("bad_tags", "control character in tag " + std::string(key));
      }
    }
    if (++count > kMaxTags) {
      return Status::error("bad_tags", "more than " + std::to_string(kMaxTags) + " tags");
    }
    out[std::string(key)] = std::string(value);
    if (comma == std::string_view::npos) return Status::ok();
    s.remove_prefix(comma + 1);
  }
}

}  // namespace

Result<StatsdMetric> parse_statsd_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return Status::error("malformed_line", "no ':' between name and value");
  }
  StatsdMetric m;
  const std::string_view name = line.substr(0, colon);
  if (!valid_name(name)) {
    return Status::error("malformed_line", "the name must be 1-255 of A-Z a-z 0-9 _ . - /, got \"" +
                                               std::string(name.substr(0, 64)) + "\"");
  }
  m.name = name;

  std::string_view rest = line.substr(colon + 1);
  const size_t bar = rest.find('|');
  if (bar == std::string_view::npos) return Status::error("malformed_line", "no '|type'");
  const std::string_view value = rest.substr(0, bar);
  rest.remove_prefix(bar + 1);
  size_t next = rest.find('|');
  const std::string_view type = rest.substr(0, next);
  if (type == "c") {
    m.type = StatsdMetric::Type::kCounter;
  } else if (type == "ms" || type == "h") {
    m.type = StatsdMetric::Type::kTimer;
  } else if (type == "g") {
    m.type = StatsdMetric::Type::kGauge;
  } else if (type == "s") {
    m.type = StatsdMetric::Type::kSet;
  } else {
    return Status::error("unknown_type", "unknown type \"" + std::string(type.substr(0, 16)) +
                                             "\" (expected c, ms, h, g or s)");
  }

  while (next != std::string_view::npos) {
    rest.remove_prefix(next + 1);
    next = rest.find('|');
    const std::string_view field = rest.substr(0, next);
    if (!field.empty() && field.front() == '@') {
      auto rate = parse_number(field.substr(1));
      if (!rate || *rate <= 0 || *rate > 1) {
        return Status::error("bad_sample_rate", "sample rate must be in (0, 1], got \"" +
                                                    std::string(field.substr(1, 32)) + "\"");
      }
      m.sample_rate = *rate;
    } else if (!field.empty() && field.front() == '#') {
      REFLEX_RETURN_IF_ERROR(parse_tags(field.substr(1), m.tags));
    } else if (field.substr(0, 2) == "c:" || (!field.empty() && field.front() == 'T')) {
      // DogStatsD's container id and timestamp: accepted and not used.
    } else {
      return Status::error("malformed_line",
                           "unknown field \"" + std::string(field.substr(0, 32)) + "\"");
    }
  }

  if (m.type == StatsdMetric::Type::kSet) {
    if (value.empty() || value.size() > kMaxSetMember) {
      return Status::error("bad_value", "a set value must be 1-255 bytes");
    }
    m.set_member = value;
    return m;
  }
  auto number = parse_number(value);
  if (!number) {
    return Status::error("bad_value",
                         "expected a number, got \"" + std::string(value.substr(0, 32)) + "\"");
  }
  m.value = *number;
  if (m.type == StatsdMetric::Type::kGauge) {
    m.relative = !value.empty() && (value.front() == '+' || value.front() == '-');
  }
  if (m.type == StatsdMetric::Type::kTimer && m.value < 0) {
    return Status::error("bad_value", "a timer cannot be negative");
  }
  return m;
}

}  // namespace reflex::agent
