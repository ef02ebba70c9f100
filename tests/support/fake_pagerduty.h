// Test support: a fake PagerDuty Events API v2 on 127.0.0.1 (see
// the vendor documentation, https://developer.pagerduty.com/docs/events-api-v2/overview/) enforcing
// the documented contract:
//  - POST v2/enqueue with a JSON event; no Authorization header: the 32-character
//    routing_key in the body identifies the service, and a key the fake does not know
//    is refused like a malformed one;
//  - event_action trigger, acknowledge or resolve; dedup_key at most 255 characters and
//    required for acknowledge and resolve; trigger needs payload.summary (at most 1024),
//    payload.source and payload.severity (critical, error, warning, info);
//  - 202 {"status": "success", "message": "Event processed", "dedup_key": ...}; 400
//    {"status": "invalid event", "message": "Event object is invalid", "errors": [...]};
//  - dedup: a trigger for an open alert (same routing and dedup key) is merged into it;
//    acknowledge and resolve of no open alert are accepted and dropped; a trigger after
//    a resolve opens a new alert. A trigger without dedup_key gets a generated one.
#pragma once

#include <string>
#include <vector>

#include "tests/support/fake_vendor.h"

namespace reflex::testing {

class FakePagerDuty {
 public:
  struct Alert {
    std::string dedup_key;
    std::string status;  // "triggered", "acknowledged", "resolved"
    std::string summary;
    std::string severity;
    int events = 0;  // events applied to it (merged triggers included)
  };

  explicit FakePagerDuty(std::string routing_key = "R0fakeR0utingKey00000000000000ab");

  // "http://127.0.0.1:<port>/": the base URL to configure.
  std::string base_url() const { return server_.url("/"); }
  const std::string& routing_key() const { return routing_key_; }

  int port() const { return server_.port(); }
  void fail_next(int n, FakeVendorServer::Fault fault) { server_.fail_next(n, std::move(fault)); }
  void down() { server_.down(); }
  void up() { server_.up(); }
  std::vector<FakeVendorServer::Received> received() const { return server_.received(); }

  // Every alert ever opened, oldest first (a trigger after a resolve adds one).
  std::vector<Alert> alerts() const;

 private:
  using Answer = FakeVendorServer::Answer;
  Answer handle(const FakeVendorServer::Request& req);

  std::string routing_key_;
  mutable std::mutex mu_;
  std::vector<Alert> alerts_;
  int generated_ = 0;
  FakeVendorServer server_;  // last: stops before the state goes
};

}  // namespace reflex::testing
