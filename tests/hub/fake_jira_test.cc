// The fake Jira enforces the contract the real one documents, so tests against it mean
// something: auth by deployment, required fields in ErrorCollections, issues and
// transitions, faults.
#include "tests/support/fake_jira.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <future>

#include "hub/integrations/vendor_http.h"
#include "tests/support/process.h"

using nlohmann::json;
using reflex::testing::FakeJira;

namespace {

struct Call {
  int status = 0;
  json body;
  std::string retry_after;
};

Call call(FakeJira& fake, const std::string& method, const std::string& path, const json& body,
          const std::string& authorization, const std::string& type = "application/json") {
  httplib::Client c("127.0.0.1", fake.port());
  httplib::Headers headers;
  if (!authorization.empty()) headers.emplace("Authorization", authorization);
  httplib::Result res =
      method == "GET" ? c.Get(path, headers) : c.Post(path, headers, body.dump(), type.c_str());
  if (!res) return {};
  return {res->status, json::parse(res->body, nullptr, false),
          res->get_header_value("Retry-After")};
}

std::string basic(const FakeJira& fake) {
  return "Basic " + reflex::hub::base64_encode(fake.user() + ":" + fake.token());
}

const json kIssue = {{"fields",
                      {{"project", {{"key", "OPS"}}},
                       {"summary", "checkout is down"},
                       {"issuetype", {{"name", "Incident"}}}}}};

}  // namespace

TEST_CASE("the fake Jira accepts Basic auth on Cloud and only a Bearer token on Data Center",
          "[fake-jira]") {
  FakeJira cloud;
  CHECK(call(cloud, "POST", "/rest/api/2/issue", kIssue, "").status == 401);
  auto wrong = call(cloud, "POST", "/rest/api/2/issue", kIssue, "Basic d3Jvbmc6d3Jvbmc=");
  CHECK(wrong.status == 401);
  CHECK(wrong.body["errorMessages"].size() == 1);
  CHECK(call(cloud, "POST", "/rest/api/2/issue", kIssue, "Bearer " + cloud.token()).status == 401);
  CHECK(call(cloud, "POST", "/rest/api/2/issue", kIssue, basic(cloud)).status == 201);

  FakeJira dc("pat-0000", "");
  CHECK(call(dc, "POST", "/rest/api/2/issue", kIssue, "Bearer pat-0000").status == 201);
  CHECK(call(dc, "POST", "/rest/api/2/issue", kIssue,
             "Basic " + reflex::hub::base64_encode(":pat-0000"))
            .status == 401);
  CHECK(cloud.issues().size() == 1);
}

TEST_CASE("the fake Jira refuses an issue without required fields, naming each in errors",
          "[fake-jira]") {
  FakeJira fake;
  const auto a = basic(fake);
  auto none = call(fake, "POST", "/rest/api/2/issue", {{"fields", json::object()}}, a);
  CHECK(none.status == 400);
  CHECK(none.body["errors"].contains("project"));
  CHECK(none.body["errors"].contains("summary"));
  CHECK(none.body["errors"].contains("issuetype"));
  json bad = kIssue;
  bad["fields"]["project"]["key"] = "NOPE";
  bad["fields"]["priority"] = {{"name", "Urgent!"}};
  auto refused = call(fake, "POST", "/rest/api/2/issue", bad, a);
  CHECK(refused.status == 400);
  CHECK(refused.body["errors"]["project"] == "Specify a valid project ID or key");
  CHECK(refused.body["errors"].contains("priority"));
  CHECK(call(fake, "POST", "/rest/api/2/issue", kIssue, a, "text/plain").status == 415);
  CHECK(fake.issues().empty());
}

TEST_CASE("the fake Jira creates, comments on and transitions issues as Jira answers them",
          "[fake-jira]") {
  FakeJira fake;
  const auto a = basic(fake);
  auto created = call(fake, "POST", "/rest/api/2/issue", kIssue, a);
  REQUIRE(created.status == 201);
  CHECK(created.body["key"] == "OPS-1");
  CHECK(created.body["id"] == "10001");
  auto commented = call(fake, "POST", "/rest/api/2/issue/OPS-1/comment", {{"body", "hi"}}, a);
  CHECK(commented.status == 201);
  CHECK(commented.body.contains("id"));
  CHECK(call(fake, "POST", "/rest/api/2/issue/OPS-1/comment", {{"body", ""}}, a)
            .body["errors"]["comment"] == "Comment body can not be empty!");
  CHECK(call(fake, "POST", "/rest/api/2/issue/OPS-9/comment", {{"body", "x"}}, a).status == 404);
  auto transitions = call(fake, "GET", "/rest/api/2/issue/OPS-1/transitions", nullptr, a);
  CHECK(transitions.body["transitions"].size() == 3);
  auto invalid = call(fake, "POST", "/rest/api/2/issue/OPS-1/transitions",
                      {{"transition", {{"id", "99"}}}}, a);
  CHECK(invalid.status == 400);
  CHECK(invalid.body["errorMessages"][0] == "Transition id '99' is not valid for this issue.");
  auto done = call(fake, "POST", "/rest/api/2/issue/10001/transitions",
                   json::parse(R"({"transition": {"id": "31"},
                                   "update": {"comment": [{"add": {"body": "fixed"}}]}})"),
                   a);
  CHECK(done.status == 204);
  CHECK(done.body.is_discarded());
  auto issue = fake.issue("OPS-1");
  REQUIRE(issue);
  CHECK(issue->status == "Done");
  CHECK(issue->comments == std::vector<std::string>{"hi", "fixed"});
  CHECK(call(fake, "GET", "/rest/api/2/issue/OPS-1", nullptr, a).body["fields"]["status"]["name"] ==
        "Done");
}

