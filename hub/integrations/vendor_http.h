// What the JSON-over-HTTP vendor integrations (Jira, Statuspage, PagerDuty, Dynatrace,
// the generic webhook) share, so each of them holds only its vendor's rules: reading a
// secret from a file or the environment, the status-code verdicts every vendor agrees on
// (no answer, 408, 429 and 5xx are retried, after Retry-After when given), and checks
// of a row's payload whose errors name the field. Slack keeps its own rules: its
// application errors arrive with HTTP 200.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"
#include "common/http_client.h"
#include "common/status.h"
#include "hub/outbox/integration.h"

namespace reflex::hub {

// The secret of `section` ("integrations.jira") read from `file`, or else from the
// environment variable `env`, trimmed. `key` names the pair in errors ("token" for
// token_file / token_env). Errors name the key and the file or variable, never the
// secret; a secret with a line break is refused (it would split a header).
Result<std::string> read_secret(std::string_view section, std::string_view key,
                                const std::string& file, const std::string& env);

// An incoming webhook's URL (Mattermost, Teams), which is its secret, read like
// read_secret() from <section>.url_file or url_env and checked to be http(s). Errors
// name the key, never the URL.
Result<std::string> read_hook_url(std::string_view section, const std::string& file,
                                  const std::string& env);

// Retry-After as a number of seconds (at most a day); nullopt when absent or not that.
std::optional<Millis> retry_after_seconds(const HttpResponse& r);

// The verdicts every vendor shares: no answer, HTTP 408, 429, 5xx and any of
// `also_retry` (Statuspage's 420) are retried, after Retry-After when the answer gives
// one. nullopt for every other status, which the vendor's own classify decides.
// `detail` (the vendor's error message, may be empty) is added to the error.
std::optional<Outcome> classify_transient(std::string_view where, const HttpResponse& r,
                                          std::string_view detail,
                                          std::initializer_list<int> also_retry = {});

// "<where>HTTP <status>" and ": <detail>" when there is one: the error of a refusal.
std::string http_error(std::string_view where, int status, std::string_view detail);

// `text` cut to `max` bytes (marked "..."), so a strange answer cannot flood the record.
std::string clip(std::string text, size_t max = 300);
// The printable start of an answer whose bytes are unknown (HTML, text, JSON): control
// and non-ASCII bytes read as spaces, trailing spaces dropped, at most `max` bytes.
std::string printable_excerpt(std::string_view body, size_t max = 200);

// One URL path segment percent-encoded (RFC 3986 unreserved characters kept).
std::string encode_path_segment(std::string_view segment);
std::string base64_encode(std::string_view bytes);
// `url` ending with exactly one '/'.
std::string with_slash(std::string url);

// The parts of a URL that is itself the secret (an incoming webhook's): the URL, its
// path and query, and each path segment and query value of 8 bytes or more, so a
// message quoting any of them can be scrubbed.
std::vector<std::string> url_secrets(const std::string& url);

// Checks of a payload field; errors are "invalid_payload" naming "payload.<path>".
// `where` starts the message ("jira jira.comment").
Status need_object(std::string_view where, const nlohmann::json& parent, const char* key,
                   std::string_view path);
Status need_string(std::string_view where, const nlohmann::json& parent, const char* key,
                   std::string_view path);
// The field may be absent; present, it must be a (possibly empty) string.
Status optional_string(std::string_view where, const nlohmann::json& parent, const char* key,
                       std::string_view path);
// The string at `key`, or "" when it is absent or not a string.
std::string string_at(const nlohmann::json& doc, const char* key);

}  // namespace reflex::hub
