// Atlassian Statuspage API v1 as an outbox Integration: open an incident on the
// configured page and update it (see the vendor documentation, https://developer.statuspage.io/).
// Requests go to <base_url>pages/<page_id>/incidents[/<id>] with `Authorization: OAuth <api key>`
// (never the api_key query parameter, which leaks into logs). Rows carry:
//   statuspage.create_incident  {"incident": {"name", "status", "body",
//                                "impact_override"?, "component_ids"?, ...}}
//                               -> POST pages/<page_id>/incidents with the payload;
//                               done: {"id", "shortlink"} (shortlink when given)
//   statuspage.update_incident  {"incident_id": "abc", "incident": {"status": "resolved",
//                               "body": "..."}}
//                               -> PATCH pages/<page_id>/incidents/abc {"incident": {...}};
//                               done: {"id"}
//
// Outcomes (classify_statuspage): 2xx done; 408, 420 (Statuspage's historical rate-limit
// answer, treated exactly like 429), 429 and 5xx retried, after Retry-After when given;
// every other status permanent with Statuspage's message ("error", a string or a list,
// or the documented ErrorEntity "message"). A create answered 2xx without the incident's
// id is permanent, not retried: the incident may exist.
#pragma once

#include <string>
#include <string_view>

#include "common/duration.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_config.h"

namespace reflex::hub {

struct StatuspageSettings {
  std::string base_url = "https://api.statuspage.io/v1/";
  std::string page_id;
  std::string api_key;
  Millis timeout = Millis(10'000);
};

// The verdict on Statuspage's answer to `operation` ("statuspage.create_incident"). Pure.
Outcome classify_statuspage(std::string_view operation, const HttpResponse& response);

// Statuspage's error text from an error body; "" when there is none.
std::string statuspage_error_message(const std::string& body);

class StatuspageIntegration final : public Integration {
 public:
  static constexpr std::string_view kName = "statuspage";
  explicit StatuspageIntegration(StatuspageSettings settings);

  std::string_view name() const override { return kName; }
  // Errors ("invalid_operation", "invalid_payload") name the operation or the field.
  Result<HttpRequest> prepare(const OutboxRow& row) const override;
  Outcome classify(const OutboxRow& row, const HttpResponse& response) const override;
  std::vector<std::string> secrets() const override { return {settings_.api_key}; }

 private:
  StatuspageSettings settings_;
};

// The settings for `cfg` with its key read (integrations.statuspage.token_file or
// token_env). Errors name the key and never quote the secret.
Result<StatuspageSettings> statuspage_settings(const StatuspageConfig& cfg);

}  // namespace reflex::hub
