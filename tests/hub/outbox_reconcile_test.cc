// Looking before resending: rows found `sending` after a crash or a takeover, through the
// real delivery stage, a real store, real HTTP and the fake Slack and Jira, whose answers
// can be lost after the call was applied (the case the lookup exists for).
#include <catch2/catch.hpp>

#include "hub/integrations/jira.h"
#include "hub/integrations/slack.h"
#include "hub/outbox/outbox.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_jira.h"
#include "tests/support/fake_slack.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using nlohmann::json;

namespace {

constexpr IntegrationLimits kLimits{.max_in_flight = 8, .rate_per_key = 0, .burst_per_key = 1};

// The Slack integration on `fake`; every row that finishes is added to `finished`.
OutboxHarness::MakeIntegrations slack_at(reflex::testing::FakeSlack& fake,
                                         std::vector<OutboxRow>& finished) {
  return [&fake, &finished](Outbox& o) {
    o.add_integration(std::make_unique<SlackIntegration>(SlackSettings{.base_url = fake.base_url(),
                                                                       .token = fake.token(),
                                                                       .timeout = Millis(5000),
                                                                       .signing_secret = {}}),
                      kLimits);
    o.on_finished([&finished](const OutboxRow& row) { finished.push_back(row); });
  };
}

OutboxHarness::MakeIntegrations jira_at(reflex::testing::FakeJira& fake) {
  return [&fake](Outbox& o) {
    o.add_integration(std::make_unique<JiraIntegration>(JiraSettings{.base_url = fake.base_url(),
                                                                     .user = fake.user(),
                                                                     .token = fake.token(),
                                                                     .timeout = Millis(5000)}),
                      kLimits);
  };
}

OutboxRequest post(const std::string& key, const std::string& text,
                   const std::string& channel = "C123") {
  return {.integration = "slack",
          .operation = "slack.chat.postMessage",
          .idempotency_key = key,
          .incident_id = 7,
          .payload = {{"channel", channel}, {"text", text}}};
}

const json kIssue = {{"fields",
                      {{"project", {{"key", "OPS"}}},
                       {"summary", "checkout is down"},
                       {"issuetype", {{"name", "Incident"}}}}}};

// What a hub that died during the attempt leaves in the file: the row recorded `sending`.
void write_sending(OutboxHarness& h, std::string integration, std::string operation,
                   std::string key, std::optional<uint64_t> incident_id, json payload) {
  auto store = open_store(h.store_config());
  REQUIRE(store);
  OutboxRow row;
  row.id = 1;
  row.integration = std::move(integration);
  row.operation = std::move(operation);
  row.idempotency_key = std::move(key);
  row.incident_id = incident_id;
  row.payload = std::move(payload);
  row.state = OutboxState::kSending;
  row.attempts = 1;
  row.next_attempt_ms = row.created_ms = row.updated_ms = h.now_ms();
  WriteBatch batch;
  batch.outbox = {std::move(row)};
  REQUIRE((*store)->write_batch(batch));
}

std::vector<std::string> methods(const reflex::testing::FakeSlack& fake) {
  std::vector<std::string> out;
  for (const auto& r : fake.received()) out.push_back(r.method);
  return out;
}

}  // namespace

