#include "hub/incidents/changes.h"

#include <catch2/catch.hpp>

using namespace reflex::hub::incidents;

namespace {

constexpr int64_t kNow = 1'767'261'600'000;  // 2026-01-01T10:00:00Z
constexpr int64_t kMin = 60'000;

Change request(std::string_view body, const std::string& actor = "deploy-bot") {
  auto r = parse_change_request(body, actor, kNow);
  INFO(r.status().to_string());
  REQUIRE(r);
  return std::move(r).value();
}

std::string error_of(std::string_view body) {
  auto r = parse_change_request(body, "deploy-bot", kNow);
  REQUIRE_FALSE(r);
  CHECK(r.status().code() == "bad_request");
  return r.status().message();
}

Change change(const std::string& service, int64_t at, const std::string& version = "1.0") {
  Change c;
  c.service = service;
  c.version = version;
  c.at_ms = at;
  return c;
}

std::vector<std::string> versions(const std::vector<Change>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) out.push_back(c.service + "@" + c.version);
  return out;
}

}  // namespace

TEST_CASE("A change request is read with every field and its defaults", "[hub][changes]") {
  Change c = request(R"({"service": "checkout", "environment": "prod", "version": "4.2.1",
    "hosts": ["web-1", "web-2"], "strategy": "canary", "commit": "c0ffee", "author": "alice",
    "link": "https://ci.example.com/job/deploy/57/", "source": "spinnaker",
    "at": "2026-01-01T09:58:00Z"})");
  CHECK(c.id.empty());
  CHECK(c.service == "checkout");
  CHECK(c.environment == "prod");
  CHECK(c.version == "4.2.1");
  CHECK(c.hosts == std::vector<std::string>{"web-1", "web-2"});
  CHECK(c.strategy == DeployStrategy::kCanary);
  CHECK(c.commit == "c0ffee");
  CHECK(c.author == "alice");
  CHECK(c.link == "https://ci.example.com/job/deploy/57/");
  CHECK(c.source == "spinnaker");
  CHECK(c.at_ms == kNow - 2 * kMin);

  Change minimal = request(R"({"service": "payments"})", "ops-token");
  CHECK(minimal.author == "ops-token");
  CHECK(minimal.source == "api");
  CHECK(minimal.at_ms == kNow);
  CHECK(minimal.strategy == DeployStrategy::kUnspecified);

  Change bg = request(R"({"service": "api", "strategy": "blue-green", "active_color": "green"})");
  CHECK(bg.strategy == DeployStrategy::kBlueGreen);
  CHECK(bg.active_color == "green");
}

TEST_CASE("Change request errors name the field", "[hub][changes]") {
  CHECK(error_of(R"({"version": "1"})") == "service: required");
  CHECK(error_of(R"({"service": ""})") == "service: must not be empty");
  CHECK(error_of(R"({"service": 7})") == "service: expected a string, got number");
  CHECK(error_of(R"({"service": "a", "hosts": "web-1"})") ==
        "hosts: expected an array of strings, got string");
  CHECK(error_of(R"({"service": "a", "hosts": ["web-1", 2]})") ==
        "hosts[1]: expected a string, got number");
  CHECK(error_of(R"({"service": "a", "strategy": "big-bang"})") ==
        "strategy: expected canary, blue-green or rolling, got 'big-bang'");
  CHECK(error_of(R"({"service": "a", "strategy": "canary", "active_color": "blue"})") ==
        "active_color: only applies to strategy blue-green");
  CHECK(error_of(R"({"service": "a", "env": "prod"})") ==
        "env: unknown field (expected service, environment, version, hosts, strategy, "
        "active_color, commit, author, link, source, at)");
  CHECK_THAT(error_of(R"({"service": "a", "at": "2026-01-01"})"),
             Catch::StartsWith("at: \"2026-01-01\" is not an RFC 3339 date-time"));
  CHECK(error_of(R"(["service"])") == "body: expected an object, got array");
  CHECK_THAT(error_of("service=a"), Catch::StartsWith("body: not valid JSON"));
}

TEST_CASE("A change reads back as the API's JSON", "[hub][changes]") {
  Change c = request(R"({"service": "api", "version": "2", "strategy": "blue-green",
                         "active_color": "blue", "at": "2026-01-01T10:00:00.250Z"})");
  c.id = "chg-7";
  nlohmann::json j = change_to_json(c);
  CHECK(j["id"] == "chg-7");
  CHECK(j["strategy"] == "blue-green");
  CHECK(j["active_color"] == "blue");
  CHECK(j["at"] == "2026-01-01T10:00:00.250Z");
  CHECK(j["at_ms"] == kNow + 250);
  CHECK(j["hosts"] == nlohmann::json::array());
  CHECK(change_to_json(change("x", 0)).contains("active_color") == false);
}

TEST_CASE("The change log gives ids, keeps the latest per service and returns newest first",
          "[hub][changes]") {
  ChangeLog log(3);
  for (int i = 1; i <= 5; ++i) {
    Change c = change("checkout", kNow + i * kMin, std::to_string(i));
    CHECK(log.add(c));
    CHECK(c.id == "chg-" + std::to_string(i));
  }
  // Arrives late but is newer than what is kept: it takes its place by time.
  Change late = change("checkout", kNow + 4 * kMin + 1, "4b");
  CHECK(log.add(late));
  // Older than everything kept: stored elsewhere, not held here.
  Change ancient = change("checkout", kNow, "0");
  CHECK(log.add(ancient));
  CHECK(versions(log.recent("checkout", {}, 10)) ==
        std::vector<std::string>{"checkout@5", "checkout@4b", "checkout@4"});
  CHECK(versions(log.recent("checkout", {}, 2)) ==
        std::vector<std::string>{"checkout@5", "checkout@4b"});
  CHECK(log.size() == 3);
  CHECK(log.recent("nobody", {}, 10).empty());
}

TEST_CASE("recent() merges the service with its dependencies, newest first", "[hub][changes]") {
  ChangeLog log;
  for (auto [svc, at, v] : {std::tuple{"checkout", 1, "c1"},
                            {"payments", 2, "p1"},
                            {"postgres", 3, "pg1"},
                            {"checkout", 4, "c2"},
                            {"search", 5, "s1"}}) {
    Change c = change(svc, kNow + at * kMin, v);
    REQUIRE(log.add(c));
  }
  CHECK(versions(log.recent("checkout", {"payments", "postgres", "payments"}, 10)) ==
        std::vector<std::string>{"checkout@c2", "postgres@pg1", "payments@p1", "checkout@c1"});
  CHECK(versions(log.recent("checkout", {"payments"}, 2)) ==
        std::vector<std::string>{"checkout@c2", "payments@p1"});
}

TEST_CASE("A redelivered change is held once, and ids continue after a restore", "[hub][changes]") {
  ChangeLog log;
  Change jenkins = change("api", kNow);
  jenkins.id = "jenkins:https://ci/job/deploy/57/";
  CHECK(log.add(jenkins));
  Change again = jenkins;
  CHECK_FALSE(log.add(again));
  Change api = change("api", kNow + 1);
  REQUIRE(log.add(api));
  CHECK(api.id == "chg-1");
  CHECK(log.size() == 2);

  ChangeLog restored;
  restored.restore({jenkins, api}, 42);
  CHECK(restored.size() == 2);
  Change next = change("api", kNow + 2);
  REQUIRE(restored.add(next));
  CHECK(next.id == "chg-42");
  CHECK(versions(restored.recent("api", {}, 5)).size() == 3);
}
