// The workflow runner in a real hub (in this process, on loopback, real store, real
// HTTP to the fake Slack): incidents opened by alerts run their routes' steps, the chat
// message follows the incident in place, response options run their steps in order on
// the objects earlier steps created, and a step for an integration that is not
// configured is skipped, saying so on the timeline.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "hub/oncall/oncall_config.h"
#include "hub/policy/policy_config.h"
#include "hub/slack_actions.h"
#include "tests/hub/config_section.h"
#include "tests/hub/hub_harness.h"
#include "tests/support/fake_jenkins.h"
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
    workflow: chat
workflows:
  chat:
    steps:
      - name: post
        on: [opened]
        kind: chat.post
        with:
          channel: "#{{service}}-{{env}}"
          text: "{{severity}}: {{title}} ({{affected_hosts}} hosts)"
          buttons: acknowledge, start_mim, resolve
      - name: ticket
        on: [opened]
        kind: ticket.create
        with: {project: OPS, summary: "{{title}}"}
      - name: room
        on: ["response:start_mim"]
        kind: chat.create_channel
        with: {name: "inc-{{id}}-{{service}}", topic: "{{title}}"}
      - name: invite
        on: ["response:start_mim"]
        kind: chat.invite
        with: {users: "U0ONCALL, U0COMMANDER"}
      - name: close
        on: [resolved]
        kind: chat.update
        with: {text: "resolved: {{title}}"}
      - name: archive
        on: [resolved]
        kind: chat.archive
        with: {text: "Closed: {{title}}"}
)yaml";

// Paging with the hub's own escalation policy: Alice at once, Bob a second later, the
// leads' channel ten minutes after that.
const char* const kPagePolicy = R"yaml(
people:
  alice: {name: Alice, slack: U0ALICE}
  bob: {name: Bob, slack: U0BOB}
escalation_policies:
  checkout-oncall:
    levels:
      - {delay: 0s, targets: [{user: alice}]}
      - {delay: 1s, targets: [{user: bob}]}
      - {delay: 10m, targets: [{channel: "#checkout-leads"}]}
routes:
  - name: urgent
    match: {severity: [high, critical]}
    workflow: page
workflows:
  page:
    steps:
      - name: page
        on: [opened]
        kind: page
        with: {policy: "{{service}}-oncall", message: "Paged: {{title}}"}
)yaml";

struct Policies {
  policy::PolicyConfig policy;
  oncall::OncallConfig oncall;
};

Policies policies(const std::string& yaml) {
  auto read =
      reflex::testing::read_section<Policies>(yaml, [](config::MapReader& top, Policies& out) {
        policy::read_policy_config(top, out.policy);
        oncall::read_oncall_config(top, out.oncall);
      });
  INFO(read.status.to_string());
  REQUIRE(read.status);
  return read.config;
}

std::string alert(const std::string& host, const std::string& severity = "high") {
  return json::array({{{"labels",
                        {{"alertname", "HighErrorRate"},
                         {"service", "checkout"},
                         {"env", "prod"},
                         {"severity", severity},
                         {"instance", host + ":9100"}}},
                       {"annotations", json::object()}}})
      .dump();
}

std::vector<FakeSlack::Received> calls(const FakeSlack& fake, const std::string& method) {
  std::vector<FakeSlack::Received> out;
  for (auto& r : fake.received()) {
    if (r.method == method) out.push_back(r);
  }
  return out;
}

struct Rig {
  FakeSlack fake;
  reflex::testing::TempDir dir;
  std::string token_file = dir.write("slack-token", fake.token() + "\n");
  std::string signing_file = dir.write("slack-signing", "signing-secret-0123456789\n");
  std::unique_ptr<RunningHub> hub;
  std::unique_ptr<Api> api;

  std::string policy_yaml = kPolicy;
  std::function<void(HubConfig&)> configure;  // more configuration, if any

