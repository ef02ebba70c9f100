// The Dynatrace integration: its comment request (the problem id URL-encoded), its
// classification of Dynatrace's answers (a pure function), its token, and the shared
// integration kit against the fake Dynatrace.
#include "hub/integrations/dynatrace.h"

#include <catch2/catch.hpp>

#include "tests/hub/integration_kit.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_dynatrace.h"

using namespace reflex;
using namespace reflex::hub;
using nlohmann::json;

namespace {

using hub::testing::answer;

OutboxRow row(json payload, const std::string& operation = "dynatrace.comment") {
  return hub::testing::outbox_row("dynatrace", operation, std::move(payload));
}

DynatraceIntegration dynatrace() {
  return DynatraceIntegration({.base_url = "http://127.0.0.1:1/e/env1",
                               .token = "dt0c01.PUB.SECRET",
                               .timeout = Millis(2000)});
}

const json kComment = {
    {"problem_id", "-123_456V2"}, {"message", "Reflex incident 42 opened"}, {"context", "Reflex"}};

}  // namespace

TEST_CASE("a Dynatrace comment is POSTed to the problem with the Api-Token header", "[dynatrace]") {
  auto req = dynatrace().prepare(row(kComment));
  REQUIRE(req);
  CHECK(req->method == "POST");
  CHECK(req->url == "http://127.0.0.1:1/e/env1/api/v2/problems/-123_456V2/comments");
  CHECK(req->headers == HttpHeaders{{"Authorization", "Api-Token dt0c01.PUB.SECRET"},
                                    {"Content-Type", "application/json; charset=utf-8"},
                                    {"Accept", "application/json"}});
  CHECK(json::parse(req->body) ==
        json{{"message", "Reflex incident 42 opened"}, {"context", "Reflex"}});
  CHECK(req->timeout == Millis(2000));

  auto encoded = dynatrace().prepare(row({{"problem_id", "a/b c?"}, {"message", "m"}}));
  REQUIRE(encoded);
  CHECK(encoded->url == "http://127.0.0.1:1/e/env1/api/v2/problems/a%2Fb%20c%3F/comments");
  CHECK(json::parse(encoded->body) == json{{"message", "m"}});
}

TEST_CASE("a Dynatrace payload without a required field is refused naming it", "[dynatrace]") {
  auto d = dynatrace();
  auto check = [&](json payload, const std::string& field,
                   const std::string& op = "dynatrace.comment") {
    auto req = d.prepare(row(std::move(payload), op));
    REQUIRE_FALSE(req);
    INFO(req.status().message());
    CHECK(req.status().message().find(field) != std::string::npos);
  };
  check({{"message", "m"}}, "payload.problem_id");
  check({{"problem_id", "p"}}, "payload.message");
  check({{"problem_id", "p"}, {"message", ""}}, "payload.message");
  check({{"problem_id", "p"}, {"message", "m"}, {"context", 4}}, "payload.context");
  check(kComment, "unknown operation", "dynatrace.close");
}

TEST_CASE("Dynatrace's answers are classified done, retry or permanent", "[dynatrace]") {
  using K = Outcome::Kind;
  for (int status : {200, 201, 204}) {
    INFO(status);
    CHECK(classify_dynatrace(answer(status, "")).kind == K::kDone);
  }
  CHECK(classify_dynatrace(answer(201, R"({"id":"c1","content":"x"})")).result ==
        json{{"id", "c1"}});
  CHECK(classify_dynatrace(answer(201, "")).result == json::object());
  for (int status : {408, 429, 500, 503}) {
    INFO(status);
    CHECK(classify_dynatrace(answer(status, "")).kind == K::kRetry);
  }
  HttpResponse refused;
  refused.error = "Connection refused (CURLE_COULDNT_CONNECT)";
  CHECK(classify_dynatrace(refused).kind == K::kRetry);
  auto violated = classify_dynatrace(
      answer(400, R"({"error":{"code":400,"message":"Constraints violated.","constraintViolations":
             [{"path":"message","message":"must not be empty","parameterLocation":"PAYLOAD_BODY"}]}})"));
  CHECK(violated.kind == K::kPermanent);
  CHECK(violated.error ==
        "dynatrace dynatrace.comment: HTTP 400: Constraints violated.; message: must not be empty");
  auto scope = classify_dynatrace(answer(403, R"({"error":{"code":403,"message":"Forbidden"}})"));
  CHECK(scope.kind == K::kPermanent);
  CHECK(scope.error.find("problems.write") != std::string::npos);
  for (int status : {401, 404}) {
    CHECK(classify_dynatrace(answer(status, "")).kind == K::kPermanent);
  }
}

