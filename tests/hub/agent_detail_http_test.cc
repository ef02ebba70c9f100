// GET /api/v1/agents/{id} of a real hub: the agent with its checks as it last reported
// them (its `metrics` summary), and the measured value of its alerts.
#include <catch2/catch.hpp>

#include "tests/hub/hub_harness.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using nlohmann::json;

TEST_CASE("an agent's page shows its last metrics summary, replaced by the next one",
          "[hub][agents]") {
  RunningHub hub;
  Api api(hub.http_port());
  StandInAgent agent(hub.endpoint(), "agent-7", "web-7");
  agent.hello();

  auto first = api.get("/api/v1/agents/agent-7");
  REQUIRE(first.status == 200);
  CHECK(first.body["agent"]["hostname"] == "web-7");
  CHECK(first.body["agent"]["state"] == "alive");
  CHECK_FALSE(first.body.contains("metrics"));  // nothing reported yet

  agent.metrics(1, {{"db.state", {{"check", "db"}}, 2, ""}, {"api.p99", {}, 812.5, "ms"}});
  REQUIRE(agent.wait_ack(1));
  auto doc = api.get("/api/v1/agents/agent-7");
  REQUIRE(doc.status == 200);
  const json samples = doc.body["metrics"]["samples"];
  REQUIRE(samples.size() == 2);
  CHECK(samples[0] ==
        json{{"name", "db.state"}, {"labels", {{"check", "db"}}}, {"value", 2.0}, {"unit", ""}});
  CHECK(samples[1]["value"] == 812.5);
  CHECK(samples[1]["unit"] == "ms");
  CHECK(doc.body["metrics"]["at_ms"].get<int64_t>() > 0);

  agent.metrics(2, {{"db.state", {{"check", "db"}}, 0, ""}});
  REQUIRE(agent.wait_ack(2));
  doc = api.get("/api/v1/agents/agent-7");
  REQUIRE(doc.body["metrics"]["samples"].size() == 1);
  CHECK(doc.body["metrics"]["samples"][0]["value"] == 0.0);

  const auto unknown = api.get("/api/v1/agents/agent-8");
  CHECK(unknown.status == 404);
  CHECK(unknown.body["error"]["code"] == "not_found");
}

TEST_CASE("an agent's alert shows the value its rule measured and the threshold", "[hub][agents]") {
  RunningHub hub;
  Api api(hub.http_port());
  StandInAgent agent(hub.endpoint(), "agent-7", "web-7");
  agent.hello();
  agent.alert(1, "fp-1", protocol::AlertState::kFiring, {{"summary", "slow"}});
  REQUIRE(agent.wait_ack(1));
  const json alert = api.incident(api.first_incident())["alerts"][0];
  CHECK(alert["annotations"]["summary"] == "slow");
  CHECK(alert["annotations"]["value"] == "0");
  CHECK(alert["annotations"]["threshold"] == "0");
}