  Rig() { fake.add_channel("C0CHECKOUT", "checkout-prod"); }
  void start() {
    const Policies read = policies(policy_yaml);
    hub = std::make_unique<RunningHub>([&](HubConfig& cfg) {
      cfg.store.path = dir.file("hub.db");
      cfg.integrations.slack.enabled = true;
      cfg.integrations.slack.token_file = token_file;
      cfg.integrations.slack.signing_secret_file = signing_file;
      cfg.integrations.slack.base_url = fake.base_url();
      cfg.policy = read.policy;
      cfg.oncall = read.oncall;
      if (configure) configure(cfg);
    });
    api = std::make_unique<Api>(hub->http_port());
  }
  void stop() {
    api.reset();
    hub.reset();
  }
  uint64_t post_alert(const std::string& host) {
    REQUIRE(api->post("/api/v2/alerts", alert(host)).status == 200);
    return api->first_incident();
  }
  json workflow(uint64_t id) { return api->incident(id)["workflow"]; }
  bool wait_calls(const std::string& method, size_t n) {
    return reflex::testing::wait_until([&] { return calls(fake, method).size() >= n; });
  }
};

}  // namespace

TEST_CASE(
    "an urgent incident is posted to chat with its response options and the message "
    "follows the incident in place",
    "[workflow][hub]") {
  Rig rig;
  rig.start();
  const uint64_t id = rig.post_alert("web-1");
  REQUIRE(rig.wait_calls("chat.postMessage", 1));
  const auto post = calls(rig.fake, "chat.postMessage")[0];
  CHECK(post.body["channel"] == "#checkout-prod");
  CHECK(post.body["text"] == "high: HighErrorRate on checkout (1 hosts)");
  const json& actions = post.body["blocks"][1];
  REQUIRE(actions["type"] == "actions");
  REQUIRE(actions["elements"].size() == 3);
  CHECK(actions["elements"][1]["action_id"] == "reflex:start_mim");
  CHECK(actions["elements"][1]["value"] == std::to_string(id));

  // The message is kept on the incident; a second host updates it in place.
  REQUIRE(reflex::testing::wait_until(
      [&] { return rig.workflow(id)["objects"]["message:post"]["state"] == "ready"; }));
  const std::string ts = rig.workflow(id)["objects"]["message:post"]["data"]["ts"];
  rig.post_alert("web-2");
  REQUIRE(rig.wait_calls("chat.update", 1));
  auto update = calls(rig.fake, "chat.update")[0];
  CHECK(update.body["ts"] == ts);
  CHECK(update.body["text"] == "high: HighErrorRate on checkout (2 hosts)");
  // More hosts: one refresh each, and the document keeps only the latest done one.
  rig.post_alert("web-3");
  rig.post_alert("web-4");
  REQUIRE(reflex::testing::wait_until([&] {
    for (const auto& u : calls(rig.fake, "chat.update")) {
      if (u.body["text"] == "high: HighErrorRate on checkout (4 hosts)") return true;
    }
    return false;
  }));
  REQUIRE(reflex::testing::wait_until([&] {
    const json workflow = rig.workflow(id);
    size_t refreshes = 0;
    for (const auto& c : workflow["calls"]) refreshes += c["kind"] == "refresh" ? 1 : 0;
    return refreshes == 1 && workflow["calls"].back()["state"] == "done";
  }));

  // Jira is not configured: the ticket step says so, and nothing else is held up.
  const json incident = rig.api->incident(id);
  CHECK(has_step_entry(incident,
                       "urgent/ticket (ticket.create) on opened: skipped: "
                       "integrations.jira is not configured"));
  CHECK(has_step_entry(incident, "urgent/post (chat.post) on opened: done: message " + ts));

  // Resolving: the close-out text replaces the message, without buttons.
  REQUIRE(
      rig.api->post("/api/v1/incidents/" + std::to_string(id) + "/resolve", R"({"actor": "alice"})")
          .status == 200);
  REQUIRE(reflex::testing::wait_until([&] {
    for (const auto& u : calls(rig.fake, "chat.update")) {
      if (u.body["text"] == "resolved: HighErrorRate on checkout") {
        return u.body["blocks"].size() == 1 && u.body["ts"] == ts;
      }
    }
    return false;
  }));
  // No channel was created, so there is nothing to archive.
  REQUIRE(reflex::testing::wait_until(
      [&] { return has_step_entry(rig.api->incident(id), "no chat channel was created"); }));
  CHECK(calls(rig.fake, "conversations.archive").empty());
}

