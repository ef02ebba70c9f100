// The Mattermost incoming-webhook integration: its posts, its classification of the
// hook's answers (a pure function), the hook URL read as a secret, and the shared
// integration kit and the outbox against the fake Mattermost.
#include "hub/integrations/mattermost.h"

#include <catch2/catch.hpp>

#include "hub/integrations/vendor_http.h"
#include "tests/hub/integration_kit.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_mattermost.h"

using namespace reflex;
using namespace reflex::hub;
using nlohmann::json;
using reflex::testing::FakeMattermost;

namespace {

using hub::testing::answer;

const std::string kHook = "https://chat.example.com/hooks/xq7h3mattermosthookid9";

OutboxRow row(json payload, const std::string& operation = "mattermost.post") {
  return hub::testing::outbox_row("mattermost", operation, std::move(payload));
}

MattermostIntegration mattermost(std::string channel = "", std::string username = "") {
  return MattermostIntegration({.url = kHook,
                                .channel = std::move(channel),
                                .username = std::move(username),
                                .timeout = Millis(2000)});
}

}  // namespace

TEST_CASE("a Mattermost post is JSON to the hook with the text, channel and username",
          "[mattermost]") {
  auto req = mattermost("ops", "reflex").prepare(row({{"text", "**high**: checkout <down>"}}));
  REQUIRE(req);
  CHECK(req->method == "POST");
  CHECK(req->url == kHook);
  CHECK(req->headers == HttpHeaders{{"Content-Type", "application/json"}});
  CHECK(json::parse(req->body) ==
        json{{"text", "**high**: checkout <down>"}, {"channel", "ops"}, {"username", "reflex"}});
  CHECK(req->timeout == Millis(2000));
  // The row's channel wins over the configured one; neither: the hook's own.
  CHECK(json::parse(mattermost("ops")
                        .prepare(row({{"text", "t"}, {"channel", "checkout"}}))
                        ->body)["channel"] == "checkout");
  CHECK_FALSE(json::parse(mattermost().prepare(row({{"text", "t"}}))->body).contains("channel"));
  // The hook URL is the secret, and so is its id.
  const auto secrets = mattermost().secrets();
  CHECK(std::find(secrets.begin(), secrets.end(), kHook) != secrets.end());
  CHECK(std::find(secrets.begin(), secrets.end(), "xq7h3mattermosthookid9") != secrets.end());
}

TEST_CASE("a Mattermost post without text or with a bad channel is refused naming the field",
          "[mattermost]") {
  auto check = [](json payload, const std::string& field,
                  const std::string& op = "mattermost.post") {
    auto req = mattermost().prepare(row(std::move(payload), op));
    REQUIRE_FALSE(req);
    INFO(req.status().message());
    CHECK(req.status().message().find(field) != std::string::npos);
  };
  check(json::object(), "payload.text");
  check({{"text", ""}}, "payload.text");
  check({{"text", "t"}, {"channel", 5}}, "payload.channel");
  check({{"text", "t"}}, "unknown operation", "mattermost.update");
}

TEST_CASE("Mattermost's answers are classified done, retry or permanent", "[mattermost]") {
  using K = Outcome::Kind;
  CHECK(classify_mattermost(answer(200, "ok")).kind == K::kDone);
  auto limited = classify_mattermost(answer(429, "", {{"Retry-After", "3"}}));
  CHECK(limited.kind == K::kRetry);
  CHECK(limited.retry_after == Millis(3000));
  CHECK(classify_mattermost(answer(503, "")).kind == K::kRetry);
  HttpResponse refused;
  refused.error = "Connection refused (CURLE_COULDNT_CONNECT)";
  CHECK(classify_mattermost(refused).kind == K::kRetry);
  auto no_text = classify_mattermost(
      answer(400, R"({"id":"web.incoming_webhook.text.app_error","message":"No text specified"})"));
  CHECK(no_text.kind == K::kPermanent);
  CHECK(no_text.error == "mattermost mattermost.post: HTTP 400: No text specified");
  auto locked = classify_mattermost(answer(403, "{}"));
  CHECK(locked.kind == K::kPermanent);
  CHECK(locked.error.find("locked") != std::string::npos);
  CHECK(classify_mattermost(answer(404, "")).error.find("url_file") != std::string::npos);
}

