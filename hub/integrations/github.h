// GitHub Actions' workflow_dispatch as an outbox Integration: start a run of a workflow
// (see the vendor documentation, https://docs.github.com/rest/actions/workflows). Requests go to
// <base_url>repos/{owner}/ {repo}/actions/workflows/{workflow}/dispatches with `Authorization:
// Bearer <token>`, `Accept: application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28` and a
// User-Agent (GitHub refuses requests without one). Rows carry:
//   github.dispatch  {"repo": "owner/name", "workflow": "rollback.yml" (or its id),
//                    "ref": "main", "inputs": {"K": "V", ...}}  (inputs optional,
//                    string values, each declared by the workflow's workflow_dispatch)
//                    -> POST .../dispatches {"ref", "inputs"}; done (204):
//                    {"repo", "workflow", "ref"}
//
// Each dispatch starts a new run (no idempotency key), so rows are not idempotent: a row
// found `sending` after a crash is resent with a warning and may start a second run.
//
// Outcomes (classify_github): 2xx done; 429, and 403 with rate-limit signals
// (x-ratelimit-remaining: 0, Retry-After, a "rate limit" message), retried after
// Retry-After, else at x-ratelimit-reset, else a minute; no answer, 408 and 5xx retried;
// every other status permanent, with GitHub's message and a hint at what to check.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/duration.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_config.h"

namespace reflex::hub {

struct GitHubSettings {
  std::string base_url = "https://api.github.com/";  // GHES: https://<host>/api/v3/
  std::string token;
  Millis timeout = Millis(10'000);
};

// The verdict on GitHub's answer to a dispatch of `payload` (a github.dispatch row's),
// `now_ms` the wall clock (for x-ratelimit-reset, in epoch seconds). Pure.
Outcome classify_github(const nlohmann::json& payload, const HttpResponse& response,
                        int64_t now_ms);

class GitHubIntegration final : public Integration {
 public:
  static constexpr std::string_view kName = "github";
  // `clock` (read when GitHub says when its rate limit resets) must outlive it.
  GitHubIntegration(GitHubSettings settings, const Clock& clock);

  std::string_view name() const override { return kName; }
  // Errors ("invalid_operation", "invalid_payload") name the operation or the field.
  Result<HttpRequest> prepare(const OutboxRow& row) const override;
  Outcome classify(const OutboxRow& row, const HttpResponse& response) const override;
  std::vector<std::string> secrets() const override { return {settings_.token}; }

 private:
  GitHubSettings settings_;
  const Clock& clock_;
};

// The settings for `cfg` with its token read (integrations.github.token_file or
// token_env). Errors name the key and never quote the token.
Result<GitHubSettings> github_settings(const GitHubConfig& cfg);

}  // namespace reflex::hub
