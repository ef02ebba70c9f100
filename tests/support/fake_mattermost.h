// Test support: a fake Mattermost incoming webhook on 127.0.0.1 (see
// the vendor documentation, https://developers.mattermost.com/integrate/webhooks/incoming/)
// enforcing the documented contract:
//  - POST /hooks/<hook id> only; another id is refused (400, "Invalid webhook");
//  - the body is JSON (Content-Type application/json, or none), or a form with a
//    `payload` field holding the JSON; anything else, or unparsable JSON, is 400;
//  - `text` is required unless `attachments` is given (400 "No text specified");
//  - `channel` overrides the hook's channel by channel *name* ("town-square", not
//    "#town-square") or "@username"; an unknown one is refused, and a hook locked to its
//    channel refuses any other (403);
//  - success is 200 with the plain-text body "ok" and no post id.
// Errors are Mattermost's JSON {"id", "message", "detailed_error", "request_id",
// "status_code"}. Their exact statuses are unconfirmed (older servers answered an
// unknown channel with 500); this fake uses 400 and 403.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tests/support/fake_vendor.h"

namespace reflex::testing {

class FakeMattermost {
 public:
  struct Post {
    std::string channel;  // where it went: the override, or the hook's channel
    std::string text;
    std::string username;  // the override, "" when none
  };

  FakeMattermost();

  // "http://127.0.0.1:<port>/hooks/<id>": the secret URL to configure.
  std::string hook_url() const { return server_.url("/hooks/" + hook_id_); }
  const std::string& hook_id() const { return hook_id_; }
  // A channel overrides may name; "town-square" (the hook's) exists from the start.
  void add_channel(const std::string& name);
  // Refuses posts naming another channel than the hook's.
  void lock_to_channel();

  int port() const { return server_.port(); }
  void fail_next(int n, FakeVendorServer::Fault fault) { server_.fail_next(n, std::move(fault)); }
  std::vector<FakeVendorServer::Received> received() const { return server_.received(); }
  std::vector<Post> posts() const;

 private:
  using Answer = FakeVendorServer::Answer;
  Answer handle(const FakeVendorServer::Request& req);

  std::string hook_id_ = "8f3kz1mattermosthook0xq9w";
  mutable std::mutex mu_;
  std::set<std::string> channels_ = {"town-square"};
  bool locked_ = false;
  std::vector<Post> posts_;
  FakeVendorServer server_;  // last: stops before the state goes
};

}  // namespace reflex::testing
