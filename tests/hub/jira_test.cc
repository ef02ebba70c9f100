// The Jira integration: its requests, its classification of Jira's answers (a pure
// function), its token, and the shared integration kit against the fake Jira.
#include "hub/integrations/jira.h"

#include <catch2/catch.hpp>

#include "hub/integrations/vendor_http.h"
#include "tests/hub/integration_kit.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_jira.h"

using namespace reflex;
using namespace reflex::hub;
using nlohmann::json;

namespace {

using hub::testing::answer;

OutboxRow row(const std::string& operation, json payload) {
  return hub::testing::outbox_row("jira", operation, std::move(payload));
}

JiraIntegration jira(const std::string& user = "ops@example.com") {
  return JiraIntegration({.base_url = "http://127.0.0.1:1/jira",
                          .user = user,
                          .token = "jira-secret",
                          .timeout = Millis(2000)});
}

const json kIssue = {{"fields",
                      {{"project", {{"key", "OPS"}}},
                       {"summary", "checkout is down"},
                       {"issuetype", {{"name", "Incident"}}},
                       {"description", "since 10:00"},
                       {"priority", {{"name", "High"}}}}}};

std::string header(const HttpRequest& req, const std::string& name) {
  for (const auto& [k, v] : req.headers) {
    if (k == name) return v;
  }
  return "";
}

}  // namespace

TEST_CASE("a Jira issue is created with Jira's own body and Basic auth of user and token",
          "[jira]") {
  auto req = jira().prepare(row("jira.create_issue", kIssue));
  REQUIRE(req);
  CHECK(req->method == "POST");
  CHECK(req->url == "http://127.0.0.1:1/jira/rest/api/2/issue");
  CHECK(header(*req, "Authorization") == "Basic " + base64_encode("ops@example.com:jira-secret"));
  CHECK(header(*req, "Content-Type") == "application/json");
  CHECK(header(*req, "Accept") == "application/json");
  json labelled = kIssue;
  labelled["fields"]["labels"] = {jira_label("k")};
  CHECK(json::parse(req->body) == labelled);
  CHECK(req->body.find("jira-secret") == std::string::npos);
  CHECK(req->timeout == Millis(2000));
}

TEST_CASE("without a user the Jira token is sent as a Bearer token (Data Center)", "[jira]") {
  auto req = jira("").prepare(row("jira.comment", {{"issue", "OPS-1"}, {"body", "hi"}}));
  REQUIRE(req);
  CHECK(header(*req, "Authorization") == "Bearer jira-secret");
  CHECK(jira("").secrets() == std::vector<std::string>{"jira-secret"});
  CHECK(jira().secrets() ==
        std::vector<std::string>{"jira-secret", base64_encode("ops@example.com:jira-secret")});
}

TEST_CASE("a Jira comment and a transition go to the issue's URL in Jira's shapes", "[jira]") {
  auto comment = jira().prepare(row("jira.comment", {{"issue", "OPS-1"}, {"body", "mitigated"}}));
  REQUIRE(comment);
  CHECK(comment->url == "http://127.0.0.1:1/jira/rest/api/2/issue/OPS-1/comment");
  CHECK(json::parse(comment->body) == json{{"body", "mitigated"}});

  auto plain = jira().prepare(row("jira.transition", {{"issue", "OPS-1"}, {"transition", "31"}}));
  REQUIRE(plain);
  CHECK(plain->url == "http://127.0.0.1:1/jira/rest/api/2/issue/OPS-1/transitions");
  CHECK(json::parse(plain->body) == json{{"transition", {{"id", "31"}}}});

  auto with_comment = jira().prepare(row(
      "jira.transition", {{"issue", "OPS 1/x"}, {"transition", "31"}, {"comment", "resolved"}}));
  REQUIRE(with_comment);
  CHECK(with_comment->url == "http://127.0.0.1:1/jira/rest/api/2/issue/OPS%201%2Fx/transitions");
  CHECK(json::parse(with_comment->body) == json::parse(R"({"transition": {"id": "31"},
                        "update": {"comment": [{"add": {"body": "resolved"}}]}})"));
}

