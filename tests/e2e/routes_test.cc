// Routing end to end: a real hub with routes and workflows in its hub.yaml, asked with
// reflexctl which routes and steps an incident would get; a SIGHUP applies new routes, an
// invalid file is refused and the running routes stay.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/e2e/hub_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using nlohmann::json;

namespace {

const char* kRoutes = R"(
routes:
  - name: canary-rollback
    match: {has_suspect: true}
    workflow: rollback
    continue: true
  - name: urgent
    match: {severity: [high, critical]}
    workflow: page-and-chat
workflows:
  rollback:
    steps:
      - {name: roll-back, on: [opened], kind: rollback, with: {action: "rollback-{{service}}"}}
  page-and-chat:
    steps:
      - {name: page, on: [opened], kind: page, with: {policy: "{{service}}-oncall"}}
      - name: post
        on: [opened]
        kind: chat.post
        with: {channel: "#{{service}}-{{env}}", text: "{{severity}}: {{title}}"}
      - name: status
        on: [opened]
        if: ['severity="critical"']
        kind: status.create
        with: {name: "{{title}}", status: investigating}
      - {name: close, on: [resolved], kind: chat.update, with: {text: "resolved"}}
)";

}  // namespace

TEST_CASE("reflexctl route test shows the routes and rendered steps an incident would get",
          "[e2e][policy]") {
  HubProcess hub(kRoutes);

  Output high =
      hub.ctl({"route", "test", "--labels", "service=checkout,env=prod", "--severity", "high"});
  INFO(high.out << high.err);
  REQUIRE(high.exit_code == 0);
  CHECK_THAT(high.out, Catch::Contains("route urgent -> workflow page-and-chat"));
  CHECK_THAT(high.out, Catch::Contains("on opened: page page"));
  CHECK_THAT(high.out, Catch::Contains("policy: checkout-oncall"));
  CHECK_THAT(high.out, Catch::Contains("channel: #checkout-prod"));
  CHECK_THAT(high.out, Catch::Contains("text: high: route test on checkout"));
  CHECK_THAT(high.out, Catch::Contains("status (skipped: if severity=\"critical\")"));
  CHECK_THAT(high.out, Catch::Contains("on resolved: chat.update close"));
  CHECK_THAT(high.out, !Catch::Contains("canary-rollback"));  // no suspect named

  Output suspect = hub.ctl({"route", "test", "--labels", "service=checkout", "--labels", "env=prod",
                            "--severity", "critical", "--suspect", "--event", "opened"});
  REQUIRE(suspect.exit_code == 0);
  CHECK_THAT(suspect.out, Catch::Contains("route canary-rollback -> workflow rollback (continue)"));
  CHECK_THAT(suspect.out, Catch::Contains("action: rollback-checkout"));
  CHECK_THAT(suspect.out, Catch::Contains("route urgent -> workflow page-and-chat"));
  CHECK_THAT(suspect.out, Catch::Contains("on opened: status.create status\n"));
  CHECK_THAT(suspect.out, !Catch::Contains("chat.update"));  // not run on "opened"

  Output low = hub.ctl({"route", "test", "--labels", "service=checkout", "--severity", "info"});
  REQUIRE(low.exit_code == 0);
  CHECK_THAT(low.out, Catch::Contains("no route matches: nobody would be engaged"));

  Output bad = hub.ctl({"route", "test", "--labels", "service"});
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Catch::Contains("--labels: expected name=value, got \"service\""));

  // The API names a bad parameter and answers nothing else.
  CHECK(hub.api_get("/api/v1/routes/test?severity=urgent").is_null());
  const json listed = hub.api_get("/api/v1/routes");
  REQUIRE(listed.is_object());
  CHECK(listed["routes"].size() == 2);
  CHECK(listed["workflows"]["page-and-chat"]["steps"].size() == 4);
}

TEST_CASE("a reload applies new routes and an invalid one keeps the running routes",
          "[e2e][policy]") {
  HubProcess hub(kRoutes);
  const std::string base = read_file(hub.config_path());
  auto routes_now = [&] {
    const json doc = hub.api_get("/api/v1/routes");
    std::vector<std::string> names;
    for (const auto& r : doc["routes"]) names.push_back(r["name"]);
    return names;
  };
  REQUIRE(routes_now() == std::vector<std::string>{"canary-rollback", "urgent"});

  std::string next = base;
  next.replace(next.find("name: urgent"), std::string("name: urgent").size(), "name: paging");
  hub.dir().write("hub.yaml", next);
  hub.child().signal(SIGHUP);
  REQUIRE(wait_until(
      [&] { return hub.metric(R"(reflex_hub_config_reloads_total{result="ok"})") == 1; }));
  CHECK(routes_now() == std::vector<std::string>{"canary-rollback", "paging"});

  std::string broken = next;
  broken.replace(broken.find("workflow: page-and-chat"),
                 std::string("workflow: page-and-chat").size(), "workflow: nowhere");
  hub.dir().write("hub.yaml", broken);
  hub.child().signal(SIGHUP);
  REQUIRE(wait_until(
      [&] { return hub.metric(R"(reflex_hub_config_reloads_total{result="rejected"})") == 1; }));
  CHECK(routes_now() == std::vector<std::string>{"canary-rollback", "paging"});
  CHECK_THAT(hub.log(), Catch::Contains("routes[1].workflow: no workflow 'nowhere'"));
}
