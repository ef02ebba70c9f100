#include "common/duration.h"

#include <cctype>
#include <cstdint>
#include <limits>

namespace reflex {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};
// Longest names first so "ms" is not read as "m".
constexpr Unit kUnits[] = {
    {"ms", 1}, {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}};

}  // namespace

Result<Millis> parse_duration(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return Status::error("invalid_value", "invalid duration \"" + std::string(text) + "\": " + why);
  };
  if (text.empty()) return fail("empty (write e.g. 500ms, 5s, 1m)");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return fail("expected a number at \"" + std::string(text.substr(i)) + "\"");
    }
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return fail("too large");
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    const Unit* unit = nullptr;
    for (const auto& u : kUnits) {
      if (text.substr(i, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      return fail(i == text.size() ? "missing unit (ms, s, m, h or d)"
                                   : "unknown unit at \"" + std::string(text.substr(i)) + "\"");
    }
    i += unit->name.size();
    if (n > (std::numeric_limits<int64_t>::max() - total) / unit->ms) return fail("too large");
    total += n * unit->ms;
  }
  return Millis(total);
}

std::string format_duration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  for (const auto& u : {kUnits[1], kUnits[2], kUnits[3], kUnits[4], kUnits[0]}) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + std::string(u.name);
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace reflex
