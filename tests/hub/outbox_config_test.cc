// hub.yaml's `outbox` and `integrations` sections: defaults, values, and errors that
// name their key paths.
#include "hub/outbox/outbox_config.h"

#include <catch2/catch.hpp>

using namespace reflex;
using namespace reflex::hub;

namespace {

struct Read {
  OutboxConfig outbox;
  IntegrationsConfig integrations;
  Status status;
};

Read read(const std::string& yaml) {
  Read r;
  auto root = config::parse_yaml(yaml, "hub.yaml");
  REQUIRE(root);
  config::Errors errors("hub.yaml");
  {
    config::MapReader top(*root, "", errors);
    read_outbox_config(top, r.outbox, r.integrations);
  }
  r.status = errors.status();
  return r;
}

}  // namespace

TEST_CASE("without the sections the outbox has its defaults and Slack is off", "[outbox][config]") {
  auto r = read("{}");
  REQUIRE(r.status);
  CHECK(r.outbox.max_attempts == 10);
  CHECK(r.outbox.backoff_base == Millis(1000));
  CHECK(r.outbox.backoff_cap == Millis(300'000));
  CHECK_FALSE(r.integrations.slack.enabled);
}

TEST_CASE("the outbox and Slack keys are read", "[outbox][config]") {
  auto r = read(R"(
outbox: {max_attempts: 5, backoff_base: 2s, backoff_cap: 1m}
integrations:
  slack:
    token_env: SLACK_BOT_TOKEN
    base_url: http://127.0.0.1:9/api/
    rate_per_channel: 2
    burst_per_channel: 4
    max_in_flight: 8
    timeout: 3s
)");
  REQUIRE(r.status);
  CHECK(r.outbox.max_attempts == 5);
  CHECK(r.outbox.backoff_base == Millis(2000));
  CHECK(r.outbox.backoff_cap == Millis(60'000));
  const SlackConfig& s = r.integrations.slack;
  CHECK(s.enabled);
  CHECK(s.token_env == "SLACK_BOT_TOKEN");
  CHECK(s.base_url == "http://127.0.0.1:9/api/");
  CHECK(s.rate_per_channel == 2);
  CHECK(s.burst_per_channel == 4);
  CHECK(s.max_in_flight == 8);
  CHECK(s.timeout == Millis(3000));
}

TEST_CASE("bad outbox and Slack keys are errors naming their paths", "[outbox][config]") {
  auto check = [](const std::string& yaml, const std::string& path) {
    auto r = read(yaml);
    REQUIRE_FALSE(r.status);
    INFO(r.status.message());
    CHECK(r.status.message().find(path) != std::string::npos);
  };
  check("integrations: {slack: {base_url: https://slack.com/api/}}",
        "integrations.slack.token_file");
  check("integrations: {slack: {token_file: /t, token_env: T}}", "integrations.slack.token_file");
  check("integrations: {slack: {token_env: T, base_url: ftp://x}}", "integrations.slack.base_url");
  check("integrations: {slack: {token_env: T, rate_per_channel: 0}}",
        "integrations.slack.rate_per_channel");
  check("integrations: {slack: {token_env: T, tokn: x}}", "integrations.slack.tokn");
  check("integrations: {teams: {}}", "integrations.teams");
  check("outbox: {max_attempts: 0}", "outbox.max_attempts");
  check("outbox: {backoff_base: 10s, backoff_cap: 1s}", "outbox.backoff_cap");
}

TEST_CASE("without their sections Jira, Statuspage, PagerDuty, Dynatrace and webhook are off",
          "[outbox][config]") {
  auto r = read("integrations: {}");
  REQUIRE(r.status);
  CHECK_FALSE(r.integrations.jira.enabled);
  CHECK_FALSE(r.integrations.statuspage.enabled);
  CHECK_FALSE(r.integrations.pagerduty.enabled);
  CHECK_FALSE(r.integrations.dynatrace.enabled);
  CHECK_FALSE(r.integrations.webhook.enabled);
}

TEST_CASE("the Jira, Statuspage, PagerDuty, Dynatrace and webhook keys are read",
          "[outbox][config]") {
  auto r = read(R"(
integrations:
  jira:
    base_url: https://example.atlassian.net/
    user: reflex@example.com
    token_file: /etc/reflex/jira-token
    max_in_flight: 2
    timeout: 5s
  statuspage:
    page_id: kctbh9vrtdwd
    token_env: STATUSPAGE_KEY
  pagerduty:
    routing_key_env: PD_ROUTING_KEY
    base_url: https://events.eu.pagerduty.com/
  dynatrace:
    base_url: https://abc12345.live.dynatrace.com/
    token_env: DT_TOKEN
    timeout: 3s
  webhook:
    secret_file: /etc/reflex/webhook-secret
    max_in_flight: 8
)");
  INFO(r.status.message());
  REQUIRE(r.status);
  const auto& in = r.integrations;
  CHECK(in.jira.enabled);
  CHECK(in.jira.base_url == "https://example.atlassian.net/");
  CHECK(in.jira.user == "reflex@example.com");
  CHECK(in.jira.token_file == "/etc/reflex/jira-token");
  CHECK(in.jira.max_in_flight == 2);
  CHECK(in.jira.timeout == Millis(5000));
  CHECK(in.statuspage.enabled);
  CHECK(in.statuspage.base_url == "https://api.statuspage.io/v1/");
  CHECK(in.statuspage.page_id == "kctbh9vrtdwd");
  CHECK(in.statuspage.token_env == "STATUSPAGE_KEY");
  CHECK(in.statuspage.max_in_flight == 4);
  CHECK(in.pagerduty.enabled);
  CHECK(in.pagerduty.routing_key_env == "PD_ROUTING_KEY");
  CHECK(in.pagerduty.base_url == "https://events.eu.pagerduty.com/");
  CHECK(in.dynatrace.enabled);
  CHECK(in.dynatrace.token_env == "DT_TOKEN");
  CHECK(in.dynatrace.timeout == Millis(3000));
  CHECK(in.webhook.enabled);
  CHECK(in.webhook.secret_file == "/etc/reflex/webhook-secret");
  CHECK(in.webhook.max_in_flight == 8);
  CHECK(in.webhook.timeout == Millis(10'000));
}

TEST_CASE("bad vendor keys are errors naming their paths", "[outbox][config]") {
  auto check = [](const std::string& yaml, const std::string& path) {
    auto r = read(yaml);
    REQUIRE_FALSE(r.status);
    INFO(r.status.message());
    CHECK(r.status.message().find(path) != std::string::npos);
  };
  check("integrations: {jira: {token_env: T}}", "integrations.jira.base_url");
  check("integrations: {jira: {base_url: example.net, token_env: T}}",
        "integrations.jira.base_url");
  check("integrations: {jira: {base_url: https://x/}}", "integrations.jira.token_file");
  check("integrations: {jira: {base_url: https://x/, token_file: /t, token_env: T}}",
        "integrations.jira.token_file");
  check("integrations: {jira: {base_url: https://x/, token_env: T, password: p}}",
        "integrations.jira.password");
  check("integrations: {statuspage: {token_env: T}}", "integrations.statuspage.page_id");
  check("integrations: {statuspage: {page_id: p, token_env: T, max_in_flight: 0}}",
        "integrations.statuspage.max_in_flight");
  check("integrations: {pagerduty: {token_env: T}}", "integrations.pagerduty.routing_key_file");
  check("integrations: {pagerduty: {routing_key_env: K, timeout: 10ms}}",
        "integrations.pagerduty.timeout");
  check("integrations: {dynatrace: {token_env: T}}", "integrations.dynatrace.base_url");
  check("integrations: {webhook: {}}", "integrations.webhook.secret_file");
  check("integrations: {webhook: {secret_env: S, url: https://x/}}", "integrations.webhook.url");
}

TEST_CASE("the Jenkins and GitHub keys are read, and are off without their sections",
          "[outbox][config][ci]") {
  auto off = read("integrations: {}");
  REQUIRE(off.status);
  CHECK_FALSE(off.integrations.jenkins.enabled);
  CHECK_FALSE(off.integrations.github.enabled);
  auto r = read(R"(
integrations:
  jenkins:
    base_url: https://ci.example.com/jenkins/
    user: reflex
    token_file: /etc/reflex/jenkins-token
    max_in_flight: 2
  github:
    token_env: GITHUB_TOKEN
    timeout: 5s
)");
  INFO(r.status.message());
  REQUIRE(r.status);
  const auto& in = r.integrations;
  CHECK(in.jenkins.enabled);
  CHECK(in.jenkins.base_url == "https://ci.example.com/jenkins/");
  CHECK(in.jenkins.user == "reflex");
  CHECK(in.jenkins.token_file == "/etc/reflex/jenkins-token");
  CHECK(in.jenkins.max_in_flight == 2);
  CHECK(in.jenkins.timeout == Millis(10'000));
  CHECK(in.github.enabled);
  CHECK(in.github.base_url == "https://api.github.com/");
  CHECK(in.github.token_env == "GITHUB_TOKEN");
  CHECK(in.github.timeout == Millis(5000));
}

TEST_CASE("bad Jenkins and GitHub keys are errors naming their paths", "[outbox][config][ci]") {
  auto check = [](const std::string& yaml, const std::string& path) {
    auto r = read(yaml);
    REQUIRE_FALSE(r.status);
    INFO(r.status.message());
    CHECK(r.status.message().find(path) != std::string::npos);
  };
  check("integrations: {jenkins: {user: u, token_env: T}}", "integrations.jenkins.base_url");
  check("integrations: {jenkins: {base_url: https://ci/, token_env: T}}",
        "integrations.jenkins.user");
  check("integrations: {jenkins: {base_url: https://ci/, user: u}}",
        "integrations.jenkins.token_file");
  check("integrations: {jenkins: {base_url: https://ci/, user: u, token_env: T, crumb: c}}",
        "integrations.jenkins.crumb");
  check("integrations: {github: {}}", "integrations.github.token_file");
  check("integrations: {github: {token_env: T, base_url: api.github.com}}",
        "integrations.github.base_url");
  check("integrations: {github: {token_env: T, repo: acme/shop}}", "integrations.github.repo");
}

TEST_CASE("the email, Mattermost and Teams keys are read, and are off without their sections",
          "[outbox][config][email]") {
  auto off = read("{}");
  REQUIRE(off.status);
  CHECK_FALSE(off.integrations.email.enabled);
  CHECK_FALSE(off.integrations.mattermost.enabled);
  CHECK_FALSE(off.integrations.teams.enabled);

  auto r = read(R"(
integrations:
  email:
    url: smtp://mail.example.com:587
    from: reflex@example.com
    user: reflex@example.com
    password_file: /etc/reflex/smtp-password
    max_in_flight: 2
    timeout: 20s
  mattermost: {url_file: /etc/reflex/mm-hook, channel: ops, username: reflex, timeout: 3s}
  teams: {url_env: TEAMS_HOOK, format: text, max_in_flight: 1}
)");
  INFO(r.status.to_string());
  REQUIRE(r.status);
  const EmailConfig& e = r.integrations.email;
  CHECK(e.enabled);
  CHECK(e.url == "smtp://mail.example.com:587");
  CHECK(e.from == "reflex@example.com");
  CHECK(e.starttls == "required");  // the default
  CHECK(e.user == "reflex@example.com");
  CHECK(e.password_file == "/etc/reflex/smtp-password");
  CHECK(e.max_in_flight == 2);
  CHECK(e.timeout == Millis(20'000));
  const MattermostConfig& m = r.integrations.mattermost;
  CHECK(m.enabled);
  CHECK(m.url_file == "/etc/reflex/mm-hook");
  CHECK(m.channel == "ops");
  CHECK(m.username == "reflex");
  CHECK(m.timeout == Millis(3000));
  const TeamsConfig& t = r.integrations.teams;
  CHECK(t.enabled);
  CHECK(t.url_env == "TEAMS_HOOK");
  CHECK(t.format == "text");
  CHECK(t.max_in_flight == 1);

  // A local relay without TLS, with or without AUTH.
  auto local = read(
      "integrations: {email: {url: 'smtp://127.0.0.1:25', from: a@b, starttls: off, user: u, "
      "password_env: P}}");
  INFO(local.status.to_string());
  CHECK(local.status);
  CHECK(read("integrations: {email: {url: 'smtps://mail:465', from: a@b, user: u, "
             "password_env: P}}")
            .status);
}

TEST_CASE("bad email, Mattermost and Teams keys are errors naming their paths",
          "[outbox][config][email]") {
  auto check = [](const std::string& yaml, const std::string& path, const std::string& what) {
    auto r = read(yaml);
    REQUIRE_FALSE(r.status);
    INFO(r.status.message());
    CHECK(r.status.message().find(path) != std::string::npos);
    CHECK(r.status.message().find(what) != std::string::npos);
  };
  check("integrations: {email: {from: a@b}}", "integrations.email.url", "required");
  check("integrations: {email: {url: 'http://mail', from: a@b}}", "integrations.email.url",
        "smtp://");
  check("integrations: {email: {url: 'smtp://u:pw@mail', from: a@b}}", "integrations.email.url",
        "must not carry credentials");
  check("integrations: {email: {url: 'smtp://mail'}}", "integrations.email.from", "required");
  check("integrations: {email: {url: 'smtp://mail', from: 'Reflex <a@b>'}}",
        "integrations.email.from", "plain address");
  check("integrations: {email: {url: 'smtp://mail', from: a@b, starttls: maybe}}",
        "integrations.email.starttls", "must be one of");
  check("integrations: {email: {url: 'smtp://mail', from: a@b, password_env: P}}",
        "integrations.email.user", "required with a password");
  check("integrations: {email: {url: 'smtp://mail', from: a@b, user: u}}",
        "integrations.email.password_file", "required with user");
  check(
      "integrations: {email: {url: 'smtp://mail', from: a@b, user: u, password_env: P, "
      "password_file: /f}}",
      "integrations.email.password_env", "not both");
  check(
      "integrations: {email: {url: 'smtp://mail.example.com', from: a@b, user: u, "
      "password_env: P, starttls: opportunistic}}",
      "integrations.email.starttls", "plaintext");
  check("integrations: {email: {url: 'smtp://mail', from: a@b, port: 25}}",
        "integrations.email.port", "");
  check("integrations: {mattermost: {channel: ops}}", "integrations.mattermost.url_file",
        "required");
  check("integrations: {mattermost: {url: 'https://chat/hooks/x'}}", "integrations.mattermost.url",
        "");
  check("integrations: {teams: {url_file: /f, url_env: T}}", "integrations.teams.url_file",
        "not both");
  check("integrations: {teams: {url_env: T, format: message_card}}", "integrations.teams.format",
        "must be one of");
}
