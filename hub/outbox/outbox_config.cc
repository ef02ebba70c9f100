#include "hub/outbox/outbox_config.h"

namespace reflex::hub {
namespace {

void read_slack(config::MapReader& integrations, SlackConfig& out) {
  const bool present = integrations.has("slack");
  auto slack = integrations.child("slack");  // claimed even when absent: a typo lists it
  if (!present) return;
  out.enabled = true;
  slack.get("token_file", out.token_file);
  slack.get("token_env", out.token_env);
  slack.get("signing_secret_file", out.signing_secret_file);
  slack.get("signing_secret_env", out.signing_secret_env);
  slack.get("base_url", out.base_url);
  slack.get("rate_per_channel", out.rate_per_channel);
  slack.get("burst_per_channel", out.burst_per_channel);
  slack.get("max_in_flight", out.max_in_flight, 1, 256);
  slack.get("timeout", out.timeout);
  auto& errors = slack.errors();
  if (out.token_file.empty() == out.token_env.empty()) {
    errors.add(slack.take(out.token_file.empty() ? "token_env" : "token_file"),
               "integrations.slack.token_file",
               out.token_file.empty() ? "required: the bot token's file (or token_env)"
                                      : "give token_file or token_env, not both");
  }
  if (!out.signing_secret_file.empty() && !out.signing_secret_env.empty()) {
    errors.add(slack.take("signing_secret_env"), "integrations.slack.signing_secret_env",
               "give signing_secret_file or signing_secret_env, not both");
  }
  if (out.base_url.rfind("http://", 0) != 0 && out.base_url.rfind("https://", 0) != 0) {
    errors.add(slack.take("base_url"), "integrations.slack.base_url",
               "expected an http:// or https:// URL such as https://slack.com/api/, got \"" +
                   out.base_url + "\"");
  }
  if (!(out.rate_per_channel > 0) || out.rate_per_channel > 1000) {
    errors.add(slack.take("rate_per_channel"), "integrations.slack.rate_per_channel",
               "must be above 0 and at most 1000 (messages per second)");
  }
  if (!(out.burst_per_channel >= 1) || out.burst_per_channel > 1000) {
    errors.add(slack.take("burst_per_channel"), "integrations.slack.burst_per_channel",
               "must be from 1 to 1000");
  }
  if (out.timeout.count() < 100) {
    errors.add(slack.take("timeout"), "integrations.slack.timeout", "must be at least 100ms");
  }
}

}  // namespace

void read_outbox_config(config::MapReader& top, OutboxConfig& outbox,
                        IntegrationsConfig& integrations) {
  {
    auto o = top.child("outbox");
    o.get("max_attempts", outbox.max_attempts, 1, 1000);
    o.get("backoff_base", outbox.backoff_base);
    o.get("backoff_cap", outbox.backoff_cap);
    if (outbox.backoff_base.count() < 1) {
      o.errors().add(o.take("backoff_base"), "outbox.backoff_base", "must be at least 1ms");
    }
    if (outbox.backoff_cap < outbox.backoff_base) {
      o.errors().add(o.take("backoff_cap"), "outbox.backoff_cap",
                     "must not be below outbox.backoff_base");
    }
  }
  auto in = top.child("integrations");
  read_slack(in, integrations.slack);
}

}  // namespace reflex::hub
