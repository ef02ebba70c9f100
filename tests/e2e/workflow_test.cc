// Workflows end to end: a real hub process with routes, workflows and Slack in its
// hub.yaml, the fake Slack, alerts over HTTP and a responder using reflexctl. The
// incident is posted to chat, start_mim runs its steps on the channel it creates, and a
// hub killed after that posts nothing twice when it comes back: the next host updates
// the same message.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/e2e/hub_fixture.h"
#include "tests/support/fake_slack.h"

using namespace reflex;
using namespace reflex::testing;
using nlohmann::json;

namespace {

std::string config(const FakeSlack& fake, const std::string& token_file) {
  return R"yaml(
integrations:
  slack:
    token_file: )yaml" +
         token_file + "\n    base_url: " + fake.base_url() + R"yaml(
routes:
  - name: urgent
    match: {severity: [high, critical]}
    workflow: fix-forward
workflows:
  fix-forward:
    steps:
      - name: post
        on: [opened]
        kind: chat.post
        with:
          channel: "#incidents"
          text: "{{severity}}: {{title}} on {{affected_hosts}} hosts"
          buttons: acknowledge, start_mim, resolve
      - name: room
        on: ["response:start_mim"]
        kind: chat.create_channel
        with: {name: "mim-{{id}}"}
      - name: invite
        on: ["response:start_mim"]
        kind: chat.invite
        with: {users: U0ONCALL}
)yaml";
}

void post_alert(const HubProcess& hub, const std::string& host) {
  httplib::Client client("127.0.0.1", std::stoi(hub.url().substr(hub.url().rfind(':') + 1)));
  const std::string body = json::array({{{"labels",
                                          {{"alertname", "SlowCheckout"},
                                           {"service", "checkout"},
                                           {"env", "prod"},
                                           {"severity", "high"},
                                           {"instance", host}}}}})
                               .dump();
  auto res = client.Post("/api/v2/alerts", body, "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
}

size_t count(const FakeSlack& fake, const std::string& method) {
  size_t n = 0;
  for (const auto& r : fake.delivered()) n += r.method == method ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE(
    "a responder starts the major incident with reflexctl, and a killed hub posts nothing "
    "twice when it returns",
    "[e2e][workflow]") {
  FakeSlack fake;
  TempDir secrets;
  const std::string token_file = secrets.write("slack", fake.token() + "\n");
  HubProcess hub(config(fake, token_file));
  post_alert(hub, "web-1");
  REQUIRE(wait_until([&] { return count(fake, "chat.postMessage") == 1; }));

  auto responded = hub.ctl({"incident", "respond", "1", "start_mim", "--actor", "alice"});
  INFO(responded.out << responded.err);
  REQUIRE(responded.exit_code == 0);
  CHECK_THAT(responded.out, Catch::Contains("incident 1 responded start_mim"));
  REQUIRE(wait_until([&] { return count(fake, "conversations.invite") == 1; }));
  const json shown = hub.api_get("/api/v1/incidents/1");
  const std::string channel = shown["workflow"]["objects"]["channel"]["data"]["id"];
  CHECK(shown["workflow"]["objects"]["channel"]["data"]["name"] == "mim-1");
  bool invited_there = false;
  for (const auto& r : fake.delivered()) {
    invited_there =
        invited_there || (r.method == "conversations.invite" && r.body["channel"] == channel);
  }
  CHECK(invited_there);

  hub.stop(SIGKILL);
  hub.start();
  post_alert(hub, "web-2");
  REQUIRE(wait_until([&] { return count(fake, "chat.update") >= 1; }));
  CHECK(count(fake, "chat.postMessage") == 1);
  CHECK(count(fake, "conversations.create") == 1);
  const std::string ts =
      hub.api_get("/api/v1/incidents/1")["workflow"]["objects"]["message:post"]["data"]["ts"];
  for (const auto& r : fake.delivered()) {
    if (r.method == "chat.update") CHECK(r.body["ts"] == ts);
  }
  CHECK(hub.ctl({"incident", "respond", "1", "Start MIM", "--actor", "alice"}).exit_code != 0);
}
