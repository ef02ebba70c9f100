// The dashboard's side of a real hub: its static files (open, typed, under a strict
// Content-Security-Policy, nothing outside the embedded set), and the live event stream
// (guarded by tokens, an event after each incident change, capped, ended by shutdown).
#include <httplib.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/e2e/hub_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kAdmin = "admin-token-0123456789abcdef";
const std::string kResponder = "responder-token-0123456789abcdef";
const std::string kViewer = "viewer-token-0123456789abcdef";

std::string tokens_yaml(const std::string& extra = "") {
  return "api:\n  tokens:\n"
         "    - {name: root, role: admin, token: " +
         kAdmin +
         "}\n"
         "    - {name: alice, role: responder, token: " +
         kResponder +
         "}\n"
         "    - {name: victor, role: viewer, token: " +
         kViewer + "}\n" + extra;
}

httplib::Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::unique_ptr<httplib::Client> client(const HubProcess& hub) {
  auto c = std::make_unique<httplib::Client>(hub.url());
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(10, 0);
  return c;
}

// Reads GET /api/v1/events/stream on a thread of its own, keeping what arrives.
class StreamReader {
 public:
  StreamReader(const HubProcess& hub, const std::string& token) : cli_(hub.url()) {
    cli_.set_connection_timeout(5, 0);
    cli_.set_read_timeout(30, 0);  // longer than the hub's 15 s keep-alive comments
    thread_ = std::thread([this, token] {
      auto res =
          cli_.Get("/api/v1/events/stream", bearer(token), [this](const char* data, size_t n) {
            std::lock_guard lock(mu_);
            text_.append(data, n);
            cv_.notify_all();
            return true;
          });
      std::lock_guard lock(mu_);
      ended_ = true;
      status_ = res ? res->status : -1;
      error_ = httplib::to_string(res.error());
      if (res) content_type_ = res->get_header_value("Content-Type");
      cv_.notify_all();
    });
  }
  ~StreamReader() {
    cli_.stop();
    thread_.join();
  }
  // Whether `needle` arrived within `timeout`.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout = 15s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return text_.find(needle) != std::string::npos; });
  }
  bool wait_ended(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return ended_; });
  }
  std::string text() {
    std::lock_guard lock(mu_);
    return text_;
  }
  int status() {
    std::lock_guard lock(mu_);
    return status_;
  }
  std::string error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  httplib::Client cli_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
  bool ended_ = false;
  int status_ = 0;
  std::string error_;
  std::string content_type_;
  std::thread thread_;
};

// A generic event that opens (or updates) an incident on `service`.
int post_alert(const HubProcess& hub, const std::string& service, const std::string& state) {
  auto c = client(hub);
  const json body = {{"source", "dash-test"},
                     {"alerts",
                      {{{"name", "Broken"},
                        {"state", state},
                        {"severity", "high"},
                        {"labels", {{"service", service}}},
                        {"host", "db-1"}}}}};
  auto res = c->Post("/api/v1/events", bearer(kResponder), body.dump(), "application/json");
  return res ? res->status : -1;
}

}  // namespace

TEST_CASE("the dashboard's files are served without a token, typed, under a CSP of the hub only",
          "[e2e][dashboard]") {
  HubProcess hub(tokens_yaml());
  auto c = client(hub);

  auto index = c->Get("/");
  REQUIRE(index);
  CHECK(index->status == 200);
  CHECK(index->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(index->body.find("<script src=\"/ui/app.js\"") != std::string::npos);
  const std::string csp = index->get_header_value("Content-Security-Policy");
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(csp.find("script-src 'self'") != std::string::npos);
  CHECK(csp.find("connect-src 'self'") != std::string::npos);
  // No remote source of any kind, and no inline script.
  CHECK(csp.find("http") == std::string::npos);
  CHECK(csp.find('*') == std::string::npos);
  CHECK(csp.find("unsafe") == std::string::npos);
  CHECK(index->get_header_value("X-Content-Type-Options") == "nosniff");

  for (const auto& [path, type] : {std::pair{"/ui/", "text/html; charset=utf-8"},
                                   std::pair{"/ui/app.js", "text/javascript; charset=utf-8"},
                                   std::pair{"/ui/style.css", "text/css; charset=utf-8"}}) {
    CAPTURE(path);
    auto res = c->Get(path);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == type);
    CHECK(res->get_header_value("Content-Security-Policy") == csp);
    CHECK(!res->body.empty());
  }
  // The files use the API with a token; the API itself stays guarded.
  auto api = c->Get("/api/v1/incidents");
  REQUIRE(api);
  CHECK(api->status == 401);
  auto whoami = c->Get("/api/v1/whoami", bearer(kViewer));
  REQUIRE(whoami);
  CHECK(whoami->status == 200);
  CHECK(json::parse(whoami->body) == json{{"name", "victor"}, {"role", "viewer"}, {"open", false}});
  // Only reads are open: a write to a dashboard path is an admin's (and routes nowhere).
  auto post = c->Post("/", "x", "text/plain");
  REQUIRE(post);
  CHECK(post->status == 401);
}