TEST_CASE("a Jira payload without a required field is refused naming it", "[jira]") {
  auto j = jira();
  auto check = [&](const std::string& op, json payload, const std::string& field) {
    auto req = j.prepare(row(op, std::move(payload)));
    REQUIRE_FALSE(req);
    INFO(req.status().message());
    CHECK(req.status().message().find(field) != std::string::npos);
  };
  check("jira.create_issue", json::object(), "payload.fields");
  json no_summary = kIssue;
  no_summary["fields"].erase("summary");
  check("jira.create_issue", no_summary, "payload.fields.summary");
  json no_project = kIssue;
  no_project["fields"]["project"] = json::object();
  check("jira.create_issue", no_project, "payload.fields.project.key");
  json no_type = kIssue;
  no_type["fields"].erase("issuetype");
  check("jira.create_issue", no_type, "payload.fields.issuetype");
  check("jira.comment", {{"body", "x"}}, "payload.issue");
  check("jira.comment", {{"issue", "OPS-1"}}, "payload.body");
  check("jira.transition", {{"issue", "OPS-1"}}, "payload.transition");
  check("jira.transition", {{"issue", "OPS-1"}, {"transition", 31}}, "payload.transition");
  check("jira.transition", {{"issue", "OPS-1"}, {"transition", "31"}, {"comment", 5}},
        "payload.comment");
  check("jira.delete_issue", {{"issue", "OPS-1"}}, "unknown operation");
}

