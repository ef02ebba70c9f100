#define PCRE2_CODE_UNIT_WIDTH 8
#include "agent/checks/log_pattern.h"

#include <pcre2.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

namespace reflex::agent {
namespace {

// nginx escapes '"' and control characters in variables as \xNN, so a quoted field holds no
// bare quote; backslash pairs are allowed anyway for logs written by other servers.
constexpr const char* kNginxCombined =
    R"re(^(?<remote_addr>\S+) - (?<remote_user>\S+) \[(?<time_local>[^\]]*)\] )re"
    R"re("(?<request>(?:[^"\\]|\\.)*+)" (?<status>\d{3}) (?<body_bytes_sent>\d+|-) )re"
    R"re("(?<http_referer>(?:[^"\\]|\\.)*+)" "(?<http_user_agent>(?:[^"\\]|\\.)*+)" )re"
    R"re((?<request_time>\S+)\s*$)re";

const std::map<std::string, std::string>& ready_patterns() {
  static const std::map<std::string, std::string> patterns{{"nginx_combined", kNginxCombined}};
  return patterns;
}

}  // namespace

void LogPattern::Freer::operator()(pcre2_real_code_8* p) const {
  pcre2_code_free(p);
}
void LogPattern::Freer::operator()(pcre2_real_match_data_8* p) const {
  pcre2_match_data_free(p);
}

LogPattern::~LogPattern() = default;

Result<LogPattern> LogPattern::compile(const std::string& regex) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* compiled =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(regex.data()), regex.size(),
                    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &offset, nullptr);
  if (compiled == nullptr) {
    PCRE2_UCHAR text[256];
    pcre2_get_error_message(code, text, sizeof(text));
    return Status::error("bad_pattern", std::string(reinterpret_cast<const char*>(text)) +
                                            " at offset " + std::to_string(offset));
  }
  LogPattern p;
  p.code_.reset(compiled);
  // JIT is an optimisation: when unavailable (or refused by the system), matching still
  // works through the interpreter.
  (void)pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
  p.match_data_.reset(pcre2_match_data_create_from_pattern(compiled, nullptr));
  return p;
}

std::optional<int> LogPattern::group(const std::string& name) const {
  const int n =
      pcre2_substring_number_from_name(code_.get(), reinterpret_cast<PCRE2_SPTR>(name.c_str()));
  if (n < 0) return std::nullopt;
  return n;
}

bool LogPattern::match(std::string_view line) {
  subject_ = line;
  const int rc = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(line.data()), line.size(), 0,
                             0, match_data_.get(), nullptr);
  return rc >= 0;  // 0 would mean the ovector is too small, impossible from_pattern
}

std::optional<std::string_view> LogPattern::capture(int n) const {
  if (n < 0 || static_cast<uint32_t>(n) >= pcre2_get_ovector_count(match_data_.get())) {
    return std::nullopt;
  }
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match_data_.get());
  const PCRE2_SIZE start = ov[2 * n];
  const PCRE2_SIZE end = ov[2 * n + 1];
  if (start == PCRE2_UNSET || end < start || end > subject_.size()) return std::nullopt;
  return subject_.substr(start, end - start);
}

std::optional<std::string> ready_pattern(const std::string& format) {
  auto it = ready_patterns().find(format);
  if (it == ready_patterns().end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ready_pattern_names() {
  std::vector<std::string> names;
  for (const auto& [name, _] : ready_patterns()) names.push_back(name);
  return names;
}

bool valid_status_pattern(std::string_view pattern) {
  if (pattern.empty()) return false;
  for (char c : pattern) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool status_matches(std::string_view status, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (p.size() != status.size()) continue;
    bool same = true;
    for (size_t i = 0; i < p.size() && same; ++i) {
      const auto pc = static_cast<unsigned char>(p[i]);
      const auto sc = static_cast<unsigned char>(status[i]);
      if ((pc == 'x' || pc == 'X') && std::isdigit(sc)) continue;
      same = std::tolower(pc) == std::tolower(sc);
    }
    if (same) return true;
  }
  return false;
}

std::optional<double> parse_latency_ms(std::string_view text, std::string_view unit) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v, std::chars_format::fixed);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(v) || v < 0) {
    return std::nullopt;
  }
  return unit == "s" ? v * 1000.0 : v;
}

}  // namespace reflex::agent
