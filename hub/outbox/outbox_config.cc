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

// The keys the other vendor sections share: exactly one of <secret>_file and
// <secret>_env, max_in_flight and timeout.
void read_common(config::MapReader& m, const std::string& secret, std::string& file,
                 std::string& env, int64_t& max_in_flight, Millis& timeout) {
  m.get(secret + "_file", file);
  m.get(secret + "_env", env);
  m.get("max_in_flight", max_in_flight, 1, 256);
  m.get("timeout", timeout);
  if (file.empty() == env.empty()) {
    const std::string key = secret + (file.empty() ? "_env" : "_file");
    m.errors().add(m.take(key), m.path_of(secret + "_file"),
                   file.empty() ? "required: the " + secret + "'s file (or " + secret + "_env)"
                                : "give " + secret + "_file or " + secret + "_env, not both");
  }
  if (timeout.count() < 100) {
    m.errors().add(m.take("timeout"), m.path_of("timeout"), "must be at least 100ms");
  }
}

// base_url: required (no default) or checked as an http(s) URL.
void read_base_url(config::MapReader& m, std::string& url, const char* example) {
  const bool had_default = !url.empty();
  m.get("base_url", url);
  if (url.empty() && !had_default) {
    m.errors().add(m.take("base_url"), m.path_of("base_url"),
                   std::string("required: the API's URL, such as ") + example);
  } else if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    m.errors().add(m.take("base_url"), m.path_of("base_url"),
                   std::string("expected an http:// or https:// URL such as ") + example +
                       ", got \"" + url + "\"");
  }
}

void read_jira(config::MapReader& integrations, JiraConfig& out) {
  const bool present = integrations.has("jira");
  auto m = integrations.child("jira");
  if (!present) return;
  out.enabled = true;
  read_base_url(m, out.base_url, "https://example.atlassian.net/");
  m.get("user", out.user);
  read_common(m, "token", out.token_file, out.token_env, out.max_in_flight, out.timeout);
}

void read_statuspage(config::MapReader& integrations, StatuspageConfig& out) {
  const bool present = integrations.has("statuspage");
  auto m = integrations.child("statuspage");
  if (!present) return;
  out.enabled = true;
  read_base_url(m, out.base_url, "https://api.statuspage.io/v1/");
  m.get("page_id", out.page_id);
  if (out.page_id.empty()) {
    m.errors().add(m.take("page_id"), m.path_of("page_id"),
                   "required: the id of the status page incidents are opened on");
  }
  read_common(m, "token", out.token_file, out.token_env, out.max_in_flight, out.timeout);
}

void read_pagerduty(config::MapReader& integrations, PagerDutyConfig& out) {
  const bool present = integrations.has("pagerduty");
  auto m = integrations.child("pagerduty");
  if (!present) return;
  out.enabled = true;
  read_base_url(m, out.base_url, "https://events.pagerduty.com/");
  read_common(m, "routing_key", out.routing_key_file, out.routing_key_env, out.max_in_flight,
              out.timeout);
}

void read_dynatrace(config::MapReader& integrations, DynatraceConfig& out) {
  const bool present = integrations.has("dynatrace");
  auto m = integrations.child("dynatrace");
  if (!present) return;
  out.enabled = true;
  read_base_url(m, out.base_url, "https://abc12345.live.dynatrace.com/");
  read_common(m, "token", out.token_file, out.token_env, out.max_in_flight, out.timeout);
}

void read_webhook(config::MapReader& integrations, WebhookConfig& out) {
  const bool present = integrations.has("webhook");
  auto m = integrations.child("webhook");
  if (!present) return;
  out.enabled = true;
  read_common(m, "secret", out.secret_file, out.secret_env, out.max_in_flight, out.timeout);
}

void read_jenkins(config::MapReader& integrations, JenkinsConfig& out) {
  const bool present = integrations.has("jenkins");
  auto m = integrations.child("jenkins");
  if (!present) return;
  out.enabled = true;
  read_base_url(m, out.base_url, "https://ci.example.com/");
  m.get("user", out.user);
  if (out.user.empty()) {
    m.errors().add(m.take("user"), m.path_of("user"),
                   "required: the Jenkins user the API token belongs to");
  }
  read_common(m, "token", out.token_file, out.token_env, out.max_in_flight, out.timeout);
}

