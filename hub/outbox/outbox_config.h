// hub.yaml's `outbox` and `integrations` sections: how the delivery stage retries and
// which vendors it may call. Read by read_hub_config (strict: unknown keys are errors,
// every error names its key path).
//
//   outbox:
//     max_attempts: 10        # attempts before a retryable failure becomes a dead letter
//     backoff_base: 1s        # full-jitter exponential backoff: base ...
//     backoff_cap: 5m         # ... and cap
//   integrations:
//     slack:
//       token_file: /etc/reflex/slack-bot-token   # or token_env: SLACK_BOT_TOKEN
//       signing_secret_file: /etc/reflex/slack-signing-secret  # buttons; or _env
//       base_url: https://slack.com/api/
//       rate_per_channel: 1   # chat.postMessage per second per channel
//       burst_per_channel: 3
//       max_in_flight: 4      # Slack calls at once
//       timeout: 10s          # one HTTP exchange
//     jira:                   # Jira REST v2 (hub/integrations/jira.h)
//       base_url: https://example.atlassian.net/   # required
//       user: reflex@example.com   # Basic auth with the API token; absent: Bearer (DC PAT)
//       token_file: /etc/reflex/jira-token         # or token_env: JIRA_API_TOKEN
//       max_in_flight: 4
//       timeout: 10s
//     statuspage:             # Statuspage v1 (hub/integrations/statuspage.h)
//       base_url: https://api.statuspage.io/v1/
//       page_id: kctbh9vrtdwd  # required
//       token_file: /etc/reflex/statuspage-key     # or token_env
//     pagerduty:              # Events API v2 (hub/integrations/pagerduty.h)
//       base_url: https://events.pagerduty.com/
//       routing_key_file: /etc/reflex/pagerduty-key   # or routing_key_env
//     dynatrace:              # Problems API v2 (hub/integrations/dynatrace.h)
//       base_url: https://abc12345.live.dynatrace.com/   # required
//       token_file: /etc/reflex/dynatrace-token     # or token_env
//     webhook:                # signed JSON POSTs (hub/integrations/webhook.h)
//       secret_file: /etc/reflex/webhook-secret     # or secret_env
//     jenkins:                # remote build trigger (hub/integrations/jenkins.h)
//       base_url: https://ci.example.com/           # required
//       user: reflex                                # required: the API token's user
//       token_file: /etc/reflex/jenkins-token       # or token_env
//     github:                 # workflow_dispatch (hub/integrations/github.h)
//       base_url: https://api.github.com/
//       token_file: /etc/reflex/github-token        # or token_env
//     email:                  # SMTP submission with libcurl (hub/integrations/email.h)
//       url: smtp://mail.example.com:587   # required: smtp:// (STARTTLS) or smtps://
//       from: reflex@example.com          # required: the sender
//       starttls: required                # smtp:// only: required, opportunistic or off
//       user: reflex@example.com          # AUTH, with password_file or password_env
//       password_file: /etc/reflex/smtp-password
//       timeout: 30s                      # the whole submission (default 30s)
//     mattermost:             # incoming webhook (hub/integrations/mattermost.h)
//       url_file: /etc/reflex/mattermost-hook-url   # or url_env: the hook URL is a secret
//       channel: town-square  # optional: the channel posts go to when a step names none
//       username: reflex      # optional override (the server must allow overrides)
//     teams:                  # incoming webhook (hub/integrations/teams.h)
//       url_file: /etc/reflex/teams-hook-url        # or url_env
//       format: adaptive_card # or text ({"text": ...}, Office 365 connectors only)
//   (each of these also takes max_in_flight, default 4, and timeout, default 10s)
#pragma once

#include <string>

#include "common/config.h"
#include "common/duration.h"

