// The GitHub Actions integration: its workflow dispatches (path, the pinned API version,
// Bearer token, User-Agent), its classification of GitHub's answers and rate limits (a
// pure function), and the shared integration kit and the outbox against the fake GitHub.
#include "hub/integrations/github.h"

#include <catch2/catch.hpp>

#include "tests/hub/integration_kit.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_github.h"

using namespace reflex;
using namespace reflex::hub;
using nlohmann::json;

namespace {

using hub::testing::answer;

OutboxRow row(json payload, const std::string& operation = "github.dispatch") {
  return hub::testing::outbox_row("github", operation, std::move(payload));
}

const std::string kToken = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
const SimulatedTime kClock(1'750'000'000'000);

GitHubIntegration github(const std::string& base = "http://127.0.0.1:1/api/v3") {
  return GitHubIntegration({.base_url = base, .token = kToken, .timeout = Millis(2000)}, kClock);
}

const json kDispatch = {{"repo", "acme/shop"},
                        {"workflow", "rollback.yml"},
                        {"ref", "main"},
                        {"inputs", {{"SERVICE", "checkout"}, {"REFLEX_INCIDENT", "42"}}}};

}  // namespace

TEST_CASE("a GitHub workflow dispatch is POSTed with the pinned API version and a Bearer token",
          "[github]") {
  auto req = github().prepare(row(kDispatch));
  REQUIRE(req);
  CHECK(req->method == "POST");
  CHECK(req->url ==
        "http://127.0.0.1:1/api/v3/repos/acme/shop/actions/workflows/rollback.yml/dispatches");
  CHECK(req->headers == HttpHeaders{{"Authorization", "Bearer " + kToken},
                                    {"Accept", "application/vnd.github+json"},
                                    {"X-GitHub-Api-Version", "2022-11-28"},
                                    {"User-Agent", std::string("Reflex/") + REFLEX_VERSION},
                                    {"Content-Type", "application/json"}});
  CHECK(json::parse(req->body) ==
        json{{"ref", "main"}, {"inputs", {{"SERVICE", "checkout"}, {"REFLEX_INCIDENT", "42"}}}});
  CHECK(req->timeout == Millis(2000));
  CHECK(github().secrets() == std::vector<std::string>{kToken});

  json bare = kDispatch;
  bare.erase("inputs");
  CHECK(json::parse(github().prepare(row(bare))->body) == json{{"ref", "main"}});
}

TEST_CASE("a GitHub dispatch with a bad repo, workflow, ref or input is refused naming it",
          "[github]") {
  auto check = [](json payload, const std::string& field,
                  const std::string& op = "github.dispatch") {
    auto req = github().prepare(row(std::move(payload), op));
    REQUIRE_FALSE(req);
    INFO(req.status().message());
    CHECK(req.status().message().find(field) != std::string::npos);
  };
  for (const char* bad_repo : {"shop", "acme/", "/shop", "acme/shop/x", "acme/.."}) {
    json p = kDispatch;
    p["repo"] = bad_repo;
    check(p, "payload.repo");
  }
  json p = kDispatch;
  p["workflow"] = "../x";
  check(p, "payload.workflow");
  p = kDispatch;
  p.erase("ref");
  check(p, "payload.ref");
  p = kDispatch;
  p["inputs"]["DRY_RUN"] = true;
  check(p, "payload.inputs.DRY_RUN");
  check(kDispatch, "unknown operation", "github.rerun");
}

