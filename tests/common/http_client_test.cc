#include "common/http_client.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/http_test_server.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/process.h"

using namespace reflex;
using reflex::testing::HttpTestServer;
using reflex::testing::run_loop_until;

namespace {

struct Client {
  EventLoop loop;
  UvTimers timers{loop};
  std::unique_ptr<HttpClient> http = std::make_unique<HttpClient>(loop, timers);

  // Sends one request and runs the loop until its answer arrives.
  HttpResponse fetch(HttpRequest req) {
    std::optional<HttpResponse> out;
    http->request(std::move(req), [&](HttpResponse r) { out = std::move(r); });
    REQUIRE(run_loop_until(loop, [&] { return out.has_value(); }));
    return *out;
  }
};

HttpRequest get(const std::string& url, Millis timeout = Millis(10'000)) {
  HttpRequest req;
  req.url = url;
  req.timeout = timeout;
  return req;
}

}  // namespace

TEST_CASE("HttpClient returns the status, body and headers of a real server's answer",
          "[common][http_client]") {
  HttpTestServer server([](httplib::Server& svr) {
    svr.Get("/busy", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_header("Retry-After", "30");
      res.set_content("come back later", "text/plain");
    });
  });
  Client c;
  const HttpResponse r = c.fetch(get(server.url("/busy")));
  CHECK(r.error.empty());
  CHECK(r.status == 503);
  CHECK(r.body == "come back later");
  CHECK_FALSE(r.truncated);
  CHECK(r.header("retry-after") == "30");
  CHECK(r.header("CONTENT-TYPE") == "text/plain");
  CHECK_FALSE(r.header("X-Absent").has_value());
  CHECK(r.total_ms >= r.ttfb_ms);
  CHECK(r.ttfb_ms > 0);
}

TEST_CASE("HttpClient sends the method, headers and body it is given", "[common][http_client]") {
  HttpTestServer server([](httplib::Server& svr) {
    svr.Put("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.method + " " + req.get_header_value("X-Token") + " " + req.body,
                      "text/plain");
    });
  });
  Client c;
  HttpRequest req = get(server.url("/echo"));
  req.method = "PUT";
  req.headers = {{"X-Token", "abc"}};
  req.body = R"({"text":"hi"})";
  const HttpResponse r = c.fetch(req);
  CHECK(r.status == 200);
  CHECK(r.body == R"(PUT abc {"text":"hi"})");
}

TEST_CASE("HttpClient runs many requests at once, answering each on the loop thread",
          "[common][http_client]") {
  // The handler holds every request until all of them are inside the server at the same
  // time, which only a client with all of them in flight at once can achieve.
  constexpr int kRequests = 50;
  std::mutex mu;
  std::condition_variable all_in;
  int inside = 0;
  HttpTestServer server([&](httplib::Server& svr) {
    svr.Get(R"(/n/(\d+))", [&](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock lock(mu);
      ++inside;
      all_in.notify_all();
      const bool together =
          all_in.wait_for(lock, std::chrono::seconds(20), [&] { return inside >= kRequests; });
      res.status = together ? 200 : 500;
      res.set_content(req.matches[1].str(), "text/plain");
    });
  });
  Client c;
  const auto loop_thread = std::this_thread::get_id();
  int answered = 0;
  bool all_on_loop = true;
  std::set<std::string> bodies;
  std::vector<int> statuses;
  for (int i = 0; i < kRequests; ++i) {
    c.http->request(get(server.url("/n/" + std::to_string(i)), Millis(30'000)),
                    [&](HttpResponse r) {
                      all_on_loop = all_on_loop && std::this_thread::get_id() == loop_thread;
                      statuses.push_back(r.status);
                      bodies.insert(r.body);
                      ++answered;
                    });
  }
  CHECK(c.http->in_flight() == kRequests);
  REQUIRE(run_loop_until(
      c.loop, [&] { return answered == kRequests; }, std::chrono::seconds(30)));
  CHECK(all_on_loop);
  CHECK(std::count(statuses.begin(), statuses.end(), 200) == kRequests);
  CHECK(bodies.size() == kRequests);
  CHECK(c.http->in_flight() == 0);
}

TEST_CASE("HttpClient gives up on a server slower than the request's timeout",
          "[common][http_client]") {
  HttpTestServer* srv = nullptr;
  HttpTestServer server([&](httplib::Server& svr) {
    svr.Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
      srv->sleep_unless_stopping(std::chrono::seconds(30));
      res.set_content("late", "text/plain");
    });
  });
  srv = &server;
  Client c;
  const HttpResponse r = c.fetch(get(server.url("/slow"), Millis(200)));
  CHECK(r.timed_out);
  CHECK(r.status == 0);
  CHECK_THAT(r.error, Catch::Contains("timed out") && Catch::Contains("CURLE_OPERATION_TIMEDOUT"));
}

