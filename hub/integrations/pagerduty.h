// PagerDuty Events API v2 as an outbox Integration: trigger, acknowledge and resolve
// alerts (see the vendor documentation,
// https://developer.pagerduty.com/docs/events-api-v2/overview/). Events are POSTed as JSON to
// <base_url>v2/enqueue; the routing (integration) key goes into the body, added by
// prepare() only, so rows, the record and the API never hold it. Rows carry:
//   pagerduty.event  {"event_action": "trigger" | "acknowledge" | "resolve",
//                     "dedup_key": "reflex-42",
//                     "payload": {"summary", "source", "severity", ...}}
//                    (payload required for trigger only; dedup_key for acknowledge and
//                    resolve) -> POST v2/enqueue; done: {"dedup_key"}
//
// PagerDuty merges events that share a dedup_key and routing key, so a resent event is
// harmless: idempotent() holds for every row with a dedup_key.
//
// Outcomes (classify_pagerduty): 2xx (202) done; 408, 429 and 5xx retried (after
// Retry-After if ever given); every other status permanent, 400 with PagerDuty's
// message and errors.
#pragma once

#include <string>
#include <string_view>

#include "common/duration.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_config.h"

namespace reflex::hub {

struct PagerDutySettings {
  std::string base_url = "https://events.pagerduty.com/";
  std::string routing_key;
  Millis timeout = Millis(10'000);
};

// The verdict on PagerDuty's answer to an event sent with `dedup_key` ("" when the event
// had none: then the answer's is kept). Pure.
Outcome classify_pagerduty(std::string_view dedup_key, const HttpResponse& response);

class PagerDutyIntegration final : public Integration {
 public:
  static constexpr std::string_view kName = "pagerduty";
  explicit PagerDutyIntegration(PagerDutySettings settings);

  std::string_view name() const override { return kName; }
  // Errors ("invalid_operation", "invalid_payload") name the operation or the field.
  Result<HttpRequest> prepare(const OutboxRow& row) const override;
  Outcome classify(const OutboxRow& row, const HttpResponse& response) const override;
  // True when the row has a dedup_key (PagerDuty merges a resent event into the first).
  bool idempotent(const OutboxRow& row) const override;
  std::vector<std::string> secrets() const override { return {settings_.routing_key}; }

 private:
  PagerDutySettings settings_;
};

// The settings for `cfg` with its routing key read (integrations.pagerduty.
// routing_key_file or routing_key_env). Errors name the key and never quote the secret.
Result<PagerDutySettings> pagerduty_settings(const PagerDutyConfig& cfg);

}  // namespace reflex::hub
