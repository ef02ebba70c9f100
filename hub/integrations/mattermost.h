// A Mattermost incoming webhook as an outbox Integration (see the vendor documentation,
// https://developers.mattermost.com/integrate/webhooks/incoming/). The hook's URL is its secret: it
// comes from integrations.mattermost url_file or url_env and never goes into a row. Rows carry:
//   mattermost.post  {"text": "...", "channel": "checkout-prod"}  (channel optional)
//                    -> POST <hook url> {"text", "channel"?, "username"?} as JSON; the
//                    configured channel when the row names none, the configured username
//                    when there is one; done: {"status": <HTTP status>}
// A hook answers 200 "ok" and returns no post id, so what it posted cannot be updated,
// threaded or deleted later: chat steps other than chat.post are refused by
// check-config for it, and messages are not refreshed in place.
//
// Outcomes (classify_mattermost): 2xx done; no answer, 408, 429 and 5xx retried (after
// Retry-After when given); every other status permanent, with Mattermost's error message
// (its JSON `message`) and a hint.
#pragma once

#include <string>
#include <string_view>

#include "common/duration.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_config.h"

namespace reflex::hub {

struct MattermostSettings {
  std::string url;       // the hook: https://chat.example.com/hooks/<id>
  std::string channel;   // "": the hook's own
  std::string username;  // "": the hook's own
  Millis timeout = Millis(10'000);
};

// The verdict on the hook's answer. Pure.
Outcome classify_mattermost(const HttpResponse& response);

class MattermostIntegration final : public Integration {
 public:
  static constexpr std::string_view kName = "mattermost";
  explicit MattermostIntegration(MattermostSettings settings);

  std::string_view name() const override { return kName; }
  // Errors ("invalid_operation", "invalid_payload") name the operation or the field.
  Result<HttpRequest> prepare(const OutboxRow& row) const override;
  Outcome classify(const OutboxRow& row, const HttpResponse& response) const override;
  // The hook URL and its id.
  std::vector<std::string> secrets() const override;

 private:
  MattermostSettings settings_;
};

// The settings for `cfg` with the hook URL read (integrations.mattermost.url_file or
// url_env). Errors name the key and never quote the URL.
Result<MattermostSettings> mattermost_settings(const MattermostConfig& cfg);

}  // namespace reflex::hub
