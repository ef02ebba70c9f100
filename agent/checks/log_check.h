// The log check: follows a file like `tail -F` (see file_follower.h) and turns each line
// into a request event by matching it against a pattern with named captures, so an access
// log yields request rate, error rate and latency percentiles.
//
// Each matching line records recorder.event(check name, check labels, error, latency_ms):
// error when the status capture matches one of error_status, latency from the latency
// capture. Bad input is counted in CheckStatus::bad_input by reason, never fatal:
// "unmatched_line", "bad_latency" (the line still counts, without a latency) and
// "line_too_long" (over 64 KiB; skipped). CheckStatus: runs = lines read, failures = lines
// that were errors, last_state OK while the file is read and UNKNOWN (with the reason)
// while it is missing or unreadable.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/checks/check.h"
#include "common/config.h"

namespace reflex::agent {

struct LogCheckConfig {
  std::string path;
  std::string pattern;                    // a PCRE2 regex; exactly one of pattern and format
  std::string format;                     // a ready pattern: "nginx_combined"
  std::string status_capture = "status";  // "" = every matched line is a success
  std::vector<std::string> error_status = {"5xx"};  // "5xx", "4xx", "503": 'x' is any digit
  std::string latency_capture;  // "" = none; defaults to "request_time" for nginx_combined
  std::string latency_unit;     // "s" or "ms"; defaults to "s" for nginx_combined, else "ms"
  Millis poll_interval = Millis(250);
  bool from_start = false;  // read an existing file whole instead of from its end
};

// Reads the keys of a `type: log` check from `r` (the check's mapping, whose common keys
// the caller claims). Errors name the key path; a bad regex reports PCRE2's message and
// offset. On success every default is resolved (latency_capture, latency_unit).
void read_log_check(config::MapReader& r, LogCheckConfig& out);

// The regex a config uses: its pattern, or the ready pattern its format names.
std::string effective_pattern(const LogCheckConfig& config);

// Fails only for a config read_log_check would have refused (a bad pattern or a missing
// capture). Polls with ctx.timers; everything in ctx must outlive the check.
Result<std::unique_ptr<StreamingCheck>> make_log_check(CheckSpec spec, LogCheckConfig config,
                                                       CheckContext& ctx);

}  // namespace reflex::agent
