// The Slack integration: its requests, its classification of Slack's answers (a pure
// function), its token, and the shared integration kit against the fake Slack.
#include "hub/integrations/slack.h"

#include <catch2/catch.hpp>
#include <cstdlib>

#include "tests/hub/integration_kit.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_slack.h"

using namespace reflex;
using namespace reflex::hub;
using nlohmann::json;

namespace {

using hub::testing::answer;

OutboxRow row(const std::string& operation, json payload) {
  return hub::testing::outbox_row("slack", operation, std::move(payload));
}

SlackIntegration slack(const std::string& base = "http://127.0.0.1:1/api") {
  return SlackIntegration(
      {.base_url = base, .token = "xoxb-secret", .timeout = Millis(2000), .signing_secret = {}});
}

}  // namespace

TEST_CASE("a Slack call is a JSON POST to the method with the bot token in the header only",
          "[slack]") {
  auto req = slack().prepare(row("slack.chat.postMessage", {{"channel", "C1"}, {"text", "hi"}}));
  REQUIRE(req);
  CHECK(req->method == "POST");
  CHECK(req->url == "http://127.0.0.1:1/api/chat.postMessage");
  CHECK(req->headers == HttpHeaders{{"Authorization", "Bearer xoxb-secret"},
                                    {"Content-Type", "application/json; charset=utf-8"}});
  CHECK(json::parse(req->body) ==
        json{{"channel", "C1"},
             {"text", "hi"},
             {"metadata",
              {{"event_type", "reflex_outbox"}, {"event_payload", {{"idempotency_key", "k"}}}}}});
  CHECK(req->body.find("xoxb") == std::string::npos);
  CHECK(req->timeout == Millis(2000));
}

TEST_CASE("a Slack payload without a method's required field is refused naming it", "[slack]") {
  auto s = slack();
  auto check = [&](const std::string& op, json payload, const std::string& field) {
    auto req = s.prepare(row(op, std::move(payload)));
    REQUIRE_FALSE(req);
    INFO(req.status().message());
    CHECK(req.status().message().find(field) != std::string::npos);
  };
  check("slack.chat.postMessage", {{"text", "x"}}, "payload.channel");
  check("slack.chat.postMessage", {{"channel", "C1"}}, "text, blocks or attachments");
  check("slack.chat.update", {{"channel", "C1"}, {"text", "x"}}, "payload.ts");
  check("slack.conversations.create", json::object(), "payload.name");
  check("slack.conversations.invite", {{"channel", "C1"}}, "payload.users");
  check("slack.chat.delete", {{"channel", "C1"}}, "unknown operation");
}