namespace reflex::hub {

struct SlackConfig {
  bool enabled = false;  // the section is present
  std::string token_file;
  std::string token_env;
  // The signing secret of Slack's button clicks (slack_actions.h); neither: buttons off.
  std::string signing_secret_file;
  std::string signing_secret_env;
  std::string base_url = "https://slack.com/api/";
  double rate_per_channel = 1.0;
  double burst_per_channel = 3.0;
  int64_t max_in_flight = 4;
  Millis timeout = Millis(10'000);

  bool operator==(const SlackConfig&) const = default;
};

// The other vendors: each is on when its section is present; exactly one of the
// secret's _file / _env keys is required.
struct JiraConfig {
  bool enabled = false;
  std::string base_url;  // required
  std::string user;      // "": Bearer token
  std::string token_file;
  std::string token_env;
  int64_t max_in_flight = 4;
  Millis timeout = Millis(10'000);

  bool operator==(const JiraConfig&) const = default;
};

struct StatuspageConfig {
  bool enabled = false;
  std::string base_url = "https://api.statuspage.io/v1/";
  std::string page_id;  // required
  std::string token_file;
  std::string token_env;
  int64_t max_in_flight = 4;
  Millis timeout = Millis(10'000);

  bool operator==(const StatuspageConfig&) const = default;
};

struct PagerDutyConfig {
  bool enabled = false;
  std::string base_url = "https://events.pagerduty.com/";
  std::string routing_key_file;
  std::string routing_key_env;
  int64_t max_in_flight = 4;
  Millis timeout = Millis(10'000);

  bool operator==(const PagerDutyConfig&) const = default;
};

struct DynatraceConfig {
  bool enabled = false;
  std::string base_url;  // required
  std::string token_file;
  std::string token_env;
  int64_t max_in_flight = 4;
  Millis timeout = Millis(10'000);

  bool operator==(const DynatraceConfig&) const = default;
};

struct WebhookConfig {
  bool enabled = false;
  std::string secret_file;
  std::string secret_env;
  int64_t max_in_flight = 4;
  Millis timeout = Millis(10'000);

  bool operator==(const WebhookConfig&) const = default;
};

struct JenkinsConfig {
  bool enabled = false;
  std::string base_url;  // required
  std::string user;      // required
  std::string token_file;
  std::string token_env;
  int64_t max_in_flight = 4;
  Millis timeout = Millis(10'000);

  bool operator==(const JenkinsConfig&) const = default;
};

struct GitHubConfig {
  bool enabled = false;
  std::string base_url = "https://api.github.com/";
  std::string token_file;
  std::string token_env;
  int64_t max_in_flight = 4;
  Millis timeout = Millis(10'000);

  bool operator==(const GitHubConfig&) const = default;
};

// integrations.email: a password needs a user; a password travels only over TLS
// (smtps://, or starttls: required) unless the server is on this host.
struct EmailConfig {
  bool enabled = false;
  std::string url;                    // required: smtp://host[:port][/ehlo-domain] or smtps://...
  std::string from;                   // required: a plain address
  std::string starttls = "required";  // required | opportunistic | off (smtp:// only)
  std::string user;
  std::string password_file;
  std::string password_env;
  int64_t max_in_flight = 4;
  Millis timeout = Millis(30'000);

  bool operator==(const EmailConfig&) const = default;
};

// integrations.mattermost and integrations.teams: the incoming webhook's URL is its
// secret, so it is read from url_file or url_env (exactly one), never written inline.
struct MattermostConfig {
  bool enabled = false;
  std::string url_file;
  std::string url_env;
  std::string channel;   // "": the hook's own channel
  std::string username;  // "": the hook's own name
  int64_t max_in_flight = 4;
  Millis timeout = Millis(10'000);

  bool operator==(const MattermostConfig&) const = default;
};

struct TeamsConfig {
  bool enabled = false;
  std::string url_file;
  std::string url_env;
  std::string format = "adaptive_card";  // adaptive_card | text
  int64_t max_in_flight = 4;
  Millis timeout = Millis(10'000);

  bool operator==(const TeamsConfig&) const = default;
};

struct IntegrationsConfig {
  SlackConfig slack;
  JiraConfig jira;
  StatuspageConfig statuspage;
  PagerDutyConfig pagerduty;
  DynatraceConfig dynatrace;
  WebhookConfig webhook;
  JenkinsConfig jenkins;
  GitHubConfig github;
  EmailConfig email;
  MattermostConfig mattermost;
  TeamsConfig teams;

  bool operator==(const IntegrationsConfig&) const = default;
};

struct OutboxConfig {
  int64_t max_attempts = 10;
  Millis backoff_base = Millis(1000);
  Millis backoff_cap = Millis(5 * 60'000);

  bool operator==(const OutboxConfig&) const = default;
};

void read_outbox_config(config::MapReader& top, OutboxConfig& outbox,
                        IntegrationsConfig& integrations);

}  // namespace reflex::hub
