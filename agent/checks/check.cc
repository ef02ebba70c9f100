#include "agent/checks/check.h"

#include <algorithm>
#include <cctype>

namespace reflex::agent {

const char* state_name(CheckState s) {
  switch (s) {
    case CheckState::kOk:
      return "OK";
    case CheckState::kWarning:
      return "WARNING";
    case CheckState::kCritical:
      return "CRITICAL";
    case CheckState::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::optional<CheckState> parse_state(const std::string& s) {
  std::string upper = s;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (auto st :
       {CheckState::kOk, CheckState::kWarning, CheckState::kCritical, CheckState::kUnknown}) {
    if (upper == state_name(st)) return st;
  }
  return std::nullopt;
}

}  // namespace reflex::agent
