// The fake Slack enforces the contract the real one documents, so tests against it mean
// something: auth answered the Slack way, required fields, channel names, faults.
#include "tests/support/fake_slack.h"

#include <httplib.h>

#include <catch2/catch.hpp>

using nlohmann::json;
using reflex::testing::FakeSlack;

namespace {

struct Call {
  int status = 0;
  json body;
  std::string retry_after;
};

Call call(FakeSlack& fake, const std::string& method, const json& body, const std::string& token,
          const std::string& type = "application/json; charset=utf-8") {
  httplib::Client c("127.0.0.1", fake.port());
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto res = c.Post("/api/" + method, headers, body.dump(), type);
  if (!res) return {};
  return {res->status, json::parse(res->body, nullptr, false),
          res->get_header_value("Retry-After")};
}

}  // namespace

TEST_CASE("the fake Slack answers auth failures with HTTP 200 and Slack's error codes",
          "[fake-slack]") {
  FakeSlack fake;
  const json msg{{"channel", "C123"}, {"text", "hi"}};
  auto none = call(fake, "chat.postMessage", msg, "");
  CHECK(none.status == 200);
  CHECK(none.body == json{{"ok", false}, {"error", "not_authed"}});
  auto wrong = call(fake, "chat.postMessage", msg, "xoxb-wrong");
  CHECK(wrong.body["error"] == "invalid_auth");
  CHECK(fake.delivered().empty());
}

TEST_CASE("the fake Slack posts, updates and checks each method's required fields",
          "[fake-slack]") {
  FakeSlack fake;
  const auto t = fake.token();
  auto posted = call(fake, "chat.postMessage", {{"channel", "#incidents"}, {"text", "hi"}}, t);
  REQUIRE(posted.body["ok"] == true);
  CHECK(posted.body["channel"] == "C123");
  CHECK(posted.body["ts"] == "1700000000.000100");
  CHECK(posted.body["message"]["text"] == "hi");
  CHECK(call(fake, "chat.postMessage", {{"channel", "C123"}}, t).body["error"] == "no_text");
  CHECK(call(fake, "chat.postMessage", {{"channel", "C999"}, {"text", "x"}}, t).body["error"] ==
        "channel_not_found");
  CHECK(call(fake, "chat.update", {{"channel", "C123"}, {"ts", "1.0"}, {"text", "x"}}, t)
            .body["error"] == "message_not_found");
  auto updated = call(fake, "chat.update",
                      {{"channel", "C123"}, {"ts", posted.body["ts"]}, {"text", "fixed"}}, t);
  CHECK(updated.body["ok"] == true);
  auto no_charset =
      call(fake, "chat.postMessage", {{"channel", "C123"}, {"text", "x"}}, t, "application/json");
  CHECK(no_charset.body["warning"] == "missing_charset");
}

TEST_CASE("the fake Slack creates channels by Slack's name rules and archives them once",
          "[fake-slack]") {
  FakeSlack fake;
  const auto t = fake.token();
  auto created = call(fake, "conversations.create", {{"name", "inc-42-checkout"}}, t);
  REQUIRE(created.body["ok"] == true);
  const std::string id = created.body["channel"]["id"];
  CHECK(call(fake, "conversations.create", {{"name", "inc-42-checkout"}}, t).body["error"] ==
        "name_taken");
  CHECK(call(fake, "conversations.create", {{"name", "Inc 42"}}, t).body["error"] ==
        "invalid_name_specials");
  CHECK(call(fake, "conversations.create", {{"name", std::string(81, 'a')}}, t).body["error"] ==
        "invalid_name_maxlength");
  CHECK(call(fake, "conversations.invite", {{"channel", id}, {"users", "U1,U2"}}, t).body["ok"] ==
        true);
  CHECK(call(fake, "conversations.invite", {{"channel", id}, {"users", "U1"}}, t).body["error"] ==
        "already_in_channel");
  CHECK(call(fake, "conversations.archive", {{"channel", id}}, t).body["ok"] == true);
  CHECK(call(fake, "conversations.archive", {{"channel", id}}, t).body["error"] ==
        "already_archived");
  CHECK(call(fake, "chat.postMessage", {{"channel", id}, {"text", "x"}}, t).body["error"] ==
        "is_archived");
}

TEST_CASE("the fake Slack can be told to rate limit, fail, and go down and come back",
          "[fake-slack]") {
  FakeSlack fake;
  const auto t = fake.token();
  const json msg{{"channel", "C123"}, {"text", "hi"}};
  fake.rate_limit_next(2, 30);
  for (int i = 0; i < 2; ++i) {
    auto limited = call(fake, "chat.postMessage", msg, t);
    CHECK(limited.status == 429);
    CHECK(limited.retry_after == "30");
  }
  fake.fail_next(1, {.status = 500, .headers = {}, .body = "boom"});
  CHECK(call(fake, "chat.postMessage", msg, t).status == 500);
  CHECK(call(fake, "chat.postMessage", msg, t).body["ok"] == true);
  fake.down();
  CHECK(call(fake, "chat.postMessage", msg, t).status == 0);
  fake.up();
  CHECK(call(fake, "chat.postMessage", msg, t).body["ok"] == true);
  CHECK(fake.received().size() == 5);
  CHECK(fake.delivered().size() == 2);
}
