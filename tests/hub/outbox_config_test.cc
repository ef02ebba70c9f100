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
