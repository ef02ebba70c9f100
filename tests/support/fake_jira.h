// Test support: a fake Jira REST API v2 on 127.0.0.1 (see the vendor documentation,
// https://developer.atlassian.com/cloud/jira/platform/rest/v2/) that enforces the documented
// contract of what Reflex calls:
//  - auth: Cloud (a user given) accepts only `Authorization: Basic base64(user:token)`,
//    Data Center (no user) only `Bearer <token>`; anything else is 401 with Jira's
//    ErrorCollection {"errorMessages": [...], "errors": {}};
//  - POST rest/api/2/issue: a JSON body with fields.project (key or id; project OPS
//    exists, add_project() adds more), fields.summary, fields.issuetype (name or id: Incident,
//    Task, Bug) and an optional known fields.priority; problems are 400 with "errors" naming each
//    field; 201 {"id": "10001", "key": "OPS-1", "self": ...};
//  - POST rest/api/2/issue/{key}/comment: {"body": non-empty}; 404 for an unknown issue;
//    201 with the comment;
//  - POST rest/api/2/issue/{key}/transitions: {"transition": {"id"}} among the issue's
//    transitions (11 To Do, 21 In Progress, 31 Done), optional update.comment[].add.body;
//    400 for an unknown transition; 204, no body;
//  - GET rest/api/2/issue/{key} and GET .../transitions, for looking around;
//  - JQL search, where the deployment has it: Jira Cloud (a user given) serves
//    GET rest/api/2/search/jql and answers rest/api/2/search with 410 Gone, as Cloud
//    does since it removed it; Data Center serves GET rest/api/2/search and has no
//    search/jql (404). `jql` is required; the fake understands `labels = "<label>"`
//    (quotes optional) and answers other JQL 400. Matches oldest first, at most
//    maxResults (default 50), each {"id", "key", "self", "fields"}; Cloud's answer adds
//    "isLast", Data Center's "startAt", "maxResults" and "total";
//  - a JSON body (Content-Type application/json) on every POST, else 415.
// Unconfirmed limits (summary length, label rules) are not enforced. It can lose the
// answer to the next create (the issue is created, the answer never sent).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/support/fake_vendor.h"

namespace reflex::testing {

class FakeJira {
 public:
  struct Issue {
    std::string id;       // "10001"
    std::string key;      // "OPS-1"
    std::string project;  // "OPS"
    std::string summary;
    std::string issuetype;
    std::string description;
    std::string priority;
    std::string status = "To Do";
    std::vector<std::string> comments;
    std::vector<std::string> labels;
  };

  // A user: Jira Cloud (Basic auth); "": Data Center with a personal access token.
  explicit FakeJira(std::string token = "jira-fake-api-token-0000",
                    std::string user = "reflex@example.com", int port = 0);

  // "http://127.0.0.1:<port>/": the base URL to configure.
  std::string base_url() const { return server_.url("/"); }
  const std::string& token() const { return token_; }
  const std::string& user() const { return user_; }

  int port() const { return server_.port(); }
  void fail_next(int n, FakeVendorServer::Fault fault) { server_.fail_next(n, std::move(fault)); }
  // The next `n` calls get 429 with Retry-After and Jira Cloud's rate-limit headers.
  void rate_limit_next(int n, int retry_after_seconds);
  // The next issue created is created but the answer never arrives (see
  // FakeVendorServer::lose_next_answer).
  void lose_next_create();
  size_t held_answers() const { return server_.held_answers(); }
  void down() { server_.down(); }
  void up() { server_.up(); }
  std::vector<FakeVendorServer::Received> received() const { return server_.received(); }

  // Another project issues can be created in (a Service Desk project such as "SD"); its
  // issues are numbered on their own ("SD-1").
  void add_project(const std::string& key);

  std::vector<Issue> issues() const;
  std::optional<Issue> issue(const std::string& key) const;

 private:
  using Answer = FakeVendorServer::Answer;
  Answer handle(const FakeVendorServer::Request& req);
  Answer create(const nlohmann::json& body);
  Answer search(const FakeVendorServer::Request& req);
  Answer comment(Issue& issue, const nlohmann::json& body);
  Answer transition(Issue& issue, const nlohmann::json& body);
  Issue* find(const std::string& key_or_id);
  nlohmann::json issue_json(const Issue& issue) const;

  std::string token_;
  std::string user_;
  mutable std::mutex mu_;
  std::vector<Issue> issues_;
  std::set<std::string> projects_ = {"OPS"};
  int next_comment_ = 10100;
  FakeVendorServer server_;  // last: stops (and stops calling handle) before the state goes
};

}  // namespace reflex::testing