TEST_CASE(
    "start_mim runs its steps in order on the channel it creates, and resolving closes "
    "the channel last",
    "[workflow][hub]") {
  Rig rig;
  rig.start();
  const uint64_t id = rig.post_alert("web-1");
  REQUIRE(rig.wait_calls("chat.postMessage", 1));
  auto respond = rig.api->post("/api/v1/incidents/" + std::to_string(id) + "/respond",
                               R"({"actor": "alice", "option": "start_mim"})");
  REQUIRE(respond.status == 200);
  REQUIRE(rig.wait_calls("conversations.invite", 1));
  const auto created = calls(rig.fake, "conversations.create");
  REQUIRE(created.size() == 1);
  CHECK(created[0].body["name"] == "inc-" + std::to_string(id) + "-checkout");
  const json channel = rig.workflow(id)["objects"]["channel"];
  const std::string channel_id = channel["data"]["id"];
  CHECK_FALSE(channel_id.empty());
  const auto invite = calls(rig.fake, "conversations.invite")[0];
  CHECK(invite.body["channel"] == channel_id);
  CHECK(invite.body["users"] == "U0ONCALL,U0COMMANDER");
  // The topic went to the new channel as its first message.
  REQUIRE(rig.wait_calls("chat.postMessage", 2));
  CHECK(calls(rig.fake, "chat.postMessage")[1].body["channel"] == channel_id);
  CHECK(has_step_entry(rig.api->incident(id), "channel inc-"));
  bool response_recorded = false;
  const json after_mim = rig.api->incident(id);
  for (const auto& e : after_mim["timeline"]) {
    response_recorded =
        response_recorded || (e["kind"] == "response" && e["text"] == "start_mim by alice");
  }
  CHECK(response_recorded);

  REQUIRE(
      rig.api->post("/api/v1/incidents/" + std::to_string(id) + "/resolve", R"({"actor": "alice"})")
          .status == 200);
  REQUIRE(rig.wait_calls("conversations.archive", 1));
  // The last word was posted in the channel before it was archived.
  std::vector<std::string> order;
  for (const auto& r : rig.fake.received()) {
    if (r.body.value("channel", "") == channel_id) order.push_back(r.method);
  }
  REQUIRE(order.size() >= 3);
  CHECK(order.back() == "conversations.archive");
  CHECK(order[order.size() - 2] == "chat.postMessage");

  // An unknown option name is refused, naming the field.
  auto bad = rig.api->post("/api/v1/incidents/" + std::to_string(id) + "/respond",
                           R"({"actor": "alice", "option": "Start MIM"})");
  CHECK(bad.status == 400);
  CHECK(bad.body["error"]["message"].get<std::string>().find("option") != std::string::npos);
}

TEST_CASE("a hub restarted while chat is down posts each message once and then updates it",
          "[workflow][hub]") {
  Rig rig;
  rig.fake.down();
  rig.start();
  const uint64_t id = rig.post_alert("web-1");
  REQUIRE(reflex::testing::wait_until([&] {
    return rig.workflow(id).is_object() && rig.workflow(id)["calls"][0]["state"] == "sent";
  }));
  rig.stop();  // the post is a pending outbox row; the workflow knows it was sent
  rig.fake.up();
  rig.start();
  REQUIRE(rig.wait_calls("chat.postMessage", 1));
  REQUIRE(reflex::testing::wait_until(
      [&] { return rig.workflow(id)["objects"]["message:post"]["state"] == "ready"; }));
  rig.post_alert("web-2");
  REQUIRE(rig.wait_calls("chat.update", 1));
  CHECK(calls(rig.fake, "chat.postMessage").size() == 1);
  CHECK(calls(rig.fake, "chat.update")[0].body["ts"] ==
        rig.workflow(id)["objects"]["message:post"]["data"]["ts"]);
}

