// Routes with hold_while_healing, in a real hub (in this process, on loopback, real
// store, fake Slack) fed by stand-in agents on real ZeroMQ connections: while every
// firing alert of an incident is being healed by its agent (annotation `healing`), the
// route's opened steps wait; they run when the healing gives up, when an alert nobody
// heals joins, or when the hold ends with the incident still open, and never when the
// incident resolves first. A hub restarted meanwhile keeps the hold.
#include <catch2/catch.hpp>

#include "tests/hub/config_section.h"
#include "tests/hub/hub_harness.h"
#include "tests/support/fake_slack.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using nlohmann::json;
using protocol::AlertState;
using protocol::RemediationOutcome;
using reflex::testing::FakeSlack;

namespace {

std::string policy_yaml(const std::string& hold) {
  return R"yaml(
routes:
  - name: urgent
    match: {severity: [high, critical]}
    workflow: page
    hold_while_healing: )yaml" +
         hold + R"yaml(
workflows:
  page:
    steps:
      - name: post
        on: [opened]
        kind: chat.post
        with: {channel: "#checkout-prod", text: "{{severity}}: {{title}}"}
      - name: closed
        on: [resolved]
        kind: chat.post
        with: {channel: "#checkout-prod", text: "resolved: {{title}}"}
)yaml";
}

const protocol::Labels kHealing = {{"healing", "fix-app"}};

struct Rig {
  FakeSlack slack;
  reflex::testing::TempDir dir;
  std::string token_file = dir.write("slack-token", slack.token() + "\n");
  std::string hold;
  std::unique_ptr<RunningHub> hub;
  std::unique_ptr<Api> api;
  uint64_t incident = 0;

  explicit Rig(std::string hold_for) : hold(std::move(hold_for)) {
    slack.add_channel("C0CHECKOUT", "checkout-prod");
    start();
  }
  void start() {
    hub = std::make_unique<RunningHub>([&](HubConfig& cfg) {
      cfg.store.path = dir.file("hub.db");
      cfg.incidents.resolve_after = Millis(200);
      cfg.integrations.slack.enabled = true;
      cfg.integrations.slack.token_file = token_file;
      cfg.integrations.slack.base_url = slack.base_url();
      cfg.policy = reflex::testing::policy_from(policy_yaml(hold));
    });
    api = std::make_unique<Api>(hub->http_port());
  }
  void restart() {
    api.reset();
    hub.reset();
    start();
  }
  void wait_incident() { incident = api->first_incident(); }
  // The incident the first alert opened, its opened steps held for `hold`.
  void wait_held() {
    wait_incident();
    REQUIRE(api->wait_step(incident, "opened steps held for up to " + hold));
  }
  std::string status() { return api->incident(incident)["incident"]["status"]; }
  size_t posts() const {
    size_t n = 0;
    for (const auto& r : slack.received()) n += r.method == "chat.postMessage" ? 1 : 0;
    return n;
  }
};

// One agent firing an alert it heals; the incident it opens.
struct Healing {
  StandInAgent agent;
  uint64_t seq = 0;

  Healing(Rig& rig, const std::string& id, const std::string& host)
      : agent(rig.hub->endpoint(), id, host) {
    agent.hello();
  }
  void fire(const std::string& fp, protocol::Labels annotations = kHealing) {
    agent.alert(++seq, fp, AlertState::kFiring, std::move(annotations));
    REQUIRE(agent.wait_ack(seq));
  }
  void resolve(const std::string& fp) {
    agent.alert(++seq, fp, AlertState::kResolved);
    REQUIRE(agent.wait_ack(seq));
  }
  void remediation(const std::string& fp, RemediationOutcome outcome) {
    agent.remediation(++seq, fp, "fix-app", outcome);
    REQUIRE(agent.wait_ack(seq));
  }
};

}  // namespace

