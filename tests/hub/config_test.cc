#include "hub/config.h"

#include "hub/correlate.h"

#include <catch2/catch.hpp>

using namespace reflex;
using namespace reflex::hub;

namespace {

Result<HubConfig> parse(const std::string& yaml) {
  auto root = config::parse_yaml(yaml, "hub.yaml");
  if (!root) return root.status();
  return read_hub_config(*root, "hub.yaml");
}

}  // namespace

TEST_CASE("the embedded default hub listens on loopback with a local SQLite file", "[hub-config]") {
  auto cfg = load_hub_config("");
  REQUIRE(cfg);
  CHECK(cfg->listen == "tcp://127.0.0.1:7171");
  CHECK(cfg->http == "127.0.0.1:7180");
  CHECK(cfg->store.backend == "sqlite");
  CHECK(cfg->store.path == "reflex-hub.db");
  CHECK(cfg->agents.lost_after_missed == 3);
}

TEST_CASE("store.events_retention keeps 30 days by default, 0 keeps all, less than 1s is refused",
          "[hub-config]") {
  auto defaults = parse("");
  REQUIRE(defaults);
  CHECK(defaults->store.events_retention == Millis(30LL * 24 * 3600 * 1000));
  auto week = parse("store: {events_retention: 7d}\n");
  REQUIRE(week);
  CHECK(week->store.events_retention == Millis(7LL * 24 * 3600 * 1000));
  auto all = parse("store: {events_retention: 0s}\n");
  REQUIRE(all);
  CHECK(all->store.events_retention == Millis(0));
  auto short_one = parse("store: {events_retention: 500ms}\n");
  REQUIRE_FALSE(short_one);
  CHECK_THAT(
      short_one.status().message(),
      Catch::Contains("store.events_retention: must be 0 (keep every event) or at least 1s"));
  auto negative = parse("store: {events_retention: -1s}\n");
  REQUIRE_FALSE(negative);
  CHECK_THAT(negative.status().message(), Catch::Contains("store.events_retention"));
}

