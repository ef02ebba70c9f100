// Test support: a fake Slack Web API on 127.0.0.1 (a real HTTP server on its own
// threads) that enforces the documented contract of the five methods Reflex calls
// (chat.postMessage, chat.update, conversations.create, conversations.invite,
// conversations.archive; see the vendor documentation, https://api.slack.com/web):
//  - POST only; `Authorization: Bearer <token>` required, answered as Slack does with
//    HTTP 200 {"ok": false, "error": "not_authed"} (none) or "invalid_auth" (wrong);
//  - a JSON body (Content-Type application/json; without "charset=utf-8" the answer
//    carries Slack's missing_charset warning) with each method's required fields;
//  - Slack-shaped answers: {"ok": true, "channel": "C123", "ts": "1700000000.000100",
//    "message": {...}} and {"ok": false, "error": "<code>"};
//  - chat.postMessage to a user id (U..., W...) posts to the app's direct message with
//    that user (channel "D..." in the answer), as a bot token may.
// It keeps every request it received, and can be told to answer the next calls with a
// given status (429 with Retry-After, 500, ...) or to go down (connections refused) and
// come back on the same port. Shared by the hub's tests, the e2e tests and the demo.
#pragma once

#include <httplib.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace reflex::testing {

class FakeSlack {
 public:
  struct Received {
    std::string http_method;    // "POST"
    std::string method;         // "chat.postMessage"
    std::string authorization;  // the header as sent
    std::string content_type;
    std::string raw_body;
    nlohmann::json body;    // parsed; null if it was not JSON
    nlohmann::json answer;  // what the fake answered (a canned fault: its body, if JSON)
    int status = 0;
  };
  // A canned answer for the next call, whatever it asks.
  struct Fault {
    int status = 500;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };

  // Serves on a free port; `token` is the only bot token it accepts. Channel C123
  // ("incidents") exists from the start.
  explicit FakeSlack(std::string token = "xoxb-fake-0000-test-token");
  ~FakeSlack();
  FakeSlack(const FakeSlack&) = delete;
  FakeSlack& operator=(const FakeSlack&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>/api/": the base URL to configure.
  std::string base_url() const;
  const std::string& token() const { return token_; }

  // The next `n` calls get `fault` instead of being served.
  void fail_next(int n, Fault fault);
  // The next `n` calls get HTTP 429 with `Retry-After: <seconds>` and
  // {"ok": false, "error": "ratelimited"}.
  void rate_limit_next(int n, int retry_after_seconds);
  // The next `n` calls get HTTP 200 {"ok": false, "error": code}.
  void error_next(int n, const std::string& code);
  // Stops listening (connections are refused) / listens again on the same port.
  void down();
  void up();

  void add_channel(const std::string& id, const std::string& name);
  // Every request received (served or faulted), oldest first.
  std::vector<Received> received() const;
  // Only the calls it served with ok: true.
  std::vector<Received> delivered() const;
  // Waits until `n` requests have been received.
  bool wait_received(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  struct Channel {
    std::string id;
    std::string name;
    bool archived = false;
    std::set<std::string> members;
  };
  void start(int port);
  void handle(const httplib::Request& req, httplib::Response& res);
  // Serves one method; mu_ held.
  nlohmann::json serve(const std::string& method, const nlohmann::json& body);
  Channel* find_channel(const std::string& id_or_name);

  std::string token_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Received> received_;
  std::deque<Fault> faults_;
  std::map<std::string, Channel> channels_;                // by id
  std::map<std::string, std::set<std::string>> messages_;  // channel id -> ts
  int64_t next_ts_micros_ = 100;
  int next_channel_ = 1;
};

}  // namespace reflex::testing