TEST_CASE("a Slack post applied but whose answer was lost is found after a restart, not resent",
          "[outbox][reconcile]") {
  reflex::testing::FakeSlack fake;
  std::vector<OutboxRow> finished;
  OutboxHarness h(slack_at(fake, finished));
  fake.set_time_origin(h.now_ms());  // the hub's simulated clock
  fake.lose_next_answer();
  auto row = h.enqueue(post("incident-7/opened", "checkout is down"));
  REQUIRE(row);
  REQUIRE(h.run_until([&] { return fake.held_answers() == 1; }));
  REQUIRE(fake.messages("C123").size() == 1);  // Slack has it; the hub does not know
  CHECK(h.row(row->id).state == OutboxState::kSending);

  h.restart();
  REQUIRE(h.wait_state(row->id, OutboxState::kDone));
  const auto posted = fake.messages("C123");
  REQUIRE(posted.size() == 1);
  CHECK(posted[0].metadata == json{{"event_type", "reflex_outbox"},
                                   {"event_payload", {{"idempotency_key", "incident-7/opened"}}}});
  // Exactly what the send would have kept, and announced as any finished row is.
  const json result{{"channel", "C123"}, {"ts", posted[0].ts}};
  CHECK(h.row(row->id).result == result);
  CHECK(h.row(row->id).last_error.empty());
  REQUIRE(finished.size() == 1);
  CHECK(finished[0].id == row->id);
  CHECK(finished[0].result == result);

  CHECK(methods(fake) == std::vector<std::string>{"chat.postMessage", "conversations.history"});
  auto lookup = fake.received().back();
  CHECK(lookup.http_method == "GET");
  CHECK(lookup.authorization == "Bearer " + fake.token());
  CHECK(lookup.params["channel"] == "C123");
  CHECK(lookup.params["include_all_metadata"] == "true");
  CHECK(lookup.params["limit"] == "200");
  CHECK(lookup.params.contains("oldest"));
  CHECK(lookup.params.contains("latest"));
  CHECK(lookup.answer["ok"] == true);
}

TEST_CASE("a Slack post recorded sending that never reached Slack is sent once after a restart",
          "[outbox][reconcile]") {
  reflex::testing::FakeSlack fake;
  std::vector<OutboxRow> finished;
  OutboxHarness h(slack_at(fake, finished));
  fake.set_time_origin(h.now_ms());  // the hub's simulated clock
  write_sending(h, "slack", "slack.chat.postMessage", "a", std::nullopt,
                {{"channel", "C123"}, {"text", "was sending"}});
  h.restart();
  REQUIRE(h.wait_state(1, OutboxState::kDone));
  CHECK(methods(fake) == std::vector<std::string>{"conversations.history", "chat.postMessage"});
  const auto posted = fake.messages("C123");
  REQUIRE(posted.size() == 1);
  CHECK(posted[0].text == "was sending");
  CHECK(posted[0].metadata["event_payload"]["idempotency_key"] == "a");
  CHECK(h.row(1).result == json{{"channel", "C123"}, {"ts", posted[0].ts}});
  CHECK(finished.size() == 1);
}

TEST_CASE("a Slack post to a channel name cannot be looked up and is sent again as before",
          "[outbox][reconcile]") {
  reflex::testing::FakeSlack fake;
  std::vector<OutboxRow> finished;
  OutboxHarness h(slack_at(fake, finished));
  fake.set_time_origin(h.now_ms());  // the hub's simulated clock
  write_sending(h, "slack", "slack.chat.postMessage", "a", std::nullopt,
                {{"channel", "#incidents"}, {"text", "was sending"}});
  h.restart();
  REQUIRE(h.wait_state(1, OutboxState::kDone));
  CHECK(methods(fake) == std::vector<std::string>{"chat.postMessage"});
  CHECK(h.row(1).attempts == 2);
}

