// The Jenkins integration: its build triggers (folder paths, form-encoded parameters,
// Basic auth), its classification of Jenkins' answers (a pure function), and the shared
// integration kit and the outbox against the fake Jenkins.
#include "hub/integrations/jenkins.h"

#include <catch2/catch.hpp>

#include "hub/integrations/vendor_http.h"
#include "tests/hub/integration_kit.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_jenkins.h"

using namespace reflex;
using namespace reflex::hub;
using nlohmann::json;

namespace {

using hub::testing::answer;

OutboxRow row(json payload, const std::string& operation = "jenkins.build") {
  return hub::testing::outbox_row("jenkins", operation, std::move(payload));
}

const std::string kToken = "11aa22bb33cc44dd55ee66ff77";

JenkinsIntegration jenkins(const std::string& base = "http://127.0.0.1:1/ci") {
  return JenkinsIntegration(
      {.base_url = base, .user = "reflex", .token = kToken, .timeout = Millis(2000)});
}

const json kBuild = {{"job", "deploy/checkout rollback"},
                     {"parameters", {{"SERVICE", "checkout"}, {"REASON", "5xx & latency"}}}};

}  // namespace

TEST_CASE("a Jenkins build of a job in a folder is POSTed to buildWithParameters as a form",
          "[jenkins]") {
  auto req = jenkins().prepare(row(kBuild));
  REQUIRE(req);
  CHECK(req->method == "POST");
  CHECK(req->url == "http://127.0.0.1:1/ci/job/deploy/job/checkout%20rollback/buildWithParameters");
  CHECK(req->headers == HttpHeaders{{"Authorization", "Basic " + base64_encode("reflex:" + kToken)},
                                    {"Content-Type", "application/x-www-form-urlencoded"}});
  CHECK(req->body == "REASON=5xx%20%26%20latency&SERVICE=checkout");
  CHECK(req->timeout == Millis(2000));
  CHECK(jenkins().secrets() == std::vector<std::string>{kToken, base64_encode("reflex:" + kToken)});
}

TEST_CASE("a Jenkins build without parameters is POSTed to build with no body", "[jenkins]") {
  for (const json& payload :
       {json{{"job", "nightly"}}, json{{"job", "nightly"}, {"parameters", json::object()}}}) {
    auto req = jenkins().prepare(row(payload));
    REQUIRE(req);
    CHECK(req->url == "http://127.0.0.1:1/ci/job/nightly/build");
    CHECK(req->body.empty());
  }
}

TEST_CASE("a Jenkins build with a bad job or parameters is refused naming the field", "[jenkins]") {
  auto check = [](json payload, const std::string& field, const std::string& op = "jenkins.build") {
    auto req = jenkins().prepare(row(std::move(payload), op));
    REQUIRE_FALSE(req);
    INFO(req.status().message());
    CHECK(req.status().message().find(field) != std::string::npos);
  };
  check(json::object(), "payload.job");
  check({{"job", ""}}, "payload.job");
  check({{"job", "deploy//x"}}, "payload.job");
  check({{"job", "deploy/../admin"}}, "payload.job");
  check({{"job", "x"}, {"parameters", "A=1"}}, "payload.parameters");
  check({{"job", "x"}, {"parameters", {{"A", 1}}}}, "payload.parameters.A");
  check(kBuild, "unknown operation", "jenkins.replay");
}

TEST_CASE("a Jenkins job path becomes nested job segments and a Location is resolved",
          "[jenkins]") {
  CHECK(jenkins_job_path("a/b c/d") == "job/a/job/b%20c/job/d/");
  CHECK(resolve_location("https://ci.example.com/jenkins/",
                         "https://ci.example.com/jenkins/queue/item/7/") ==
        "https://ci.example.com/jenkins/queue/item/7/");
  CHECK(resolve_location("https://ci.example.com/jenkins/", "/jenkins/queue/item/7/") ==
        "https://ci.example.com/jenkins/queue/item/7/");
  CHECK(resolve_location("https://ci.example.com/jenkins/", "queue/item/7/") ==
        "https://ci.example.com/jenkins/queue/item/7/");
}

