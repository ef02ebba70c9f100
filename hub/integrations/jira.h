// Jira REST API v2 (Cloud and Data Center) as an outbox Integration: create an issue,
// comment on one, move one through a transition (see the vendor documentation,
// https://developer.atlassian.com/cloud/jira/platform/rest/v2/). v2 takes plain text in
// descriptions and comments on both deployments. Requests go to <base_url>rest/api/2/... with
// `Authorization: Basic base64(user:token)` (Cloud: the account's email and an API token) or, when
// no user is configured, `Bearer <token>` (Data Center personal access token). Rows carry:
//   jira.create_issue  {"fields": {"project": {"key": "OPS"}, "summary": "...",
//                       "issuetype": {"name": "Incident"}, "description": "...", ...}}
//                      -> POST rest/api/2/issue (the payload is Jira's body);
//                      done: {"key": "OPS-1", "id": "10001"}
//   jira.comment       {"issue": "OPS-1", "body": "text"}
//                      -> POST rest/api/2/issue/OPS-1/comment {"body"}; done: {"id"}
//   jira.transition    {"issue": "OPS-1", "transition": "31", "comment": "optional"}
//                      -> POST rest/api/2/issue/OPS-1/transitions {"transition": {"id"},
//                      "update": {"comment": [{"add": {"body"}}]}} (update only with a
//                      comment); done (204): {}
//
// Outcomes (classify_jira): 2xx done; 408, 429 and 5xx retried (after Retry-After when
// given), as is a 409 (a concurrent update) on a transition's first attempt only;
// every other status is permanent, with Jira's errorMessages and errors in the error.
// A create answered 2xx without the key is permanent, not retried: the issue
// may exist, and Jira has no idempotency key.
//
// Reconciling (outbox.h): every create adds the label jira_label(row key) to
// fields.labels ("reflex-" and 16 hex digits of the FNV-1a 64 hash of the row's
// idempotency key: deterministic, short, no spaces). A create row found `sending` is
// looked up with a JQL search, labels = "<label>", asking for fields=summary and
// maxResults=2: on Jira Cloud (a user configured) GET rest/api/2/search/jql, since Cloud
// removed rest/api/2/search; on Data Center (no user) GET rest/api/2/search, which is all
// it has. One issue found: done with {"key", "id"}, as the create keeps them. Comments
// and transitions are not looked up (a transition repeats harmlessly; a comment may
// repeat). Cloud's search is eventually consistent: an issue created moments before may
// not be found yet.
#pragma once

#include <string>
#include <string_view>

#include "common/duration.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_config.h"

namespace reflex::hub {

struct JiraSettings {
  std::string base_url;  // "https://example.atlassian.net/"
  std::string user;      // the account's email (Basic auth); "" for a Bearer token
  std::string token;     // API token (Cloud) or personal access token (Data Center)
  Millis timeout = Millis(10'000);
};

// The verdict on Jira's answer to `operation` ("jira.create_issue") at attempt
// `attempts` (1 for the first). Pure.
Outcome classify_jira(std::string_view operation, uint32_t attempts, const HttpResponse& response);

// The label a create of the row with `idempotency_key` carries: "reflex-" followed by the
// 16 lowercase hex digits of FNV-1a 64 over the key.
std::string jira_label(std::string_view idempotency_key);

// The verdict on Jira's answer to the JQL search for a create's label. Pure.
LookupOutcome classify_jira_lookup(const HttpResponse& response);

// Jira's ErrorCollection ({"errorMessages": [...], "errors": {"field": "..."}}) as one
// line; "" when `body` is not one.
std::string jira_error_message(const std::string& body);

class JiraIntegration final : public Integration {
 public:
  static constexpr std::string_view kName = "jira";
  explicit JiraIntegration(JiraSettings settings);

  std::string_view name() const override { return kName; }
  // Errors ("invalid_operation", "invalid_payload") name the operation or the field.
  Result<HttpRequest> prepare(const OutboxRow& row) const override;
  Outcome classify(const OutboxRow& row, const HttpResponse& response) const override;
  // jira.create_issue: the JQL search for its label (see above).
  std::optional<HttpRequest> lookup(const OutboxRow& row) const override;
  LookupOutcome classify_lookup(const OutboxRow& row, const HttpResponse& response) const override;
  // The token, and the Basic credentials it is sent in.
  std::vector<std::string> secrets() const override;

 private:
  std::string authorization() const;
  JiraSettings settings_;
};

// The settings for `cfg` with its token read (integrations.jira.token_file or
// token_env). Errors name the key and never quote the token.
Result<JiraSettings> jira_settings(const JiraConfig& cfg);

}  // namespace reflex::hub
