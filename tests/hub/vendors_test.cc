// The vendor integrations hub.yaml configures besides Slack: built in one place with
// their secrets read, and wired into a real hub, which delivers rows to each fake.
#include "hub/integrations/vendors.h"

#include <catch2/catch.hpp>

#include "hub/config.h"
#include "tests/hub/hub_harness.h"
#include "tests/support/fake_dynatrace.h"
#include "tests/support/fake_jira.h"
#include "tests/support/fake_pagerduty.h"
#include "tests/support/fake_statuspage.h"
#include "tests/support/fake_webhook_receiver.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using nlohmann::json;

namespace {

OutboxRow stored_row(uint64_t id, const std::string& integration, const std::string& operation,
                     json payload) {
  return {.id = id,
          .integration = integration,
          .operation = operation,
          .idempotency_key = "key-" + std::to_string(id),
          .incident_id = 9,
          .payload = std::move(payload),
          .state = OutboxState::kPending,
          .attempts = 0,
          .next_attempt_ms = 0,
          .last_error = "",
          .result = nullptr,
          .created_ms = 1,
          .updated_ms = 1};
}

}  // namespace

TEST_CASE("only the vendor sections present are built, in a fixed order, with their limits",
          "[vendors]") {
  reflex::testing::TempDir dir;
  const std::string secret = dir.write("secret", "s\n");
  SystemClock clock;
  IntegrationsConfig cfg;
  auto none = vendor_integrations(cfg, clock);
  REQUIRE(none);
  CHECK(none->empty());

  cfg.webhook = {.enabled = true,
                 .secret_file = secret,
                 .secret_env = "",
                 .max_in_flight = 2,
                 .timeout = Millis(1000)};
  cfg.jira.enabled = true;
  cfg.jira.base_url = "https://example.atlassian.net/";
  cfg.jira.token_file = secret;
  cfg.jira.max_in_flight = 7;
  cfg.pagerduty.enabled = true;
  cfg.pagerduty.routing_key_file = secret;
  auto built = vendor_integrations(cfg, clock);
  REQUIRE(built);
  REQUIRE(built->size() == 3);
  CHECK((*built)[0].integration->name() == "jira");
  CHECK((*built)[0].limits.max_in_flight == 7);
  CHECK((*built)[1].integration->name() == "pagerduty");
  CHECK((*built)[2].integration->name() == "webhook");
  CHECK((*built)[2].limits.max_in_flight == 2);

  cfg.statuspage.enabled = true;
  cfg.statuspage.page_id = "p";
  cfg.statuspage.token_env = "REFLEX_TEST_NO_SUCH_VARIABLE";
  auto missing = vendor_integrations(cfg, clock);
  REQUIRE_FALSE(missing);
  CHECK(missing.status().message().find("integrations.statuspage.token_env") != std::string::npos);
}

TEST_CASE("a hub.yaml whose vendor secret cannot be read fails to load, naming the key",
          "[vendors][config]") {
  reflex::testing::TempDir dir;
  const std::string path = dir.write("hub.yaml", R"(
integrations:
  dynatrace:
    base_url: https://abc12345.live.dynatrace.com/
    token_file: /nonexistent/reflex/dynatrace-token
)");
  auto cfg = load_hub_config(path);
  REQUIRE_FALSE(cfg);
  CHECK(cfg.status().message().find("integrations.dynatrace.token_file") != std::string::npos);
}

