// Test support: a fake Dynatrace Problems API v2 on 127.0.0.1 (see
// the vendor documentation,
// https://docs.dynatrace.com/docs/dynatrace-api/environment-api/problems-v2) enforcing the
// documented contract of a comment:
//  - `Authorization: Api-Token <token>`, else 401; errors carry the ErrorEnvelope
//    {"error": {"code", "message", "constraintViolations": [...]}};
//  - POST api/v2/problems/{problemId}/comments with {"message" (required), "context"
//    (optional)}; an unknown problem is 404, a missing message 400 with a constraint
//    violation naming it;
//  - success is 201 with the comment ({"id", "content", "context", ...}); clients must
//    not rely on either, since the docs leave both unconfirmed;
//  - GET api/v2/problems/{problemId} returns the problem with its recent comments.
// Problem "-123_456V2" exists from the start.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/support/fake_vendor.h"

namespace reflex::testing {

class FakeDynatrace {
 public:
  struct Comment {
    std::string id;
    std::string message;
    std::string context;
  };

  explicit FakeDynatrace(std::string token = "dt0c01.FAKEPUBLIC.FAKESECRETPART0000", int port = 0);

  // "http://127.0.0.1:<port>/": the base URL to configure.
  std::string base_url() const { return server_.url("/"); }
  const std::string& token() const { return token_; }

  void add_problem(const std::string& problem_id);
  int port() const { return server_.port(); }
  void fail_next(int n, FakeVendorServer::Fault fault) { server_.fail_next(n, std::move(fault)); }
  void down() { server_.down(); }
  void up() { server_.up(); }
  std::vector<FakeVendorServer::Received> received() const { return server_.received(); }

  // The comments on `problem_id`, oldest first.
  std::vector<Comment> comments(const std::string& problem_id) const;

 private:
  using Answer = FakeVendorServer::Answer;
  Answer handle(const FakeVendorServer::Request& req);

  std::string token_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Comment>> problems_;
  int next_comment_ = 1;
  FakeVendorServer server_;  // last: stops before the state goes
};

}  // namespace reflex::testing
