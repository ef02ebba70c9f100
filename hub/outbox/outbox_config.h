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
};

struct IntegrationsConfig {
  SlackConfig slack;
};

struct OutboxConfig {
  int64_t max_attempts = 10;
  Millis backoff_base = Millis(1000);
  Millis backoff_cap = Millis(5 * 60'000);
};

void read_outbox_config(config::MapReader& top, OutboxConfig& outbox,
                        IntegrationsConfig& integrations);

}  // namespace reflex::hub
