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
