// Matching log lines: a compiled PCRE2 pattern with named captures, the ready-made
// patterns the log check ships, and the pure decisions made on what a line captured.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;

namespace reflex::agent {

// A regex compiled once (JIT-compiled when the library supports it) with one reusable
// match buffer, so matching a line allocates nothing. Move-only; one thread at a time.
class LogPattern {
 public:
  // Fails with code "bad_pattern" and PCRE2's message with the offset of the error.
  static Result<LogPattern> compile(const std::string& regex);

  LogPattern(LogPattern&&) noexcept = default;
  LogPattern& operator=(LogPattern&&) noexcept = default;
  ~LogPattern();

  // The number of a named capture group, or nullopt when the pattern has none by that name.
  std::optional<int> group(const std::string& name) const;
  // Matches `line` (anywhere, unless the pattern anchors itself). Captures of the last
  // successful match stay readable through capture() until the next match().
  bool match(std::string_view line);
  // The text of group `n` in the last match, nullopt when it did not take part.
  std::optional<std::string_view> capture(int n) const;

 private:
  struct Freer {
    void operator()(pcre2_real_code_8* p) const;
    void operator()(pcre2_real_match_data_8* p) const;
  };
  LogPattern() = default;
  std::unique_ptr<pcre2_real_code_8, Freer> code_;
  std::unique_ptr<pcre2_real_match_data_8, Freer> match_data_;
  std::string_view subject_;
};

// The ready pattern named `format`, or nullopt. "nginx_combined": nginx's combined format
// followed by " $request_time" (seconds), with captures remote_addr, remote_user,
// time_local, request, status, body_bytes_sent, http_referer, http_user_agent and
// request_time.
std::optional<std::string> ready_pattern(const std::string& format);
std::vector<std::string> ready_pattern_names();

// Whether an error_status entry is well formed: letters, digits, and 'x' for "any digit"
// ("5xx", "404", "ERROR").
bool valid_status_pattern(std::string_view pattern);
// Whether `status` matches any of `patterns`: same length, each 'x' matching any digit,
// other characters equal ignoring case.
bool status_matches(std::string_view status, const std::vector<std::string>& patterns);
// A captured latency in milliseconds: a non-negative decimal in `unit` ("s" or "ms").
std::optional<double> parse_latency_ms(std::string_view text, std::string_view unit);

}  // namespace reflex::agent
