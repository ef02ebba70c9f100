// The outbox's delivery stage with a real SQLite file, the real loop, real HTTP and the
// fake Slack: what is committed, what is sent, and when (time simulated).
#include "hub/outbox/outbox.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <future>

#include "hub/integrations/slack.h"
#include "hub/outbox/outbox_api.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_slack.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

IntegrationLimits unlimited() {
  return {.max_in_flight = 8, .rate_per_key = 0, .burst_per_key = 1};
}

OutboxHarness::MakeIntegrations slack_at(reflex::testing::FakeSlack& fake,
                                         IntegrationLimits limits = unlimited()) {
  return [&fake, limits](Outbox& o) {
    o.add_integration(std::make_unique<SlackIntegration>(SlackSettings{.base_url = fake.base_url(),
                                                                       .token = fake.token(),
                                                                       .timeout = Millis(5000),
                                                                       .signing_secret = {}}),
                      limits);
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

double sample(metrics::Registry& r, const std::string& line) {
  const std::string text = r.render();
  const auto pos = text.find("\n" + line + " ");
  return pos == std::string::npos ? -1 : std::stod(text.substr(pos + line.size() + 2));
}

// The outbox routes on a real server, their loop work done on the harness's loop (the
// test's thread runs it while a request waits).
class RoutesOn {
 public:
  explicit RoutesOn(OutboxHarness& h) : h_(h), door_(h.loop()) {
    auto api = OutboxApi::open(h.store_config(), door_,
                               [&h](uint64_t id, std::shared_ptr<OutboxRetryAnswer> a) {
                                 h.outbox().retry(id, std::move(a));
                               });
    REQUIRE(api);
    api_ = std::move(api).value();
    api_->add_routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    REQUIRE(reflex::testing::wait_until([this] { return server_.is_running(); }));
  }
  ~RoutesOn() {
    server_.stop();
    thread_.join();
  }
  // Sends a request from another thread and runs the loop until it is answered.
  std::pair<int, json> call(const std::string& method, const std::string& path) {
    auto answer = std::async(std::launch::async, [this, method, path] {
      httplib::Client c("127.0.0.1", port_);
      auto res = method == "POST" ? c.Post(path, "", "application/json") : c.Get(path);
      if (!res) return std::pair<int, json>{0, json()};
      return std::pair<int, json>{res->status, json::parse(res->body, nullptr, false)};
    });
    REQUIRE(h_.run_until([&] { return answer.wait_for(0s) == std::future_status::ready; }));
    return answer.get();
  }

 private:
  OutboxHarness& h_;
  LoopDoor door_;
  std::unique_ptr<OutboxApi> api_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace

TEST_CASE("a row enqueued in a batch is delivered to Slack once and its channel and ts kept",
          "[outbox]") {
  reflex::testing::FakeSlack fake;
  OutboxHarness h(slack_at(fake));
  auto row = h.enqueue(post("incident-7/opened", "checkout is down"));
  REQUIRE(row);
  CHECK(row->id == 1);
  REQUIRE(h.wait_state(row->id, OutboxState::kDone));
  const OutboxRow done = h.row(row->id);
  CHECK(done.attempts == 1);
  CHECK(done.incident_id == 7u);
  CHECK(done.result == json{{"channel", "C123"}, {"ts", fake.delivered().at(0).answer["ts"]}});
  CHECK(fake.delivered().size() == 1);
  CHECK(sample(h.metrics(), R"(reflex_hub_outbox_sent_total{integration="slack"})") == 1);
  CHECK(sample(h.metrics(), "reflex_hub_outbox_depth") == 0);
}

TEST_CASE("enqueueing an idempotency key again returns the existing row and sends nothing more",
          "[outbox]") {
  reflex::testing::FakeSlack fake;
  OutboxHarness h(slack_at(fake));
  auto first = h.enqueue(post("incident-7/opened", "one"));
  REQUIRE(first);
  auto again = h.enqueue(post("incident-7/opened", "two"));  // while it is in memory
  REQUIRE(again);
  CHECK(again->id == first->id);
  CHECK(again->payload["text"] == "one");
  REQUIRE(h.wait_state(first->id, OutboxState::kDone));
  auto after = h.enqueue(post("incident-7/opened", "three"));  // only in the store now
  REQUIRE(after);
  CHECK(after->id == first->id);
  CHECK(after->state == OutboxState::kDone);
  h.restart();
  auto restarted = h.enqueue(post("incident-7/opened", "four"));
  REQUIRE(restarted);
  CHECK(restarted->id == first->id);
  REQUIRE(h.run_until([&] { return !fake.received().empty(); }));
  CHECK(h.rows().size() == 1);
  CHECK(fake.received().size() == 1);
}

TEST_CASE("a 429 is retried after its Retry-After and then delivered", "[outbox]") {
  reflex::testing::FakeSlack fake;
  OutboxHarness h(slack_at(fake));
  fake.rate_limit_next(1, 30);
  auto row = h.enqueue(post("k1", "hello"));
  REQUIRE(row);
  REQUIRE(h.wait_attempt(row->id, OutboxState::kPending, 1));
  CHECK(h.row(row->id).next_attempt_ms == h.now_ms() + 30'000);
  CHECK(h.row(row->id).last_error == "slack chat.postMessage: HTTP 429 rate limited");
  h.advance(Millis(29'999));
  h.wait_idle_writer();
  CHECK(h.row(row->id).state == OutboxState::kPending);  // not before its time
  CHECK(fake.received().size() == 1);
  h.advance(Millis(1));
  REQUIRE(h.wait_state(row->id, OutboxState::kDone));
  CHECK(h.row(row->id).attempts == 2);
  CHECK(fake.delivered().size() == 1);
}

TEST_CASE("a permanent failure is a dead letter that the retry route requeues", "[outbox]") {
  reflex::testing::FakeSlack fake;
  OutboxHarness h(slack_at(fake));
  RoutesOn routes(h);
  fake.error_next(1, "channel_not_found");
  auto row = h.enqueue(post("k1", "hello"));
  REQUIRE(row);
  REQUIRE(h.wait_state(row->id, OutboxState::kDead));
  CHECK(h.row(row->id).last_error == "slack chat.postMessage: channel_not_found");
  CHECK(sample(h.metrics(), R"(reflex_hub_outbox_dead_total{integration="slack"})") == 1);

  auto [listed_status, listed] = routes.call("GET", "/api/v1/outbox?state=dead");
  CHECK(listed_status == 200);
  REQUIRE(listed["rows"].size() == 1);
  CHECK(listed["rows"][0]["id"] == row->id);
  CHECK(listed["rows"][0]["last_error"] == "slack chat.postMessage: channel_not_found");

  auto [status, body] = routes.call("POST", "/api/v1/outbox/1/retry");
  CHECK(status == 200);
  CHECK(body["row"]["state"] == "pending");
  CHECK(body["row"]["attempts"] == 0);
  REQUIRE(h.wait_state(row->id, OutboxState::kDone));
  CHECK(h.row(row->id).attempts == 1);
  CHECK(fake.delivered().size() == 1);

  CHECK(routes.call("POST", "/api/v1/outbox/1/retry").first == 409);  // done, not dead
  CHECK(routes.call("POST", "/api/v1/outbox/99/retry").first == 404);
  CHECK(routes.call("GET", "/api/v1/outbox/99").first == 404);
  auto [bad, error] = routes.call("GET", "/api/v1/outbox?state=lost");
  CHECK(bad == 400);
  CHECK(error["error"]["message"].get<std::string>().rfind("state:", 0) == 0);
}

TEST_CASE("rows sending or pending when the hub died are sent by the next outbox on the file",
          "[outbox]") {
  reflex::testing::FakeSlack fake;
  OutboxHarness h(slack_at(fake));
  {
    // What a hub that died mid-attempt left in the file: one row recorded `sending`
    // (perhaps sent), one pending.
    StoreConfig store_config;
    store_config.path = h.path();
    auto store = open_store(store_config);
    REQUIRE(store);
    WriteBatch batch;
    OutboxRow sending{.id = 1,
                      .integration = "slack",
                      .operation = "slack.chat.postMessage",
                      .idempotency_key = "a",
                      .incident_id = std::nullopt,
                      .payload = {{"channel", "C123"}, {"text", "was sending"}},
                      .state = OutboxState::kSending,
                      .attempts = 1,
                      .next_attempt_ms = h.now_ms(),
                      .last_error = "",
                      .result = nullptr,
                      .created_ms = h.now_ms(),
                      .updated_ms = h.now_ms()};
    OutboxRow pending = sending;
    pending.id = 2;
    pending.idempotency_key = "b";
    pending.payload["text"] = "was pending";
    pending.state = OutboxState::kPending;
    pending.attempts = 0;
    batch.outbox = {sending, pending};
    REQUIRE((*store)->write_batch(batch));
  }
  h.restart();
  REQUIRE(h.wait_state(1, OutboxState::kDone));
  REQUIRE(h.wait_state(2, OutboxState::kDone));
  CHECK(h.row(1).attempts == 3);  // the crashed one, a lookup (nothing found), the send
  CHECK(h.row(2).attempts == 1);
  CHECK(fake.messages("C123").size() == 2);
  auto next = h.enqueue(post("c", "after the restart"));  // ids continue after the file's
  REQUIRE(next);
  CHECK(next->id == 3);
}

TEST_CASE("a row whose attempt failed before a crash is retried after the restart", "[outbox]") {
  reflex::testing::FakeSlack fake;
  OutboxHarness h(slack_at(fake));
  fake.down();
  auto row = h.enqueue(post("k1", "hello"));
  REQUIRE(row);
  REQUIRE(h.wait_attempt(row->id, OutboxState::kPending, 1));
  CHECK(h.row(row->id).last_error.find("slack chat.postMessage: ") == 0);
  fake.up();
  h.restart();
  h.advance(Millis(500));  // the backoff drawn (0.5 of the 1 s base)
  REQUIRE(h.wait_state(row->id, OutboxState::kDone));
  CHECK(h.row(row->id).attempts == 2);
  CHECK(fake.delivered().size() == 1);
}

TEST_CASE("rows to one channel go one per second in order while another channel is not held back",
          "[outbox]") {
  reflex::testing::FakeSlack fake;
  fake.add_channel("C200", "other");
  OutboxHarness h(slack_at(fake, {.max_in_flight = 8, .rate_per_key = 1, .burst_per_key = 1}));
  auto rows = h.enqueue_all({post("1", "first"), post("2", "second"), post("3", "third"),
                             post("4", "elsewhere", "C200")});
  auto texts = [&] {
    std::vector<std::string> out;
    for (const auto& r : fake.received()) out.push_back(r.body["text"]);
    return out;
  };
  REQUIRE(h.run_until([&] { return fake.received().size() == 2; }));
  REQUIRE(h.wait_state(rows[3].id, OutboxState::kDone));
  CHECK(h.row(rows[1].id).attempts == 0);
  CHECK(h.row(rows[2].id).attempts == 0);
  h.advance(Millis(999));
  h.wait_idle_writer();
  CHECK(fake.received().size() == 2);
  h.advance(Millis(1));
  REQUIRE(h.wait_state(rows[1].id, OutboxState::kDone));
  CHECK(h.row(rows[2].id).attempts == 0);
  h.advance(Millis(1000));
  REQUIRE(h.wait_state(rows[2].id, OutboxState::kDone));
  const auto got = texts();
  REQUIRE(got.size() == 4);
  CHECK(std::vector<std::string>(got.begin() + 2, got.end()) ==
        std::vector<std::string>{"second", "third"});
  CHECK(std::find(got.begin(), got.begin() + 2, "first") != got.begin() + 2);
  CHECK(std::find(got.begin(), got.begin() + 2, "elsewhere") != got.begin() + 2);
}

TEST_CASE("a row that keeps failing is a dead letter after max attempts with backoff between",
          "[outbox]") {
  reflex::testing::FakeSlack fake;
  OutboxHarness h(slack_at(fake),
                  {.max_attempts = 3, .backoff_base = Millis(1000), .backoff_cap = Millis(60'000)});
  h.randoms = {0.5, 1.0 - 1e-9};
  fake.fail_next(3, {.status = 500, .headers = {}, .body = "oops"});
  auto row = h.enqueue(post("k1", "hello"));
  REQUIRE(row);
  REQUIRE(h.wait_attempt(row->id, OutboxState::kPending, 1));
  CHECK(h.row(row->id).next_attempt_ms == h.now_ms() + 500);
  h.advance(Millis(500));
  REQUIRE(h.wait_attempt(row->id, OutboxState::kPending, 2));
  CHECK(h.row(row->id).next_attempt_ms == h.now_ms() + 1999);
  h.advance(Millis(1999));
  REQUIRE(h.wait_state(row->id, OutboxState::kDead));
  CHECK(h.row(row->id).attempts == 3);
  CHECK(h.row(row->id).last_error == "slack chat.postMessage: HTTP 500 (gave up after 3 attempts)");
  CHECK(fake.received().size() == 3);
}

TEST_CASE("a batch that fails forgets its new rows, which are then enqueued afresh", "[outbox]") {
  reflex::testing::FakeSlack fake;
  OutboxHarness h(slack_at(fake));
  {
    WriteBatch batch;
    auto row = h.outbox().enqueue(batch, post("k1", "lost with its batch"));
    REQUIRE(row);
    h.outbox().stage(batch);
    CHECK(batch.outbox.size() == 1);
    h.outbox().failed();  // the hub could not commit it
  }
  CHECK(h.outbox().depth() == 0);
  auto row = h.enqueue(post("k1", "sent"));
  REQUIRE(row);
  REQUIRE(h.wait_state(row->id, OutboxState::kDone));
  REQUIRE(fake.received().size() == 1);
  CHECK(fake.received()[0].body["text"] == "sent");
}

TEST_CASE("a row for an integration that is not configured is a dead letter saying so",
          "[outbox]") {
  OutboxHarness h([](Outbox&) {});
  OutboxRequest r = post("k1", "hello");
  r.integration = "jira";
  auto row = h.enqueue(r);
  REQUIRE(row);
  REQUIRE(h.wait_state(row->id, OutboxState::kDead));
  CHECK(h.row(row->id).last_error ==
        "integration \"jira\" is not configured (integrations.jira in hub.yaml)");
}

TEST_CASE("an enqueue without a key or with a payload that is not an object is refused",
          "[outbox]") {
  OutboxHarness h([](Outbox&) {});
  WriteBatch batch;
  OutboxRequest r = post("", "hello");
  auto refused = h.outbox().enqueue(batch, r);
  REQUIRE_FALSE(refused);
  CHECK(refused.status().message() == "idempotency_key: must not be empty");
  r = post("k", "x");
  r.payload = json::array();
  refused = h.outbox().enqueue(batch, r);
  REQUIRE_FALSE(refused);
  CHECK(refused.status().message() == "payload: must be a JSON object");
  CHECK(batch.empty());
}