TEST_CASE("a lookup without a verdict is retried after backoff, the row staying sending",
          "[outbox][reconcile]") {
  reflex::testing::FakeSlack fake;
  std::vector<OutboxRow> finished;
  OutboxHarness h(slack_at(fake, finished));
  fake.set_time_origin(h.now_ms());  // the hub's simulated clock
  fake.lose_next_answer();
  auto row = h.enqueue(post("incident-7/opened", "checkout is down"));
  REQUIRE(row);
  REQUIRE(h.run_until([&] { return fake.held_answers() == 1; }));

  // The lookup first meets a Slack outage, then an app without the history scope.
  fake.fail_next(1, {.status = 500, .headers = {}, .body = "oops"});
  h.restart();
  REQUIRE(h.run_until([&] { return !h.row(row->id).last_error.empty(); }));
  h.wait_idle_writer();
  OutboxRow waiting = h.row(row->id);
  CHECK(waiting.state == OutboxState::kSending);  // perhaps applied, still
  CHECK(waiting.attempts == 2);
  CHECK(waiting.last_error == "lookup: slack conversations.history: HTTP 500");
  // Backoff as for a failed attempt: the 2nd of a 1 s base, drawn at 0.5.
  CHECK(waiting.next_attempt_ms == h.now_ms() + 1000);
  h.advance(Millis(999));
  h.wait_idle_writer();
  CHECK(fake.received().size() == 2);  // the post, the failed lookup

  SECTION("and finds the message when Slack answers") {
    fake.set_scopes({"chat:write"});
    h.advance(Millis(1));
    REQUIRE(h.run_until(
        [&] { return h.row(row->id).last_error.find("missing_scope") != std::string::npos; }));
    h.wait_idle_writer();
    CHECK(h.row(row->id).state == OutboxState::kSending);
    CHECK(h.row(row->id).last_error.find("channels:history") != std::string::npos);
    CHECK(fake.received().back().answer["needed"] == "channels:history");
    fake.set_scopes({"chat:write", "channels:history"});
    h.advance(Millis(2000));  // the 3rd: up to 4 s, drawn at 0.5
    REQUIRE(h.wait_state(row->id, OutboxState::kDone));
    CHECK(h.row(row->id).attempts == 4);
  }
  SECTION("and a hub starting meanwhile looks too, at once") {
    h.restart();
    REQUIRE(h.wait_state(row->id, OutboxState::kDone));
  }
  REQUIRE(fake.messages("C123").size() == 1);
  CHECK(h.row(row->id).result == json{{"channel", "C123"}, {"ts", fake.messages("C123").at(0).ts}});
  const auto got = fake.received();
  CHECK(got.front().method == "chat.postMessage");
  for (size_t i = 1; i < got.size(); ++i) CHECK(got[i].method == "conversations.history");
}

TEST_CASE("a Jira create applied but whose answer was lost is found by its label after a restart",
          "[outbox][reconcile]") {
  for (const std::string user : {"reflex@example.com", ""}) {
    INFO((user.empty() ? "Data Center" : "Cloud"));
    reflex::testing::FakeJira fake("jira-fake-api-token-0000", user);
    OutboxHarness h(jira_at(fake));
    fake.lose_next_create();
    auto row = h.enqueue({.integration = "jira",
                          .operation = "jira.create_issue",
                          .idempotency_key = "incident-7/ticket",
                          .incident_id = 7,
                          .payload = kIssue});
    REQUIRE(row);
    REQUIRE(h.run_until([&] { return fake.held_answers() == 1; }));
    REQUIRE(fake.issues().size() == 1);
    CHECK(h.row(row->id).state == OutboxState::kSending);

    h.restart();
    REQUIRE(h.wait_state(row->id, OutboxState::kDone));
    REQUIRE(fake.issues().size() == 1);
    const auto issue = fake.issues()[0];
    CHECK(issue.labels == std::vector<std::string>{"reflex-c3e6c938cdc9d9a8"});
    CHECK(h.row(row->id).result == json{{"key", issue.key}, {"id", issue.id}});

    const auto got = fake.received();
    REQUIRE(got.size() == 2);
    CHECK(got[0].request.path == "/rest/api/2/issue");
    CHECK(got[1].request.method == "GET");
    CHECK(got[1].request.path == (user.empty() ? "/rest/api/2/search" : "/rest/api/2/search/jql"));
    CHECK(got[1].request.params.find("jql")->second == "labels = \"reflex-c3e6c938cdc9d9a8\"");
    CHECK(got[1].status == 200);
  }
}

TEST_CASE("a Jira create recorded sending that never reached Jira is created once after a restart",
          "[outbox][reconcile]") {
  reflex::testing::FakeJira fake;
  OutboxHarness h(jira_at(fake));
  write_sending(h, "jira", "jira.create_issue", "incident-7/ticket", 7, kIssue);
  h.restart();
  REQUIRE(h.wait_state(1, OutboxState::kDone));
  REQUIRE(fake.issues().size() == 1);
  CHECK(h.row(1).result == json{{"key", "OPS-1"}, {"id", "10001"}});
  const auto got = fake.received();
  REQUIRE(got.size() == 2);
  CHECK(got[0].request.path == "/rest/api/2/search/jql");
  CHECK(got[1].request.path == "/rest/api/2/issue");
  CHECK(got[1].request.body["fields"]["labels"] == json{"reflex-c3e6c938cdc9d9a8"});
}
