// The fake Dynatrace enforces the Problems API v2 contract for comments: the Api-Token
// header, the ErrorEnvelope shape, the required message, unknown problems.
#include "tests/support/fake_dynatrace.h"

#include <httplib.h>

#include <catch2/catch.hpp>

using nlohmann::json;
using reflex::testing::FakeDynatrace;

namespace {

struct Call {
  int status = 0;
  json body;
};

Call call(FakeDynatrace& fake, const std::string& path, const json& body,
          const std::string& authorization) {
  httplib::Client c("127.0.0.1", fake.port());
  httplib::Headers headers;
  if (!authorization.empty()) headers.emplace("Authorization", authorization);
  auto res = body.is_null() ? c.Get(path, headers)
                            : c.Post(path, headers, body.dump(), "application/json");
  if (!res) return {};
  return {res->status, json::parse(res->body, nullptr, false)};
}

const std::string kPath = "/api/v2/problems/-123_456V2/comments";

}  // namespace

TEST_CASE("the fake Dynatrace requires its Api-Token and answers with an ErrorEnvelope",
          "[fake-dynatrace]") {
  FakeDynatrace fake;
  auto none = call(fake, kPath, {{"message", "m"}}, "");
  CHECK(none.status == 401);
  CHECK(none.body["error"]["code"] == 401);
  CHECK(none.body["error"]["message"].is_string());
  CHECK(call(fake, kPath, {{"message", "m"}}, "Bearer " + fake.token()).status == 401);
  CHECK(fake.comments("-123_456V2").empty());
}

TEST_CASE("the fake Dynatrace comments on known problems and names a missing message",
          "[fake-dynatrace]") {
  FakeDynatrace fake;
  const std::string a = "Api-Token " + fake.token();
  auto missing = call(fake, kPath, {{"context", "c"}}, a);
  CHECK(missing.status == 400);
  CHECK(missing.body["error"]["constraintViolations"][0]["path"] == "message");
  CHECK(call(fake, "/api/v2/problems/nope/comments", {{"message", "m"}}, a).status == 404);
  auto ok = call(fake, kPath, {{"message", "m"}, {"context", "Reflex incident 1"}}, a);
  CHECK(ok.status == 201);
  fake.add_problem("7_8V2");
  CHECK(call(fake, "/api/v2/problems/7_8V2/comments", {{"message", "n"}}, a).status == 201);
  auto problem = call(fake, "/api/v2/problems/-123_456V2", nullptr, a);
  CHECK(problem.body["recentComments"]["comments"][0]["content"] == "m");
  CHECK(fake.comments("-123_456V2").size() == 1);
  CHECK(fake.comments("7_8V2").size() == 1);
}

TEST_CASE("the fake Dynatrace can be told to throttle, and go down and come back",
          "[fake-dynatrace]") {
  FakeDynatrace fake;
  const std::string a = "Api-Token " + fake.token();
  fake.fail_next(1, {.status = 429, .headers = {}, .body = ""});
  CHECK(call(fake, kPath, {{"message", "m"}}, a).status == 429);
  fake.down();
  CHECK(call(fake, kPath, {{"message", "m"}}, a).status == 0);
  fake.up();
  CHECK(call(fake, kPath, {{"message", "m"}}, a).status == 201);
  CHECK(fake.comments("-123_456V2").size() == 1);
}
