// Test support: a fake Slack Web API on 127.0.0.1 (a real HTTP server on its own
// threads) that enforces the documented contract of the methods Reflex calls
// (chat.postMessage, chat.update, conversations.create, conversations.invite,
// conversations.archive, conversations.history; see the vendor documentation,
// https://docs.slack.dev/reference/methods):
//  - the write methods POST only, conversations.history GET (query string) or POST;
//    `Authorization: Bearer <token>` required, answered as Slack does with HTTP 200
//    {"ok": false, "error": "not_authed"} (none) or "invalid_auth" (wrong);
//  - a POST has a JSON body (Content-Type application/json; without "charset=utf-8" the
//    answer carries Slack's missing_charset warning) with each method's required fields;
//  - Slack-shaped answers: {"ok": true, "channel": "C123", "ts": "1700000000.000100",
//    "message": {...}} and {"ok": false, "error": "<code>"};
//  - chat.postMessage to a user id (U..., W...) posts to the app's direct message with
//    that user (channel "D..." in the answer), as a bot token may; its `metadata`, when
//    given, must be {"event_type": string, "event_payload": object}
//    (invalid_metadata_format otherwise) and is kept with the message;
//  - conversations.history: `channel` an id (channel_not_found otherwise), the token's
//    scope for it (channels:history; groups:history for a private channel, im:history for
//    a direct message; else missing_scope with `needed` and `provided`), messages newest
//    first strictly between `oldest` and `latest` (inclusive=true: including them), at
//    most `limit` (default 100, at most 999) with has_more, each message's metadata only
//    with include_all_metadata=true.
// It keeps every request it received, and can be told to answer the next calls with a
// given status (429 with Retry-After, 500, ...), to go down (connections refused) and
// come back on the same port, or to lose the answer to the next post (applied, answer
// never sent), or to stall the next post (neither applied nor answered). Shared by the
// hub's tests, the e2e tests, the demo and bench/cluster.
#pragma once

#include <httplib.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
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
    nlohmann::json params;  // a GET's query string as an object of strings, else null
    nlohmann::json answer;  // what the fake answered (a canned fault: its body, if JSON)
    int status = 0;
    std::chrono::steady_clock::time_point at;  // when the request had been read
  };
  // A canned answer for the next call, whatever it asks.
  struct Fault {
    int status = 500;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };

  // Serves on `port` (0: a free one); `token` is the only bot token it accepts. Channel
  // C123 ("incidents") exists from the start.
  explicit FakeSlack(std::string token = "xoxb-fake-0000-test-token", int port = 0);
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
  // The next chat.postMessage that succeeds is applied (the message is posted) but its
  // answer never arrives: the connection is held until the fake goes down (down(), the
  // destructor) and then closed without an answer, as when a hub dies mid-call or the
  // network drops the answer. Its Received has status 0.
  void lose_next_answer();
  // The next chat.postMessage is neither applied nor answered: the connection is held
  // until the fake goes down (down(), the destructor) and then closed without an answer,
  // as when Slack stalls and the caller dies waiting. Its Received has status 0.
  void stall_next_post();
  // How many answers are being held (lose_next_answer(), stall_next_post()).
  size_t held_answers() const;
  // The bot token's scopes (by default every scope Reflex needs). conversations.history
  // without the one its channel needs is answered missing_scope.
  void set_scopes(std::set<std::string> scopes);
  // Stops listening (connections are refused) / listens again on the same port.
  void down();
  void up();

  // Message timestamps (`ts`) are the time of the post, as Slack's are: the wall clock,
  // or, after this, `epoch_ms` plus the real time elapsed since, for tests whose hub runs
  // on simulated time starting there (conversations.history's oldest/latest compare them).
  void set_time_origin(int64_t epoch_ms);

  void add_channel(const std::string& id, const std::string& name);
  // Every request received (served or faulted), oldest first.
  std::vector<Received> received() const;
  // Only the calls it served with ok: true.
  std::vector<Received> delivered() const;
  // The messages posted to `channel` (an id), oldest first: ts, text and metadata (null
  // when none was sent).
  struct Message {
    std::string ts;
    std::string text;
    nlohmann::json metadata;
  };
  std::vector<Message> messages(const std::string& channel) const;
  // Waits until `n` requests have been received.
  bool wait_received(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  struct Channel {
    std::string id;
    std::string name;
    bool archived = false;
    std::set<std::string> members;
    bool is_private = false;
  };
  void start(int port);
  void handle(const httplib::Request& req, httplib::Response& res);
  // Holds the request's thread (mu_ held by `lock`) until down(), then closes the
  // connection before `answer` (or anything) is sent.
  void hold_until_released(std::unique_lock<std::mutex>& lock, httplib::Response& res,
                           const std::string& answer);
  // Serves one method; mu_ held.
  nlohmann::json serve(const std::string& method, const nlohmann::json& body);
  nlohmann::json history(const nlohmann::json& args);
  Channel* find_channel(const std::string& id_or_name);
  // The clock of message timestamps, in µs since the epoch; mu_ held.
  int64_t now_micros() const;

  std::string token_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Received> received_;
  std::deque<Fault> faults_;
  std::map<std::string, Channel> channels_;               // by id
  std::map<std::string, std::vector<Message>> messages_;  // channel id -> oldest first
  std::set<std::string> scopes_;
  bool lose_next_ = false;
  bool stall_next_ = false;
  size_t held_ = 0;
  bool releasing_ = false;  // down(): held answers are dropped
  int64_t last_ts_micros_ = 0;
  std::optional<int64_t> origin_ms_;  // set_time_origin()
  std::chrono::steady_clock::time_point origin_at_;
  int next_channel_ = 1;
};

}  // namespace reflex::testing