TEST_CASE("the Mattermost hook URL is read from url_file or url_env and must be http(s)",
          "[mattermost][config]") {
  reflex::testing::TempDir dir;
  MattermostConfig cfg;
  cfg.enabled = true;
  cfg.channel = "ops";
  cfg.url_file = dir.write("hook", kHook + "\n");
  auto s = mattermost_settings(cfg);
  REQUIRE(s);
  CHECK(s->url == kHook);
  CHECK(s->channel == "ops");
  cfg.url_file = dir.write("bad-hook", "chat.example.com/hooks/xq7h3mattermosthookid9\n");
  auto bad = mattermost_settings(cfg);
  REQUIRE_FALSE(bad);
  CHECK(bad.status().message().find("integrations.mattermost.url_file") != std::string::npos);
  CHECK(bad.status().message().find("xq7h3mattermosthookid9") == std::string::npos);
  cfg.url_file.clear();
  cfg.url_env = "REFLEX_TEST_MATTERMOST_HOOK";
  ::unsetenv("REFLEX_TEST_MATTERMOST_HOOK");
  auto missing = mattermost_settings(cfg);
  REQUIRE_FALSE(missing);
  CHECK(missing.status().message().find("integrations.mattermost.url_env") != std::string::npos);
}

TEST_CASE("the Mattermost integration passes the shared integration kit against the fake",
          "[mattermost][kit]") {
  FakeMattermost fake;
  fake.add_channel("checkout-prod");
  hub::testing::IntegrationKitCase c;
  c.make = [&](const std::string& url) {
    return std::make_unique<MattermostIntegration>(MattermostSettings{
        .url = url, .channel = "", .username = "reflex", .timeout = Millis(5000)});
  };
  c.base_url = fake.hook_url();
  c.secrets = {fake.hook_url(), fake.hook_id()};
  c.sample = {.integration = "mattermost",
              .operation = "mattermost.post",
              .idempotency_key = "incident-42/post",
              .incident_id = 42,
              .payload = {{"text", "high: checkout is down"}, {"channel", "checkout-prod"}}};
  c.answer_next = [&](int status, HttpHeaders headers, std::string body) {
    fake.fail_next(1, {.status = status, .headers = std::move(headers), .body = std::move(body)});
  };
  c.check_request = [&] {
    auto got = fake.received();
    REQUIRE_FALSE(got.empty());
    CHECK(got.back().status == 200);
    auto posts = fake.posts();
    REQUIRE(posts.size() == 1);
    CHECK(posts[0].channel == "checkout-prod");
    CHECK(posts[0].text == "high: checkout is down");
    CHECK(posts[0].username == "reflex");
  };
  c.permanent_status = 400;
  hub::testing::run_integration_kit(c);
}

TEST_CASE(
    "Mattermost posts through the outbox reach the hook's channel or the one named, and a "
    "refusal is a dead letter quoting Mattermost's message",
    "[mattermost][outbox]") {
  FakeMattermost fake;
  fake.add_channel("checkout-prod");
  hub::testing::OutboxHarness h([&](Outbox& o) {
    o.add_integration(
        std::make_unique<MattermostIntegration>(MattermostSettings{
            .url = fake.hook_url(), .channel = "", .username = "", .timeout = Millis(5000)}),
        {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
  });
  auto send = [&](const std::string& key, json payload, OutboxState state) {
    auto r = h.enqueue({.integration = "mattermost",
                        .operation = "mattermost.post",
                        .idempotency_key = key,
                        .incident_id = 7,
                        .payload = std::move(payload)});
    REQUIRE(r);
    REQUIRE(h.wait_state(r->id, state));
    return h.row(r->id);
  };
  CHECK(send("default", {{"text", "to the hook's channel"}}, OutboxState::kDone).result ==
        json{{"status", 200}});
  send("named", {{"text", "to checkout"}, {"channel", "checkout-prod"}}, OutboxState::kDone);
  const auto unknown = send("unknown", {{"text", "x"}, {"channel", "nowhere"}}, OutboxState::kDead);
  CHECK(unknown.last_error.find("Couldn't find the channel") != std::string::npos);
  CHECK(unknown.last_error.find(fake.hook_id()) == std::string::npos);
  const auto posts = fake.posts();
  REQUIRE(posts.size() == 2);
  CHECK(posts[0].channel == "town-square");
  CHECK(posts[1].channel == "checkout-prod");
}
