// The Statuspage integration: its requests, its classification of Statuspage's answers
// (a pure function, 420 included), its key, and the shared integration kit against the
// fake Statuspage.
#include "hub/integrations/statuspage.h"

#include <catch2/catch.hpp>

#include "tests/hub/integration_kit.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_statuspage.h"

using namespace reflex;
using namespace reflex::hub;
using nlohmann::json;

namespace {

using hub::testing::answer;

OutboxRow row(const std::string& operation, json payload) {
  return hub::testing::outbox_row("statuspage", operation, std::move(payload));
}

StatuspageIntegration statuspage() {
  return StatuspageIntegration({.base_url = "http://127.0.0.1:1/v1",
                                .page_id = "page1",
                                .api_key = "sp-secret",
                                .timeout = Millis(2000)});
}

const json kIncident = {{"incident",
                         {{"name", "Elevated checkout errors"},
                          {"status", "investigating"},
                          {"body", "We are looking into it."},
                          {"impact_override", "major"},
                          {"component_ids", {"8kbf7d35c070"}}}}};

}  // namespace

TEST_CASE("a Statuspage incident is POSTed to the page with the OAuth key in the header only",
          "[statuspage]") {
  auto req = statuspage().prepare(row("statuspage.create_incident", kIncident));
  REQUIRE(req);
  CHECK(req->method == "POST");
  CHECK(req->url == "http://127.0.0.1:1/v1/pages/page1/incidents");
  CHECK(req->headers == HttpHeaders{{"Authorization", "OAuth sp-secret"},
                                    {"Content-Type", "application/json"},
                                    {"Accept", "application/json"}});
  CHECK(json::parse(req->body) == kIncident);
  CHECK(req->url.find("sp-secret") == std::string::npos);
  CHECK(req->timeout == Millis(2000));
}

TEST_CASE("a Statuspage update PATCHes the incident with only the incident object",
          "[statuspage]") {
  auto req = statuspage().prepare(
      row("statuspage.update_incident",
          {{"incident_id", "abc"}, {"incident", {{"status", "resolved"}, {"body", "fixed"}}}}));
  REQUIRE(req);
  CHECK(req->method == "PATCH");
  CHECK(req->url == "http://127.0.0.1:1/v1/pages/page1/incidents/abc");
  CHECK(json::parse(req->body) == json{{"incident", {{"status", "resolved"}, {"body", "fixed"}}}});
}

TEST_CASE("a Statuspage payload without a required field is refused naming it", "[statuspage]") {
  auto s = statuspage();
  auto check = [&](const std::string& op, json payload, const std::string& field) {
    auto req = s.prepare(row(op, std::move(payload)));
    REQUIRE_FALSE(req);
    INFO(req.status().message());
    CHECK(req.status().message().find(field) != std::string::npos);
  };
  check("statuspage.create_incident", json::object(), "payload.incident");
  check("statuspage.create_incident", {{"incident", {{"status", "investigating"}}}},
        "payload.incident.name");
  check("statuspage.create_incident", {{"incident", {{"name", "x"}}}}, "payload.incident.status");
  check("statuspage.create_incident",
        {{"incident", {{"name", "x"}, {"status", "identified"}, {"component_ids", "c1"}}}},
        "payload.incident.component_ids");
  check("statuspage.update_incident", {{"incident", {{"status", "resolved"}}}},
        "payload.incident_id");
  check("statuspage.update_incident", {{"incident_id", "abc"}}, "payload.incident");
  check("statuspage.delete_incident", kIncident, "unknown operation");
}

