// Two workflow facts the scenario tests rely on, in a real hub (in this process, on
// loopback, real store, real HTTP to the fake vendors): a rollback by CI job is watched
// like one by an agent action (`verify_within`: not resolved in time, the incident's
// `escalated` steps run), and an alert naming its source problem (`problem_id`, not a
// group label) lets monitoring.comment reach that problem.
#include <catch2/catch.hpp>

#include "hub/policy/policy_config.h"
#include "tests/hub/config_section.h"
#include "tests/hub/hub_harness.h"
#include "tests/support/fake_dynatrace.h"
#include "tests/support/fake_jenkins.h"
#include "tests/support/fake_slack.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using nlohmann::json;
using reflex::testing::FakeSlack;

namespace {

policy::PolicyConfig policy_from(const std::string& yaml) {
  auto read = reflex::testing::read_section<policy::PolicyConfig>(
      yaml, [](config::MapReader& top, policy::PolicyConfig& out) {
        policy::read_policy_config(top, out);
      });
  INFO(read.status.to_string());
  REQUIRE(read.status);
  return read.config;
}

std::string alert(const std::string& host, const json& extra_labels = json::object()) {
  json labels = {{"alertname", "HighErrorRate"},
                 {"service", "checkout"},
                 {"env", "prod"},
                 {"severity", "high"},
                 {"instance", host + ":9100"}};
  labels.update(extra_labels);
  return json::array({{{"labels", labels}, {"annotations", json::object()}}}).dump();
}

uint64_t first_incident(Api& api) {
  uint64_t id = 0;
  REQUIRE(reflex::testing::wait_until([&] {
    auto list = api.get("/api/v1/incidents");
    if (list.status != 200 || list.body["incidents"].empty()) return false;
    id = list.body["incidents"][0]["id"].get<uint64_t>();
    return true;
  }));
  return id;
}

// Waits for a step entry containing `text`; on failure the test shows the entries.
bool has_step(Api& api, uint64_t id, const std::string& text) {
  std::string seen;
  const bool found = reflex::testing::wait_until([&] {
    seen.clear();
    const json timeline = api.incident(id)["timeline"];
    for (const auto& e : timeline) {
      if (e["kind"] != "step") continue;
      const std::string t = e["text"];
      if (t.find(text) != std::string::npos) return true;
      seen += "\n  " + t;
    }
    return false;
  });
  if (!found) UNSCOPED_INFO("step entries:" << seen);
  return found;
}

}  // namespace

TEST_CASE(
    "a rollback by a Jenkins job that leaves the incident unresolved past its window "
    "escalates it",
    "[workflow][hub][ci]") {
  reflex::testing::FakeJenkins jenkins;
  jenkins.add_job("deploy/checkout-rollback", {{"SERVICE", ""}, {"REFLEX_INCIDENT", ""}});
  FakeSlack slack;
  slack.add_channel("C0CHECKOUT", "checkout-prod");
  reflex::testing::TempDir dir;
  const std::string jenkins_token = dir.write("jenkins-token", jenkins.token() + "\n");
  const std::string slack_token = dir.write("slack-token", slack.token() + "\n");
  RunningHub hub([&](HubConfig& cfg) {
    cfg.integrations.jenkins.enabled = true;
    cfg.integrations.jenkins.base_url = jenkins.base_url();
    cfg.integrations.jenkins.user = jenkins.user();
    cfg.integrations.jenkins.token_file = jenkins_token;
    cfg.integrations.slack.enabled = true;
    cfg.integrations.slack.token_file = slack_token;
    cfg.integrations.slack.base_url = slack.base_url();
    cfg.policy = policy_from(R"yaml(
routes:
  - name: suspect
    match: {severity: [high]}
    workflow: roll-back
workflows:
  roll-back:
    steps:
      - name: undo
        on: [opened]
        kind: rollback
        with: {job: "jenkins:deploy/{{service}}-rollback", parameters: "SERVICE={{service}}",
               verify_within: 1s}
      - name: tell
        on: [escalated]
        kind: chat.post
        with: {channel: "#checkout-prod", text: "rollback did not help: {{title}}"}
)yaml");
  });
  Api api(hub.http_port());
  REQUIRE(api.post("/api/v2/alerts", alert("web-1")).status == 200);
  const uint64_t id = first_incident(api);
  CHECK(has_step(api, id, "rollback done: watching the incident for 1s"));
  CHECK(has_step(api, id, "the rollback did not resolve the incident within 1s: escalating"));
  REQUIRE(reflex::testing::wait_until([&] {
    for (const auto& r : slack.delivered()) {
      if (r.method == "chat.postMessage" &&
          r.body["text"] == "rollback did not help: HighErrorRate on checkout") {
        return true;
      }
    }
    return false;
  }));
  CHECK(jenkins.queue().size() == 1);
  CHECK(api.incident(id)["workflow"]["objects"]["verify"]["data"]["state"] == "failed");
}

TEST_CASE(
    "an alert naming its monitoring problem lets monitoring.comment reach that problem "
    "though problem_id is no group label",
    "[workflow][hub]") {
  reflex::testing::FakeDynatrace dynatrace;
  reflex::testing::TempDir dir;
  const std::string token = dir.write("dynatrace-token", dynatrace.token() + "\n");
  RunningHub hub([&](HubConfig& cfg) {
    cfg.integrations.dynatrace.enabled = true;
    cfg.integrations.dynatrace.base_url = dynatrace.base_url();
    cfg.integrations.dynatrace.token_file = token;
    cfg.policy = policy_from(R"yaml(
routes:
  - name: urgent
    match: {severity: [high]}
    workflow: tell-source
workflows:
  tell-source:
    steps:
      - name: opened
        on: [opened]
        kind: monitoring.comment
        with: {text: "Reflex incident {{id}} opened"}
      - name: acknowledged
        on: [acknowledged]
        kind: monitoring.comment
        with: {text: "Reflex incident {{id}} acknowledged"}
)yaml");
  });
  Api api(hub.http_port());
  REQUIRE(api.post("/api/v2/alerts", alert("web-1", {{"problem_id", "-123_456V2"}})).status == 200);
  const uint64_t id = first_incident(api);
  const std::string opened = "Reflex incident " + std::to_string(id) + " opened";
  REQUIRE(
      reflex::testing::wait_until([&] { return dynatrace.comments("-123_456V2").size() == 1; }));
  CHECK(dynatrace.comments("-123_456V2")[0].message == opened);
  CHECK(api.incident(id)["incident"]["group"] == json({{"env", "prod"}, {"service", "checkout"}}));
  // A later event of the incident still knows the problem.
  REQUIRE(api.post("/api/v1/incidents/" + std::to_string(id) + "/ack", R"({"actor": "alice"})")
              .status == 200);
  REQUIRE(
      reflex::testing::wait_until([&] { return dynatrace.comments("-123_456V2").size() == 2; }));
  CHECK(has_step(api, id, "urgent/acknowledged (monitoring.comment) on acknowledged: done"));
}
