// A Microsoft Teams incoming webhook as an outbox Integration (see
// the vendor documentation,
// https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook):
// an Office 365 connector URL (https://<tenant>.webhook.office.com/webhookb2/...) or a Workflows
// (Power Automate) one, configured whole from integrations.teams url_file or url_env, since it is
// the secret. Rows carry:
//   teams.post  {"text": "..."}
//               -> POST <hook url>, as JSON, an Adaptive Card with the text in one
//               TextBlock ({"type": "message", "attachments": [{"contentType":
//               "application/vnd.microsoft.card.adaptive", "content": {...}}]}: the shape
//               both kinds of hook accept), or {"text": ...} with format: text;
//               done: {"status": <HTTP status>}
// The text is cut to 24,000 bytes (Teams takes about 28 KB per message). Neither kind of
// hook returns a message id: nothing posted is updated, threaded or archived later.
//
// Outcomes (classify_teams): a 2xx whose body is "1" (connector) or empty (Workflows,
// 202) done; a 2xx whose body mentions 429 (a throttled connector post) retried, as are
// no answer, 408, 429 and 5xx (after Retry-After when given); any other 2xx body, and
// every other status, permanent with the start of the answer. Posts are paced at one a
// second with bursts of four (the connector's documented per-hook throttle starts at 4
// per second).
#pragma once

#include <string>
#include <string_view>

#include "common/duration.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_config.h"

namespace reflex::hub {

struct TeamsSettings {
  std::string url;
  bool adaptive_card = true;  // false: {"text": ...}
  Millis timeout = Millis(10'000);
};

// The JSON body posted for `text`. Pure.
nlohmann::json teams_body(const std::string& text, bool adaptive_card);

// The verdict on the hook's answer. Pure.
Outcome classify_teams(const HttpResponse& response);

class TeamsIntegration final : public Integration {
 public:
  static constexpr std::string_view kName = "teams";
  explicit TeamsIntegration(TeamsSettings settings);

  std::string_view name() const override { return kName; }
  // Errors ("invalid_operation", "invalid_payload") name the operation or the field.
  Result<HttpRequest> prepare(const OutboxRow& row) const override;
  Outcome classify(const OutboxRow& row, const HttpResponse& response) const override;
  // Every post goes to the one hook: one bucket.
  std::string rate_key(const OutboxRow& row) const override {
    (void)row;
    return "hook";
  }
  // The hook URL and its parts.
  std::vector<std::string> secrets() const override;

 private:
  TeamsSettings settings_;
};

// The limits posts to one Teams hook go at.
IntegrationLimits teams_limits(int64_t max_in_flight);

// The settings for `cfg` with the hook URL read (integrations.teams.url_file or
// url_env). Errors name the key and never quote the URL.
Result<TeamsSettings> teams_settings(const TeamsConfig& cfg);

}  // namespace reflex::hub
