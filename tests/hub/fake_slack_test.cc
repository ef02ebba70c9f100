// The fake Slack enforces the contract the real one documents, so tests against it mean
// something: auth answered the Slack way, required fields, channel names, faults.
#include "tests/support/fake_slack.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <future>

#include "tests/support/process.h"

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
  // The post's time in µs: now, on the wall clock.
  const std::string ts = posted.body["ts"];
  REQUIRE(ts.size() == 17);
  CHECK(ts[10] == '.');
  const double posted_at = std::stod(ts);
  const double now = static_cast<double>(std::time(nullptr));
  CHECK(posted_at > now - 60);
  CHECK(posted_at < now + 60);
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

TEST_CASE("the fake Slack reads a channel's history with metadata, by scope, window and limit",
          "[fake-slack]") {
  FakeSlack fake;
  const auto t = fake.token();
  auto history = [&](const std::string& query, const std::string& token) {
    httplib::Client c("127.0.0.1", fake.port());
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    auto res = c.Get("/api/conversations.history?" + query, headers);
    REQUIRE(res);
    CHECK(res->status == 200);
    return json::parse(res->body, nullptr, false);
  };
  const json meta{{"event_type", "reflex_outbox"}, {"event_payload", {{"idempotency_key", "a"}}}};
  CHECK(
      call(fake, "chat.postMessage", {{"channel", "C123"}, {"text", "one"}, {"metadata", meta}}, t)
          .body["ok"] == true);
  CHECK(call(fake, "chat.postMessage", {{"channel", "C123"}, {"text", "two"}}, t).body["ok"] ==
        true);
  CHECK(call(fake, "chat.postMessage",
             {{"channel", "C123"}, {"text", "x"}, {"metadata", {{"event_type", "e"}}}}, t)
            .body["error"] == "invalid_metadata_format");

  auto all = history("channel=C123&include_all_metadata=true", t);
  REQUIRE(all["ok"] == true);
  REQUIRE(all["messages"].size() == 2);
  CHECK(all["messages"][0]["text"] == "two");  // newest first
  CHECK(all["messages"][1]["metadata"] == meta);
  CHECK(all["has_more"] == false);
  CHECK_FALSE(history("channel=C123", t)["messages"][1].contains("metadata"));
  auto one = history("channel=C123&limit=1", t);
  CHECK(one["messages"].size() == 1);
  CHECK(one["has_more"] == true);
  // oldest and latest are exclusive unless inclusive=true.
  const std::string first = all["messages"][1]["ts"];
  CHECK(history("channel=C123&oldest=" + first, t)["messages"].size() == 1);
  CHECK(history("channel=C123&oldest=" + first + "&inclusive=true", t)["messages"].size() == 2);
  CHECK(history("channel=C123&latest=" + first, t)["messages"].empty());

  CHECK(history("channel=incidents", t)["error"] == "channel_not_found");  // ids only
  CHECK(history("channel=C123", "")["error"] == "not_authed");
  fake.set_scopes({"chat:write"});
  auto scope = history("channel=C123", t);
  CHECK(scope["error"] == "missing_scope");
  CHECK(scope["needed"] == "channels:history");
  CHECK(fake.messages("C123").size() == 2);
}

TEST_CASE("the fake Slack can apply a post and lose its answer until it goes down",
          "[fake-slack]") {
  FakeSlack fake;
  fake.lose_next_answer();
  auto lost = std::async(std::launch::async, [&] {
    return call(fake, "chat.postMessage", {{"channel", "C123"}, {"text", "hi"}}, fake.token());
  });
  REQUIRE(reflex::testing::wait_until([&] { return fake.held_answers() == 1; }));
  CHECK(fake.messages("C123").size() == 1);  // applied
  CHECK(lost.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
  fake.down();
  CHECK(lost.get().status == 0);  // no answer: the connection was closed
  CHECK(fake.received().at(0).status == 0);
  CHECK(fake.delivered().empty());
}
