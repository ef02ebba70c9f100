// Email, Mattermost and Teams in a real hub (in this process, on loopback, real store,
// real SMTP and HTTP to the fakes), configured from hub.yaml text as check-config reads
// it: an `email` step and chat posts through incoming webhooks run on an incident's
// opening, a person reachable only by email is paged by email, webhook posts are never
// refreshed, and without integrations.email that page is skipped, saying so.
#include <catch2/catch.hpp>

#include "hub/config.h"
#include "tests/hub/hub_harness.h"
#include "tests/support/fake_mattermost.h"
#include "tests/support/fake_smtp.h"
#include "tests/support/fake_teams.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using nlohmann::json;

namespace {

const char* const kPolicy = R"yaml(
people:
  carol: {name: Carol, email: carol@example.com}
escalation_policies:
  checkout-oncall:
    levels:
      - {delay: 0s, targets: [{user: carol}]}
routes:
  - name: urgent
    match: {severity: [high, critical]}
    workflow: notify
workflows:
  notify:
    steps:
      - name: mail
        on: [opened]
        kind: email
        with:
          to: "oncall@example.com, {{service}}-team@example.com"
          subject: "{{severity}}: {{title}}"
          body: "{{affected_hosts}} hosts of {{service}} in {{env}}"
      - name: mm
        on: [opened]
        kind: chat.post
        with: {channel: "#{{service}}-{{env}}", text: "**{{severity}}**: {{title}}", integration: mattermost}
      - name: teams
        on: [opened]
        kind: chat.post
        with: {channel: ops, text: "{{severity}}: {{title}}", integration: teams}
      - name: page
        on: [opened]
        kind: page
        with: {policy: "{{service}}-oncall", message: "Paged: {{title}}"}
)yaml";

std::string alert(const std::string& host) {
  return json::array({{{"labels",
                        {{"alertname", "HighErrorRate"},
                         {"service", "checkout"},
                         {"env", "prod"},
                         {"severity", "high"},
                         {"instance", host + ":9100"}}},
                       {"annotations", json::object()}}})
      .dump();
}

struct Rig {
  reflex::testing::FakeSmtp smtp;
  reflex::testing::FakeMattermost mattermost;
  reflex::testing::FakeTeams teams;
  reflex::testing::TempDir dir;
  std::unique_ptr<RunningHub> hub;
  std::unique_ptr<Api> api;

  // hub.yaml as an operator writes it, read as check-config reads it.
  void start(const std::string& integrations) {
    const std::string yaml = kPolicy + std::string("integrations:\n") + integrations;
    auto root = config::parse_yaml(yaml, "hub.yaml");
    REQUIRE(root);
    auto parsed = read_hub_config(*root, "hub.yaml");
    INFO(parsed.status().to_string());
    REQUIRE(parsed);
    hub = std::make_unique<RunningHub>([&](HubConfig& cfg) {
      const std::string store = cfg.store.path;
      cfg = *parsed;
      cfg.listen = "tcp://127.0.0.1:0";
      cfg.http = "127.0.0.1:0";
      cfg.store.path = store;
    });
    api = std::make_unique<Api>(hub->http_port());
  }
  std::string all_integrations() {
    return "  email: {url: '" + smtp.url() + "', from: reflex@example.com, starttls: off}\n" +
           "  mattermost: {url_file: " + dir.write("mm-hook", mattermost.hook_url() + "\n") +
           ", username: reflex}\n" +
           "  teams: {url_file: " + dir.write("teams-hook", teams.hook_url() + "\n") + "}\n";
  }
  uint64_t post_alert(const std::string& host) {
    REQUIRE(api->post("/api/v2/alerts", alert(host)).status == 200);
    return api->first_incident();
  }
};

}  // namespace

