#include "agent/checks/http_check.h"

#include <catch2/catch.hpp>

#include "tests/support/http_test_server.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::agent;
using reflex::testing::HttpTestServer;
using reflex::testing::run_loop_until;

namespace {

// A server whose answers the tests choose: /status/<code>, /body/<text>, /slow.
struct Target {
  HttpTestServer server{[this](httplib::Server& svr) {
    svr.Get(R"(/status/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
      res.status = std::stoi(req.matches[1].str());
      res.set_content("status page", "text/plain");
    });
    svr.Get(R"(/body/(.*))", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.matches[1].str(), "text/plain");
    });
    svr.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      server.sleep_unless_stopping(std::chrono::seconds(30));
      res.set_content("late", "text/plain");
    });
    svr.Get("/headers", [](const httplib::Request& req, httplib::Response& res) {
      res.status = req.get_header_value("X-Key") == "secret" ? 200 : 401;
    });
  }};
};

struct Agent {
  EventLoop loop;
  UvTimers timers{loop};
  HttpClient client{loop, timers};

  CheckResult run(HttpCheckConfig config, Millis timeout = Millis(5'000)) {
    CheckSpec spec;
    spec.name = "web";
    spec.type = "http";
    spec.timeout = timeout;
    auto check = make_http_check(spec, std::move(config), client);
    std::optional<CheckResult> out;
    int calls = 0;
    check->run([&](CheckResult r) {
      ++calls;
      out = std::move(r);
    });
    REQUIRE(run_loop_until(loop, [&] { return out.has_value(); }));
    CHECK(calls == 1);
    return *out;
  }
};

HttpCheckConfig config_for(const std::string& url) {
  HttpCheckConfig c;
  c.url = url;
  return c;
}

std::vector<std::string> read_errors(const std::string& yaml, HttpCheckConfig& out) {
  auto node = config::parse_yaml(yaml, "agent.yaml");
  REQUIRE(node);
  config::Errors errors("agent.yaml");
  {
    config::MapReader r(*node, "checks.web", errors);
    r.take("type");  // the generic keys belong to the caller
    read_http_check(r, out);
  }
  return errors.list();
}

}  // namespace

TEST_CASE("http check is OK on a 2xx answer and reports latency and time to first byte",
          "[agent][http_check]") {
  Target target;
  Agent agent;
  const CheckResult r = agent.run(config_for(target.server.url("/status/204")));
  CHECK(r.state == CheckState::kOk);
  CHECK_THAT(r.message, Catch::StartsWith("HTTP 204 in ") && Catch::EndsWith(" ms"));
  REQUIRE(r.latency_ms.has_value());
  REQUIRE(r.perf.size() == 1);
  CHECK(r.perf[0].name == "ttfb");
  CHECK(r.perf[0].unit == "ms");
  CHECK(r.perf[0].value <= *r.latency_ms);
}

TEST_CASE("http check is CRITICAL on a status outside the expected set", "[agent][http_check]") {
  Target target;
  Agent agent;
  SECTION("the default set is 2xx and 3xx") {
    const CheckResult r = agent.run(config_for(target.server.url("/status/503")));
    CHECK(r.state == CheckState::kCritical);
    CHECK(r.message == "expected status 2xx or 3xx, got 503");
    CHECK(r.latency_ms.has_value());  // an answer still measured the service
  }
  SECTION("an explicit set") {
    HttpCheckConfig c = config_for(target.server.url("/status/200"));
    c.expect_status = {201, 202};
    const CheckResult r = agent.run(c);
    CHECK(r.state == CheckState::kCritical);
    CHECK(r.message == "expected status 201 or 202, got 200");
  }
  SECTION("an explicit set may hold an error status") {
    HttpCheckConfig c = config_for(target.server.url("/status/404"));
    c.expect_status = {404};
    CHECK(agent.run(c).state == CheckState::kOk);
  }
}

TEST_CASE("http check is CRITICAL when the body does not match body_match", "[agent][http_check]") {
  Target target;
  Agent agent;
  HttpCheckConfig c = config_for(target.server.url("/body/status=degraded"));
  c.body_match = "status=(ok|fine)";
  CheckResult r = agent.run(c);
  CHECK(r.state == CheckState::kCritical);
  CHECK(r.message == "body does not match /status=(ok|fine)/");

  c.url = target.server.url("/body/status=ok");
  r = agent.run(c);
  CHECK(r.state == CheckState::kOk);
}

