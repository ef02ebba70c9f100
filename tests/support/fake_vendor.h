// Test support: the HTTP half every fake vendor shares (Jira, Statuspage, PagerDuty,
// Dynatrace, a webhook receiver). A real server on 127.0.0.1 and a free port, on its own
// threads, that hands each request to the fake's handler, keeps every request received
// with the answer given, can be told to answer the next calls with a canned fault (429
// with Retry-After, 500, ...) instead, and can go down (connections refused) and come
// back on the same port, or lose an answer (the request applied, the answer never
// sent). The fakes hold the vendor's rules; this holds the plumbing.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace reflex::testing {

class FakeVendorServer {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  struct Request {
    std::string method;      // "POST"
    std::string path;        // as httplib decoded it: "/rest/api/2/issue/OPS-1/comment"
    std::string target;      // as sent, still percent-encoded, with any query
    httplib::Params params;  // the query string, decoded
    httplib::Headers headers;
    std::string raw_body;
    nlohmann::json body;  // parsed; null if it was not JSON

    // The header's value ("" when absent); names compare case-insensitively.
    std::string header(const std::string& name) const;
  };
  struct Answer {
    int status = 200;
    // Sent as application/json unless null (then no body); a JSON string is sent as it
    // is, as text/html (the error pages of vendors such as Jenkins) or as the type a
    // Content-Type in `headers` names.
    nlohmann::json body;
    Headers headers;
  };
  struct Received {
    Request request;
    int status = 0;
    nlohmann::json answer;  // the body answered (a canned fault's, if it was JSON)
  };
  // A canned answer for the next call, whatever it asks.
  struct Fault {
    int status = 500;
    Headers headers;
    std::string body;
  };
  // Called for each request not answered by a fault, one at a time (never concurrently
  // with another call of it), on the server's threads.
  using Handler = std::function<Answer(const Request&)>;

  // Serves on `port` (0: a free one); throws if it cannot. `name` is for error messages.
  FakeVendorServer(std::string name, Handler handler, int port = 0);
  // Stops serving first, so the handler is not called once this returns.
  ~FakeVendorServer();
  FakeVendorServer(const FakeVendorServer&) = delete;
  FakeVendorServer& operator=(const FakeVendorServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port><path>"
  std::string url(const std::string& path = "/") const;

  // The next `n` calls get `fault` instead of being served.
  void fail_next(int n, Fault fault);
  // The next request that `which` picks (after the handler served it) is applied but its
  // answer never arrives: the connection is held until the server goes down (down(), the
  // destructor), then closed in the middle of the response. Its Received has status 0.
  using Pick = std::function<bool(const Request&, const Answer&)>;
  void lose_next_answer(Pick which);
  // How many answers are being held.
  size_t held_answers() const;
  // Stops listening (connections are refused) / listens again on the same port.
  void down();
  void up();

  // Every request received (served or faulted), oldest first.
  std::vector<Received> received() const;
  // Waits until `n` requests have been received.
  bool wait_received(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  void start(int port);
  void handle(const httplib::Request& req, httplib::Response& res);

  std::string name_;
  Handler handler_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Received> received_;
  std::deque<Fault> faults_;
  Pick lose_;
  size_t held_ = 0;
  bool releasing_ = false;  // down(): held answers are dropped
};

}  // namespace reflex::testing
