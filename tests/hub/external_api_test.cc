// The external routes' own decisions (query, config, secrets) and, on a real hub in this
// process, what they answer when the store refuses the commit.
#include "hub/external_api.h"

#include <catch2/catch.hpp>

#include "common/sqlite.h"
#include "tests/hub/hub_harness.h"

using namespace reflex;
using namespace reflex::hub;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

Result<HubConfig> parse(const std::string& yaml) {
  auto root = config::parse_yaml(yaml, "hub.yaml");
  if (!root) return root.status();
  return read_hub_config(*root, "hub.yaml");
}

using Params = std::multimap<std::string, std::string>;

}  // namespace

TEST_CASE("the changes query takes a service, a since and a limit and names what it refuses",
          "[hub][external]") {
  auto q = parse_change_query({{"service", "checkout"}, {"since", "2h"}, {"limit", "5"}},
                              10 * 3'600'000);
  REQUIRE(q);
  CHECK(q->service == "checkout");
  CHECK(q->since_ms == 8 * 3'600'000);
  CHECK(q->limit == 5);
  CHECK(parse_change_query({{"since", "1700000000000"}}, 0)->since_ms == 1'700'000'000'000);
  CHECK(parse_change_query({}, 0)->limit == 100);
  for (const auto& [params, starts] : std::vector<std::pair<Params, std::string>>{
           {{{"limit", "0"}}, "limit: "},
           {{{"limit", "1001"}}, "limit: "},
           {{{"since", "yesterday"}}, "since: "},
           {{{"servce", "x"}}, "servce: unknown parameter"},
           {{{"service", "a"}, {"service", "b"}}, "service: given more than once"}}) {
    auto bad = parse_change_query(params, 0);
    REQUIRE_FALSE(bad);
    CHECK(bad.status().code() == "invalid_query");
    CHECK(bad.status().message().rfind(starts, 0) == 0);
  }
}

TEST_CASE("the external and changes sections and http_threads are read with their defaults",
          "[hub][external][hub-config]") {
  auto defaults = parse("{}");
  REQUIRE(defaults);
  CHECK(defaults->external.resolve_timeout == Millis(5 * 60'000));
  CHECK(defaults->changes.suspect_window == Millis(30 * 60'000));
  CHECK(defaults->changes.github_secret_file.empty());
  CHECK(defaults->http_threads == 64);

  auto cfg = parse(
      "http_threads: 128\n"
      "external: {resolve_timeout: 2m}\n"
      "changes: {suspect_window: 1h, github_secret_file: /etc/reflex/github.secret,\n"
      "          jenkins_secret_file: /etc/reflex/jenkins.secret}\n");
  REQUIRE(cfg);
  CHECK(cfg->http_threads == 128);
  CHECK(cfg->external.resolve_timeout == Millis(120'000));
  CHECK(cfg->changes.suspect_window == Millis(3'600'000));
  CHECK(cfg->changes.github_secret_file == "/etc/reflex/github.secret");
  CHECK(cfg->changes.jenkins_secret_file == "/etc/reflex/jenkins.secret");

  auto bad = parse(
      "http_threads: 0\n"
      "external: {resolve_timeout: 0s, resolve: 1m}\n"
      "changes: {suspect_window: soon, github_secret: x}\n");
  REQUIRE_FALSE(bad);
  const std::string& msg = bad.status().message();
  for (const char* key : {"http_threads", "external.resolve_timeout", "external.resolve",
                          "changes.suspect_window", "changes.github_secret"}) {
    INFO(key);
    CHECK(msg.find(key) != std::string::npos);
  }
}

TEST_CASE("secret files are read without their trailing newline and an empty one is refused",
          "[hub][external]") {
  reflex::testing::TempDir dir;
  auto secret = read_secret_file(dir.write("s", "hunter2\n"));
  REQUIRE(secret);
  CHECK(*secret == "hunter2");
  auto empty = read_secret_file(dir.write("e", "\n"));
  REQUIRE_FALSE(empty);
  CHECK(empty.status().message().find("is empty") != std::string::npos);
  HubConfig cfg;
  cfg.changes.github_secret_file = dir.file("missing");
  auto settings = external_settings(cfg);
  REQUIRE_FALSE(settings);
  CHECK(settings.status().message().rfind("changes.github_secret_file: ", 0) == 0);
}

TEST_CASE("alerts and changes whose commit fails are answered 503 and nothing of them is kept",
          "[hub][external]") {
  reflex::hub::testing::RunningHub running;
  reflex::hub::testing::Api api(running.http_port());
  const std::string alert = R"([{"labels": {"alertname": "InstanceDown", "service": "checkout"}}])";
  {
    // Another writer holds the store longer than the hub waits for it.
    auto db = sqlite::Database::open(running.store_path());
    REQUIRE(db);
    REQUIRE(db->exec("BEGIN IMMEDIATE"));
    httplib::Client client("127.0.0.1", running.http_port());
    client.set_read_timeout(20);
    auto posted = client.Post("/api/v2/alerts", alert, "application/json");
    REQUIRE(posted);
    CHECK(posted->status == 503);
    auto change = api.post("/api/v1/changes", R"({"service": "checkout", "version": "1"})");
    CHECK(change.status == 503);
    CHECK(change.body["error"]["code"] == "unavailable");
    REQUIRE(db->exec("ROLLBACK"));
  }
  CHECK(api.get("/api/v1/incidents").body["incidents"].empty());
  CHECK(api.get("/api/v1/changes").body["changes"].empty());

  // Sent again, each is kept once; the change id was not used up by the failure.
  httplib::Client client("127.0.0.1", running.http_port());
  auto posted = client.Post("/api/v2/alerts", alert, "application/json");
  REQUIRE(posted);
  CHECK(posted->status == 200);
  auto change = api.post("/api/v1/changes", R"({"service": "checkout", "version": "1"})");
  CHECK(change.status == 201);
  CHECK(change.body["change"]["id"] == "chg-1");
  CHECK(change.body["change"]["author"] == "api");
  CHECK(api.get("/api/v1/incidents").body["incidents"].size() == 1);
  CHECK(api.get("/api/v1/changes").body["changes"].size() == 1);
}
