#include "hub/incidents/change_webhooks.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

using namespace reflex::hub::incidents;
using Json = nlohmann::json;
using reflex::Result;

namespace {

constexpr int64_t kNow = 1'767'261'600'000;  // 2026-01-01T10:00:00Z
constexpr const char* kSecret = "It's a Secret to Everybody";

// The Notification plugin's payload (CONTRACTS 7) for a deploy job.
Json jenkins_payload(const std::string& phase, const char* status) {
  Json j = {{"name", "deploy-api"},
            {"display_name", "deploy-api"},
            {"url", "job/deploy-api/"},
            {"build",
             {{"full_url", "https://ci.example.com/job/deploy-api/57/"},
              {"number", 57},
              {"queue_id", 812},
              {"timestamp", kNow - 90'000},
              {"duration", 30'000},
              {"phase", phase},
              {"url", "job/deploy-api/57/"},
              {"display_name", "#57"},
              {"parameters",
               {{"SERVICE", "checkout"},
                {"ENV", "prod"},
                {"VERSION", "4.2.1"},
                {"HOSTS", "web-1, web-2"},
                {"STRATEGY", "canary"}}},
              {"scm",
               {{"url", "https://git.example.com/api.git"},
                {"branch", "origin/main"},
                {"commit", "c0ffee1234"},
                {"changes", Json::array()},
                {"culprits", {"Alice Example"}}}},
              {"log", ""},
              {"artifacts", Json::object()},
              {"test_summary", Json::object()}}}};
  if (status) j["build"]["status"] = status;
  return j;
}

WebhookOutcome jenkins(const Json& payload) {
  auto r = parse_jenkins_notification(payload.dump(), kNow);
  INFO(r.status().to_string());
  REQUIRE(r);
  return std::move(r).value();
}

// A deployment_status event as GitHub sends it (trimmed to the fields the hub reads
// plus a few it does not).
Json github_payload(const std::string& state) {
  return {
      {"action", "created"},
      {"deployment_status",
       {{"id", 1001},
        {"state", state},
        {"environment", "production"},
        {"description", "Deployed by Actions"},
        {"target_url", ""},
        {"log_url", "https://github.com/acme/shop/actions/runs/9/job/1"},
        {"environment_url", "https://shop.example.com"},
        {"created_at", "2026-01-01T09:57:00Z"},
        {"updated_at", "2026-01-01T09:57:00Z"},
        {"creator", {{"login", "github-actions[bot]"}}}}},
      {"deployment",
       {{"id", 777},
        {"sha", "abc123def456abc123def456abc123def456abcd"},
        {"ref", "v4.2.1"},
        {"task", "deploy"},
        {"environment", "production"},
        {"payload", {{"service", "checkout"}, {"version", "4.2.1"}, {"hosts", {"web-1", "web-2"}}}},
        {"creator", {{"login", "alice"}}},
        {"statuses_url", "https://api.github.com/repos/acme/shop/deployments/777/statuses"}}},
      {"repository", {{"name", "shop"}, {"full_name", "acme/shop"}}},
      {"sender", {{"login", "alice"}}},
      {"installation", {{"id", 5}}}};
}

Result<WebhookOutcome> github(const std::string& event, const std::string& body,
                              const std::string& signature, const char* secret = kSecret) {
  return parse_github_deployment_status(GithubDelivery{event, signature, body}, secret, kNow);
}

WebhookOutcome github_ok(const Json& payload, const std::string& event = "deployment_status") {
  const std::string body = payload.dump();
  auto r = github(event, body, github_signature(kSecret, body));
  INFO(r.status().to_string());
  REQUIRE(r);
  return std::move(r).value();
}

}  // namespace

TEST_CASE("A finalized successful Jenkins build is a deploy with the documented mapping",
          "[hub][changes]") {
  WebhookOutcome out = jenkins(jenkins_payload("FINALIZED", "SUCCESS"));
  REQUIRE(out.change);
  CHECK(out.ignored.empty());
  const Change& c = *out.change;
  CHECK(c.id == "jenkins:https://ci.example.com/job/deploy-api/57/");
  CHECK(c.service == "checkout");
  CHECK(c.environment == "prod");
  CHECK(c.version == "4.2.1");
  CHECK(c.hosts == std::vector<std::string>{"web-1", "web-2"});
  CHECK(c.strategy == DeployStrategy::kCanary);
  CHECK(c.commit == "c0ffee1234");
  CHECK(c.author == "Alice Example");
  CHECK(c.link == "https://ci.example.com/job/deploy-api/57/");
  CHECK(c.source == "jenkins");
  CHECK(c.at_ms == kNow - 60'000);  // timestamp + duration: when the build ended

  // COMPLETED counts too, and is the same deploy (same id) as FINALIZED.
  WebhookOutcome completed = jenkins(jenkins_payload("COMPLETED", "SUCCESS"));
  REQUIRE(completed.change);
  CHECK(completed.change->id == c.id);
}

TEST_CASE("A Jenkins build without parameters maps the job name and display name",
          "[hub][changes]") {
  Json j = jenkins_payload("FINALIZED", "SUCCESS");
  j["build"].erase("parameters");
  j["build"].erase("scm");
  j["build"].erase("timestamp");
  WebhookOutcome out = jenkins(j);
  REQUIRE(out.change);
  CHECK(out.change->service == "deploy-api");
  CHECK(out.change->environment.empty());
  CHECK(out.change->version == "#57");
  CHECK(out.change->hosts.empty());
  CHECK(out.change->strategy == DeployStrategy::kUnspecified);
  CHECK(out.change->commit.empty());
  CHECK(out.change->at_ms == kNow);

  j["build"]["parameters"] = {{"ENVIRONMENT", "staging"},
                              {"STRATEGY", "blue-green"},
                              {"ACTIVE_COLOR", "green"},
                              {"AUTHOR", "bob"}};
  WebhookOutcome bg = jenkins(j);
  REQUIRE(bg.change);
  CHECK(bg.change->environment == "staging");
  CHECK(bg.change->strategy == DeployStrategy::kBlueGreen);
  CHECK(bg.change->active_color == "green");
  CHECK(bg.change->author == "bob");
}

TEST_CASE("Jenkins builds that are not finished or did not succeed are ignored with the reason",
          "[hub][changes]") {
  CHECK(jenkins(jenkins_payload("STARTED", nullptr)) ==
        WebhookOutcome{std::nullopt,
                       "build.phase STARTED: only a COMPLETED or FINALIZED build is a deploy"});
  CHECK(jenkins(jenkins_payload("QUEUED", nullptr)).ignored ==
        "build.phase QUEUED: only a COMPLETED or FINALIZED build is a deploy");
  CHECK(jenkins(jenkins_payload("FINALIZED", "FAILURE")) ==
        WebhookOutcome{std::nullopt, "build.status FAILURE: only a SUCCESS build is a deploy"});
  CHECK(jenkins(jenkins_payload("COMPLETED", "UNSTABLE")).ignored ==
        "build.status UNSTABLE: only a SUCCESS build is a deploy");
  CHECK(jenkins(jenkins_payload("COMPLETED", nullptr)).ignored ==
        "build.status missing: only a SUCCESS build is a deploy");
}

TEST_CASE("Jenkins payload errors name the field", "[hub][changes]") {
  auto error = [](const Json& j) {
    auto r = parse_jenkins_notification(j.dump(), kNow);
    REQUIRE_FALSE(r);
    CHECK(r.status().code() == "bad_request");
    return r.status().message();
  };
  Json j = jenkins_payload("FINALIZED", "SUCCESS");
  Json no_build = j;
  no_build.erase("build");
  CHECK(error(no_build) == "build: required");
  Json no_name = j;
  no_name.erase("name");
  CHECK(error(no_name) == "name: required");
  Json no_phase = j;
  no_phase["build"].erase("phase");
  CHECK(error(no_phase) == "build.phase: required");
  Json bad_strategy = j;
  bad_strategy["build"]["parameters"]["STRATEGY"] = "yolo";
  CHECK(error(bad_strategy) ==
        "build.parameters.STRATEGY: expected canary, blue-green or rolling, got 'yolo'");
  Json bad_param = j;
  bad_param["build"]["parameters"]["VERSION"] = 4;
  CHECK(error(bad_param) == "build.parameters.VERSION: expected a string, got number");
  Json bad_time = j;
  bad_time["build"]["timestamp"] = "yesterday";
  CHECK(error(bad_time) == "build.timestamp: expected an integer, got string");
  Json color_without_bg = j;
  color_without_bg["build"]["parameters"]["ACTIVE_COLOR"] = "blue";
  CHECK(error(color_without_bg) ==
        "build.parameters.ACTIVE_COLOR: only applies to strategy blue-green");
  auto r = parse_jenkins_notification("<xml/>", kNow);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.status().message(), Catch::StartsWith("body: not valid JSON"));
}

TEST_CASE("The GitHub signature matches GitHub's documented test vector", "[hub][changes]") {
  CHECK(github_signature(kSecret, "Hello, World!") ==
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  CHECK(verify_github_signature(
      kSecret, "Hello, World!",
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  CHECK_FALSE(verify_github_signature(
      kSecret, "Hello, World!",
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18"));
  CHECK_FALSE(verify_github_signature(kSecret, "Hello, World!", "sha256=757107"));
  CHECK_FALSE(verify_github_signature(
      kSecret, "Hello, World!",
      "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
}

TEST_CASE("A shared webhook secret matches only itself", "[hub][changes]") {
  CHECK(secret_equals("s3cret-token", "s3cret-token"));
  CHECK_FALSE(secret_equals("s3cret-tokeN", "s3cret-token"));
  CHECK_FALSE(secret_equals("s3cret", "s3cret-token"));
  CHECK_FALSE(secret_equals("", ""));
}

TEST_CASE("A GitHub delivery with a missing or wrong signature is refused before it is read",
          "[hub][changes]") {
  const std::string body = github_payload("success").dump();
  const std::string good = github_signature(kSecret, body);
  struct Case {
    std::string signature;
    std::string body;
    const char* secret;
    const char* message;
  } const cases[] = {
      {"", body, kSecret, "X-Hub-Signature-256: missing"},
      {github_signature("wrong secret", body), body, kSecret,
       "X-Hub-Signature-256: does not match the body and the secret"},
      {good, body + " ", kSecret, "X-Hub-Signature-256: does not match the body and the secret"},
      {good, "not even json", kSecret,
       "X-Hub-Signature-256: does not match the body and the secret"},
      {good, body, "", "no GitHub webhook secret is configured"},
  };
  for (const auto& c : cases) {
    INFO(c.message);
    auto r = github("deployment_status", c.body, c.signature, c.secret);
    REQUIRE_FALSE(r);
    CHECK(r.status().code() == "unauthorized");
    CHECK(r.status().message() == c.message);
  }
}

TEST_CASE("A successful GitHub deployment_status is a deploy with the documented mapping",
          "[hub][changes]") {
  WebhookOutcome out = github_ok(github_payload("success"));
  REQUIRE(out.change);
  const Change& c = *out.change;
  CHECK(c.id == "github:acme/shop/deployments/777");
  CHECK(c.service == "checkout");
  CHECK(c.environment == "production");
  CHECK(c.version == "4.2.1");
  CHECK(c.hosts == std::vector<std::string>{"web-1", "web-2"});
  CHECK(c.commit == "abc123def456abc123def456abc123def456abcd");
  CHECK(c.author == "alice");
  CHECK(c.link == "https://github.com/acme/shop/actions/runs/9/job/1");
  CHECK(c.source == "github");
  CHECK(c.at_ms == kNow - 3 * 60'000);

  // No payload: the repository is the service and the ref the version.
  Json bare = github_payload("success");
  bare["deployment"].erase("payload");
  bare["deployment"].erase("creator");
  bare["deployment_status"].erase("log_url");
  WebhookOutcome plain = github_ok(bare);
  REQUIRE(plain.change);
  CHECK(plain.change->service == "shop");
  CHECK(plain.change->version == "v4.2.1");
  CHECK(plain.change->hosts.empty());
  CHECK(plain.change->author == "alice");  // the sender
  CHECK(plain.change->link == "https://shop.example.com");

  // A payload given as a JSON string, as the Deployments API also allows.
  Json stringly = github_payload("success");
  stringly["deployment"]["payload"] =
      R"({"service": "api", "hosts": "web-7,web-8", "strategy": "blue-green",
          "active_color": "blue"})";
  WebhookOutcome s = github_ok(stringly);
  REQUIRE(s.change);
  CHECK(s.change->service == "api");
  CHECK(s.change->hosts == std::vector<std::string>{"web-7", "web-8"});
  CHECK(s.change->strategy == DeployStrategy::kBlueGreen);
  CHECK(s.change->active_color == "blue");
}

TEST_CASE("GitHub states other than success and other events are ignored with the reason",
          "[hub][changes]") {
  for (const char* state : {"pending", "in_progress", "queued", "failure", "error", "inactive"}) {
    WebhookOutcome out = github_ok(github_payload(state));
    CHECK_FALSE(out.change);
    CHECK(out.ignored ==
          std::string("deployment_status.state ") + state + ": only success is a deploy");
  }
  const std::string ping = R"({"zen": "Keep it logically awesome.", "hook_id": 1})";
  auto r = github("ping", ping, github_signature(kSecret, ping));
  REQUIRE(r);
  CHECK(r->ignored == "X-GitHub-Event ping: only deployment_status is a deploy");
}

TEST_CASE("GitHub deployment_status body errors name the field", "[hub][changes]") {
  auto error = [](const Json& j, const std::string& event = "deployment_status") {
    const std::string body = j.dump();
    auto r = github(event, body, github_signature(kSecret, body));
    REQUIRE_FALSE(r);
    CHECK(r.status().code() == "bad_request");
    return r.status().message();
  };
  Json j = github_payload("success");
  CHECK(error(j, "") == "X-GitHub-Event: missing");
  Json no_status = j;
  no_status.erase("deployment_status");
  CHECK(error(no_status) == "deployment_status: required");
  Json no_state = j;
  no_state["deployment_status"].erase("state");
  CHECK(error(no_state) == "deployment_status.state: required");
  Json no_repo = j;
  no_repo.erase("repository");
  CHECK(error(no_repo) == "repository: required");
  Json no_id = j;
  no_id["deployment"].erase("id");
  CHECK(error(no_id) == "deployment.id: required");
  Json bad_hosts = j;
  bad_hosts["deployment"]["payload"]["hosts"] = {"web-1", 2};
  CHECK(error(bad_hosts) == "deployment.payload.hosts[1]: expected a string, got number");
  Json bad_strategy = j;
  bad_strategy["deployment"]["payload"]["strategy"] = "all-at-once";
  CHECK(error(bad_strategy) ==
        "deployment.payload.strategy: expected canary, blue-green or rolling, got 'all-at-once'");
  Json bad_time = j;
  bad_time["deployment_status"]["created_at"] = "soon";
  CHECK_THAT(error(bad_time), Catch::StartsWith("deployment_status.created_at: \"soon\""));
}
