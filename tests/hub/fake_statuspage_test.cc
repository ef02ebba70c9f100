// The fake Statuspage enforces the documented contract: the OAuth header, the incident
// wrapper and its fields, the page and incident ids, and faults (420 included).
#include "tests/support/fake_statuspage.h"

#include <httplib.h>

#include <catch2/catch.hpp>

using nlohmann::json;
using reflex::testing::FakeStatuspage;

namespace {

struct Call {
  int status = 0;
  json body;
};

Call call(FakeStatuspage& fake, const std::string& method, const std::string& path,
          const json& body, const std::string& key) {
  httplib::Client c("127.0.0.1", fake.port());
  httplib::Headers headers;
  if (!key.empty()) headers.emplace("Authorization", "OAuth " + key);
  httplib::Result res = method == "GET" ? c.Get(path, headers)
                        : method == "PATCH"
                            ? c.Patch(path, headers, body.dump(), "application/json")
                            : c.Post(path, headers, body.dump(), "application/json");
  if (!res) return {};
  return {res->status, json::parse(res->body, nullptr, false)};
}

const json kIncident = {{"incident", {{"name", "Checkout errors"}, {"status", "investigating"}}}};

}  // namespace

TEST_CASE("the fake Statuspage requires its OAuth key and answers errors with a message",
          "[fake-statuspage]") {
  FakeStatuspage fake;
  const std::string path = "/v1/pages/" + fake.page_id() + "/incidents";
  auto none = call(fake, "POST", path, kIncident, "");
  CHECK(none.status == 401);
  CHECK(none.body["message"].is_string());
  CHECK(call(fake, "POST", path, kIncident, "wrong").status == 401);
  CHECK(call(fake, "POST", "/v1/pages/other/incidents", kIncident, fake.api_key()).status == 404);
  CHECK(fake.incidents().empty());
}

TEST_CASE("the fake Statuspage checks the incident's fields and keeps its updates",
          "[fake-statuspage]") {
  FakeStatuspage fake;
  const auto k = fake.api_key();
  const std::string path = "/v1/pages/" + fake.page_id() + "/incidents";
  CHECK(call(fake, "POST", path, {{"name", "unwrapped"}}, k).status == 400);
  CHECK(call(fake, "POST", path, {{"incident", {{"status", "investigating"}}}}, k).status == 422);
  CHECK(
      call(fake, "POST", path, {{"incident", {{"name", "x"}, {"status", "on fire"}}}}, k).status ==
      422);
  CHECK(call(fake, "POST", path,
             {{"incident", {{"name", "x"}, {"status", "identified"}, {"impact_override", "huge"}}}},
             k)
            .status == 422);
  CHECK(call(fake, "POST", path, {{"incident", {{"name", std::string(256, 'n')}}}}, k).status ==
        422);
  auto created = call(fake, "POST", path, kIncident, k);
  REQUIRE(created.status == 201);
  const std::string id = created.body["id"];
  CHECK(created.body["shortlink"].is_string());
  CHECK(created.body["status"] == "investigating");
  auto updated = call(fake, "PATCH", path + "/" + id,
                      {{"incident", {{"status", "resolved"}, {"body", "fixed"}}}}, k);
  CHECK(updated.status == 200);
  CHECK(updated.body["status"] == "resolved");
  CHECK(updated.body["incident_updates"].size() == 2);
  CHECK(call(fake, "PATCH", path + "/nope", {{"incident", {{"status", "resolved"}}}}, k).status ==
        404);
  CHECK(call(fake, "GET", path + "/" + id, nullptr, k).body["status"] == "resolved");
}

TEST_CASE("the fake Statuspage can be told to answer 420 or 429, and go down and come back",
          "[fake-statuspage]") {
  FakeStatuspage fake;
  const std::string path = "/v1/pages/" + fake.page_id() + "/incidents";
  fake.rate_limit_next(1, 420, 5);
  fake.rate_limit_next(1, 429, 5);
  CHECK(call(fake, "POST", path, kIncident, fake.api_key()).status == 420);
  CHECK(call(fake, "POST", path, kIncident, fake.api_key()).status == 429);
  fake.down();
  CHECK(call(fake, "POST", path, kIncident, fake.api_key()).status == 0);
  fake.up();
  CHECK(call(fake, "POST", path, kIncident, fake.api_key()).status == 201);
  CHECK(fake.incidents().size() == 1);
}
