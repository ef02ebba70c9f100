#include "agent/config.h"

#include <catch2/catch.hpp>

using namespace reflex;
using namespace reflex::agent;

namespace {

Result<AgentConfig> parse(const std::string& yaml) {
  auto root = config::parse_yaml(yaml, "agent.yaml");
  if (!root) return root.status();
  return read_agent_config(*root, "agent.yaml");
}

}  // namespace

TEST_CASE("the embedded default agent is named after its host and reports to localhost",
          "[agent-config]") {
  auto cfg = load_agent_config("");
  REQUIRE(cfg);
  CHECK(!cfg->hostname.empty());
  CHECK(cfg->id == cfg->hostname);
  CHECK(cfg->hub_endpoints == std::vector<std::string>{"tcp://127.0.0.1:7171"});
  CHECK(cfg->heartbeat_interval == Millis(5000));
}

TEST_CASE("an agent config is read", "[agent-config]") {
  auto cfg = parse(
      "id: web-1\nhostname: web-1.prod\nlabels: {service: checkout, env: prod}\n"
      "heartbeat_interval: 2s\nhub: {endpoints: ['tcp://hub-a:7171', 'tcp://hub-b:7171']}\n");
  REQUIRE(cfg);
  CHECK(cfg->id == "web-1");
  CHECK(cfg->labels.at("env") == "prod");
  CHECK(cfg->hub_endpoints.size() == 2);
  CHECK(cfg->heartbeat_interval == Millis(2000));
}

TEST_CASE("agent config errors name each key path", "[agent-config]") {
  auto cfg = parse(
      "id: 'web 1'\nheartbeat_interval: 0s\nhub: {endpoints: [hub-a]}\nlabels: [a]\nhbi: 1s\n");
  REQUIRE_FALSE(cfg);
  const std::string m = cfg.status().message();
  CHECK(m.find("id: \"web 1\" is not a valid agent id") != std::string::npos);
  CHECK(m.find("agent.yaml:2: heartbeat_interval: must be at least 10ms") != std::string::npos);
  CHECK(m.find("hub.endpoints[0]: expected a ZeroMQ endpoint") != std::string::npos);
  CHECK(m.find("agent.yaml:4: labels: expected a mapping") != std::string::npos);
  CHECK(m.find("agent.yaml:5: hbi: unknown key") != std::string::npos);
}

TEST_CASE("an empty endpoint list is refused", "[agent-config]") {
  auto cfg = parse("hub: {endpoints: []}\n");
  REQUIRE_FALSE(cfg);
  CHECK(cfg.status().message().find("hub.endpoints: must name at least one hub") !=
        std::string::npos);
}

TEST_CASE("remediation actions, host guardrails and rule ladders are read", "[agent-config]") {
  auto cfg = parse(
      "checks: [{name: web, type: process, pidfile: /run/web.pid, interval: 1s}]\n"
      "actions:\n"
      "  - {name: restart, type: systemd, unit: web.service, cooldown: 10s}\n"
      "  - {name: rebuild, type: ansible, playbook: /srv/web.yml, extra_vars: [series]}\n"
      "remediation: {budget: {max_runs: 4, window: 30m}, dry_run: true}\n"
      "rules: [{name: web-down, series: web, when: 'state == CRITICAL', "
      "heal: [restart, rebuild]}]\n");
  INFO((cfg ? "" : cfg.status().message()));
  REQUIRE(cfg);
  REQUIRE(cfg->actions.size() == 2);
  CHECK(cfg->actions[0].guardrails.cooldown == Millis(10'000));
  CHECK(cfg->remediation.budget.max_runs == 4);
  CHECK(cfg->remediation.dry_run);
  CHECK(cfg->rules[0].heal == std::vector<std::string>{"restart", "rebuild"});
}

TEST_CASE("a ladder naming an undeclared action is refused at its key path", "[agent-config]") {
  auto cfg = parse(
      "checks: [{name: web, type: process, pidfile: /run/web.pid}]\n"
      "actions: [{name: restart, type: systemd, unit: web.service}]\n"
      "remediation: {budget: {max_runs: 0}}\n"
      "rules: [{name: web-down, series: web, when: 'state == CRITICAL', heal: [restrat]}]\n");
  REQUIRE_FALSE(cfg);
  const std::string msg = cfg.status().message();
  INFO(msg);
  CHECK(msg.find("rules[0].heal[0]: no action is named \"restrat\" (declared: restart)") !=
        std::string::npos);
  CHECK(msg.find("remediation.budget.max_runs") != std::string::npos);
}