TEST_CASE(
    "an email step and a page of someone reachable only by email are delivered over SMTP, "
    "and chat posts go to the Mattermost and Teams hooks",
    "[workflow][hub][email]") {
  Rig rig;
  rig.mattermost.add_channel("checkout-prod");
  rig.start(rig.all_integrations());
  const uint64_t id = rig.post_alert("web-1");

  REQUIRE(rig.smtp.wait_messages(2));
  const auto messages = rig.smtp.messages();
  const auto& step = messages[0];
  CHECK(step.mail_from == "reflex@example.com");
  CHECK(step.rcpt_to ==
        std::vector<std::string>{"oncall@example.com", "checkout-team@example.com"});
  CHECK(step.header("To") == "oncall@example.com, checkout-team@example.com");
  CHECK(step.subject() == "high: HighErrorRate on checkout");
  CHECK(step.text() == "1 hosts of checkout in prod\r\n");
  const auto& page = messages[1];
  CHECK(page.rcpt_to == std::vector<std::string>{"carol@example.com"});
  CHECK(page.subject() == "Paged: HighErrorRate on checkout (level 1)");
  CHECK(page.text().find("You are paged for incident " + std::to_string(id)) != std::string::npos);
  CHECK(page.header("Message-ID") != step.header("Message-ID"));

  REQUIRE(reflex::testing::wait_until(
      [&] { return !rig.mattermost.posts().empty() && !rig.teams.posts().empty(); }));
  const auto mm = rig.mattermost.posts();
  REQUIRE(mm.size() == 1);
  CHECK(mm[0].channel == "checkout-prod");
  CHECK(mm[0].text == "**high**: HighErrorRate on checkout");
  CHECK(mm[0].username == "reflex");
  const auto teams = rig.teams.posts();
  REQUIRE(teams.size() == 1);
  CHECK(teams[0].shape == "adaptive_card");
  CHECK(teams[0].text == "high: HighErrorRate on checkout");

  const bool timeline = reflex::testing::wait_until([&] {
    const json incident = rig.api->incident(id);
    return has_step_entry(incident, "urgent/mail (email) on opened: done") &&
           has_step_entry(incident, "urgent/mm (chat.post) on opened: done") &&
           has_step_entry(incident, "urgent/teams (chat.post) on opened: done") &&
           has_step_entry(incident, "urgent/page (notify.email) on escalation to Carol: done");
  });
  INFO(rig.api->incident(id)["timeline"].dump(1));
  REQUIRE(timeline);
  CHECK(has_step_entry(rig.api->incident(id), "escalation checkout-oncall, level 1: Carol"));

  // A second host changes the incident: webhook posts cannot be updated, so nothing is
  // refreshed (the refresh would be recorded in the batch that records the change).
  rig.post_alert("web-2");
  REQUIRE(reflex::testing::wait_until(
      [&] { return rig.api->incident(id)["incident"]["affected_hosts"] == 2; }));
  const json calls = rig.api->incident(id)["workflow"]["calls"];
  REQUIRE(calls.size() == 5);  // mail, mm, teams, page (escalate), the page's email
  for (const auto& c : calls) CHECK(c["kind"] != "refresh");
  CHECK(rig.mattermost.posts().size() == 1);
  CHECK(rig.teams.posts().size() == 1);
}

TEST_CASE(
    "without integrations.email a page of someone reachable only by email is skipped, "
    "saying so",
    "[workflow][hub][email]") {
  Rig rig;
  // The policy's email step needs integrations.email: keep only the page.
  const std::string yaml = std::string(kPolicy);
  const std::string page_only = yaml.substr(0, yaml.find("      - name: mail")) +
                                yaml.substr(yaml.find("      - name: page"));
  auto root = config::parse_yaml(page_only, "hub.yaml");
  REQUIRE(root);
  auto parsed = read_hub_config(*root, "hub.yaml");
  INFO(parsed.status().to_string());
  REQUIRE(parsed);
  rig.hub = std::make_unique<RunningHub>([&](HubConfig& cfg) {
    const std::string store = cfg.store.path;
    cfg = *parsed;
    cfg.listen = "tcp://127.0.0.1:0";
    cfg.http = "127.0.0.1:0";
    cfg.store.path = store;
  });
  rig.api = std::make_unique<Api>(rig.hub->http_port());
  const uint64_t id = rig.post_alert("web-1");
  REQUIRE(reflex::testing::wait_until([&] {
    return has_step_entry(rig.api->incident(id),
                          "urgent/page (notify.email) on escalation to Carol: skipped: "
                          "integrations.email is not configured");
  }));
  CHECK(rig.smtp.messages().empty());
}
