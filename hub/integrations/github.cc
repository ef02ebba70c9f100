#include "hub/integrations/github.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/json_text.h"
#include "hub/integrations/vendor_http.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr std::string_view kDispatch = "github.dispatch";
constexpr std::string_view kWhere = "github github.dispatch";
constexpr Millis kSecondaryLimitWait = Millis(60'000);  // GitHub: "at least one minute"
constexpr int64_t kMaxResetWaitMs = 3600 * 1000;        // primary limits reset hourly

Status bad(const std::string& what) {
  return Status::error("invalid_payload", std::string(kWhere) + ": payload." + what);
}

bool plain_segment(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string_view::npos;
}

Status check_payload(const json& p) {
  if (!p.is_object()) {
    return Status::error("invalid_payload",
                         std::string(kWhere) + ": payload must be a JSON object");
  }
  REFLEX_RETURN_IF_ERROR(need_string(kWhere, p, "repo", "repo"));
  const std::string repo = p["repo"].get<std::string>();
  const size_t slash = repo.find('/');
  if (slash == std::string::npos || !plain_segment(std::string_view(repo).substr(0, slash)) ||
      !plain_segment(std::string_view(repo).substr(slash + 1))) {
    return bad("repo must be owner/name, not \"" + clip(repo, 80) + "\"");
  }
  REFLEX_RETURN_IF_ERROR(need_string(kWhere, p, "workflow", "workflow"));
  if (!plain_segment(p["workflow"].get<std::string>())) {
    return bad("workflow must be the workflow's file name (rollback.yml) or id");
  }
  REFLEX_RETURN_IF_ERROR(need_string(kWhere, p, "ref", "ref"));
  auto it = p.find("inputs");
  if (it == p.end()) return Status::ok();
  if (!it->is_object()) return bad("inputs must be a JSON object");
  for (const auto& [name, value] : it->items()) {
    if (name.empty()) return bad("inputs has an empty name");
    if (!value.is_string()) return bad("inputs." + name + " must be a string");
  }
  return Status::ok();
}

// GitHub's {"message", "errors": [{"message"} or {"field", "code"}]} as one line.
std::string error_message(const std::string& body) {
  const json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return "";
  std::string out = string_at(doc, "message");
  if (auto it = doc.find("errors"); it != doc.end() && it->is_array()) {
    for (const auto& e : *it) {
      std::string text = e.is_string() ? e.get<std::string>() : string_at(e, "message");
      if (text.empty() && e.is_object()) text = string_at(e, "field") + " " + string_at(e, "code");
      if (text.empty() || text == " ") continue;
      out += (out.empty() ? "" : "; ") + text;
    }
  }
  return clip(out);
}

std::optional<int64_t> header_number(const HttpResponse& r, std::string_view name) {
  auto v = r.header(name);
  if (!v) return std::nullopt;
  std::string_view s = *v;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return n;
}

bool mentions_rate_limit(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text.find("rate limit") != std::string::npos;
}

// How long to wait out a rate limit: Retry-After, else until x-ratelimit-reset when
// nothing is left, else a minute (a secondary limit without a word on when).
Millis rate_limit_wait(const HttpResponse& r, int64_t now_ms) {
  if (auto after = retry_after_seconds(r)) return *after;
  if (header_number(r, "x-ratelimit-remaining") == 0) {
    if (auto reset = header_number(r, "x-ratelimit-reset")) {
      return Millis(std::clamp<int64_t>(*reset * 1000 - now_ms, 1000, kMaxResetWaitMs));
    }
  }
  return kSecondaryLimitWait;
}

std::string hint(int status) {
  if (status == 401) return " (check integrations.github.token_file or token_env)";
  if (status == 403) return " (the token lacks actions:write, or the repo scope, on this repo)";
  if (status == 404) {
    return " (no such repository or workflow, or the token cannot see it: GitHub answers "
           "404 for both)";
  }
  if (status == 422) {
    return " (the ref must exist, the workflow must have on: workflow_dispatch on it, and "
           "it must declare every input sent, REFLEX_INCIDENT included)";
  }
  return "";
}

}  // namespace

Outcome classify_github(const json& payload, const HttpResponse& r, int64_t now_ms) {
  const std::string where = std::string(kWhere) + " " + string_at(payload, "repo") + "/" +
                            string_at(payload, "workflow") + ": ";
  const std::string detail = r.status >= 400 ? error_message(r.body) : "";
  const bool rate_limited =
      r.status == 429 ||
      (r.status == 403 && (header_number(r, "x-ratelimit-remaining") == 0 ||
                           r.header("Retry-After") || mentions_rate_limit(detail)));
  if (rate_limited) {
    return Outcome::retry(http_error(where, r.status, detail), rate_limit_wait(r, now_ms));
  }
  if (auto t = classify_transient(where, r, detail)) return *t;
  if (r.status < 200 || r.status >= 300) {
    return Outcome::permanent(http_error(where, r.status, detail) + hint(r.status));
  }
  return Outcome::done({{"repo", string_at(payload, "repo")},
                        {"workflow", string_at(payload, "workflow")},
                        {"ref", string_at(payload, "ref")}});
}

GitHubIntegration::GitHubIntegration(GitHubSettings settings, const Clock& clock)
    : settings_(std::move(settings)), clock_(clock) {
  settings_.base_url = with_slash(settings_.base_url);
}

Result<HttpRequest> GitHubIntegration::prepare(const OutboxRow& row) const {
  if (row.operation != kDispatch) {
    return Status::error("invalid_operation", "github: unknown operation \"" + row.operation +
                                                  "\" (known: github.dispatch)");
  }
  REFLEX_RETURN_IF_ERROR(check_payload(row.payload));
  const std::string repo = string_at(row.payload, "repo");
  const size_t slash = repo.find('/');
  json body = {{"ref", string_at(row.payload, "ref")}};
  if (auto it = row.payload.find("inputs"); it != row.payload.end() && !it->empty()) {
    body["inputs"] = *it;
  }
  HttpRequest req;
  req.method = "POST";
  req.url = settings_.base_url + "repos/" + encode_path_segment(repo.substr(0, slash)) + "/" +
            encode_path_segment(repo.substr(slash + 1)) + "/actions/workflows/" +
            encode_path_segment(string_at(row.payload, "workflow")) + "/dispatches";
  req.headers = {{"Authorization", "Bearer " + settings_.token},
                 {"Accept", "application/vnd.github+json"},
                 {"X-GitHub-Api-Version", "2022-11-28"},
                 {"User-Agent", std::string("Reflex/") + REFLEX_VERSION},
                 {"Content-Type", "application/json"}};
  req.body = json_text(body);
  req.timeout = settings_.timeout;
  return req;
}

Outcome GitHubIntegration::classify(const OutboxRow& row, const HttpResponse& response) const {
  return classify_github(row.payload, response, clock_.now_ms());
}

Result<GitHubSettings> github_settings(const GitHubConfig& cfg) {
  auto token = read_secret("integrations.github", "token", cfg.token_file, cfg.token_env);
  if (!token) return token.status();
  return GitHubSettings{
      .base_url = cfg.base_url, .token = std::move(token).value(), .timeout = cfg.timeout};
}

}  // namespace reflex::hub
