// Scenario fixture: the shipped examples/hub.yaml run by a real reflex-hub, with every
// vendor it names pointed at that vendor's contract fake (tests/support/fake_*.h) and its
// timers shortened, so a test plays one of the flows Reflex is built around (self-healing,
// canary rollback, fix forward) against the example's own routes, workflows, people,
// schedules and escalation policies. Helpers read what the hub recorded (incidents,
// timelines, workflow calls) and what the fakes received.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/e2e/hub_fixture.h"
#include "tests/support/fake_dynatrace.h"
#include "tests/support/fake_jenkins.h"
#include "tests/support/fake_jira.h"
#include "tests/support/fake_pagerduty.h"
#include "tests/support/fake_slack.h"
#include "tests/support/fake_statuspage.h"
#include "tests/support/fake_webhook_receiver.h"

namespace reflex::testing {

// Every vendor examples/hub.yaml configures, as fakes on loopback, with what the example
// expects to exist: Slack channels #checkout-prod, #noc and #checkout-leads, the Jira
// Service Desk project SD, the Jenkins job deploy/checkout-rollback, Dynatrace problem
// -123_456V2 (the fake's own). Secrets are files (mode 0600) in `secrets`.
struct ScenarioVendors {
  FakeSlack slack;
  FakeJira jira;
  FakeStatuspage statuspage;
  FakePagerDuty pagerduty;
  FakeDynatrace dynatrace;
  FakeJenkins jenkins;
  FakeWebhookReceiver phones;  // people's phone_webhook
  TempDir secrets;
  const std::string slack_signing_secret = "8f742231b10e8888abcd99yyyzzz85a5";

  ScenarioVendors();
  // A file in `secrets` holding `value`, readable by its owner only.
  std::string secret_file(const std::string& name, const std::string& value) const;
};

// examples/hub.yaml, adjusted for a test: `listen`, `http`, `store` and `agents` removed
// (HubProcess writes its own), `security` and `api` removed (plaintext agents and an open
// API on loopback), every integration's base URL and secret pointed at `v`, phone
// webhooks at `v.phones`, and the timers shortened: incidents resolve 1s after their
// last alert, the outbox retries after 100ms..1s (up to 50 attempts). Nothing else
// changes.
YAML::Node example_hub_config(const ScenarioVendors& v);
// The step `step` of workflow `workflow` in `config` (a reference into it); throws when
// the example has no such step.
YAML::Node example_step(YAML::Node config, const std::string& workflow, const std::string& step);
std::string to_yaml(const YAML::Node& node);

struct Reply {
  int status = 0;
  std::string body;
  nlohmann::json doc;  // parsed body; discarded when it is not JSON
};
Reply post_json(const HubProcess& hub, const std::string& path, const nlohmann::json& body);

// A click on one of the hub's Slack buttons, as Slack sends it to the app's Interactivity
// Request URL: a block_actions payload form-encoded as payload=<json>, signed with
// `secret` (X-Slack-Signature v0 over "v0:<timestamp>:<body>", X-Slack-Request-Timestamp
// now). The signature is computed here with OpenSSL, not with the hub's code.
Reply click_slack_button(const HubProcess& hub, const std::string& secret,
                         const std::string& option, uint64_t incident, const std::string& username);

// GET /api/v1/incidents/{id}; null when the hub did not answer 200.
nlohmann::json incident_detail(const HubProcess& hub, uint64_t id);
// The id of the first incident (oldest first) for which `pick` holds, waiting for one; 0
// when none appeared in time.
uint64_t wait_incident(const HubProcess& hub,
                       const std::function<bool(const nlohmann::json&)>& pick,
                       std::chrono::milliseconds timeout = std::chrono::seconds(15));
// The texts of an incident's timeline entries of `kind` ("step", "remediation", ...).
std::vector<std::string> timeline_texts(const nlohmann::json& detail, const std::string& kind);
// Waits until an entry of `kind` contains `text`; on failure the test's output shows the
// entries of that kind.
bool wait_timeline(const HubProcess& hub, uint64_t id, const std::string& kind,
                   const std::string& text,
                   std::chrono::milliseconds timeout = std::chrono::seconds(15));
// Waits until every workflow call of the incident has finished (done, skipped or
// failed): nothing more will be sent for what has happened so far.
bool wait_calls_settled(const HubProcess& hub, uint64_t id,
                        std::chrono::milliseconds timeout = std::chrono::seconds(15));

// What the fake Slack served for `method`, to `channel` when given (an id, "#name" or a
// user id: a direct message).
std::vector<FakeSlack::Received> slack_calls(const FakeSlack& slack, const std::string& method,
                                             const std::string& channel = "");
// Direct messages: chat.postMessage to a user id (U...), in order.
std::vector<FakeSlack::Received> slack_dms(const FakeSlack& slack);
// The action ids of a message's buttons ("reflex:acknowledge", ...).
std::vector<std::string> button_actions(const nlohmann::json& message_body);

// The Slack member id of whoever the example's schedule checkout-primary has on call now
// (from GET /api/v1/oncall and the example's people).
std::string oncall_slack_id(const HubProcess& hub);

}  // namespace reflex::testing