TEST_CASE("unknown dashboard paths are 404, and no path reaches a file outside the embedded set",
          "[e2e][dashboard]") {
  HubProcess hub(tokens_yaml());
  hub.dir().write("secret.txt", "do-not-serve\n");
  auto c = client(hub);
  for (const std::string path :
       {"/ui/nope.js", "/ui/hub.yaml", "/ui/secret.txt", "/ui/../hub.yaml", "/ui/..%2Fhub.yaml",
        "/ui/%2e%2e/secret.txt", "/ui/%2e%2e%2fsecret.txt", "/ui/./app.js/..", "/ui//etc/passwd",
        "/ui/app.js%00.css", "/ui/.."}) {
    CAPTURE(path);
    auto res = c->Get(path);
    REQUIRE(res);
    CHECK(res->status == 404);
    CHECK(res->body.find("do-not-serve") == std::string::npos);
    CHECK(res->body.find("tokens:") == std::string::npos);
    // The answer is the API's JSON error, not a file.
    CHECK(res->get_header_value("Content-Type") == "application/json");
  }
}

TEST_CASE("an open event stream receives an incident event after an incident changes",
          "[e2e][dashboard]") {
  HubProcess hub(tokens_yaml());
  StreamReader stream(hub, kViewer);
  REQUIRE(stream.wait_for("event: ready\n"));
  CHECK(hub.metric("reflex_hub_event_streams") == 1);

  REQUIRE(post_alert(hub, "checkout", "firing") == 200);
  REQUIRE(stream.wait_for("event: incident\ndata: {\"id\":1,"));
  CHECK(stream.text().find("\"status\":\"triggered\"") != std::string::npos);

  // An action on it is an incident change too.
  auto c = client(hub);
  auto ack = c->Post("/api/v1/incidents/1/ack", bearer(kResponder), "", "application/json");
  REQUIRE(ack);
  REQUIRE(ack->status == 200);
  CHECK(stream.wait_for("\"status\":\"acknowledged\""));
}

TEST_CASE("the event stream needs a token, and answers text/event-stream to a viewer",
          "[e2e][dashboard]") {
  HubProcess hub(tokens_yaml());
  auto c = client(hub);
  auto none = c->Get("/api/v1/events/stream");
  REQUIRE(none);
  CHECK(none->status == 401);
  CHECK(none->get_header_value("Content-Type") == "application/json");
  auto bad = c->Get("/api/v1/events/stream", bearer("not-a-token-of-this-hub-at-all"));
  REQUIRE(bad);
  CHECK(bad->status == 401);
  // No way around the header: the stream takes no token in its query.
  auto query = c->Get("/api/v1/events/stream?access_token=" + kViewer);
  REQUIRE(query);
  CHECK(query->status == 401);
  CHECK(hub.metric("reflex_hub_event_streams") == 0);

  // A viewer's stream: headers arrive at once, before any event.
  std::string type;
  std::string head;
  httplib::Client viewer(hub.url());
  viewer.set_read_timeout(10, 0);
  auto res = viewer.Get(
      "/api/v1/events/stream", bearer(kViewer),
      [&](const httplib::Response& r) {
        type = r.get_header_value("Content-Type");
        return true;
      },
      [&](const char* data, size_t n) {
        head.append(data, n);
        return head.find("\n\n") == std::string::npos;  // stop after one
      });
  CHECK(type == "text/event-stream");
  CHECK(head.rfind("event: ready\n", 0) == 0);
}

TEST_CASE("stopping the hub ends its open event streams at once, and it exits cleanly",
          "[e2e][dashboard]") {
  HubProcess hub(tokens_yaml());
  StreamReader a(hub, kViewer);
  StreamReader b(hub, kResponder);
  REQUIRE(a.wait_for("event: ready\n"));
  REQUIRE(b.wait_for("event: ready\n"));
  const auto start = std::chrono::steady_clock::now();
  hub.child().signal(SIGTERM);
  // Well inside the 15 s between keep-alive comments: the hub ended the streams.
  CHECK(a.wait_ended(5s));
  CHECK(b.wait_ended(5s));
  CHECK(hub.child().wait() == 0);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CAPTURE(a.error(), a.text());
  CHECK(a.status() == 200);
}

TEST_CASE(
    "event streams beyond half of http_threads are refused with 503, and the API still answers",
    "[e2e][dashboard]") {
  HubProcess hub(tokens_yaml("http_threads: 4\n"));
  StreamReader a(hub, kViewer);
  StreamReader b(hub, kViewer);
  REQUIRE(a.wait_for("event: ready\n"));
  REQUIRE(b.wait_for("event: ready\n"));
  auto c = client(hub);
  auto third = c->Get("/api/v1/events/stream", bearer(kViewer));
  REQUIRE(third);
  CHECK(third->status == 503);
  const json err = json::parse(third->body, nullptr, false);
  CHECK(err["error"]["code"] == "unavailable");
  CHECK(err["error"]["message"].get<std::string>().find("http_threads") != std::string::npos);
  CHECK(hub.metric("reflex_hub_event_streams") == 2);
  CHECK(hub.metric("reflex_hub_event_streams_refused_total") == 1);
  // Two streams hold two workers; the other two serve the API.
  for (int i = 0; i < 5; ++i) {
    auto list = c->Get("/api/v1/incidents", bearer(kViewer));
    REQUIRE(list);
    CHECK(list->status == 200);
  }
  REQUIRE(post_alert(hub, "checkout", "firing") == 200);
  CHECK(a.wait_for("event: incident\n"));
  CHECK(b.wait_for("event: incident\n"));
}