TEST_CASE("a signed Slack button click responds as its user, an unsigned one changes nothing",
          "[workflow][hub][slack]") {
  Rig rig;
  rig.start();
  const uint64_t id = rig.post_alert("web-1");
  REQUIRE(rig.wait_calls("chat.postMessage", 1));
  const std::string payload =
      json{{"type", "block_actions"},
           {"user", {{"id", "U1"}, {"username", "bob"}}},
           {"actions", {{{"action_id", "reflex:start_mim"}, {"value", std::to_string(id)}}}}}
          .dump();
  const std::string body = "payload=" + httplib::detail::encode_query_param(payload);
  const std::string ts = std::to_string(std::time(nullptr));
  httplib::Client client("127.0.0.1", rig.hub->http_port());
  auto forged = client.Post(std::string(kSlackActionsPath),
                            {{"X-Slack-Request-Timestamp", ts},
                             {"X-Slack-Signature", slack_signature("wrong", ts, body)}},
                            body, "application/x-www-form-urlencoded");
  REQUIRE(forged);
  CHECK(forged->status == 401);
  auto clicked =
      client.Post(std::string(kSlackActionsPath),
                  {{"X-Slack-Request-Timestamp", ts},
                   {"X-Slack-Signature", slack_signature("signing-secret-0123456789", ts, body)}},
                  body, "application/x-www-form-urlencoded");
  REQUIRE(clicked);
  CHECK(clicked->status == 200);
  REQUIRE(rig.wait_calls("conversations.create", 1));
  bool by_bob = false;
  const json clicked_incident = rig.api->incident(id);
  for (const auto& e : clicked_incident["timeline"]) {
    by_bob = by_bob || (e["kind"] == "response" && e["actor"] == "slack:bob");
  }
  CHECK(by_bob);
  CHECK(calls(rig.fake, "conversations.create").size() == 1);
}