TEST_CASE("GitHub's answers are classified done, retry or permanent", "[github]") {
  using K = Outcome::Kind;
  const int64_t now = kClock.now_ms();
  auto done = classify_github(kDispatch, answer(204, ""), now);
  CHECK(done.kind == K::kDone);
  CHECK(done.result == json{{"repo", "acme/shop"}, {"workflow", "rollback.yml"}, {"ref", "main"}});

  // Rate limits: Retry-After first, then the primary limit's reset, else a minute.
  auto limited = classify_github(kDispatch, answer(429, "{}", {{"Retry-After", "7"}}), now);
  CHECK(limited.kind == K::kRetry);
  CHECK(limited.retry_after == Millis(7000));
  const std::string reset = std::to_string(now / 1000 + 90);
  auto primary =
      classify_github(kDispatch,
                      answer(403, R"({"message":"API rate limit exceeded for user ID 1."})",
                             {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", reset}}),
                      now);
  CHECK(primary.kind == K::kRetry);
  CHECK(primary.retry_after == Millis(90'000 - now % 1000));
  CHECK(primary.error.find("API rate limit exceeded") != std::string::npos);
  auto secondary = classify_github(
      kDispatch, answer(403, R"({"message":"You have exceeded a secondary rate limit."})"), now);
  CHECK(secondary.kind == K::kRetry);
  CHECK(secondary.retry_after == Millis(60'000));
  CHECK(classify_github(kDispatch, answer(429, ""), now).retry_after == Millis(60'000));
  for (int status : {500, 502, 503}) {
    INFO(status);
    CHECK(classify_github(kDispatch, answer(status, ""), now).kind == K::kRetry);
  }
  HttpResponse refused;
  refused.error = "Connection refused (CURLE_COULDNT_CONNECT)";
  CHECK(classify_github(kDispatch, refused, now).kind == K::kRetry);

  // Refusals keep GitHub's message and say what to check.
  const std::map<int, std::pair<std::string, std::string>> refusals = {
      {401, {R"({"message":"Bad credentials"})", "token_file"}},
      {403, {R"({"message":"Resource not accessible by integration"})", "actions:write"}},
      {404, {R"({"message":"Not Found"})", "cannot see it"}},
      {422, {R"({"message":"Unexpected inputs provided: [\"REFLEX_INCIDENT\"]"})", "declare"}},
      {400, {R"({"message":"Problems parsing JSON"})", "Problems parsing JSON"}}};
  for (const auto& [status, body_hint] : refusals) {
    INFO(status);
    auto r = classify_github(kDispatch, answer(status, body_hint.first), now);
    CHECK(r.kind == K::kPermanent);
    CHECK(r.error.find("acme/shop/rollback.yml") != std::string::npos);
    CHECK(r.error.find(json::parse(body_hint.first)["message"].get<std::string>()) !=
          std::string::npos);
    CHECK(r.error.find(body_hint.second) != std::string::npos);
  }
}

TEST_CASE("the GitHub token is read from token_file or token_env", "[github][config]") {
  reflex::testing::TempDir dir;
  GitHubConfig cfg;
  cfg.enabled = true;
  cfg.token_file = dir.write("token", kToken + "\n");
  auto s = github_settings(cfg);
  REQUIRE(s);
  CHECK(s->token == kToken);
  CHECK(s->base_url == "https://api.github.com/");
  cfg.token_file.clear();
  cfg.token_env = "REFLEX_TEST_GITHUB_TOKEN";
  ::unsetenv("REFLEX_TEST_GITHUB_TOKEN");
  s = github_settings(cfg);
  REQUIRE_FALSE(s);
  CHECK(s.status().message().find("integrations.github.token_env") != std::string::npos);
}

TEST_CASE("the GitHub integration passes the shared integration kit against the fake",
          "[github][kit]") {
  reflex::testing::FakeGitHub fake;
  fake.add_workflow("acme/shop", "rollback.yml", 161335,
                    {{"SERVICE", true}, {"REFLEX_INCIDENT", true}, {"DRY_RUN", false}});
  hub::testing::IntegrationKitCase c;
  c.make = [&](const std::string& base) {
    return std::make_unique<GitHubIntegration>(
        GitHubSettings{.base_url = base, .token = fake.token(), .timeout = Millis(5000)}, kClock);
  };
  c.base_url = fake.base_url();
  c.secrets = {fake.token()};
  c.sample = {.integration = "github",
              .operation = "github.dispatch",
              .idempotency_key = "incident-42/rollback",
              .incident_id = 42,
              .payload = kDispatch};
  c.answer_next = [&](int status, HttpHeaders headers, std::string body) {
    fake.fail_next(1, {.status = status, .headers = std::move(headers), .body = std::move(body)});
  };
  c.check_request = [&] {
    auto got = fake.received();
    REQUIRE_FALSE(got.empty());
    const auto& last = got.back();
    CHECK(last.request.method == "POST");
    CHECK(last.request.path == "/repos/acme/shop/actions/workflows/rollback.yml/dispatches");
    CHECK(last.request.header("Accept") == "application/vnd.github+json");
    CHECK(last.status == 204);
    auto runs = fake.runs();
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].ref == "main");
    CHECK(runs[0].inputs ==
          std::map<std::string, std::string>{{"SERVICE", "checkout"}, {"REFLEX_INCIDENT", "42"}});
  };
  c.permanent_status = 401;
  hub::testing::run_integration_kit(c);
}

TEST_CASE(
    "GitHub dispatches through the outbox wait out a primary rate limit until its reset, "
    "and an undeclared input is a dead letter with GitHub's message",
    "[github][outbox]") {
  reflex::testing::FakeGitHub fake;
  fake.add_workflow("acme/shop", "rollback.yml", 161335,
                    {{"SERVICE", true}, {"REFLEX_INCIDENT", false}}, {"main", "release/2.4"});
  SimulatedTime clock(1'750'000'000'000);
  hub::testing::OutboxHarness h([&](Outbox& o) {
    o.add_integration(
        std::make_unique<GitHubIntegration>(
            GitHubSettings{
                .base_url = fake.base_url(), .token = fake.token(), .timeout = Millis(5000)},
            clock),
        {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
  });
  auto enqueue = [&](const std::string& key, json payload) {
    auto r = h.enqueue({.integration = "github",
                        .operation = "github.dispatch",
                        .idempotency_key = key,
                        .incident_id = 42,
                        .payload = std::move(payload)});
    REQUIRE(r);
    return r->id;
  };
  json by_id = kDispatch;
  by_id["workflow"] = "161335";
  by_id["ref"] = "release/2.4";
  fake.rate_limit_next(1, clock.now_ms() / 1000 + 120);
  const uint64_t limited = enqueue("limited", by_id);
  REQUIRE(h.wait_attempt(limited, OutboxState::kPending, 1));
  CHECK(h.row(limited).next_attempt_ms == h.now_ms() + 120'000);
  CHECK(fake.runs().empty());
  h.advance(Millis(120'000));
  REQUIRE(h.wait_state(limited, OutboxState::kDone));
  REQUIRE(fake.runs().size() == 1);
  CHECK(fake.runs()[0].ref == "release/2.4");
  CHECK(fake.runs()[0].workflow == "rollback.yml");

  json undeclared = kDispatch;
  undeclared["inputs"]["HOSTS"] = "web-1";
  const uint64_t refused = enqueue("undeclared", undeclared);
  REQUIRE(h.wait_state(refused, OutboxState::kDead));
  const auto dead = h.row(refused);
  CHECK(dead.attempts == 1);
  CHECK(dead.last_error.find("Unexpected inputs provided: [\"HOSTS\"]") != std::string::npos);
  CHECK(dead.last_error.find(fake.token()) == std::string::npos);
  CHECK(fake.runs().size() == 1);
}