TEST_CASE("HttpClient reports a refused connection as an error without a status",
          "[common][http_client]") {
  Client c;
  const int port = reflex::testing::reserve_port();  // nothing listens there
  const HttpResponse r = c.fetch(get("http://127.0.0.1:" + std::to_string(port) + "/"));
  CHECK(r.status == 0);
  CHECK_FALSE(r.timed_out);
  CHECK_THAT(r.error, Catch::Contains("CURLE_COULDNT_CONNECT"));
}

TEST_CASE("HttpClient cuts a body at max_response_bytes and still reports the status",
          "[common][http_client]") {
  HttpTestServer server([](httplib::Server& svr) {
    svr.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(200'000, 'x'), "text/plain");
    });
  });
  Client c;
  HttpRequest req = get(server.url("/big"));
  req.max_response_bytes = 1000;
  const HttpResponse r = c.fetch(req);
  CHECK(r.error.empty());
  CHECK(r.status == 200);
  CHECK(r.truncated);
  CHECK(r.body == std::string(1000, 'x'));
}

TEST_CASE("HttpClient follows redirects only when asked", "[common][http_client]") {
  HttpTestServer server([](httplib::Server& svr) {
    svr.Get("/old",
            [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/new"); });
    svr.Get("/new", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("moved here", "text/plain");
    });
  });
  Client c;
  HttpRequest req = get(server.url("/old"));
  CHECK(c.fetch(req).status == 302);
  req.follow_redirects = true;
  const HttpResponse r = c.fetch(req);
  CHECK(r.status == 200);
  CHECK(r.body == "moved here");
}

TEST_CASE("HttpClient answers a request curl refuses later, never from inside request()",
          "[common][http_client]") {
  Client c;
  std::optional<HttpResponse> out;
  c.http->request(get("ftp://127.0.0.1/file"), [&](HttpResponse r) { out = std::move(r); });
  CHECK_FALSE(out.has_value());
  REQUIRE(run_loop_until(c.loop, [&] { return out.has_value(); }));
  CHECK(out->status == 0);
  CHECK_THAT(out->error, Catch::Contains("CURLE_UNSUPPORTED_PROTOCOL"));
}

TEST_CASE("HttpClient calls no callback for a cancelled request", "[common][http_client]") {
  HttpTestServer server([](httplib::Server& svr) {
    svr.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", "text/plain");
    });
  });
  Client c;
  int cancelled_calls = 0;
  std::optional<HttpResponse> other;
  const auto id = c.http->request(get(server.url("/ok")), [&](HttpResponse) { ++cancelled_calls; });
  c.http->request(get(server.url("/ok")), [&](HttpResponse r) { other = std::move(r); });
  c.http->cancel(id);
  REQUIRE(run_loop_until(c.loop, [&] { return other.has_value(); }));
  CHECK(other->status == 200);
  CHECK(cancelled_calls == 0);
  CHECK(c.http->in_flight() == 0);
}

TEST_CASE("Destroying HttpClient abandons requests in flight without calling them back",
          "[common][http_client]") {
  HttpTestServer* srv = nullptr;
  std::atomic<int> arrived{0};
  HttpTestServer server([&](httplib::Server& svr) {
    svr.Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
      ++arrived;
      srv->sleep_unless_stopping(std::chrono::seconds(30));
      res.set_content("late", "text/plain");
    });
  });
  srv = &server;
  Client c;
  int calls = 0;
  for (int i = 0; i < 5; ++i) {
    c.http->request(get(server.url("/slow")), [&](HttpResponse) { ++calls; });
  }
  REQUIRE(run_loop_until(c.loop, [&] { return arrived == 5; }));
  c.http.reset();
  // Whatever the loop still holds (closing handles) runs now and calls nobody.
  run_loop_until(
      c.loop, [] { return false; }, std::chrono::milliseconds(100));
  CHECK(calls == 0);
}

TEST_CASE("A callback may destroy the HttpClient that called it", "[common][http_client]") {
  HttpTestServer server([](httplib::Server& svr) {
    svr.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", "text/plain");
    });
  });
  Client c;
  int calls = 0;
  for (int i = 0; i < 3; ++i) {
    c.http->request(get(server.url("/ok")), [&](HttpResponse) {
      ++calls;
      c.http.reset();
    });
  }
  REQUIRE(run_loop_until(c.loop, [&] { return c.http == nullptr; }));
  run_loop_until(
      c.loop, [] { return false; }, std::chrono::milliseconds(100));
  CHECK(calls == 1);
}