TEST_CASE("Jira's answers are classified done, retry or permanent", "[jira]") {
  using K = Outcome::Kind;
  auto created = classify_jira("jira.create_issue", 1,
                               answer(201, R"({"id":"10001","key":"OPS-1","self":"x"})"));
  CHECK(created.kind == K::kDone);
  CHECK(created.result == json{{"key", "OPS-1"}, {"id", "10001"}});
  auto commented = classify_jira("jira.comment", 1, answer(201, R"({"id":"10100","body":"x"})"));
  CHECK(commented.kind == K::kDone);
  CHECK(commented.result == json{{"id", "10100"}});
  auto moved = classify_jira("jira.transition", 1, answer(204, ""));
  CHECK(moved.kind == K::kDone);
  CHECK(moved.result == json::object());

  auto limited = classify_jira(
      "jira.comment", 1,
      answer(429, R"({"errorMessages":["Rate limit exceeded."]})", {{"Retry-After", "12"}}));
  CHECK(limited.kind == K::kRetry);
  CHECK(limited.retry_after == Millis(12'000));
  auto busy = classify_jira("jira.comment", 1, answer(503, "", {{"Retry-After", "3"}}));
  CHECK(busy.kind == K::kRetry);
  CHECK(busy.retry_after == Millis(3000));
  for (int status : {408, 500, 502, 504}) {
    INFO(status);
    auto o = classify_jira("jira.create_issue", 1, answer(status, "<html>oops</html>"));
    CHECK(o.kind == K::kRetry);
    CHECK(o.retry_after == std::nullopt);
  }
  HttpResponse refused;
  refused.error = "Connection refused (CURLE_COULDNT_CONNECT)";
  CHECK(classify_jira("jira.comment", 1, refused).kind == K::kRetry);

  auto invalid = classify_jira(
      "jira.create_issue", 1,
      answer(400, R"({"errorMessages":[],"errors":{"summary":"You must specify a summary."}})"));
  CHECK(invalid.kind == K::kPermanent);
  CHECK(invalid.error == "jira jira.create_issue: HTTP 400: summary: You must specify a summary.");
  auto missing = classify_jira(
      "jira.comment", 1,
      answer(404, R"({"errorMessages":["Issue does not exist or you do not have permission."]})"));
  CHECK(missing.kind == K::kPermanent);
  CHECK(missing.error.find("Issue does not exist") != std::string::npos);
  for (int status : {401, 403, 404, 415, 422}) {
    INFO(status);
    CHECK(classify_jira("jira.transition", 1, answer(status, "")).kind == K::kPermanent);
  }
  CHECK(classify_jira("jira.create_issue", 1, answer(401, "")).error.find("token_file") !=
        std::string::npos);
}

TEST_CASE("a Jira transition meeting a concurrent update is retried once, then given up",
          "[jira]") {
  const auto conflict = answer(409, R"({"errorMessages":["conflict"]})");
  CHECK(classify_jira("jira.transition", 1, conflict).kind == Outcome::Kind::kRetry);
  CHECK(classify_jira("jira.transition", 2, conflict).kind == Outcome::Kind::kPermanent);
  CHECK(classify_jira("jira.comment", 1, conflict).kind == Outcome::Kind::kPermanent);
}

TEST_CASE("a Jira create answered without the issue's key is not retried", "[jira]") {
  auto o = classify_jira("jira.create_issue", 1, answer(201, "<html>proxy</html>"));
  CHECK(o.kind == Outcome::Kind::kPermanent);
  CHECK(o.error.find("may have been created") != std::string::npos);
}

TEST_CASE("the Jira token is read from its file or environment and never quoted in errors",
          "[jira][config]") {
  reflex::testing::TempDir dir;
  JiraConfig cfg;
  cfg.enabled = true;
  cfg.base_url = "https://example.atlassian.net/";
  cfg.user = "ops@example.com";
  cfg.token_file = dir.write("token", "jira-from-file\n");
  auto s = jira_settings(cfg);
  REQUIRE(s);
  CHECK(s->token == "jira-from-file");
  CHECK(s->user == "ops@example.com");

  cfg.token_file = dir.write("empty", "\n");
  s = jira_settings(cfg);
  REQUIRE_FALSE(s);
  CHECK(s.status().message().find("integrations.jira.token_file") != std::string::npos);

  cfg.token_file.clear();
  cfg.token_env = "REFLEX_TEST_JIRA_TOKEN";
  ::unsetenv("REFLEX_TEST_JIRA_TOKEN");
  s = jira_settings(cfg);
  REQUIRE_FALSE(s);
  CHECK(s.status().message().find("integrations.jira.token_env") != std::string::npos);
  ::setenv("REFLEX_TEST_JIRA_TOKEN", "jira-from-env", 1);
  s = jira_settings(cfg);
  REQUIRE(s);
  CHECK(s->token == "jira-from-env");
  ::setenv("REFLEX_TEST_JIRA_TOKEN", "two\nlines", 1);
  s = jira_settings(cfg);
  REQUIRE_FALSE(s);
  CHECK(s.status().message().find("two") == std::string::npos);
  ::unsetenv("REFLEX_TEST_JIRA_TOKEN");
}

TEST_CASE("the Jira integration passes the shared integration kit against the fake Jira",
          "[jira][kit]") {
  reflex::testing::FakeJira fake;
  hub::testing::IntegrationKitCase c;
  c.make = [&](const std::string& base) {
    return std::make_unique<JiraIntegration>(JiraSettings{
        .base_url = base, .user = fake.user(), .token = fake.token(), .timeout = Millis(5000)});
  };
  c.base_url = fake.base_url();
  c.secrets = {fake.token(), base64_encode(fake.user() + ":" + fake.token())};
  c.sample = {.integration = "jira",
              .operation = "jira.create_issue",
              .idempotency_key = "incident-1/opened/jira",
              .incident_id = 1,
              .payload = kIssue};
  c.answer_next = [&](int status, HttpHeaders headers, std::string body) {
    fake.fail_next(1, {.status = status, .headers = std::move(headers), .body = std::move(body)});
  };
  c.check_request = [&] {
    auto got = fake.received();
    REQUIRE_FALSE(got.empty());
    const auto& last = got.back();
    CHECK(last.request.method == "POST");
    CHECK(last.request.path == "/rest/api/2/issue");
    // The kit varies the row's key, and so the label.
    json body = last.request.body;
    REQUIRE(body["fields"]["labels"].size() == 1);
    CHECK(body["fields"]["labels"][0].get<std::string>().rfind("reflex-", 0) == 0);
    body["fields"].erase("labels");
    CHECK(body == kIssue);
    CHECK(last.status == 201);
    CHECK(last.answer["key"] == "OPS-1");
    REQUIRE(fake.issue("OPS-1"));
    CHECK(fake.issue("OPS-1")->summary == "checkout is down");
  };
  hub::testing::run_integration_kit(c);
}

TEST_CASE("Jira calls through the outbox create, comment on and resolve an issue",
          "[jira][outbox]") {
  reflex::testing::FakeJira fake("dc-personal-access-token", "");
  hub::testing::OutboxHarness h([&](Outbox& o) {
    o.add_integration(std::make_unique<JiraIntegration>(JiraSettings{.base_url = fake.base_url(),
                                                                     .user = "",
                                                                     .token = fake.token(),
                                                                     .timeout = Millis(5000)}),
                      {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
  });
  auto send = [&](const std::string& key, const std::string& op, json payload) {
    auto r = h.enqueue({.integration = "jira",
                        .operation = op,
                        .idempotency_key = key,
                        .incident_id = 7,
                        .payload = std::move(payload)});
    REQUIRE(r);
    REQUIRE(h.wait_state(r->id, OutboxState::kDone));
    return h.row(r->id).result;
  };
  CHECK(send("create", "jira.create_issue", kIssue) == json{{"key", "OPS-1"}, {"id", "10001"}});
  CHECK(send("comment", "jira.comment", {{"issue", "OPS-1"}, {"body", "rolled back"}})
            .contains("id"));
  CHECK(send("resolve", "jira.transition",
             {{"issue", "OPS-1"}, {"transition", "31"}, {"comment", "resolved by reflex"}}) ==
        json::object());
  auto issue = fake.issue("OPS-1");
  REQUIRE(issue);
  CHECK(issue->status == "Done");
  CHECK(issue->comments == std::vector<std::string>{"rolled back", "resolved by reflex"});

  // Jira's refusal is kept in the row, in Jira's words.
  auto bad = h.enqueue({.integration = "jira",
                        .operation = "jira.transition",
                        .idempotency_key = "bad-transition",
                        .incident_id = 7,
                        .payload = {{"issue", "OPS-1"}, {"transition", "99"}}});
  REQUIRE(bad);
  REQUIRE(h.wait_state(bad->id, OutboxState::kDead));
  CHECK(h.row(bad->id).last_error.find("Transition id '99' is not valid") != std::string::npos);
}

TEST_CASE("a Jira create carries a short label derived from its row's key, besides its own",
          "[jira][reconcile]") {
  // FNV-1a 64 of the key, in hex: fixed, so issues made by any hub carry the same label.
  CHECK(jira_label("incident-7/ticket") == "reflex-c3e6c938cdc9d9a8");
  CHECK(jira_label("") == "reflex-cbf29ce484222325");
  CHECK(jira_label("incident-7/ticket") != jira_label("incident-7/ticket2"));

  json own = kIssue;
  own["fields"]["labels"] = {"sev1"};
  OutboxRow r = row("jira.create_issue", own);
  r.idempotency_key = "incident-7/ticket";
  auto req = jira().prepare(r);
  REQUIRE(req);
  CHECK(json::parse(req->body)["fields"]["labels"] == json{"sev1", "reflex-c3e6c938cdc9d9a8"});

  own["fields"]["labels"] = "sev1";
  auto bad = jira().prepare(row("jira.create_issue", own));
  REQUIRE_FALSE(bad);
  CHECK(bad.status().message().find("payload.fields.labels") != std::string::npos);
  // Comments and transitions are sent as they are.
  auto comment = jira().prepare(row("jira.comment", {{"issue", "OPS-1"}, {"body", "hi"}}));
  REQUIRE(comment);
  CHECK(json::parse(comment->body) == json{{"body", "hi"}});
}

TEST_CASE("a Jira create is looked up by a JQL search on its label, Cloud and Data Center",
          "[jira][reconcile]") {
  OutboxRow r = row("jira.create_issue", kIssue);
  r.idempotency_key = "incident-7/ticket";
  auto cloud = jira().lookup(r);
  REQUIRE(cloud);
  CHECK(cloud->method == "GET");
  CHECK(cloud->url ==
        "http://127.0.0.1:1/jira/rest/api/2/search/"
        "jql?jql=labels%20%3D%20%22reflex-c3e6c938cdc9d9a8%22&fields=summary&maxResults=2");
  CHECK(header(*cloud, "Authorization") == "Basic " + base64_encode("ops@example.com:jira-secret"));
  auto dc = jira("").lookup(r);
  REQUIRE(dc);
  CHECK(dc->url ==
        "http://127.0.0.1:1/jira/rest/api/2/"
        "search?jql=labels%20%3D%20%22reflex-c3e6c938cdc9d9a8%22&fields=summary&maxResults=2");
  CHECK(header(*dc, "Authorization") == "Bearer jira-secret");
  CHECK_FALSE(jira().lookup(row("jira.comment", {{"issue", "OPS-1"}, {"body", "hi"}})));
  CHECK_FALSE(jira().lookup(row("jira.transition", {{"issue", "OPS-1"}, {"transition", "31"}})));
}

TEST_CASE("Jira's search answer is found, absent, or no verdict", "[jira][reconcile]") {
  using K = LookupOutcome::Kind;
  auto found = classify_jira_lookup(answer(
      200,
      R"({"issues":[{"id":"10004","key":"OPS-4","self":"http://j/rest/api/2/issue/10004"}],"isLast":true})"));
  CHECK(found.kind == K::kFound);
  CHECK(found.result == json{{"key", "OPS-4"}, {"id", "10004"}});
  CHECK(classify_jira_lookup(answer(200, R"({"startAt":0,"maxResults":2,"total":0,"issues":[]})"))
            .kind == K::kNotFound);
  auto limited = classify_jira_lookup(answer(429, "", {{"Retry-After", "7"}}));
  CHECK(limited.kind == K::kRetry);
  CHECK(limited.retry_after == Millis(7000));
  CHECK(classify_jira_lookup(answer(503, "")).kind == K::kRetry);
  // A refusal says nothing about the issue; the error says why.
  auto gone = classify_jira_lookup(
      answer(410, R"({"errorMessages":["The requested API has been removed."],"errors":{}})"));
  CHECK(gone.kind == K::kRetry);
  CHECK(gone.error.find("HTTP 410: The requested API has been removed.") != std::string::npos);
  CHECK(classify_jira_lookup(answer(401, "")).kind == K::kRetry);
  CHECK(classify_jira_lookup(answer(200, "[]")).kind == K::kRetry);
  CHECK(classify_jira_lookup(answer(200, R"({"issues":[{"id":"1"}]})")).kind == K::kRetry);
}
