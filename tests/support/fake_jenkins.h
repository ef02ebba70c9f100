// Test support: a fake Jenkins on 127.0.0.1 (see the vendor documentation,
// https://www.jenkins.io/doc/book/using/remote-access-api/) enforcing the documented contract of
// the remote build trigger:
//  - auth: only `Authorization: Basic base64(user:api_token)`; anything else is 401 (an
//    API token needs no CSRF crumb, so none is asked for);
//  - jobs nest in folders as /job/<folder>/job/<name>; an unknown job is 404; every
//    answer carries X-Jenkins and error pages are HTML;
//  - POST .../buildWithParameters with the parameters form-encoded (or in the query):
//    a job's declared parameters take the values given, the others their defaults, and
//    undeclared names are ignored (as Jenkins does since SECURITY-170); a job without
//    parameters answers 500 "This build is not parameterized!" (the status Jenkins'
//    source gives; the docs leave it unconfirmed);
//  - POST .../build queues with the defaults;
//  - 201 Created with `Location: <base>/queue/item/<id>/`; a request identical (same job,
//    same values) to an item still waiting is merged into it: 303 See Other with that
//    item's Location, and no new item;
//  - GET queue/item/<id>/api/json for looking around.
// Whether Location is absolute is unconfirmed: this fake sends an absolute one.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/support/fake_vendor.h"

namespace reflex::testing {

class FakeJenkins {
 public:
  struct QueueItem {
    int id = 0;
    std::string job;                                // "deploy/checkout-rollback"
    std::map<std::string, std::string> parameters;  // the values the build gets
    bool waiting = true;                            // false once start_queued() ran it
    int requests = 0;                               // triggers merged into it, the first included
  };

  explicit FakeJenkins(std::string user = "reflex", std::string token = "11fakejenkinsapitoken00");

  // "http://127.0.0.1:<port>/": the base URL to configure.
  std::string base_url() const { return server_.url("/"); }
  const std::string& user() const { return user_; }
  const std::string& token() const { return token_; }

  // A job at `path` ("folder/name") with these parameters and their defaults; an empty
  // map: a job without parameters.
  void add_job(const std::string& path, std::map<std::string, std::string> parameters);

  int port() const { return server_.port(); }
  void fail_next(int n, FakeVendorServer::Fault fault) { server_.fail_next(n, std::move(fault)); }
  void down() { server_.down(); }
  void up() { server_.up(); }
  std::vector<FakeVendorServer::Received> received() const { return server_.received(); }

  // Every queue item ever created, oldest first.
  std::vector<QueueItem> queue() const;
  // The waiting items leave the queue (their builds start): a later identical request
  // queues a new build.
  void start_queued();

 private:
  using Answer = FakeVendorServer::Answer;
  Answer handle(const FakeVendorServer::Request& req);
  Answer trigger(const std::string& job, bool with_parameters,
                 const std::map<std::string, std::string>& given);

  std::string user_;
  std::string token_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, std::string>> jobs_;
  std::vector<QueueItem> queue_;
  FakeVendorServer server_;  // last: stops (and stops calling handle) before the state goes
};

}  // namespace reflex::testing