namespace {

std::vector<FakeSlack::Received> posts_to(const FakeSlack& fake, const std::string& channel) {
  std::vector<FakeSlack::Received> out;
  for (auto& r : calls(fake, "chat.postMessage")) {
    if (r.body.value("channel", "") == channel) out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "a page step notifies the hub's escalation policy level by level until someone "
    "acknowledges",
    "[workflow][hub][oncall]") {
  Rig rig;
  rig.policy_yaml = kPagePolicy;
  rig.start();
  const uint64_t id = rig.post_alert("web-1");
  REQUIRE(reflex::testing::wait_until([&] { return !posts_to(rig.fake, "U0ALICE").empty(); }));
  const auto dm = posts_to(rig.fake, "U0ALICE")[0];
  CHECK(dm.body["text"] == "Paged: HighErrorRate on checkout (level 1)");
  CHECK(dm.body["blocks"][1]["elements"][0]["action_id"] == "reflex:acknowledge");
  // Bob a second later, by the hub's own timer: no other event happens meanwhile.
  REQUIRE(reflex::testing::wait_until([&] { return !posts_to(rig.fake, "U0BOB").empty(); }));
  json escalation = rig.workflow(id)["objects"]["escalation"]["data"];
  CHECK(escalation["state"] == "paging");
  CHECK(escalation["next_step"] == 2);
  CHECK(escalation["next_at_ms"].get<int64_t>() ==
        escalation["started_ms"].get<int64_t>() + 1000 + 600'000);

  REQUIRE(rig.api->post("/api/v1/incidents/" + std::to_string(id) + "/ack", R"({"actor": "bob"})")
              .status == 200);
  REQUIRE(reflex::testing::wait_until([&] {
    return rig.workflow(id)["objects"]["escalation"]["data"]["state"] == "acknowledged";
  }));
  escalation = rig.workflow(id)["objects"]["escalation"]["data"];
  CHECK_FALSE(escalation.contains("next_at_ms"));  // nothing more falls due
  const json incident = rig.api->incident(id);
  CHECK(has_step_entry(incident,
                       "urgent/page (escalate) on opened: done: escalation policy "
                       "checkout-oncall started"));
  CHECK(has_step_entry(incident, "escalation checkout-oncall, level 1: Alice"));
  CHECK(has_step_entry(incident, "escalation checkout-oncall, level 2: Bob"));
  CHECK(has_step_entry(incident, "urgent/page (notify.chat) on escalation to Bob: done"));
  CHECK(has_step_entry(incident,
                       "escalation checkout-oncall stopped: acknowledged after 2 level(s)"));
  CHECK(posts_to(rig.fake, "U0ALICE").size() == 1);
  CHECK(posts_to(rig.fake, "U0BOB").size() == 1);
  CHECK(posts_to(rig.fake, "#checkout-leads").empty());
}

TEST_CASE(
    "a level that fell due while the hub was down is notified once at start, and the "
    "levels before it are not repeated",
    "[workflow][hub][oncall]") {
  Rig rig;
  rig.policy_yaml = kPagePolicy;
  // Bob's level two seconds in, and no third level.
  const std::string from =
      "      - {delay: 1s, targets: [{user: bob}]}\n"
      "      - {delay: 10m, targets: [{channel: \"#checkout-leads\"}]}\n";
  const auto at = rig.policy_yaml.find(from);
  REQUIRE(at != std::string::npos);
  rig.policy_yaml.replace(at, from.size(), "      - {delay: 2s, targets: [{user: bob}]}\n");
  rig.start();
  const uint64_t id = rig.post_alert("web-1");
  REQUIRE(reflex::testing::wait_until([&] { return !posts_to(rig.fake, "U0ALICE").empty(); }));
  REQUIRE(reflex::testing::wait_until([&] {
    return rig.workflow(id)["calls"].size() == 2 && rig.workflow(id)["calls"][1]["state"] == "done";
  }));
  const int64_t bob_due = rig.workflow(id)["objects"]["escalation"]["data"]["next_at_ms"];
  rig.stop();
  CHECK(posts_to(rig.fake, "U0BOB").empty());
  while (SystemClock().now_ms() < bob_due + 200) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rig.start();
  REQUIRE(reflex::testing::wait_until(
      [&] { return rig.workflow(id)["objects"]["escalation"]["data"]["state"] == "exhausted"; }));
  REQUIRE(reflex::testing::wait_until([&] { return !posts_to(rig.fake, "U0BOB").empty(); }));
  CHECK(posts_to(rig.fake, "U0ALICE").size() == 1);
  CHECK(posts_to(rig.fake, "U0BOB").size() == 1);
  CHECK(has_step_entry(
      rig.api->incident(id),
      "escalation checkout-oncall: every level was notified and nobody acknowledged"));
}

TEST_CASE(
    "a rollback step with a Jenkins job triggers the job once with its rendered parameters "
    "and the timeline shows the build queued",
    "[workflow][hub][ci]") {
  reflex::testing::FakeJenkins jenkins;
  jenkins.add_job("deploy/checkout-rollback",
                  {{"SERVICE", ""}, {"ENV", ""}, {"REASON", ""}, {"REFLEX_INCIDENT", ""}});
  Rig rig;
  rig.policy_yaml = R"yaml(
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
        with:
          job: "jenkins:deploy/{{service}}-rollback"
          parameters: "SERVICE={{service}}, ENV={{env}}, REASON={{title}}"
)yaml";
  const std::string token_file = rig.dir.write("jenkins-token", jenkins.token() + "\n");
  rig.configure = [&](HubConfig& cfg) {
    cfg.integrations.jenkins.enabled = true;
    cfg.integrations.jenkins.base_url = jenkins.base_url();
    cfg.integrations.jenkins.user = jenkins.user();
    cfg.integrations.jenkins.token_file = token_file;
  };
  rig.start();
  const uint64_t id = rig.post_alert("web-1");
  REQUIRE(reflex::testing::wait_until([&] { return !jenkins.queue().empty(); }));
  const auto queue = jenkins.queue();
  REQUIRE(queue.size() == 1);
  CHECK(queue[0].job == "deploy/checkout-rollback");
  CHECK(queue[0].parameters ==
        std::map<std::string, std::string>{{"SERVICE", "checkout"},
                                           {"ENV", "prod"},
                                           {"REASON", "HighErrorRate on checkout"},
                                           {"REFLEX_INCIDENT", std::to_string(id)}});
  const std::string queued =
      "suspect/undo (rollback) on opened: done: jenkins build of "
      "deploy/checkout-rollback queued: " +
      jenkins.base_url() + "queue/item/101/";
  REQUIRE(
      reflex::testing::wait_until([&] { return has_step_entry(rig.api->incident(id), queued); }));
  CHECK(rig.workflow(id)["objects"]["ci:undo"]["data"]["queue_url"] ==
        jenkins.base_url() + "queue/item/101/");
  // Another host joins the incident: no second build.
  rig.post_alert("web-2");
  REQUIRE(reflex::testing::wait_until(
      [&] { return rig.api->incident(id)["incident"]["affected_hosts"] == 2; }));
  CHECK(jenkins.queue().size() == 1);
  size_t triggers = 0;
  for (const auto& r : jenkins.received()) triggers += r.request.method == "POST" ? 1 : 0;
  CHECK(triggers == 1);
}
