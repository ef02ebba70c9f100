// Two workflow facts the scenario tests rely on, in a real hub (in this process, on
// loopback, real store, real HTTP to the fake vendors): a rollback by CI job is watched
// like one by an agent action (`verify_within`: not resolved in time, the incident's
// `escalated` steps run), an alert naming its source problem (`problem_id`, not a
// group label) lets monitoring.comment reach that problem, and routes and templates see
// the labels of the alert that opened the incident and the suspect change.
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

std::string alert(const std::string& host, const json& extra_labels = json::object()) {
  json labels = {{"alertname", "HighErrorRate"},
                 {"service", "checkout"},
                 {"env", "prod"},
                 {"severity", "high"},
                 {"instance", host + ":9100"}};
  labels.update(extra_labels);
  return json::array({{{"labels", labels}, {"annotations", json::object()}}}).dump();
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
    cfg.policy = reflex::testing::policy_from(R"yaml(
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
  const uint64_t id = api.first_incident();
  CHECK(api.wait_step(id, "rollback done: watching the incident for 1s"));
  CHECK(api.wait_step(id, "the rollback did not resolve the incident within 1s: escalating"));
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
    cfg.policy = reflex::testing::policy_from(R"yaml(
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
  const uint64_t id = api.first_incident();
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
  CHECK(api.wait_step(id, "urgent/acknowledged (monitoring.comment) on acknowledged: done"));
}

TEST_CASE(
    "routes match and templates name the labels of the alert that opened the incident and "
    "its suspect change",
    "[workflow][hub]") {
  FakeSlack slack;
  slack.add_channel("C0PAY", "payments");
  slack.add_channel("C0CHECKOUT", "checkout-prod");
  reflex::testing::TempDir dir;
  const std::string token = dir.write("slack-token", slack.token() + "\n");
  RunningHub hub([&](HubConfig& cfg) {
    cfg.integrations.slack.enabled = true;
    cfg.integrations.slack.token_file = token;
    cfg.integrations.slack.base_url = slack.base_url();
    cfg.policy = reflex::testing::policy_from(R"yaml(
routes:
  - name: payments-team
    match: {labels: ['team="payments"']}
    workflow: tell-team
  - name: everyone-else
    workflow: tell-service
workflows:
  tell-team:
    steps:
      - name: post
        on: [opened]
        kind: chat.post
        with: {channel: "#payments", text: "{{labels.alertname}} for team {{labels.team}}"}
  tell-service:
    steps:
      - name: post
        on: [opened]
        kind: chat.post
        with: {channel: "#checkout-prod", text: "suspect: {{suspect.version}} on {{suspect.hosts}} by {{suspect.author}}"}
)yaml");
  });
  Api api(hub.http_port());
  // team is no group label (service and env are): the alert that opens the incident
  // lends it.
  REQUIRE(api.post("/api/v2/alerts", alert("web-1", {{"team", "payments"}})).status == 200);
  const uint64_t paid = api.first_incident();
  CHECK(api.wait_step(paid, "payments-team/post (chat.post) on opened: done"));
  CHECK(api.incident(paid)["incident"]["group"] ==
        json({{"env", "prod"}, {"service", "checkout"}}));
  REQUIRE(reflex::testing::wait_until([&] { return !slack.received().empty(); }));
  CHECK(slack.received()[0].body["text"] == "HighErrorRate for team payments");

  // Another service, after a deploy of it: the suspect's fields in the message.
  REQUIRE(api.post("/api/v1/changes", json({{"service", "search"},
                                            {"environment", "prod"},
                                            {"version", "7.1.0"},
                                            {"hosts", {"web-7", "web-8"}},
                                            {"strategy", "canary"},
                                            {"author", "bob"}})
                                          .dump())
              .status == 201);
  REQUIRE(api.post("/api/v2/alerts", alert("web-7", {{"service", "search"}})).status == 200);
  REQUIRE(reflex::testing::wait_until([&] { return slack.received().size() == 2; }));
  CHECK(slack.received()[1].body["text"] == "suspect: 7.1.0 on web-7,web-8 by bob");
}
