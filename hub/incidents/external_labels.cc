#include "hub/incidents/external_labels.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>

namespace reflex::hub::incidents {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;
constexpr unsigned char kSeparator = 0xff;

uint64_t fnv_add(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

uint64_t fnv_add_byte(uint64_t h, unsigned char b) {
  h ^= b;
  return h * kFnvPrime;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

bool is_valid_label_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string label_set_fingerprint(const protocol::Labels& labels) {
  uint64_t h = kFnvOffset;
  for (const auto& [name, value] : labels) {  // std::map: sorted by name
    h = fnv_add_byte(fnv_add(h, name), kSeparator);
    h = fnv_add_byte(fnv_add(h, value), kSeparator);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

protocol::Severity severity_from_label(std::string_view value) {
  using protocol::Severity;
  static const struct {
    std::string_view name;
    Severity severity;
  } kNames[] = {
      {"critical", Severity::kCritical},
      {"crit", Severity::kCritical},
      {"page", Severity::kCritical},
      {"pager", Severity::kCritical},
      {"emergency", Severity::kCritical},
      {"emerg", Severity::kCritical},
      {"alert", Severity::kCritical},
      {"fatal", Severity::kCritical},
      {"disaster", Severity::kCritical},
      {"p1", Severity::kCritical},
      {"high", Severity::kHigh},
      {"error", Severity::kHigh},
      {"err", Severity::kHigh},
      {"major", Severity::kHigh},
      {"p2", Severity::kHigh},
      {"warning", Severity::kWarning},
      {"warn", Severity::kWarning},
      {"minor", Severity::kWarning},
      {"medium", Severity::kWarning},
      {"average", Severity::kWarning},
      {"p3", Severity::kWarning},
      {"info", Severity::kInfo},
      {"informational", Severity::kInfo},
      {"notice", Severity::kInfo},
      {"low", Severity::kInfo},
      {"none", Severity::kInfo},
      {"debug", Severity::kInfo},
      {"ok", Severity::kInfo},
      {"p4", Severity::kInfo},
      {"p5", Severity::kInfo},
  };
  const std::string v = lower(value);
  for (const auto& n : kNames) {
    if (v == n.name) return n.severity;
  }
  return Severity::kWarning;
}

std::string rule_from_labels(const protocol::Labels& labels) {
  auto it = labels.find("alertname");
  return it != labels.end() && !it->second.empty() ? it->second : "unnamed";
}

protocol::Severity severity_from_labels(const protocol::Labels& labels) {
  auto it = labels.find("severity");
  return it == labels.end() ? protocol::Severity::kWarning : severity_from_label(it->second);
}

std::string host_from_labels(const protocol::Labels& labels) {
  if (auto it = labels.find("instance"); it != labels.end() && !it->second.empty()) {
    std::string_view v = it->second;
    if (v.front() == '[') {  // [v6]:port or [v6]
      const size_t close = v.find(']');
      if (close != std::string_view::npos) return std::string(v.substr(1, close - 1));
      return std::string(v);
    }
    const size_t colon = v.rfind(':');
    // One colon followed by a port: host:port. More colons: a bare IPv6 address.
    if (colon != std::string_view::npos && v.find(':') == colon &&
        all_digits(v.substr(colon + 1))) {
      return std::string(v.substr(0, colon));
    }
    return std::string(v);
  }
  if (auto it = labels.find("host"); it != labels.end()) return it->second;
  return "";
}

}  // namespace reflex::hub::incidents