TEST_CASE("Slack's answers are classified done, retry or permanent", "[slack]") {
  using K = Outcome::Kind;
  auto ok =
      classify_slack("chat.postMessage",
                     answer(200, R"({"ok":true,"channel":"C1","ts":"1.000100","message":{}})"));
  CHECK(ok.kind == K::kDone);
  CHECK(ok.result == json{{"channel", "C1"}, {"ts", "1.000100"}});
  auto created = classify_slack(
      "conversations.create",
      answer(200, R"({"ok":true,"channel":{"id":"C9","name":"inc-42","created":1}})"));
  CHECK(created.result == json{{"channel", "C9"}, {"name", "inc-42"}});

  auto limited =
      classify_slack("chat.postMessage",
                     answer(429, R"({"ok":false,"error":"ratelimited"})", {{"Retry-After", "30"}}));
  CHECK(limited.kind == K::kRetry);
  CHECK(limited.retry_after == Millis(30'000));
  auto limited_200 =
      classify_slack("chat.postMessage",
                     answer(200, R"({"ok":false,"error":"ratelimited"})", {{"retry-after", "5"}}));
  CHECK(limited_200.kind == K::kRetry);
  CHECK(limited_200.retry_after == Millis(5000));
  CHECK(classify_slack("chat.update", answer(429, "")).retry_after == std::nullopt);

  for (const char* code : {"internal_error", "fatal_error", "service_unavailable",
                           "request_timeout", "rate_limited"}) {
    INFO(code);
    CHECK(
        classify_slack("chat.postMessage", answer(200, json{{"ok", false}, {"error", code}}.dump()))
            .kind == K::kRetry);
  }
  for (const char* code :
       {"invalid_auth", "not_authed", "channel_not_found", "not_in_channel", "is_archived",
        "msg_too_long", "missing_scope", "name_taken", "invalid_name_specials", "some_new_error"}) {
    INFO(code);
    auto o = classify_slack("chat.postMessage",
                            answer(200, json{{"ok", false}, {"error", code}}.dump()));
    CHECK(o.kind == K::kPermanent);
    CHECK(o.error.find(code) != std::string::npos);
  }
  CHECK(classify_slack("chat.postMessage", answer(503, "")).kind == K::kRetry);
  CHECK(classify_slack("chat.postMessage", answer(404, "")).kind == K::kPermanent);
  CHECK(classify_slack("chat.postMessage", answer(200, "<html>proxy</html>")).kind == K::kRetry);
  HttpResponse refused;
  refused.error = "Connection refused (CURLE_COULDNT_CONNECT)";
  CHECK(classify_slack("chat.postMessage", refused).kind == K::kRetry);
}

TEST_CASE("a retried archive or invite that meets its own earlier success counts as done",
          "[slack]") {
  CHECK(classify_slack("conversations.archive",
                       answer(200, R"({"ok":false,"error":"already_archived"})"))
            .kind == Outcome::Kind::kDone);
  CHECK(classify_slack("conversations.invite",
                       answer(200, R"({"ok":false,"error":"already_in_channel"})"))
            .kind == Outcome::Kind::kDone);
  CHECK(
      classify_slack("chat.postMessage", answer(200, R"({"ok":false,"error":"already_archived"})"))
          .kind == Outcome::Kind::kPermanent);
}

TEST_CASE("chat.postMessage is paced per channel and the other methods are not", "[slack]") {
  auto s = slack();
  CHECK(s.rate_key(row("slack.chat.postMessage", {{"channel", "C1"}})) == "channel:C1");
  CHECK(s.rate_key(row("slack.chat.update", {{"channel", "C1"}})).empty());
  CHECK(s.secrets() == std::vector<std::string>{"xoxb-secret"});
}

TEST_CASE("the Slack token is read from its file or environment and never quoted in errors",
          "[slack][config]") {
  reflex::testing::TempDir dir;
  SlackConfig cfg;
  cfg.enabled = true;
  cfg.token_file = dir.write("token", "xoxb-from-file\n");
  auto s = slack_settings(cfg);
  REQUIRE(s);
  CHECK(s->token == "xoxb-from-file");

  cfg.token_file = dir.file("missing");
  s = slack_settings(cfg);
  REQUIRE_FALSE(s);
  CHECK(s.status().message().find("integrations.slack.token_file") != std::string::npos);

  cfg.token_file.clear();
  cfg.token_env = "REFLEX_TEST_SLACK_TOKEN";
  ::unsetenv("REFLEX_TEST_SLACK_TOKEN");
  s = slack_settings(cfg);
  REQUIRE_FALSE(s);
  CHECK(s.status().message().find("REFLEX_TEST_SLACK_TOKEN") != std::string::npos);
  ::setenv("REFLEX_TEST_SLACK_TOKEN", "xoxb-from-env", 1);
  s = slack_settings(cfg);
  REQUIRE(s);
  CHECK(s->token == "xoxb-from-env");
  ::unsetenv("REFLEX_TEST_SLACK_TOKEN");
}

TEST_CASE("the Slack integration passes the shared integration kit against the fake Slack",
          "[slack][kit]") {
  reflex::testing::FakeSlack fake;
  hub::testing::IntegrationKitCase c;
  c.make = [&](const std::string& base) {
    return std::make_unique<SlackIntegration>(SlackSettings{
        .base_url = base, .token = fake.token(), .timeout = Millis(5000), .signing_secret = {}});
  };
  c.base_url = fake.base_url();
  c.secrets = {fake.token()};
  c.sample = {.integration = "slack",
              .operation = "slack.chat.postMessage",
              .idempotency_key = "incident-1/opened/post",
              .incident_id = 1,
              .payload = {{"channel", "C123"}, {"text", "checkout is down"}}};
  c.answer_next = [&](int status, HttpHeaders headers, std::string body) {
    fake.fail_next(1, {.status = status, .headers = std::move(headers), .body = std::move(body)});
  };
  c.check_request = [&] {
    auto got = fake.received();
    REQUIRE_FALSE(got.empty());
    const auto& last = got.back();
    CHECK(last.http_method == "POST");
    CHECK(last.method == "chat.postMessage");
    CHECK(last.authorization == "Bearer " + fake.token());
    CHECK(last.content_type == "application/json; charset=utf-8");
    json body = last.body;
    CHECK(body["metadata"]["event_type"] == "reflex_outbox");
    CHECK(body["metadata"]["event_payload"]["idempotency_key"].is_string());
    body.erase("metadata");
    CHECK(body == json{{"channel", "C123"}, {"text", "checkout is down"}});
    CHECK(last.answer["ok"] == true);
  };
  hub::testing::run_integration_kit(c);
}

TEST_CASE("every chat.postMessage carries its row's key in Slack message metadata, and only it",
          "[slack][reconcile]") {
  auto s = slack();
  // A caller's own metadata is replaced: the key is what a lookup finds the message by.
  auto post = s.prepare(row("slack.chat.postMessage",
                            {{"channel", "C1"},
                             {"text", "hi"},
                             {"metadata", {{"event_type", "other"}, {"event_payload", {}}}}}));
  REQUIRE(post);
  CHECK(json::parse(post->body)["metadata"] ==
        json{{"event_type", "reflex_outbox"}, {"event_payload", {{"idempotency_key", "k"}}}});
  for (const auto& [op, payload] : std::vector<std::pair<std::string, json>>{
           {"slack.chat.update", {{"channel", "C1"}, {"ts", "1.000100"}, {"text", "x"}}},
           {"slack.conversations.create", {{"name", "inc-1"}}},
           {"slack.conversations.archive", {{"channel", "C1"}}}}) {
    auto req = s.prepare(row(op, payload));
    REQUIRE(req);
    CHECK(json::parse(req->body) == payload);
  }
}

TEST_CASE("a Slack post is looked up in its channel's history around its times, by id only",
          "[slack][reconcile]") {
  auto s = slack();
  OutboxRow r = row("slack.chat.postMessage", {{"channel", "C1"}, {"text", "hi"}});
  r.created_ms = 1'700'000'000'000;
  r.updated_ms = 1'700'000'060'500;
  auto req = s.lookup(r);
  REQUIRE(req);
  CHECK(req->method == "GET");
  // oldest: 5 min before creation; latest: 5 min after the last attempt's timeout (2 s).
  CHECK(req->url ==
        "http://127.0.0.1:1/api/conversations.history?channel=C1&include_all_metadata=true"
        "&oldest=1699999700.000000&latest=1700000362.500000&limit=200");
  CHECK(req->headers == HttpHeaders{{"Authorization", "Bearer xoxb-secret"}});
  CHECK(req->timeout == Millis(2000));

  // A name or a user id cannot be read without resolving it; other methods are not looked up.
  CHECK_FALSE(s.lookup(row("slack.chat.postMessage", {{"channel", "#noc"}, {"text", "x"}})));
  CHECK_FALSE(s.lookup(row("slack.chat.postMessage", {{"channel", "U123"}, {"text", "x"}})));
  CHECK(s.lookup(row("slack.chat.postMessage", {{"channel", "G0PRIV"}, {"text", "x"}})));
  CHECK_FALSE(s.lookup(row("slack.chat.update", {{"channel", "C1"}, {"ts", "1.1"}})));
  CHECK_FALSE(s.lookup(row("slack.conversations.create", {{"name", "inc-1"}})));
}

TEST_CASE("Slack's history answer is found by the key in metadata, absent, or no verdict",
          "[slack][reconcile]") {
  using K = LookupOutcome::Kind;
  auto message = [](const std::string& ts, const std::string& key) {
    return json{{"type", "message"},
                {"ts", ts},
                {"metadata",
                 {{"event_type", "reflex_outbox"}, {"event_payload", {{"idempotency_key", key}}}}}};
  };
  auto history = [](json messages, bool more = false) {
    return answer(200, json{{"ok", true}, {"messages", messages}, {"has_more", more}}.dump());
  };
  auto found = classify_slack_lookup(
      "C1", "k",
      history(json::array({message("1.000300", "other"), json{{"type", "message"}, {"ts", "2"}},
                           message("1.000200", "k")})));
  CHECK(found.kind == K::kFound);
  CHECK(found.result == json{{"channel", "C1"}, {"ts", "1.000200"}});

  json wrong_type = message("1.000200", "k");
  wrong_type["metadata"]["event_type"] = "someone_else";
  CHECK(classify_slack_lookup("C1", "k", history(json::array({wrong_type}))).kind == K::kNotFound);
  CHECK(classify_slack_lookup("C1", "k", history(json::array())).kind == K::kNotFound);
  // Not on this page of a longer window: nothing can be concluded.
  auto more = classify_slack_lookup("C1", "k", history(json::array({message("1.1", "x")}), true));
  CHECK(more.kind == K::kRetry);
  // The channel does not exist: nothing was posted there.
  CHECK(classify_slack_lookup("C1", "k", answer(200, R"({"ok":false,"error":"channel_not_found"})"))
            .kind == K::kNotFound);

  auto scope = classify_slack_lookup(
      "C1", "k",
      answer(200, R"({"ok":false,"error":"missing_scope","needed":"channels:history"})"));
  CHECK(scope.kind == K::kRetry);
  CHECK(scope.error.find("channels:history") != std::string::npos);
  auto limited = classify_slack_lookup(
      "C1", "k", answer(429, R"({"ok":false,"error":"ratelimited"})", {{"Retry-After", "20"}}));
  CHECK(limited.kind == K::kRetry);
  CHECK(limited.retry_after == Millis(20'000));
  CHECK(classify_slack_lookup("C1", "k", answer(500, "")).kind == K::kRetry);
  CHECK(classify_slack_lookup("C1", "k", answer(200, "<html>")).kind == K::kRetry);
}