TEST_CASE("the fake Jira can be told to rate limit, fail, and go down and come back",
          "[fake-jira]") {
  FakeJira fake;
  const auto a = basic(fake);
  fake.rate_limit_next(1, 30);
  auto limited = call(fake, "POST", "/rest/api/2/issue", kIssue, a);
  CHECK(limited.status == 429);
  CHECK(limited.retry_after == "30");
  fake.fail_next(1, {.status = 503, .headers = {}, .body = "down"});
  CHECK(call(fake, "POST", "/rest/api/2/issue", kIssue, a).status == 503);
  fake.down();
  CHECK(call(fake, "POST", "/rest/api/2/issue", kIssue, a).status == 0);
  fake.up();
  CHECK(call(fake, "POST", "/rest/api/2/issue", kIssue, a).status == 201);
  CHECK(fake.received().size() == 3);
  CHECK(fake.issues().size() == 1);
}

TEST_CASE("the fake Jira searches labels where each deployment has its search endpoint",
          "[fake-jira]") {
  const std::string jql = "?jql=labels%20%3D%20%22reflex-1%22&fields=summary&maxResults=2";
  json labelled = kIssue;
  labelled["fields"]["labels"] = {"reflex-1", "sev1"};
  {
    FakeJira cloud;
    CHECK(call(cloud, "POST", "/rest/api/2/issue", labelled, basic(cloud)).status == 201);
    CHECK(call(cloud, "POST", "/rest/api/2/issue", kIssue, basic(cloud)).status == 201);
    auto found = call(cloud, "GET", "/rest/api/2/search/jql" + jql, nullptr, basic(cloud));
    CHECK(found.status == 200);
    REQUIRE(found.body["issues"].size() == 1);
    CHECK(found.body["issues"][0]["key"] == "OPS-1");
    CHECK(found.body["issues"][0]["id"] == "10001");
    CHECK(found.body["isLast"] == true);
    CHECK(cloud.issue("OPS-1")->labels == std::vector<std::string>{"reflex-1", "sev1"});
    // Cloud removed the old search.
    auto gone = call(cloud, "GET", "/rest/api/2/search" + jql, nullptr, basic(cloud));
    CHECK(gone.status == 410);
    CHECK(gone.body["errorMessages"].size() == 1);
    CHECK(call(cloud, "GET", "/rest/api/2/search/jql" + jql, nullptr, "Bearer x").status == 401);
    CHECK(
        call(cloud, "GET", "/rest/api/2/search/jql?fields=summary", nullptr, basic(cloud)).status ==
        400);
    CHECK(
        call(cloud, "GET", "/rest/api/2/search/jql?jql=project%20%3D%20OPS", nullptr, basic(cloud))
            .status == 400);
  }
  {
    FakeJira dc("dc-token", "");
    CHECK(call(dc, "POST", "/rest/api/2/issue", labelled, "Bearer dc-token").status == 201);
    auto found = call(dc, "GET", "/rest/api/2/search" + jql, nullptr, "Bearer dc-token");
    CHECK(found.status == 200);
    CHECK(found.body["total"] == 1);
    CHECK(found.body["issues"][0]["key"] == "OPS-1");
    CHECK(call(dc, "GET", "/rest/api/2/search/jql" + jql, nullptr, "Bearer dc-token").status ==
          404);
    auto none = call(dc, "GET", "/rest/api/2/search?jql=labels%20%3D%20reflex-2", nullptr,
                     "Bearer dc-token");
    CHECK(none.status == 200);
    CHECK(none.body["issues"].empty());
  }
}

TEST_CASE("the fake Jira can create an issue and lose the answer until it goes down",
          "[fake-jira]") {
  FakeJira fake;
  fake.lose_next_create();
  auto lost = std::async(std::launch::async, [&] {
    return call(fake, "POST", "/rest/api/2/issue", kIssue, basic(fake));
  });
  REQUIRE(reflex::testing::wait_until([&] { return fake.held_answers() == 1; }));
  CHECK(fake.issues().size() == 1);  // created
  fake.down();
  CHECK(lost.get().status == 0);
  CHECK(fake.received().at(0).status == 0);
}