TEST_CASE("the Dynatrace token is read from its file or environment", "[dynatrace][config]") {
  reflex::testing::TempDir dir;
  DynatraceConfig cfg;
  cfg.enabled = true;
  cfg.base_url = "https://abc12345.live.dynatrace.com/";
  cfg.token_file = dir.write("token", " dt0c01.A.B \n");
  auto s = dynatrace_settings(cfg);
  REQUIRE(s);
  CHECK(s->token == "dt0c01.A.B");
  cfg.token_file = dir.file("missing");
  s = dynatrace_settings(cfg);
  REQUIRE_FALSE(s);
  CHECK(s.status().message().find("integrations.dynatrace.token_file") != std::string::npos);
}

TEST_CASE("the Dynatrace integration passes the shared integration kit against the fake",
          "[dynatrace][kit]") {
  reflex::testing::FakeDynatrace fake;
  hub::testing::IntegrationKitCase c;
  c.make = [&](const std::string& base) {
    return std::make_unique<DynatraceIntegration>(
        DynatraceSettings{.base_url = base, .token = fake.token(), .timeout = Millis(5000)});
  };
  c.base_url = fake.base_url();
  c.secrets = {fake.token()};
  c.sample = {.integration = "dynatrace",
              .operation = "dynatrace.comment",
              .idempotency_key = "incident-42/dynatrace",
              .incident_id = 42,
              .payload = kComment};
  c.answer_next = [&](int status, HttpHeaders headers, std::string body) {
    fake.fail_next(1, {.status = status, .headers = std::move(headers), .body = std::move(body)});
  };
  c.check_request = [&] {
    auto got = fake.received();
    REQUIRE_FALSE(got.empty());
    const auto& last = got.back();
    CHECK(last.request.method == "POST");
    CHECK(last.request.path == "/api/v2/problems/-123_456V2/comments");
    CHECK(last.status == 201);
    auto comments = fake.comments("-123_456V2");
    REQUIRE(comments.size() == 1);
    CHECK(comments[0].message == "Reflex incident 42 opened");
    CHECK(comments[0].context == "Reflex");
  };
  hub::testing::run_integration_kit(c);
}

TEST_CASE("a Dynatrace comment on an unknown problem is a dead letter saying so",
          "[dynatrace][outbox]") {
  reflex::testing::FakeDynatrace fake;
  hub::testing::OutboxHarness h([&](Outbox& o) {
    o.add_integration(
        std::make_unique<DynatraceIntegration>(DynatraceSettings{
            .base_url = fake.base_url(), .token = fake.token(), .timeout = Millis(5000)}),
        {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
  });
  auto r = h.enqueue({.integration = "dynatrace",
                      .operation = "dynatrace.comment",
                      .idempotency_key = "unknown-problem",
                      .incident_id = 1,
                      .payload = {{"problem_id", "P-404"}, {"message", "m"}}});
  REQUIRE(r);
  REQUIRE(h.wait_state(r->id, OutboxState::kDead));
  const std::string error = h.row(r->id).last_error;
  CHECK(error.find("HTTP 404") != std::string::npos);
  CHECK(error.find("P-404 was not found") != std::string::npos);
}
