// Workflow steps that act through the agents, in a real hub (in this process, on
// loopback, real store) with a stand-in agent on a real ZeroMQ connection: `remediate`
// and `rollback` with an action become commands to the agents of the incident's hosts,
// the agents' command_result events finish them, a command without a result by its
// deadline fails, and a rollback that does not resolve the incident within its
// verification window runs the incident's `escalated` steps.
#include <catch2/catch.hpp>

#include "hub/policy/policy_config.h"
#include "tests/hub/config_section.h"
#include "tests/hub/hub_harness.h"
#include "tests/support/fake_slack.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using nlohmann::json;
using reflex::testing::FakeSlack;

namespace {

const char* const kPolicy = R"yaml(
routes:
  - name: urgent
    match: {severity: [high, critical]}
    workflow: heal
workflows:
  heal:
    steps:
      - name: restart
        on: ["response:remediate"]
        kind: remediate
        with: {action: restart, parameters: "unit={{service}}.service, reason=canary errors, then rollback"}
      - name: probe
        on: ["response:probe"]
        kind: remediate
        with: {action: probe, timeout: 1s}
      - name: roll-back
        on: ["response:rollback"]
        kind: rollback
        with: {action: rollback, verify_within: 1s}
      - name: roll-back-slowly
        on: ["response:rollback_slowly"]
        kind: rollback
        with: {action: rollback, verify_within: 10m}
      - name: tell
        on: [escalated]
        kind: chat.post
        with: {channel: "#checkout-prod", text: "still failing: {{title}}"}
)yaml";

struct Rig {
  FakeSlack slack;
  reflex::testing::TempDir dir;
  std::string token_file = dir.write("slack-token", slack.token() + "\n");
  RunningHub hub{[&](HubConfig& cfg) {
    cfg.integrations.slack.enabled = true;
    cfg.integrations.slack.token_file = token_file;
    cfg.integrations.slack.base_url = slack.base_url();
    cfg.policy = reflex::testing::policy_from(kPolicy);
  }};
  Api api{hub.http_port()};
  StandInAgent agent{hub.endpoint(), "agent-7", "web-1"};
  uint64_t seq = 0;
  uint64_t incident = 0;

  Rig() {
    slack.add_channel("C0CHECKOUT", "checkout-prod");
    agent.hello();
    agent.alert(++seq, "fp-web-1", protocol::AlertState::kFiring);
    REQUIRE(agent.wait_ack(seq));
    incident = api.first_incident();
  }
  void respond(const std::string& option) {
    REQUIRE(api.post("/api/v1/incidents/" + std::to_string(incident) + "/respond",
                     json{{"option", option}, {"actor", "alice"}}.dump())
                .status == 200);
  }
  void answer(const protocol::Command& c, protocol::CommandStatus status,
              const std::string& message = {}) {
    agent.command_result(
        ++seq, {.id = c.id,
                .status = status,
                .message = message,
                .exit_code = status == protocol::CommandStatus::kOk ? std::optional<int32_t>(0)
                                                                    : std::nullopt,
                .duration_ms = 120,
                .output = "done"});
    REQUIRE(agent.wait_ack(seq));
  }
  // Waits for a step entry of the incident containing `text`.
  bool has_entry(const std::string& text) { return api.wait_step(incident, text); }
};

}  // namespace