TEST_CASE("Jenkins' answers are classified done, retry or permanent", "[jenkins]") {
  using K = Outcome::Kind;
  const std::string base = "https://ci.example.com/";
  auto queued = classify_jenkins("deploy/rollback", base,
                                 answer(201, "", {{"Location", base + "queue/item/812/"}}));
  CHECK(queued.kind == K::kDone);
  CHECK(queued.result ==
        json{{"job", "deploy/rollback"}, {"queue_url", "https://ci.example.com/queue/item/812/"}});
  auto relative = classify_jenkins("x", base, answer(201, "", {{"Location", "/queue/item/9/"}}));
  CHECK(relative.result["queue_url"] == "https://ci.example.com/queue/item/9/");

  // 303: merged into an identical request still waiting; done, and it says so.
  auto merged = classify_jenkins("x", base, answer(303, "", {{"Location", "/queue/item/9/"}}));
  CHECK(merged.kind == K::kDone);
  CHECK(merged.result["merged"] == true);

  // Not queued: no Location, or a redirect to the job page.
  auto lost = classify_jenkins("x", base, answer(201, ""));
  CHECK(lost.kind == K::kPermanent);
  CHECK(lost.error.find("may have been queued") != std::string::npos);
  auto page = classify_jenkins("x", base, answer(302, "", {{"Location", base + "job/x/"}}));
  CHECK(page.kind == K::kPermanent);
  CHECK(page.error.find("did not queue") != std::string::npos);

  auto limited = classify_jenkins("x", base, answer(429, "", {{"Retry-After", "12"}}));
  CHECK(limited.kind == K::kRetry);
  CHECK(limited.retry_after == Millis(12'000));
  for (int status : {500, 502, 503}) {
    INFO(status);
    CHECK(classify_jenkins("x", base, answer(status, "<html>restarting</html>")).kind == K::kRetry);
  }
  HttpResponse refused;
  refused.error = "Connection refused (CURLE_COULDNT_CONNECT)";
  CHECK(classify_jenkins("x", base, refused).kind == K::kRetry);

  auto unparameterized = classify_jenkins(
      "x", base,
      answer(500, "<p>java.lang.IllegalStateException: This build is not parameterized!</p>"));
  CHECK(unparameterized.kind == K::kPermanent);
  CHECK(unparameterized.error.find("REFLEX_INCIDENT") != std::string::npos);

  const std::map<int, std::string> hints = {{401, "integrations.jenkins.user"},
                                            {403, "Job/Build permission"},
                                            {404, "no such job"},
                                            {400, "HTTP 400"}};
  for (const auto& [status, hint] : hints) {
    INFO(status);
    auto refusal = classify_jenkins("deploy/rollback", base, answer(status, "<html/>"));
    CHECK(refusal.kind == K::kPermanent);
    CHECK(refusal.error.find("deploy/rollback") != std::string::npos);
    CHECK(refusal.error.find(hint) != std::string::npos);
  }
}

TEST_CASE("the Jenkins API token is read from token_file or token_env", "[jenkins][config]") {
  reflex::testing::TempDir dir;
  JenkinsConfig cfg;
  cfg.enabled = true;
  cfg.base_url = "https://ci.example.com/";
  cfg.user = "reflex";
  cfg.token_file = dir.write("token", kToken + "\n");
  auto s = jenkins_settings(cfg);
  REQUIRE(s);
  CHECK(s->token == kToken);
  CHECK(s->user == "reflex");
  cfg.token_file.clear();
  cfg.token_env = "REFLEX_TEST_JENKINS_TOKEN";
  ::unsetenv("REFLEX_TEST_JENKINS_TOKEN");
  s = jenkins_settings(cfg);
  REQUIRE_FALSE(s);
  CHECK(s.status().message().find("integrations.jenkins.token_env") != std::string::npos);
}

TEST_CASE("the Jenkins integration passes the shared integration kit against the fake",
          "[jenkins][kit]") {
  reflex::testing::FakeJenkins fake;
  fake.add_job("deploy/checkout rollback", {{"SERVICE", ""}, {"REASON", "none"}});
  hub::testing::IntegrationKitCase c;
  c.make = [&](const std::string& base) {
    return std::make_unique<JenkinsIntegration>(JenkinsSettings{
        .base_url = base, .user = fake.user(), .token = fake.token(), .timeout = Millis(5000)});
  };
  c.base_url = fake.base_url();
  c.secrets = {fake.token(), base64_encode(fake.user() + ":" + fake.token())};
  c.sample = {.integration = "jenkins",
              .operation = "jenkins.build",
              .idempotency_key = "incident-42/rollback",
              .incident_id = 42,
              .payload = kBuild};
  c.answer_next = [&](int status, HttpHeaders headers, std::string body) {
    fake.fail_next(1, {.status = status, .headers = std::move(headers), .body = std::move(body)});
  };
  c.check_request = [&] {
    auto got = fake.received();
    REQUIRE_FALSE(got.empty());
    const auto& last = got.back();
    CHECK(last.request.method == "POST");
    CHECK(last.request.path == "/job/deploy/job/checkout rollback/buildWithParameters");
    CHECK(last.status == 201);
    auto queue = fake.queue();
    REQUIRE(queue.size() == 1);
    CHECK(queue[0].parameters ==
          std::map<std::string, std::string>{{"SERVICE", "checkout"}, {"REASON", "5xx & latency"}});
  };
  c.permanent_status = 401;
  hub::testing::run_integration_kit(c);
}

TEST_CASE(
    "Jenkins builds through the outbox queue once, merge an identical waiting request, and "
    "a wrong token is a dead letter that names what to check",
    "[jenkins][outbox]") {
  reflex::testing::FakeJenkins fake;
  fake.add_job("deploy/rollback", {{"SERVICE", ""}, {"REFLEX_INCIDENT", ""}});
  fake.add_job("plain", {});
  auto make = [&](const std::string& token) {
    return std::make_unique<JenkinsIntegration>(JenkinsSettings{
        .base_url = fake.base_url(), .user = fake.user(), .token = token, .timeout = Millis(5000)});
  };
  hub::testing::OutboxHarness h([&](Outbox& o) {
    o.add_integration(make(fake.token()),
                      {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
  });
  auto send = [&](const std::string& key, json payload, OutboxState state) {
    auto r = h.enqueue({.integration = "jenkins",
                        .operation = "jenkins.build",
                        .idempotency_key = key,
                        .incident_id = 42,
                        .payload = std::move(payload)});
    REQUIRE(r);
    REQUIRE(h.wait_state(r->id, state));
    return h.row(r->id);
  };
  const json build = {{"job", "deploy/rollback"},
                      {"parameters", {{"SERVICE", "checkout"}, {"REFLEX_INCIDENT", "42"}}}};
  const auto first = send("first", build, OutboxState::kDone);
  CHECK(first.result["queue_url"] == fake.base_url() + "queue/item/101/");
  CHECK_FALSE(first.result.contains("merged"));
  const auto again = send("again", build, OutboxState::kDone);
  CHECK(again.result["queue_url"] == fake.base_url() + "queue/item/101/");
  CHECK(again.result["merged"] == true);
  REQUIRE(fake.queue().size() == 1);
  CHECK(fake.queue()[0].requests == 2);
  fake.start_queued();
  CHECK(send("later", build, OutboxState::kDone).result["queue_url"] ==
        fake.base_url() + "queue/item/102/");
  CHECK(send("plain", {{"job", "plain"}}, OutboxState::kDone).attempts == 1);
  // A job that takes no parameters refuses them: a dead letter saying what to change.
  const auto refused =
      send("unparameterized", {{"job", "plain"}, {"parameters", {{"REFLEX_INCIDENT", "42"}}}},
           OutboxState::kDead);
  CHECK(refused.last_error.find("takes no parameters") != std::string::npos);
  CHECK(send("missing", {{"job", "deploy/nope"}}, OutboxState::kDead)
            .last_error.find("no such job") != std::string::npos);

  hub::testing::OutboxHarness wrong([&](Outbox& o) {
    o.add_integration(make("not-the-token-0000"),
                      {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
  });
  auto r = wrong.enqueue({.integration = "jenkins",
                          .operation = "jenkins.build",
                          .idempotency_key = "wrong",
                          .incident_id = 42,
                          .payload = build});
  REQUIRE(r);
  REQUIRE(wrong.wait_state(r->id, OutboxState::kDead));
  const auto dead = wrong.row(r->id);
  CHECK(dead.attempts == 1);
  CHECK(dead.last_error.find("HTTP 401") != std::string::npos);
  CHECK(dead.last_error.find("token_file") != std::string::npos);
  CHECK(dead.last_error.find("not-the-token-0000") == std::string::npos);
}