TEST_CASE("a hub delivers stored rows to Jira, Statuspage, PagerDuty, Dynatrace and a webhook",
          "[vendors][hub]") {
  reflex::testing::FakeJira jira;
  reflex::testing::FakeStatuspage statuspage;
  reflex::testing::FakePagerDuty pagerduty;
  reflex::testing::FakeDynatrace dynatrace;
  reflex::testing::FakeWebhookReceiver receiver;
  reflex::testing::TempDir dir;
  const std::string db = dir.file("hub.db");
  {
    StoreConfig store_config;
    store_config.path = db;
    auto store = open_store(store_config);
    REQUIRE(store);
    WriteBatch batch;
    batch.outbox = {
        stored_row(1, "jira", "jira.create_issue",
                   {{"fields",
                     {{"project", {{"key", "OPS"}}},
                      {"summary", "checkout is down"},
                      {"issuetype", {{"name", "Incident"}}}}}}),
        stored_row(2, "statuspage", "statuspage.create_incident",
                   {{"incident", {{"name", "Checkout errors"}, {"status", "investigating"}}}}),
        stored_row(
            3, "pagerduty", "pagerduty.event",
            {{"event_action", "trigger"},
             {"dedup_key", "reflex-9"},
             {"payload", {{"summary", "down"}, {"source", "web"}, {"severity", "critical"}}}}),
        stored_row(4, "dynatrace", "dynatrace.comment",
                   {{"problem_id", "-123_456V2"}, {"message", "Reflex incident 9"}}),
        stored_row(5, "webhook", "webhook.post",
                   {{"url", receiver.url()}, {"body", {{"incident", 9}}}})};
    REQUIRE((*store)->write_batch(batch));
  }
  RunningHub hub([&](HubConfig& cfg) {
    cfg.store.path = db;
    auto& in = cfg.integrations;
    in.jira.enabled = true;
    in.jira.base_url = jira.base_url();
    in.jira.user = jira.user();
    in.jira.token_file = dir.write("jira", jira.token());
    in.statuspage.enabled = true;
    in.statuspage.base_url = statuspage.base_url();
    in.statuspage.page_id = statuspage.page_id();
    in.statuspage.token_file = dir.write("statuspage", statuspage.api_key());
    in.pagerduty.enabled = true;
    in.pagerduty.base_url = pagerduty.base_url();
    in.pagerduty.routing_key_file = dir.write("pagerduty", pagerduty.routing_key());
    in.dynatrace.enabled = true;
    in.dynatrace.base_url = dynatrace.base_url();
    in.dynatrace.token_file = dir.write("dynatrace", dynatrace.token());
    in.webhook.enabled = true;
    in.webhook.secret_file = dir.write("webhook", receiver.secret());
  });
  Api api(hub.http_port());
  auto row_of = [&](int id) {
    auto a = api.get("/api/v1/outbox/" + std::to_string(id));
    return a.status == 200 ? a.body["row"] : json();
  };
  for (int id = 1; id <= 5; ++id) {
    INFO("row " << id << ": " << row_of(id).dump());
    REQUIRE(reflex::testing::wait_until([&] { return row_of(id).value("state", "") == "done"; }));
  }
  CHECK(row_of(1)["result"] == json{{"key", "OPS-1"}, {"id", "10001"}});
  CHECK(row_of(2)["result"]["id"] == statuspage.incidents().at(0).id);
  CHECK(row_of(3)["result"] == json{{"dedup_key", "reflex-9"}});
  CHECK(dynatrace.comments("-123_456V2").size() == 1);
  CHECK(receiver.accepted() == std::vector<json>{{{"incident", 9}}});
  auto all = api.get("/api/v1/outbox?limit=100");
  REQUIRE(all.status == 200);
  for (const std::string& secret :
       {jira.token(), statuspage.api_key(), pagerduty.routing_key(), dynatrace.token()}) {
    CHECK(all.body.dump().find(secret) == std::string::npos);
  }
}

TEST_CASE("Jenkins and GitHub are built after the other vendors, and a missing token names its key",
          "[vendors][ci]") {
  reflex::testing::TempDir dir;
  const std::string secret = dir.write("secret", "s\n");
  SystemClock clock;
  IntegrationsConfig cfg;
  cfg.webhook.enabled = true;
  cfg.webhook.secret_file = secret;
  cfg.github.enabled = true;
  cfg.github.token_file = secret;
  cfg.github.max_in_flight = 3;
  cfg.jenkins.enabled = true;
  cfg.jenkins.base_url = "https://ci.example.com/";
  cfg.jenkins.user = "reflex";
  cfg.jenkins.token_file = secret;
  auto built = vendor_integrations(cfg, clock);
  REQUIRE(built);
  REQUIRE(built->size() == 3);
  CHECK((*built)[0].integration->name() == "webhook");
  CHECK((*built)[1].integration->name() == "jenkins");
  CHECK((*built)[2].integration->name() == "github");
  CHECK((*built)[2].limits.max_in_flight == 3);

  cfg.jenkins.token_file = dir.file("no-such-token");
  auto missing = vendor_integrations(cfg, clock);
  REQUIRE_FALSE(missing);
  CHECK(missing.status().message().find("integrations.jenkins.token_file") != std::string::npos);
}

TEST_CASE(
    "email, Mattermost and Teams are built last, Teams paced per hook, and an unreadable "
    "hook URL fails the load naming its key",
    "[vendors][email]") {
  reflex::testing::TempDir dir;
  SystemClock clock;
  IntegrationsConfig cfg;
  cfg.github.enabled = true;
  cfg.github.token_file = dir.write("token", "t\n");
  cfg.email.enabled = true;
  cfg.email.url = "smtp://127.0.0.1:25";
  cfg.email.from = "reflex@example.com";
  cfg.email.max_in_flight = 2;
  cfg.mattermost.enabled = true;
  cfg.mattermost.url_file = dir.write("mm", "https://chat.example.com/hooks/abcdefgh12345678\n");
  cfg.teams.enabled = true;
  cfg.teams.url_file = dir.write("teams", "https://x.webhook.office.com/webhookb2/abc\n");
  auto built = vendor_integrations(cfg, clock);
  REQUIRE(built);
  REQUIRE(built->size() == 4);
  CHECK((*built)[0].integration->name() == "github");
  CHECK((*built)[1].integration->name() == "email");
  CHECK((*built)[1].limits.max_in_flight == 2);
  CHECK((*built)[2].integration->name() == "mattermost");
  CHECK((*built)[3].integration->name() == "teams");
  CHECK((*built)[3].limits.rate_per_key == 1.0);

  const std::string path = dir.write("hub.yaml", R"(
integrations:
  mattermost:
    url_file: /nonexistent/reflex/mattermost-hook
)");
  auto loaded = load_hub_config(path);
  REQUIRE_FALSE(loaded);
  CHECK(loaded.status().message().find("integrations.mattermost.url_file") != std::string::npos);
}
