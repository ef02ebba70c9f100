// The outbox wired into a real hub (in this process, on loopback): rows left in the
// store are delivered to the fake Slack when the hub starts, dead letters are listed and
// requeued through the hub's HTTP API, and /metrics counts them.
#include <catch2/catch.hpp>

#include "hub/outbox/outbox_tables.h"
#include "tests/hub/hub_harness.h"
#include "tests/support/fake_slack.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using nlohmann::json;

namespace {

OutboxRow stored_row(uint64_t id, OutboxState state, const std::string& text) {
  return {.id = id,
          .integration = "slack",
          .operation = "slack.chat.postMessage",
          .idempotency_key = "key-" + std::to_string(id),
          .incident_id = 3,
          .payload = {{"channel", "C123"}, {"text", text}},
          .state = state,
          .attempts = state == OutboxState::kDead ? 1u : 0u,
          .next_attempt_ms = 0,
          .last_error = state == OutboxState::kDead ? "slack chat.postMessage: not_in_channel" : "",
          .result = nullptr,
          .created_ms = 1,
          .updated_ms = 1};
}

}  // namespace

TEST_CASE("a hub delivers the rows its store holds and requeues a dead letter through its API",
          "[outbox][hub]") {
  reflex::testing::FakeSlack fake;
  reflex::testing::TempDir dir;
  const std::string db = dir.file("hub.db");
  {
    StoreConfig store_config;
    store_config.path = db;
    auto store = open_store(store_config);
    REQUIRE(store);
    WriteBatch batch;
    batch.outbox = {stored_row(1, OutboxState::kDead, "was dead"),
                    stored_row(2, OutboxState::kPending, "was pending")};
    REQUIRE((*store)->write_batch(batch));
  }
  const std::string token_file = dir.write("slack-token", fake.token() + "\n");
  RunningHub hub([&](HubConfig& cfg) {
    cfg.store.path = db;
    cfg.integrations.slack.enabled = true;
    cfg.integrations.slack.token_file = token_file;
    cfg.integrations.slack.base_url = fake.base_url();
  });
  Api api(hub.http_port());
  auto state_of = [&](int id) {
    auto a = api.get("/api/v1/outbox/" + std::to_string(id));
    return a.status == 200 ? a.body["row"]["state"].get<std::string>() : "";
  };
  REQUIRE(reflex::testing::wait_until([&] { return state_of(2) == "done"; }));
  CHECK(fake.delivered().size() == 1);

  auto dead = api.get("/api/v1/outbox?state=dead");
  REQUIRE(dead.status == 200);
  REQUIRE(dead.body["rows"].size() == 1);
  CHECK(dead.body["rows"][0]["id"] == 1);
  CHECK(dead.body["rows"][0]["incident_id"] == 3);
  CHECK(dead.body.dump().find(fake.token()) == std::string::npos);

  auto retried = api.post("/api/v1/outbox/1/retry", "");
  REQUIRE(retried.status == 200);
  CHECK(retried.body["row"]["state"] == "pending");
  REQUIRE(reflex::testing::wait_until([&] { return state_of(1) == "done"; }));
  CHECK(fake.delivered().size() == 2);
  auto row = api.get("/api/v1/outbox/1").body["row"];
  CHECK(row["result"]["channel"] == "C123");
  CHECK(row["attempts"] == 1);
  CHECK(api.post("/api/v1/outbox/1/retry", "").status == 409);
  CHECK(api.get("/api/v1/outbox?limit=0").status == 400);
  CHECK(api.metric(R"(reflex_hub_outbox_sent_total{integration="slack"})") == 2);
}
