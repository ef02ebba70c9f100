// Slack Web API as an outbox Integration: chat.postMessage, chat.update,
// conversations.create, conversations.invite and conversations.archive, posted as JSON
// to <base_url><method> with the bot token in the Authorization header (never in the
// body, so never in the stored row). Rows carry operation "slack.<method>" and the
// method's JSON arguments as payload, e.g.
//   {"operation": "slack.chat.postMessage",
//    "payload": {"channel": "C123", "text": "checkout is down", "blocks": [...]}}
//
// Outcomes (classify_slack): Slack answers application errors with HTTP 200 and
// {"ok": false, "error": code}. Done: ok true, keeping channel and ts (postMessage,
// update), channel id and name (create), channel id (invite); already_archived (archive)
// and already_in_channel (invite) count as done, since a retry meets them when the first
// attempt's answer was lost. Retry: HTTP 429 (after Retry-After seconds), ok false with
// ratelimited, rate_limited, internal_error, fatal_error, service_unavailable or
// request_timeout, HTTP 5xx and 408, connection errors, an unreadable 200. Permanent:
// every other error code (invalid_auth, channel_not_found, not_in_channel, name_taken,
// ...) and other HTTP statuses.
//
// Reconciling (outbox.h): chat.postMessage has no idempotency key, so every message
// carries Slack message metadata naming its row,
//   "metadata": {"event_type": "reflex_outbox",
//                "event_payload": {"idempotency_key": "<the row's key>"}}
// (any metadata in the payload is replaced). A row found `sending` is looked up with
//   GET conversations.history?channel=<id>&include_all_metadata=true&oldest=<created - 5 min>
//       &latest=<last attempt + timeout + 5 min>&limit=200
// and a message whose metadata names the key is the row's: done with {"channel", "ts"},
// as the send keeps them. None (or channel_not_found): the row is sent. No verdict, so
// looked up again after backoff: what classify_slack retries, any other error code
// (missing_scope says which scope), and a window holding more than 200 messages none of
// which is the row's (the page cannot prove absence). This needs the channels:history
// scope (groups:history for private channels, im:history for direct messages). Only rows
// whose channel is a conversation id (C..., G..., D...) are looked up; a channel name
// ("#noc") or a user id cannot be read without resolving it first, and is resent as
// before. The other methods are not looked up: chat.update and conversations.archive and
// .invite repeat harmlessly (a retry meets already_archived or already_in_channel,
// counted done), and a repeated conversations.create meets name_taken (permanent, with a
// hint) rather than a duplicate.
#pragma once

#include <string>
#include <string_view>

#include "common/duration.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_config.h"

namespace reflex::hub {

struct SlackSettings {
  std::string base_url = "https://slack.com/api/";  // ends with '/'
  std::string token;                                // the bot token (xoxb-...)
  Millis timeout = Millis(10'000);
  // The app's signing secret, which verifies its button clicks (slack_actions.h); ""
  // when buttons are off. Not used for calls.
  std::string signing_secret;
};

// The event_type of the metadata every chat.postMessage carries.
inline constexpr std::string_view kSlackMetadataEventType = "reflex_outbox";

// The verdict on Slack's answer to `method` ("chat.postMessage"). Pure.
Outcome classify_slack(std::string_view method, const HttpResponse& response);

// The verdict on Slack's answer to the conversations.history lookup of a message whose
// metadata names `idempotency_key`, posted to `channel` (an id). Pure.
LookupOutcome classify_slack_lookup(const std::string& channel, const std::string& idempotency_key,
                                    const HttpResponse& response);

class SlackIntegration final : public Integration {
 public:
  static constexpr std::string_view kName = "slack";
  explicit SlackIntegration(SlackSettings settings);

  std::string_view name() const override { return kName; }
  // Errors ("invalid_payload") name the missing or wrong field.
  Result<HttpRequest> prepare(const OutboxRow& row) const override;
  Outcome classify(const OutboxRow& row, const HttpResponse& response) const override;
  // chat.postMessage: "channel:<channel>" (Slack allows about one message per second per
  // channel); the other methods are paced only by max_in_flight.
  std::string rate_key(const OutboxRow& row) const override;
  // chat.postMessage to a conversation id: conversations.history (see above).
  std::optional<HttpRequest> lookup(const OutboxRow& row) const override;
  LookupOutcome classify_lookup(const OutboxRow& row, const HttpResponse& response) const override;
  std::vector<std::string> secrets() const override {
    if (settings_.signing_secret.empty()) return {settings_.token};
    return {settings_.token, settings_.signing_secret};
  }

 private:
  SlackSettings settings_;
};

// The settings for `cfg` with its token read (integrations.slack.token_file or
// token_env). Errors name the key and never quote the token.
Result<SlackSettings> slack_settings(const SlackConfig& cfg);

}  // namespace reflex::hub