TEST_CASE("Statuspage's answers are classified done, retry or permanent", "[statuspage]") {
  using K = Outcome::Kind;
  auto created = classify_statuspage(
      "statuspage.create_incident",
      answer(201,
             R"({"id":"p31zjtct2jer","shortlink":"http://stspg.io/x","status":"investigating"})"));
  CHECK(created.kind == K::kDone);
  CHECK(created.result == json{{"id", "p31zjtct2jer"}, {"shortlink", "http://stspg.io/x"}});
  auto no_link = classify_statuspage("statuspage.create_incident", answer(201, R"({"id":"a"})"));
  CHECK(no_link.result == json{{"id", "a"}});
  auto updated = classify_statuspage("statuspage.update_incident",
                                     answer(200, R"({"id":"a","shortlink":"http://stspg.io/x"})"));
  CHECK(updated.kind == K::kDone);
  CHECK(updated.result == json{{"id", "a"}});

  for (int status : {420, 429}) {
    INFO(status);
    auto o = classify_statuspage("statuspage.update_incident",
                                 answer(status, "", {{"Retry-After", "60"}}));
    CHECK(o.kind == K::kRetry);
    CHECK(o.retry_after == Millis(60'000));
  }
  CHECK(classify_statuspage("statuspage.update_incident", answer(420, "")).retry_after ==
        std::nullopt);
  for (int status : {408, 500, 503}) {
    INFO(status);
    CHECK(classify_statuspage("statuspage.create_incident", answer(status, "")).kind == K::kRetry);
  }
  HttpResponse refused;
  refused.error = "Connection refused (CURLE_COULDNT_CONNECT)";
  CHECK(classify_statuspage("statuspage.create_incident", refused).kind == K::kRetry);

  // The error text: the documented ErrorEntity "message", or "error" (a string or list).
  auto entity = classify_statuspage("statuspage.create_incident",
                                    answer(422, R"({"message":"Name can't be blank"})"));
  CHECK(entity.kind == K::kPermanent);
  CHECK(entity.error == "statuspage statuspage.create_incident: HTTP 422: Name can't be blank");
  CHECK(classify_statuspage("statuspage.create_incident",
                            answer(400, R"({"error":["Name can't be blank","Status is bad"]})"))
            .error.find("Name can't be blank; Status is bad") != std::string::npos);
  auto auth = classify_statuspage("statuspage.update_incident",
                                  answer(401, R"({"error":"Could not authenticate"})"));
  CHECK(auth.kind == K::kPermanent);
  CHECK(auth.error.find("Could not authenticate") != std::string::npos);
  CHECK(auth.error.find("token_file") != std::string::npos);
  for (int status : {403, 404}) {
    CHECK(classify_statuspage("statuspage.update_incident", answer(status, "")).kind ==
          K::kPermanent);
  }
  CHECK(classify_statuspage("statuspage.create_incident", answer(201, "<html/>")).kind ==
        K::kPermanent);
}

TEST_CASE("the Statuspage key is read from its file or environment", "[statuspage][config]") {
  reflex::testing::TempDir dir;
  StatuspageConfig cfg;
  cfg.enabled = true;
  cfg.page_id = "page1";
  cfg.token_file = dir.write("key", "sp-from-file\n");
  auto s = statuspage_settings(cfg);
  REQUIRE(s);
  CHECK(s->api_key == "sp-from-file");
  CHECK(s->page_id == "page1");
  CHECK(s->base_url == "https://api.statuspage.io/v1/");
  cfg.token_file = dir.file("missing");
  s = statuspage_settings(cfg);
  REQUIRE_FALSE(s);
  CHECK(s.status().message().find("integrations.statuspage.token_file") != std::string::npos);
}

TEST_CASE("the Statuspage integration passes the shared integration kit against the fake",
          "[statuspage][kit]") {
  reflex::testing::FakeStatuspage fake;
  hub::testing::IntegrationKitCase c;
  c.make = [&](const std::string& base) {
    return std::make_unique<StatuspageIntegration>(StatuspageSettings{.base_url = base + "v1/",
                                                                      .page_id = fake.page_id(),
                                                                      .api_key = fake.api_key(),
                                                                      .timeout = Millis(5000)});
  };
  c.base_url = "http://127.0.0.1:" + std::to_string(fake.port()) + "/";
  c.secrets = {fake.api_key()};
  c.sample = {.integration = "statuspage",
              .operation = "statuspage.create_incident",
              .idempotency_key = "incident-1/opened/statuspage",
              .incident_id = 1,
              .payload = kIncident};
  c.answer_next = [&](int status, HttpHeaders headers, std::string body) {
    fake.fail_next(1, {.status = status, .headers = std::move(headers), .body = std::move(body)});
  };
  c.check_request = [&] {
    auto got = fake.received();
    REQUIRE_FALSE(got.empty());
    const auto& last = got.back();
    CHECK(last.request.method == "POST");
    CHECK(last.request.path == "/v1/pages/" + fake.page_id() + "/incidents");
    CHECK(last.request.body == kIncident);
    CHECK(last.status == 201);
    REQUIRE(fake.incidents().size() == 1);
    CHECK(fake.incidents()[0].impact == "major");
  };
  hub::testing::run_integration_kit(c);
}

TEST_CASE("Statuspage calls through the outbox open an incident and resolve it",
          "[statuspage][outbox]") {
  reflex::testing::FakeStatuspage fake;
  hub::testing::OutboxHarness h([&](Outbox& o) {
    o.add_integration(
        std::make_unique<StatuspageIntegration>(StatuspageSettings{.base_url = fake.base_url(),
                                                                   .page_id = fake.page_id(),
                                                                   .api_key = fake.api_key(),
                                                                   .timeout = Millis(5000)}),
        {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
  });
  auto created = h.enqueue({.integration = "statuspage",
                            .operation = "statuspage.create_incident",
                            .idempotency_key = "open",
                            .incident_id = 3,
                            .payload = kIncident});
  REQUIRE(created);
  REQUIRE(h.wait_state(created->id, OutboxState::kDone));
  const json result = h.row(created->id).result;
  REQUIRE(result.contains("id"));
  CHECK(result.contains("shortlink"));

  // 420, Statuspage's old rate-limit answer, is waited out like 429.
  fake.rate_limit_next(1, 420, 2);
  auto resolved =
      h.enqueue({.integration = "statuspage",
                 .operation = "statuspage.update_incident",
                 .idempotency_key = "resolve",
                 .incident_id = 3,
                 .payload = {{"incident_id", result["id"]},
                             {"incident", {{"status", "resolved"}, {"body", "All clear."}}}}});
  REQUIRE(resolved);
  REQUIRE(h.wait_attempt(resolved->id, OutboxState::kPending, 1));
  CHECK(h.row(resolved->id).next_attempt_ms == h.now_ms() + 2000);
  h.advance(Millis(2000));
  REQUIRE(h.wait_state(resolved->id, OutboxState::kDone));
  CHECK(h.row(resolved->id).result == json{{"id", result["id"]}});
  auto incidents = fake.incidents();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].status == "resolved");
  CHECK(incidents[0].updates.back() ==
        std::pair<std::string, std::string>{"resolved", "All clear."});
}
