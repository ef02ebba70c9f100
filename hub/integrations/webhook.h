// A generic signed webhook as an outbox Integration: POST a JSON body to the URL a row
// names, signed so the receiver can check it came from this hub and is fresh. Rows
// carry:
//   webhook.post  {"url": "https://hooks.example.com/reflex", "body": <any JSON>}
//                 -> POST url, the body as JSON; done: {"status": <HTTP status>}
// Headers: `X-Reflex-Timestamp: <unix seconds at sending>` and
// `X-Reflex-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, where
// <body> is the exact bytes sent. A receiver recomputes the HMAC over the raw body,
// compares in constant time, and refuses timestamps far from its clock (replays).
// The secret never travels; the URL is stored in the row, so it should hold no secret.
//
// Outcomes (classify_webhook): 2xx done; 408, 429 and 5xx retried (after Retry-After
// when given); every other status permanent, with the start of the receiver's answer.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/duration.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_config.h"

namespace reflex::hub {

struct WebhookSettings {
  std::string secret;
  Millis timeout = Millis(10'000);
};

// "sha256=" + lowercase hex HMAC-SHA256 of "<timestamp>.<body>" keyed with `secret`.
std::string webhook_signature(std::string_view secret, int64_t timestamp_s, std::string_view body);

// The verdict on a receiver's answer. Pure.
Outcome classify_webhook(const HttpResponse& response);

class WebhookIntegration final : public Integration {
 public:
  static constexpr std::string_view kName = "webhook";
  // `clock` (read for each request's timestamp) must outlive the integration.
  WebhookIntegration(WebhookSettings settings, const Clock& clock);

  std::string_view name() const override { return kName; }
  // Errors ("invalid_operation", "invalid_payload") name the operation or the field.
  Result<HttpRequest> prepare(const OutboxRow& row) const override;
  Outcome classify(const OutboxRow& row, const HttpResponse& response) const override;
  std::vector<std::string> secrets() const override { return {settings_.secret}; }

 private:
  WebhookSettings settings_;
  const Clock& clock_;
};

// The settings for `cfg` with its secret read (integrations.webhook.secret_file or
// secret_env). Errors name the key and never quote the secret.
Result<WebhookSettings> webhook_settings(const WebhookConfig& cfg);

}  // namespace reflex::hub