TEST_CASE("a full hub config is read", "[hub-config]") {
  auto cfg = parse(
      "listen: tcp://0.0.0.0:9000\n"
      "http: '[::1]:9001'\n"
      "store: {backend: sqlite, path: /var/lib/reflex/hub.db}\n"
      "security: {secret_key_file: /etc/reflex/hub.key_secret, allowlist: /etc/reflex/agents}\n"
      "agents: {lost_after_missed: 5, default_heartbeat: 10s, check_interval: 500ms}\n"
      "log: {level: debug, format: json}\n");
  REQUIRE(cfg);
  CHECK(cfg->listen == "tcp://0.0.0.0:9000");
  CHECK(cfg->store.path == "/var/lib/reflex/hub.db");
  CHECK(cfg->agents.lost_after_missed == 5);
  CHECK(cfg->agents.default_heartbeat == Millis(10'000));
  CHECK(cfg->agents.check_interval == Millis(500));
  CHECK(cfg->log.format == "json");
  CHECK(cfg->security.curve());
  CHECK(cfg->security.allowlist == "/etc/reflex/agents");
}

TEST_CASE("a hub listening beyond loopback needs CurveZMQ keys or insecure_plaintext",
          "[hub-config]") {
  auto open = parse("listen: tcp://0.0.0.0:7171\n");
  REQUIRE_FALSE(open);
  CHECK(open.status().message().find("hub.yaml:1: listen: a non-loopback address needs") !=
        std::string::npos);
  CHECK(parse("listen: tcp://0.0.0.0:7171\nsecurity: {insecure_plaintext: true}\n"));
  CHECK(parse("listen: tcp://127.0.0.2:7171\n"));
  CHECK(parse("listen: 'tcp://[::1]:7171'\n"));
  auto half = parse("security: {secret_key_file: /k}\n");
  REQUIRE_FALSE(half);
  CHECK(half.status().message().find("security.allowlist: required with secret_key_file") !=
        std::string::npos);
}

TEST_CASE("hub config errors name each key path", "[hub-config]") {
  auto cfg = parse(
      "listen: 127.0.0.1:7171\n"
      "http: localhost\n"
      "agents: {lost_after_missed: 0, check_interval: 1ms}\n"
      "log: {level: loud}\n"
      "stroe: {}\n");
  REQUIRE_FALSE(cfg);
  const std::string m = cfg.status().message();
  CHECK(m.find("hub.yaml:1: listen: expected a ZeroMQ endpoint") != std::string::npos);
  CHECK(m.find("hub.yaml:2: http: expected host:port") != std::string::npos);
  CHECK(m.find("agents.lost_after_missed: must be between 1 and 1000, got 0") != std::string::npos);
  CHECK(m.find("agents.check_interval: must be at least 10ms") != std::string::npos);
  CHECK(m.find("log.level: must be one of") != std::string::npos);
  CHECK(m.find("hub.yaml:5: stroe: unknown key") != std::string::npos);
}

TEST_CASE("host:port parsing takes bracketed IPv6 and refuses bad ports", "[hub-config]") {
  std::string host;
  int port = -1;
  REQUIRE(config::parse_host_port("[::1]:80", host, port));
  CHECK(host == "::1");
  CHECK(port == 80);
  CHECK_FALSE(config::parse_host_port("host:65536", host, port));
  CHECK_FALSE(config::parse_host_port("host:", host, port));
  CHECK_FALSE(config::parse_host_port(":80", host, port));
}

TEST_CASE("the incidents section sets the engine's policy, its defaults are the engine's",
          "[hub-config]") {
  auto defaults = load_hub_config("");
  REQUIRE(defaults);
  const auto got = incident_policy(defaults->incidents);
  const incidents::IncidentPolicy engine;
  CHECK(got.group_by == engine.group_by);
  CHECK(got.resolve_after_ms == engine.resolve_after_ms);
  CHECK(got.reopen_window_ms == engine.reopen_window_ms);
  CHECK(got.flap_threshold == engine.flap_threshold);
  CHECK(got.flap_window_ms == engine.flap_window_ms);

  auto cfg = parse(
      "incidents: {group_by: [service], resolve_after: 2m, reopen_window: 30m, "
      "flap_threshold: 5, flap_window: 2h}\n");
  REQUIRE(cfg);
  const auto p = incident_policy(cfg->incidents);
  CHECK(p.group_by == std::vector<std::string>{"service"});
  CHECK(p.resolve_after_ms == 120'000);
  CHECK(p.reopen_window_ms == 1'800'000);
  CHECK(p.flap_threshold == 5);
  CHECK(p.flap_window_ms == 7'200'000);
  CHECK(incidents::validate_policy(p));
}

TEST_CASE("incidents config errors name each key path", "[hub-config]") {
  auto cfg = parse(
      "incidents:\n"
      "  group_by: [service, '', service]\n"
      "  resolve_after: 5\n"
      "  flap_threshold: 0\n"
      "  flap_window: 0s\n"
      "  reopen: 1h\n");
  REQUIRE(!cfg);
  const std::string m = cfg.status().message();
  INFO(m);
  CHECK(m.find("hub.yaml:2: incidents.group_by[1]: must not be empty") != std::string::npos);
  CHECK(m.find("incidents.group_by[2]: \"service\" is listed twice") != std::string::npos);
  CHECK(m.find("hub.yaml:3: incidents.resolve_after:") != std::string::npos);
  CHECK(m.find("incidents.flap_threshold: must be between 1 and 1000") != std::string::npos);
  CHECK(m.find("incidents.flap_window: must be positive") != std::string::npos);
  CHECK(m.find("incidents.reopen: unknown key") != std::string::npos);
  CHECK(!parse("incidents: {group_by: []}\n"));
  CHECK(parse("incidents: {group_by: []}\n")
            .status()
            .message()
            .find("incidents.group_by: must name at least one label") != std::string::npos);
}

TEST_CASE("a page step must name an escalation policy unless PagerDuty takes the pages",
          "[hub-config]") {
  const std::string policy =
      "people: {alice: {slack: U0ALICE}}\n"
      "escalation_policies: {checkout-oncall: {levels: [{targets: [{user: alice}]}]}}\n"
      "workflows:\n"
      "  w:\n"
      "    steps:\n"
      "      - {on: [opened], kind: page, with: {policy: checkout-oncall}}\n"
      "      - {on: [opened], kind: page, with: {policy: \"{{service}}-oncall\"}}\n"
      "      - {on: [opened], kind: page, with: {policy: payments-oncall}}\n";
  auto cfg = parse(policy);
  REQUIRE_FALSE(cfg);
  const std::string m = cfg.status().message();
  CHECK(m.find("workflows.w.steps[2].with.policy: 'payments-oncall' is not one of "
               "escalation_policies, and integrations.pagerduty is not configured") !=
        std::string::npos);
  CHECK(m.find("steps[0]") == std::string::npos);  // a known policy
  CHECK(m.find("steps[1]") == std::string::npos);  // judged when rendered

  // read_hub_config does not read secret files (load_hub_config does).
  auto with_pagerduty =
      parse(policy + "integrations: {pagerduty: {routing_key_file: /etc/reflex/pd}}\n");
  INFO(with_pagerduty.status().to_string());
  CHECK(with_pagerduty);
}

TEST_CASE(
    "an email step needs integrations.email, and Mattermost or Teams chat steps can only "
    "post, without buttons, once configured",
    "[hub-config][email]") {
  const std::string steps =
      "workflows:\n"
      "  w:\n"
      "    steps:\n"
      "      - {on: [opened], kind: email, with: {to: a@example.com, subject: s}}\n"
      "      - {on: [opened], kind: chat.post, with: {channel: c, text: t, integration: "
      "mattermost}}\n"
      "      - {on: [opened], kind: chat.update, with: {text: t, integration: teams}}\n"
      "      - {on: [opened], kind: chat.post, with: {channel: c, text: t, integration: teams, "
      "buttons: acknowledge}}\n"
      "      - {on: [opened], kind: chat.archive, with: {integration: mattermost}}\n"
      "      - {on: [opened], kind: chat.post, with: {channel: c, text: t, integration: irc}}\n"
      "      - {on: [opened], kind: chat.update, with: {text: t, integration: slack}}\n";
  auto bare = parse(steps);
  REQUIRE_FALSE(bare);
  const std::string m = bare.status().message();
  INFO(m);
  CHECK(m.find("workflows.w.steps[0].kind: email steps send through integrations.email") !=
        std::string::npos);
  CHECK(m.find("workflows.w.steps[1].with.integration: integrations.mattermost is not "
               "configured") != std::string::npos);
  CHECK(m.find("workflows.w.steps[2].with.integration: integrations.teams is not configured") !=
        std::string::npos);
  CHECK(m.find("workflows.w.steps[5].with.integration: must be slack, mattermost or teams") !=
        std::string::npos);
  CHECK(m.find("steps[6]") == std::string::npos);  // Slack steps as before

  auto configured =
      parse(steps +
            "integrations:\n"
            "  email: {url: 'smtp://127.0.0.1:25', from: r@example.com, starttls: off}\n"
            "  mattermost: {url_file: /etc/reflex/mm}\n"
            "  teams: {url_file: /etc/reflex/teams}\n");
  REQUIRE_FALSE(configured);
  const std::string c = configured.status().message();
  INFO(c);
  CHECK(c.find("steps[0]") == std::string::npos);
  CHECK(c.find("steps[1]") == std::string::npos);
  CHECK(c.find("workflows.w.steps[2].kind: chat.update needs a message or channel id, which "
               "Teams incoming webhooks never return") != std::string::npos);
  CHECK(c.find("workflows.w.steps[3].with.buttons: response buttons need Slack") !=
        std::string::npos);
  CHECK(c.find("workflows.w.steps[4].kind: chat.archive needs") != std::string::npos);
}

TEST_CASE("the cluster section applies to a PostgreSQL store, with its defaults and limits",
          "[hub-config]") {
  const std::string pg = "store: {backend: postgres, dsn: 'host=db1 dbname=reflex'}\n";
  auto defaults = parse(pg);
  REQUIRE(defaults);
  CHECK(defaults->cluster.hub_id.empty());  // <hostname>-<http port>, made at start
  CHECK(defaults->cluster.lease == Millis(10'000));
  CHECK(defaults->cluster.url.empty());

  auto set = parse(pg + "cluster: {hub_id: hub-a, lease: 3s, url: 'http://10.0.0.11:7180'}\n");
  REQUIRE(set);
  CHECK(set->cluster.hub_id == "hub-a");
  CHECK(set->cluster.lease == Millis(3000));
  CHECK(set->cluster.url == "http://10.0.0.11:7180");

  auto on_sqlite = parse("cluster: {hub_id: hub-a, bogus: 1}\n");
  REQUIRE_FALSE(on_sqlite);
  CHECK_THAT(on_sqlite.status().message(),
             Catch::Contains("cluster: applies to store backend postgres only"));
  CHECK_THAT(on_sqlite.status().message(),
             Catch::Contains("cluster.bogus: unknown key (known here: hub_id, lease, url)"));
  for (const char* lease : {"500ms", "11m"}) {
    auto bad = parse(pg + "cluster: {lease: " + lease + "}\n");
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.status().message(), Catch::Contains("cluster.lease: must be from 1s to 10m"));
  }
  auto empty = parse(pg + "cluster: {hub_id: ''}\n");
  REQUIRE_FALSE(empty);
  CHECK_THAT(empty.status().message(), Catch::Contains("cluster.hub_id: must not be empty"));
}
