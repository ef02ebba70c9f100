// The test kit every outbox integration passes (Slack, Jira, Statuspage, PagerDuty,
// Dynatrace, the signed webhook), each with its own fake vendor. Through the real
// delivery stage, a real store and real HTTP it checks:
//  - request shape: a valid call is delivered once and the fake accepted it (the case's
//    check_request looks at what the fake received), and the result is kept;
//  - retry classification by status: 2xx done; 429 with Retry-After pending exactly that
//    long (with backoff for a protocol without that signal: SMTP); 5xx pending with
//    backoff; the case's permanent status dead; a refused connection pending;
//  - no secret (the case's `secrets`) in the log (spdlog, every level), in any row's
//    last_error, or in the outbox API's JSON, even when the vendor echoes it back in an
//    error body.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_row.h"

namespace reflex::hub::testing {

struct IntegrationKitCase {
  // Builds the integration under test against `base_url`.
  std::function<std::unique_ptr<Integration>(const std::string& base_url)> make;
  std::string base_url;  // the fake's
  std::vector<std::string> secrets;
  OutboxRequest sample;  // a valid call; its idempotency key is varied per check
  // The fake answers its next call with this instead of serving it.
  std::function<void(int status, HttpHeaders headers, std::string body)> answer_next;
  // Checks the fake's last received request (shape, auth header); uses CHECK.
  std::function<void()> check_request;
  int permanent_status = 400;
  // For an integration whose rows name the URL themselves (the webhook): the valid call
  // aimed at `base_url`, used instead of `sample` when set.
  std::function<OutboxRequest(const std::string& base_url)> sample_at;
  // The scheme of the URL nothing listens at ("smtp" for email).
  std::string scheme = "http";
  // Whether the protocol says when to retry (HTTP's Retry-After); false: a 429 (the case's
  // answer_next maps it to its own "slow down") is retried with backoff.
  bool retry_after = true;
};

void run_integration_kit(const IntegrationKitCase& c);

// For tests of an integration's classification and requests, which are pure functions:
// a vendor's answer, and a row of `integration` calling `operation` (id 1, attempt 1,
// idempotency key "k").
HttpResponse answer(int status, std::string body, HttpHeaders headers = {});
OutboxRow outbox_row(std::string integration, std::string operation, nlohmann::json payload);

}  // namespace reflex::hub::testing