TEST_CASE(
    "a remediate step runs the action on the agent of each affected host and records "
    "its result",
    "[workflow][hub][agents]") {
  Rig rig;
  rig.respond("remediate");
  auto command = rig.agent.wait_command();
  REQUIRE(command);
  CHECK(command->action == "restart");
  CHECK(command->params ==
        protocol::Labels{{"unit", "checkout.service"}, {"reason", "canary errors, then rollback"}});
  CHECK(command->id.starts_with("wf:" + std::to_string(rig.incident) + ":"));
  // The default deadline: five minutes from now, as the agent's clock reads it.
  CHECK(static_cast<int64_t>(command->deadline_ms) > SystemClock().now_ms() + 4 * 60'000);
  CHECK(rig.has_entry("urgent/restart (remediate) on response:remediate: sent (command " +
                      command->id + " to agent agent-7)"));
  rig.answer(*command, protocol::CommandStatus::kOk);
  CHECK(
      rig.has_entry("urgent/restart (remediate) on response:remediate: done: ok, exit 0 in "
                    "120 ms"));

  // The agent refuses the second one: the call fails with the agent's reason.
  rig.respond("remediate");
  command = rig.agent.wait_command();
  REQUIRE(command);
  rig.answer(*command, protocol::CommandStatus::kRejected, "the budget for web-1 is spent");
  CHECK(rig.has_entry("failed: rejected in 120 ms: the budget for web-1 is spent"));
  const json calls = rig.api.incident(rig.incident)["workflow"]["calls"];
  REQUIRE(calls.size() == 2);
  CHECK(calls[0]["state"] == "done");
  CHECK(calls[1]["state"] == "failed");
}

TEST_CASE(
    "a command without a result by its deadline fails, and a rollback that leaves the "
    "incident unresolved past its window escalates it",
    "[workflow][hub][agents]") {
  Rig rig;
  rig.respond("probe");
  auto probe = rig.agent.wait_command();
  REQUIRE(probe);
  CHECK(probe->action == "probe");
  // Never answered: the hub's own timer fails it at its deadline.
  CHECK(
      rig.has_entry("urgent/probe (remediate) on response:probe: failed: no result from agent "
                    "agent-7 by its deadline"));

  rig.respond("rollback");
  auto rollback = rig.agent.wait_command();
  REQUIRE(rollback);
  CHECK(rollback->action == "rollback");
  rig.answer(*rollback, protocol::CommandStatus::kOk);
  CHECK(rig.has_entry("rollback done: watching the incident for 1s"));
  CHECK(rig.has_entry("the rollback did not resolve the incident within 1s: escalating"));
  REQUIRE(reflex::testing::wait_until([&] {
    for (const auto& r : rig.slack.received()) {
      if (r.method == "chat.postMessage" && r.body.value("channel", "") == "#checkout-prod") {
        return r.body["text"] == "still failing: HighErrorRate on checkout";
      }
    }
    return false;
  }));
  CHECK(rig.api.incident(rig.incident)["workflow"]["objects"]["verify"]["data"]["state"] ==
        "failed");
}

TEST_CASE("a rollback is verified when the incident resolves within its window",
          "[workflow][hub][agents]") {
  Rig rig;
  rig.respond("rollback_slowly");
  auto rollback = rig.agent.wait_command();
  REQUIRE(rollback);
  rig.answer(*rollback, protocol::CommandStatus::kOk);
  CHECK(rig.has_entry("rollback done: watching the incident for 10m"));
  REQUIRE(rig.api
              .post("/api/v1/incidents/" + std::to_string(rig.incident) + "/resolve",
                    R"({"actor": "alice"})")
              .status == 200);
  CHECK(rig.has_entry("rollback verified: the incident resolved within 10m of the rollback"));
  CHECK(rig.api.incident(rig.incident)["workflow"]["objects"]["verify"]["data"]["state"] ==
        "verified");
}

TEST_CASE(
    "a rollback on {{suspect.hosts}} runs on the hosts of the suspect change, not on every "
    "affected host, and the suspect compares the canary's error rate and latency with the "
    "other hosts'",
    "[workflow][hub][agents]") {
  RunningHub hub{[](HubConfig& cfg) {
    cfg.policy = reflex::testing::policy_from(R"yaml(
routes:
  - name: suspect-deploy
    match: {has_suspect: true}
    workflow: roll-back
workflows:
  roll-back:
    steps:
      - name: roll-back
        on: [opened]
        kind: rollback
        with: {action: rollback, hosts: "{{suspect.hosts}}"}
)yaml");
  }};
  Api api{hub.http_port()};
  StandInAgent canary{hub.endpoint(), "agent-1", "web-1"};
  StandInAgent other{hub.endpoint(), "agent-2", "web-2"};
  canary.hello();
  other.hello();
  REQUIRE(api.post("/api/v1/changes", R"({"service": "checkout", "environment": "prod",
                  "version": "2", "hosts": ["web-1"], "strategy": "canary"})")
              .status == 201);
  // The agents' window summaries of the series the alerts are about ("web", with no
  // labels of its own): the canary fails a third of its requests, the other host few.
  const auto summary = [](double error_rate, double p99) {
    return std::vector<protocol::Sample>{{"web.error_rate", {}, error_rate, "ratio"},
                                         {"web.p99", {}, p99, "ms"},
                                         {"disk.value", {}, 71, "%"}};
  };
  canary.metrics(1, summary(0.3, 900));
  REQUIRE(canary.wait_ack(1));
  other.metrics(1, summary(0.01, 100));
  REQUIRE(other.wait_ack(1));
  // Both hosts report errors; only the canary runs the changed version.
  canary.alert(2, "fp-web-1", protocol::AlertState::kFiring);
  REQUIRE(canary.wait_ack(2));
  const uint64_t incident = api.first_incident();
  other.alert(2, "fp-web-2", protocol::AlertState::kFiring);
  REQUIRE(other.wait_ack(2));
  const json suspect = api.incident(incident)["suspect"];
  CHECK(suspect["change"]["strategy"] == "canary");
  CHECK(suspect["evidence"] ==
        "error rate 30.0% on the 1 changed host vs 1.0% on the 1 other; p99 900ms vs 100ms; 1 "
        "of 1 affected host changed");
  auto command = canary.wait_command();
  REQUIRE(command);
  CHECK(command->action == "rollback");
  CHECK(api.wait_step(incident, "suspect-deploy/roll-back (rollback) on opened: sent (command " +
                                    command->id + " to agent agent-1)"));
  CHECK_FALSE(other.wait_command(std::chrono::milliseconds(500)));
  const json calls = api.incident(incident)["workflow"]["calls"];
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["state"] == "sent");
}
