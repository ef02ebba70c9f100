// Test support: a fake GitHub REST API on 127.0.0.1 (see the vendor documentation,
// https://docs.github.com/rest/actions/workflows) enforcing the documented contract of
// workflow_dispatch:
//  - a User-Agent is required (403 without, as GitHub answers); X-GitHub-Api-Version,
//    when sent, must be 2022-11-28 (400 otherwise);
//  - auth: `Authorization: Bearer <token>` (or the older `token <token>`); none or a
//    wrong one is 401 {"message": "Bad credentials"} or "Requires authentication";
//  - POST repos/{owner}/{repo}/actions/workflows/{file name or id}/dispatches with a JSON
//    body {"ref", "inputs"}: an unknown repository or workflow is 404 {"message": "Not
//    Found"}; a missing or unknown ref, an input the workflow does not declare, a
//    required input not given or a value that is not a string is 422 with GitHub's
//    message; else 204 with no body, and the run is recorded;
//  - every answer carries x-ratelimit-limit / -remaining / -used / -reset /
//    -resource; rate_limit_next() answers 403 with x-ratelimit-remaining 0, as GitHub
//    does over its primary limit.
// The input cap (10 in older docs, 25 now per a secondary source) is unconfirmed and
// not enforced; neither is Accept (GitHub recommends application/vnd.github+json).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/support/fake_vendor.h"

namespace reflex::testing {

class FakeGitHub {
 public:
  struct Run {
    std::string repo;      // "acme/shop"
    std::string workflow;  // the file name, however it was named
    std::string ref;
    std::map<std::string, std::string> inputs;
  };

  explicit FakeGitHub(std::string token = "ghp_fakeGitHubToken0000000000000000000000");

  // "http://127.0.0.1:<port>/": the base URL to configure.
  std::string base_url() const { return server_.url("/"); }
  const std::string& token() const { return token_; }

  // A workflow of `repo` ("owner/name") in file `file` with numeric id `id`, declaring
  // `inputs` (name -> required), on the branches `refs`.
  void add_workflow(const std::string& repo, const std::string& file, int id,
                    std::map<std::string, bool> inputs, std::vector<std::string> refs = {"main"});

  int port() const { return server_.port(); }
  void fail_next(int n, FakeVendorServer::Fault fault) { server_.fail_next(n, std::move(fault)); }
  // The next `n` calls get GitHub's primary rate-limit answer: 403, remaining 0, and
  // x-ratelimit-reset `reset_epoch_seconds`.
  void rate_limit_next(int n, int64_t reset_epoch_seconds);
  void down() { server_.down(); }
  void up() { server_.up(); }
  std::vector<FakeVendorServer::Received> received() const { return server_.received(); }

  std::vector<Run> runs() const;

 private:
  using Answer = FakeVendorServer::Answer;
  struct Workflow {
    std::string repo;
    std::string file;
    int id = 0;
    std::map<std::string, bool> inputs;
    std::vector<std::string> refs;
  };
  Answer handle(const FakeVendorServer::Request& req);
  Answer dispatch(const Workflow& wf, const nlohmann::json& body);
  FakeVendorServer::Headers rate_headers();

  std::string token_;
  mutable std::mutex mu_;
  std::vector<Workflow> workflows_;
  std::vector<Run> runs_;
  int used_ = 0;
  FakeVendorServer server_;  // last: stops (and stops calling handle) before the state goes
};

}  // namespace reflex::testing
