// The generic webhook: its signed request (a golden signature), its classification (a
// pure function), its secret, the shared integration kit against a receiver that checks
// signatures with its own HMAC, and what that receiver refuses.
#include "hub/integrations/webhook.h"

#include <httplib.h>

#include <catch2/catch.hpp>

#include "tests/hub/integration_kit.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_webhook_receiver.h"

using namespace reflex;
using namespace reflex::hub;
using nlohmann::json;

namespace {

using hub::testing::answer;

OutboxRow row(json payload, const std::string& operation = "webhook.post") {
  return hub::testing::outbox_row("webhook", operation, std::move(payload));
}

}  // namespace

TEST_CASE("a webhook is POSTed with a timestamp and an HMAC-SHA256 signature of both",
          "[webhook]") {
  SimulatedTime time(1'700'000'000'123);
  WebhookIntegration hook({.secret = "s3cret", .timeout = Millis(2000)}, time);
  auto req =
      hook.prepare(row({{"url", "https://hooks.example.com/reflex"}, {"body", {{"text", "hi"}}}}));
  REQUIRE(req);
  CHECK(req->method == "POST");
  CHECK(req->url == "https://hooks.example.com/reflex");
  CHECK(req->body == R"({"text":"hi"})");
  // Golden value: python3 hmac.new(b"s3cret", b'1700000000.{"text":"hi"}', sha256).
  CHECK(req->headers ==
        HttpHeaders{{"Content-Type", "application/json"},
                    {"X-Reflex-Timestamp", "1700000000"},
                    {"X-Reflex-Signature",
                     "sha256=a4abab2c9ec335a751cf8c3848e413a84a4e0eef17a9660d993911fafacadb66"}});
  CHECK(req->timeout == Millis(2000));
  CHECK(hook.secrets() == std::vector<std::string>{"s3cret"});
}

TEST_CASE("a webhook payload without a URL or a body is refused naming it", "[webhook]") {
  SimulatedTime time;
  WebhookIntegration hook({.secret = "s", .timeout = Millis(2000)}, time);
  auto check = [&](json payload, const std::string& field, const std::string& op = "webhook.post") {
    auto req = hook.prepare(row(std::move(payload), op));
    REQUIRE_FALSE(req);
    INFO(req.status().message());
    CHECK(req.status().message().find(field) != std::string::npos);
  };
  check({{"body", json::object()}}, "payload.url");
  check({{"url", "ftp://x/"}, {"body", json::object()}}, "payload.url");
  check({{"url", "http://x/"}}, "payload.body");
  check({{"url", "http://x/"}, {"body", 1}}, "unknown operation", "webhook.get");
}

TEST_CASE("a webhook receiver's answers are classified done, retry or permanent", "[webhook]") {
  using K = Outcome::Kind;
  auto ok = classify_webhook(answer(204, ""));
  CHECK(ok.kind == K::kDone);
  CHECK(ok.result == json{{"status", 204}});
  for (int status : {408, 429, 500, 503}) {
    INFO(status);
    CHECK(classify_webhook(answer(status, "")).kind == K::kRetry);
  }
  auto refused = classify_webhook(answer(401, "bad signature\n\x01"));
  CHECK(refused.kind == K::kPermanent);
  CHECK(refused.error == "webhook webhook.post: HTTP 401: bad signature");
  CHECK(classify_webhook(answer(404, std::string(5000, 'x'))).error.size() < 300);
  HttpResponse down;
  down.error = "Connection refused (CURLE_COULDNT_CONNECT)";
  CHECK(classify_webhook(down).kind == K::kRetry);
}

TEST_CASE("the webhook secret is read from secret_file or secret_env", "[webhook][config]") {
  reflex::testing::TempDir dir;
  WebhookConfig cfg;
  cfg.enabled = true;
  cfg.secret_file = dir.write("secret", "hook-secret\n");
  auto s = webhook_settings(cfg);
  REQUIRE(s);
  CHECK(s->secret == "hook-secret");
  cfg.secret_file.clear();
  cfg.secret_env = "REFLEX_TEST_WEBHOOK_SECRET";
  ::unsetenv("REFLEX_TEST_WEBHOOK_SECRET");
  s = webhook_settings(cfg);
  REQUIRE_FALSE(s);
  CHECK(s.status().message().find("integrations.webhook.secret_env") != std::string::npos);
}

TEST_CASE("the webhook integration passes the shared integration kit against a receiver",
          "[webhook][kit]") {
  reflex::testing::FakeWebhookReceiver fake;
  SystemClock clock;  // the receiver checks the timestamp against its own clock
  const json body = {{"incident", 42}, {"state", "open"}};
  hub::testing::IntegrationKitCase c;
  c.make = [&](const std::string&) {
    return std::make_unique<WebhookIntegration>(
        WebhookSettings{.secret = fake.secret(), .timeout = Millis(5000)}, clock);
  };
  c.base_url = fake.url("/");
  c.secrets = {fake.secret()};
  c.sample_at = [&](const std::string& base) {
    return OutboxRequest{.integration = "webhook",
                         .operation = "webhook.post",
                         .idempotency_key = "incident-42/hook",
                         .incident_id = 42,
                         .payload = {{"url", base + "hooks/reflex"}, {"body", body}}};
  };
  c.answer_next = [&](int status, HttpHeaders headers, std::string text) {
    fake.fail_next(1, {.status = status, .headers = std::move(headers), .body = std::move(text)});
  };
  c.check_request = [&] {
    auto got = fake.received();
    REQUIRE_FALSE(got.empty());
    const auto& last = got.back();
    CHECK(last.request.path == "/hooks/reflex");
    CHECK(last.status == 200);
    REQUIRE(fake.accepted().size() == 1);
    CHECK(fake.accepted()[0] == body);
  };
  hub::testing::run_integration_kit(c);
}

TEST_CASE("the webhook receiver refuses unsigned, forged, stale and non-JSON deliveries",
          "[fake-webhook]") {
  const int64_t now = 1'700'000'000;
  reflex::testing::FakeWebhookReceiver fake("s3cret", 300, [&] { return now; });
  auto post = [&](const std::string& ts, const std::string& signature, const std::string& body,
                  const std::string& type = "application/json") {
    httplib::Client c("127.0.0.1", fake.port());
    httplib::Headers h;
    if (!ts.empty()) h.emplace("X-Reflex-Timestamp", ts);
    if (!signature.empty()) h.emplace("X-Reflex-Signature", signature);
    auto res = c.Post("/hooks/reflex", h, body, type.c_str());
    return res ? res->status : 0;
  };
  const std::string body = R"({"text":"hi"})";
  CHECK(post("", "", body) == 401);
  CHECK(post("1700000000", "sha256=00", body) == 401);
  CHECK(post("1700000000", fake.sign("1700000000", body), body + " ") == 401);
  CHECK(post("1699999000", fake.sign("1699999000", body), body) == 401);
  CHECK(post("1700000000", fake.sign("1700000000", "nope"), "nope") == 400);
  CHECK(fake.accepted().empty());
  // The golden signature of the integration's test, accepted.
  CHECK(post("1700000000",
             "sha256=a4abab2c9ec335a751cf8c3848e413a84a4e0eef17a9660d993911fafacadb66",
             body) == 200);
  CHECK(post("1700000299", fake.sign("1700000299", body), body) == 200);
  CHECK(fake.accepted().size() == 2);
}
