// Number formatting shared by the benchmark reports.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

namespace reflex::bench {

// 1234567.8 -> "1,234,568".
inline std::string grouped(double value) {
  const auto n = static_cast<long long>(std::llround(value));
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

inline std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

}  // namespace reflex::bench