TEST_CASE(
    "an incident an agent heals by itself wakes nobody: the route's opened and resolved "
    "steps are not run",
    "[workflow][heal-hold]") {
  Rig rig("10m");
  Healing web1(rig, "agent-1", "web-1");
  web1.fire("fp-web-1");
  rig.wait_incident();
  CHECK(rig.api->wait_step(rig.incident,
                           "route urgent: opened steps held for up to 10m while agents heal "
                           "(fix-app on web-1)"));
  web1.remediation("fp-web-1", RemediationOutcome::kStarted);
  web1.remediation("fp-web-1", RemediationOutcome::kSucceeded);
  web1.resolve("fp-web-1");
  REQUIRE(reflex::testing::wait_until([&] { return rig.status() == "resolved"; }));
  CHECK(rig.api->wait_step(rig.incident,
                           "route urgent: resolved while agents healed it; its held steps are "
                           "not run"));
  const json incident = rig.api->incident(rig.incident);
  CHECK(incident["workflow"]["calls"].empty());
  CHECK(rig.posts() == 0);
}

TEST_CASE("when the agent's healing is exhausted, the held steps run at once",
          "[workflow][heal-hold]") {
  Rig rig("10m");
  Healing web1(rig, "agent-1", "web-1");
  web1.fire("fp-web-1");
  rig.wait_held();
  CHECK(rig.posts() == 0);
  web1.remediation("fp-web-1", RemediationOutcome::kExhausted);
  CHECK(rig.api->wait_step(rig.incident,
                           "route urgent: healing did not fix it (the incident escalated): "
                           "running its held opened steps"));
  CHECK(rig.api->wait_step(rig.incident, "urgent/post (chat.post) on opened: done"));
  CHECK(rig.posts() == 1);
  // Resolved later: the route's resolved steps run, as for any incident it posted about.
  web1.resolve("fp-web-1");
  CHECK(rig.api->wait_step(rig.incident, "urgent/closed (chat.post) on resolved: done"));
}

TEST_CASE("an alert no agent heals joining a held incident runs the held steps",
          "[workflow][heal-hold]") {
  Rig rig("10m");
  Healing web1(rig, "agent-1", "web-1");
  web1.fire("fp-web-1");
  rig.wait_held();
  Healing web2(rig, "agent-2", "web-2");
  web2.fire("fp-web-2", {});
  CHECK(rig.api->wait_step(rig.incident,
                           "route urgent: an alert no agent heals joined: running its held "
                           "opened steps"));
  CHECK(rig.api->wait_step(rig.incident, "urgent/post (chat.post) on opened: done"));
  CHECK(rig.posts() == 1);
}

TEST_CASE("an incident not healed by the end of the hold runs the held steps, across a restart",
          "[workflow][heal-hold]") {
  Rig rig("2s");
  Healing web1(rig, "agent-1", "web-1");
  web1.fire("fp-web-1");
  rig.wait_held();
  rig.restart();  // the hold is on the incident's workflow document
  CHECK(rig.api->wait_step(rig.incident,
                           "route urgent: still triggered after 2s of healing: running its "
                           "held opened steps"));
  CHECK(rig.api->wait_step(rig.incident, "urgent/post (chat.post) on opened: done"));
  CHECK(rig.posts() == 1);
}

TEST_CASE("an alert without the healing annotation is not held", "[workflow][heal-hold]") {
  Rig rig("10m");
  Healing web1(rig, "agent-1", "web-1");
  web1.fire("fp-web-1", {});
  rig.wait_incident();
  CHECK(rig.api->wait_step(rig.incident, "urgent/post (chat.post) on opened: done"));
  CHECK_FALSE(has_step_entry(rig.api->incident(rig.incident), "held"));
}

TEST_CASE("a route without hold_while_healing runs at once even while an agent heals",
          "[workflow][heal-hold]") {
  Rig rig("0s");
  Healing web1(rig, "agent-1", "web-1");
  web1.fire("fp-web-1");
  rig.wait_incident();
  CHECK(rig.api->wait_step(rig.incident, "urgent/post (chat.post) on opened: done"));
  CHECK(rig.posts() == 1);
}

TEST_CASE("a responder acknowledging a held incident ends the hold without running it",
          "[workflow][heal-hold]") {
  Rig rig("2s");
  Healing web1(rig, "agent-1", "web-1");
  web1.fire("fp-web-1");
  rig.wait_held();
  REQUIRE(rig.api
              ->post("/api/v1/incidents/" + std::to_string(rig.incident) + "/ack",
                     R"({"actor": "alice"})")
              .status == 200);
  CHECK(rig.api->wait_step(rig.incident,
                           "route urgent: acknowledged while held; its held steps are not run"));
  // Past the hold's end: still nothing sent.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(rig.posts() == 0);
  CHECK(rig.api->incident(rig.incident)["workflow"]["calls"].empty());
}