void read_github(config::MapReader& integrations, GitHubConfig& out) {
  const bool present = integrations.has("github");
  auto m = integrations.child("github");
  if (!present) return;
  out.enabled = true;
  read_base_url(m, out.base_url, "https://api.github.com/");
  read_common(m, "token", out.token_file, out.token_env, out.max_in_flight, out.timeout);
}

bool loopback_host(const std::string& url) {
  const size_t scheme = url.find("://");
  std::string host = scheme == std::string::npos ? url : url.substr(scheme + 3);
  host = host.substr(0, host.find('/'));
  if (const size_t at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void read_email(config::MapReader& integrations, EmailConfig& out) {
  const bool present = integrations.has("email");
  auto m = integrations.child("email");
  if (!present) return;
  out.enabled = true;
  m.get("url", out.url);
  m.get("from", out.from);
  m.get_enum("starttls", out.starttls, {"required", "opportunistic", "off"});
  m.get("user", out.user);
  m.get("password_file", out.password_file);
  m.get("password_env", out.password_env);
  m.get("max_in_flight", out.max_in_flight, 1, 256);
  m.get("timeout", out.timeout);
  auto& errors = m.errors();
  const bool smtps = out.url.rfind("smtps://", 0) == 0;
  if (out.url.empty()) {
    errors.add(m.take("url"), m.path_of("url"),
               "required: the SMTP server, such as smtp://mail.example.com:587 or "
               "smtps://mail.example.com:465");
  } else if (!smtps && out.url.rfind("smtp://", 0) != 0) {
    errors.add(m.take("url"), m.path_of("url"),
               "expected an smtp:// or smtps:// URL such as smtp://mail.example.com:587, got \"" +
                   out.url + "\"");
  } else if (out.url.find('@') != std::string::npos) {
    errors.add(m.take("url"), m.path_of("url"),
               "must not carry credentials: give user and password_file instead");
  }
  const bool plain_from = !out.from.empty() && out.from.find('@') != std::string::npos &&
                          out.from.find_first_of(" <>,\"\r\n") == std::string::npos;
  if (!plain_from) {
    errors.add(m.take("from"), m.path_of("from"),
               out.from.empty() ? "required: the sender's address, such as reflex@example.com"
                                : "expected a plain address such as reflex@example.com, got \"" +
                                      out.from + "\"");
  }
  const bool password = !out.password_file.empty() || !out.password_env.empty();
  if (!out.password_file.empty() && !out.password_env.empty()) {
    errors.add(m.take("password_env"), m.path_of("password_env"),
               "give password_file or password_env, not both");
  }
  if (password && out.user.empty()) {
    errors.add(m.take("user"), m.path_of("user"), "required with a password: the AUTH user");
  }
  if (!out.user.empty() && !password) {
    errors.add(m.take("password_file"), m.path_of("password_file"),
               "required with user: the AUTH password's file (or password_env)");
  }
  if (password && !smtps && out.starttls != "required" && !out.url.empty() &&
      !loopback_host(out.url)) {
    errors.add(m.take("starttls"), m.path_of("starttls"),
               "must be required when a password is sent to " + out.url +
                   " (or use smtps://): it would travel in plaintext");
  }
  if (out.timeout.count() < 100) {
    errors.add(m.take("timeout"), m.path_of("timeout"), "must be at least 100ms");
  }
}

void read_mattermost(config::MapReader& integrations, MattermostConfig& out) {
  const bool present = integrations.has("mattermost");
  auto m = integrations.child("mattermost");
  if (!present) return;
  out.enabled = true;
  m.get("channel", out.channel);
  m.get("username", out.username);
  read_common(m, "url", out.url_file, out.url_env, out.max_in_flight, out.timeout);
}

void read_teams(config::MapReader& integrations, TeamsConfig& out) {
  const bool present = integrations.has("teams");
  auto m = integrations.child("teams");
  if (!present) return;
  out.enabled = true;
  m.get_enum("format", out.format, {"adaptive_card", "text"});
  read_common(m, "url", out.url_file, out.url_env, out.max_in_flight, out.timeout);
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
  read_jira(in, integrations.jira);
  read_statuspage(in, integrations.statuspage);
  read_pagerduty(in, integrations.pagerduty);
  read_dynatrace(in, integrations.dynatrace);
  read_webhook(in, integrations.webhook);
  read_jenkins(in, integrations.jenkins);
  read_github(in, integrations.github);
  read_email(in, integrations.email);
  read_mattermost(in, integrations.mattermost);
  read_teams(in, integrations.teams);
}

}  // namespace reflex::hub