TEST_CASE("http check sends its configured headers", "[agent][http_check]") {
  Target target;
  Agent agent;
  HttpCheckConfig c = config_for(target.server.url("/headers"));
  CHECK(agent.run(c).state == CheckState::kCritical);
  c.headers = {{"X-Key", "secret"}};
  CHECK(agent.run(c).state == CheckState::kOk);
}

TEST_CASE("http check is CRITICAL after its timeout when the server does not answer",
          "[agent][http_check]") {
  Target target;
  Agent agent;
  const CheckResult r = agent.run(config_for(target.server.url("/slow")), Millis(200));
  CHECK(r.state == CheckState::kCritical);
  CHECK(r.message == "timed out after 200 ms");
  CHECK_FALSE(r.latency_ms.has_value());
}

TEST_CASE("http check is CRITICAL when the connection is refused", "[agent][http_check]") {
  Agent agent;
  const int port = reflex::testing::reserve_port();  // nothing listens there
  const CheckResult r = agent.run(config_for("http://127.0.0.1:" + std::to_string(port) + "/"));
  CHECK(r.state == CheckState::kCritical);
  CHECK_THAT(r.message, Catch::Contains("CURLE_COULDNT_CONNECT"));
}

TEST_CASE("Destroying an http check mid-request never calls it back", "[agent][http_check]") {
  Target target;
  Agent agent;
  CheckSpec spec;
  spec.name = "web";
  auto check = make_http_check(spec, config_for(target.server.url("/slow")), agent.client);
  int calls = 0;
  check->run([&](CheckResult) { ++calls; });
  REQUIRE(run_loop_until(agent.loop, [&] { return agent.client.in_flight() == 1; }));
  check.reset();
  CHECK(agent.client.in_flight() == 0);
  run_loop_until(
      agent.loop, [] { return false; }, std::chrono::milliseconds(100));
  CHECK(calls == 0);
}

TEST_CASE("http check config reads every key", "[agent][http_check]") {
  HttpCheckConfig c;
  const auto errors = read_errors(R"(
type: http
url: https://example.com/healthz
method: POST
headers: {Authorization: Bearer x}
expect_status: [200, 204]
body_match: '"ok"'
tls_verify: false
follow_redirects: true
)",
                                  c);
  CHECK(errors.empty());
  CHECK(c.url == "https://example.com/healthz");
  CHECK(c.method == "POST");
  CHECK(c.headers == std::map<std::string, std::string>{{"Authorization", "Bearer x"}});
  CHECK(c.expect_status == std::vector<int>{200, 204});
  CHECK(c.body_match == "\"ok\"");
  CHECK_FALSE(c.tls_verify);
  CHECK(c.follow_redirects);
}

TEST_CASE("http check config errors name the key path", "[agent][http_check]") {
  HttpCheckConfig c;
  SECTION("url is required") {
    const auto errors = read_errors("type: http\n", c);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("checks.web.url: missing required key"));
  }
  SECTION("url must be http or https") {
    const auto errors = read_errors("url: ftp://example.com/\n", c);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("agent.yaml:1: checks.web.url: must start with http://"));
  }
  SECTION("body_match must be a valid regular expression") {
    const auto errors = read_errors("url: http://x/\nbody_match: '(unclosed'\n", c);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("checks.web.body_match: is not a valid regular"));
  }
  SECTION("expect_status holds HTTP status codes") {
    const auto errors = read_errors("url: http://x/\nexpect_status: [200, 42, abc]\n", c);
    REQUIRE(errors.size() == 2);
    CHECK_THAT(errors[0], Catch::Contains("checks.web.expect_status[1]: must be an HTTP status "
                                          "code between 100 and 599, got \"42\""));
    CHECK_THAT(errors[1], Catch::Contains("checks.web.expect_status[2]"));
  }
  SECTION("expect_status is a list") {
    const auto errors = read_errors("url: http://x/\nexpect_status: 200\n", c);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("checks.web.expect_status: expected a list"));
  }
  SECTION("method is a known one") {
    const auto errors = read_errors("url: http://x/\nmethod: FETCH\n", c);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("checks.web.method: must be one of"));
  }
  SECTION("headers cannot smuggle line breaks") {
    const auto errors = read_errors("url: http://x/\nheaders: {X-A: \"a\\r\\nX-B: b\"}\n", c);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("checks.web.headers.X-A: must not contain a line break"));
  }
  SECTION("unknown keys are errors") {
    const auto errors = read_errors("url: http://x/\nexpect: 200\n", c);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("checks.web.expect"));
  }
}
