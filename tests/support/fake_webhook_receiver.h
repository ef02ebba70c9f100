// Test support: a receiver of Reflex's signed webhooks (hub/integrations/webhook.h) on
// 127.0.0.1, checking each POST the way a careful receiver would, with its own HMAC
// (OpenSSL, not the hub's code):
//  - X-Reflex-Timestamp: Unix seconds within `max_skew` of the receiver's clock, else 401;
//  - X-Reflex-Signature: "sha256=" + hex HMAC-SHA256(secret, "<timestamp>.<raw body>"),
//    compared in constant time, else 401 {"error": "..."};
//  - Content-Type application/json and a JSON body, else 400;
//  - 200 {"received": <count>} for a delivery it accepts.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tests/support/fake_vendor.h"

namespace reflex::testing {

class FakeWebhookReceiver {
 public:
  // `now_s` is the receiver's clock (Unix seconds); the system clock by default.
  explicit FakeWebhookReceiver(std::string secret = "webhook-fake-secret-0000",
                               int64_t max_skew_s = 300, std::function<int64_t()> now_s = {});

  // "http://127.0.0.1:<port><path>": a URL to post to.
  std::string url(const std::string& path = "/hooks/reflex") const { return server_.url(path); }
  const std::string& secret() const { return secret_; }

  int port() const { return server_.port(); }
  void fail_next(int n, FakeVendorServer::Fault fault) { server_.fail_next(n, std::move(fault)); }
  void down() { server_.down(); }
  void up() { server_.up(); }
  std::vector<FakeVendorServer::Received> received() const { return server_.received(); }
  // The bodies of the deliveries it accepted, oldest first.
  std::vector<nlohmann::json> accepted() const;

  // The signature of `body` sent at `timestamp` (for tests that forge requests).
  std::string sign(const std::string& timestamp, const std::string& body) const;

 private:
  using Answer = FakeVendorServer::Answer;
  Answer handle(const FakeVendorServer::Request& req);

  std::string secret_;
  int64_t max_skew_s_;
  std::function<int64_t()> now_s_;
  mutable std::mutex mu_;
  std::vector<nlohmann::json> accepted_;
  FakeVendorServer server_;  // last: stops before the state goes
};

}  // namespace reflex::testing
