#include "agent/checks/log_check.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "agent/checks/log_pattern.h"
#include "tests/agent/recorder_spy.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::agent;
using reflex::agent::testing::RecorderSpy;
using reflex::testing::run_loop_until;
using std::chrono::seconds;

namespace {

// "<status> <latency in ms>" lines.
constexpr const char* kSimplePattern = R"(^(?<status>\d{3}) (?<ms>\S+)$)";

struct Follow {
  EventLoop loop;
  SystemClock clock;
  UvTimers timers{loop};
  RecorderSpy recorder;
  CheckContext ctx{loop, clock, timers, recorder};
  reflex::testing::TempDir dir;
  std::string path = dir.file("access.log");

  std::unique_ptr<StreamingCheck> start(LogCheckConfig config) {
    config.path = path;
    config.poll_interval = Millis(10);
    CheckSpec spec{.name = "web", .type = "log", .labels = {{"service", "shop"}}};
    auto check = make_log_check(spec, std::move(config), ctx);
    REQUIRE(check);
    REQUIRE((*check)->start());
    return std::move(*check);
  }
  std::unique_ptr<StreamingCheck> start_simple(bool from_start = false) {
    LogCheckConfig c;
    c.pattern = kSimplePattern;
    c.latency_capture = "ms";
    c.from_start = from_start;
    return start(c);
  }
  bool wait_events(size_t n) {
    return run_loop_until(
        loop, [&] { return recorder.events.size() >= n; }, seconds(10));
  }
  std::vector<double> latencies() const {
    std::vector<double> out;
    for (const auto& e : recorder.events) out.push_back(e.latency_ms.value_or(-1));
    return out;
  }
};

void append(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << text;
}

void truncate_and_write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);  // same inode, like copytruncate
  out << text;
}

Status read_config(const std::string& yaml, LogCheckConfig& out) {
  auto node = config::parse_yaml(yaml, "agent.yaml");
  REQUIRE(node);
  config::Errors errors("agent.yaml");
  {
    config::MapReader r(*node, "checks[0]", errors);
    read_log_check(r, out);
  }
  return errors.status();
}

}  // namespace

TEST_CASE("lines appended to a followed log become events with their errors and latencies",
          "[agent][log]") {
  Follow f;
  append(f.path, "200 999\n500 999\n");  // already there: a follower starts at the end
  auto check = f.start_simple();
  append(f.path, "200 12\n503 40\n404 7\n");
  REQUIRE(f.wait_events(3));
  CHECK(f.latencies() == std::vector<double>{12, 40, 7});
  CHECK(f.recorder.error_count() == 1);
  CHECK(f.recorder.events[1].error);
  CHECK(f.recorder.events[0].series == "web");
  CHECK(f.recorder.events[0].labels == Labels{{"service", "shop"}});
  CHECK(check->status().runs == 3);
  CHECK(check->status().failures == 1);
  CHECK(check->status().last_state == CheckState::kOk);
}

TEST_CASE("an unterminated line is held until its newline arrives", "[agent][log]") {
  Follow f;
  append(f.path, "");
  auto check = f.start_simple();
  append(f.path, "200 1\n200 2");
  REQUIRE(f.wait_events(1));
  append(f.path, "5\n");
  REQUIRE(f.wait_events(2));
  CHECK(f.latencies() == std::vector<double>{1, 25});
}

TEST_CASE("with from_start an existing log is read from its beginning", "[agent][log]") {
  Follow f;
  append(f.path, "200 1\n200 2\n");
  auto check = f.start_simple(/*from_start=*/true);
  REQUIRE(f.wait_events(2));
  CHECK(f.latencies() == std::vector<double>{1, 2});
}

TEST_CASE("a log rotated by rename is read to the old file's end, then the new file whole",
          "[agent][log]") {
  Follow f;
  append(f.path, "");
  auto check = f.start_simple();
  append(f.path, "200 1\n200 2\n");
  REQUIRE(f.wait_events(2));
  // Between two polls: the old file gets a last line (and one without a newline), is moved
  // away, and the new file at the path is already written to.
  append(f.path, "200 3\n200 4");
  std::filesystem::rename(f.path, f.path + ".1");
  append(f.path, "500 5\n200 6\n");
  REQUIRE(f.wait_events(6));
  CHECK(f.latencies() == std::vector<double>{1, 2, 3, 4, 5, 6});
  append(f.path, "200 7\n");
  REQUIRE(f.wait_events(7));
  CHECK(f.latencies().back() == 7);
  CHECK(f.recorder.error_count() == 1);
}

TEST_CASE("a log truncated in place is read again from its start", "[agent][log]") {
  Follow f;
  append(f.path, "");
  auto check = f.start_simple();
  for (int i = 1; i <= 10; ++i) append(f.path, "200 " + std::to_string(i) + "\n");
  REQUIRE(f.wait_events(10));
  truncate_and_write(f.path, "503 100\n200 200\n");  // shorter than what was read
  REQUIRE(f.wait_events(12));
  CHECK(f.latencies()[10] == 100);
  CHECK(f.latencies()[11] == 200);
  CHECK(f.recorder.events[10].error);
}

TEST_CASE("a log created after the check started is read from its start", "[agent][log]") {
  Follow f;
  auto check = f.start_simple();
  CHECK(check->status().last_state == CheckState::kUnknown);
  CHECK_THAT(check->status().last_message, Catch::Contains("waiting for"));
  bool polled_while_missing = false;  // several poll intervals pass with no file
  f.timers.start(Millis(50), Millis(0), [&] { polled_while_missing = true; });
  REQUIRE(run_loop_until(
      f.loop, [&] { return polled_while_missing; }, seconds(10)));
  CHECK(check->status().last_state == CheckState::kUnknown);
  append(f.path, "200 1\n500 2\n");
  REQUIRE(f.wait_events(2));
  CHECK(f.latencies() == std::vector<double>{1, 2});
  CHECK(check->status().last_state == CheckState::kOk);
}

TEST_CASE("garbage, overlong and unparsable-latency lines are counted as bad input",
          "[agent][log]") {
  Follow f;
  append(f.path, "");
  auto check = f.start_simple();
  append(f.path, "hello world\n200 12\n" + std::string(70 * 1024, 'a') + "\n200 fast\n\x01\x02\n" +
                     "500 3\n");
  REQUIRE(run_loop_until(
      f.loop, [&] { return check->status().runs >= 6; }, seconds(10)));
  const auto& bad = check->status().bad_input;
  CHECK(bad.at("unmatched_line") == 2);
  CHECK(bad.at("line_too_long") == 1);
  CHECK(bad.at("bad_latency") == 1);
  REQUIRE(f.recorder.events.size() == 3);  // the bad latency line is still a request
  CHECK_FALSE(f.recorder.events[1].latency_ms);
  CHECK(f.latencies().back() == 3);
  CHECK(check->status().runs == 6);
}

TEST_CASE("the nginx_combined format reads status and request_time from real-looking lines",
          "[agent][log]") {
  Follow f;
  LogCheckConfig config;
  REQUIRE(read_config("path: /var/log/nginx/access.log\nformat: nginx_combined\n", config));
  CHECK(config.latency_capture == "request_time");
  CHECK(config.latency_unit == "s");
  append(f.path, "");
  auto check = f.start(config);
  append(f.path,
         "127.0.0.1 - - [10/Oct/2024:13:55:36 +0000] \"GET /cart HTTP/1.1\" 200 612 \"-\" "
         "\"curl/8.0\" 0.123\n"
         "10.0.0.7 - alice [10/Oct/2024:13:55:37 +0000] \"POST /api/pay?x=1 HTTP/2.0\" 502 157 "
         "\"https://shop.example/cart\" \"Mozilla/5.0 (X11; Linux x86_64) \\\"quoted\\\"\" 1.5\n"
         "this is not nginx\n");
  REQUIRE(run_loop_until(
      f.loop, [&] { return check->status().runs >= 3; }, seconds(10)));
  REQUIRE(f.recorder.events.size() == 2);
  CHECK_FALSE(f.recorder.events[0].error);
  CHECK(*f.recorder.events[0].latency_ms == Approx(123));
  CHECK(f.recorder.events[1].error);
  CHECK(*f.recorder.events[1].latency_ms == Approx(1500));
  CHECK(check->status().bad_input.at("unmatched_line") == 1);
}

TEST_CASE("error_status patterns match statuses digit by digit", "[agent][log]") {
  const std::vector<std::string> patterns{"5xx", "404", "error"};
  CHECK(status_matches("503", patterns));
  CHECK(status_matches("500", patterns));
  CHECK(status_matches("404", patterns));
  CHECK(status_matches("ERROR", patterns));
  CHECK_FALSE(status_matches("403", patterns));
  CHECK_FALSE(status_matches("200", patterns));
  CHECK_FALSE(status_matches("5000", patterns));
  CHECK_FALSE(status_matches("5a0", patterns));
  CHECK(parse_latency_ms("0.123", "s") == Approx(123));
  CHECK(parse_latency_ms("15", "ms") == 15);
  CHECK_FALSE(parse_latency_ms("-1", "ms"));
  CHECK_FALSE(parse_latency_ms("1e3", "ms"));
  CHECK_FALSE(parse_latency_ms("", "ms"));
}

TEST_CASE("a log check config names the key and PCRE2's error for a bad pattern", "[agent][log]") {
  LogCheckConfig c;
  auto s = read_config("path: /x\npattern: '(?<status>\\d+'\n", c);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("checks[0].pattern"));
  CHECK_THAT(s.message(), Catch::Contains("missing closing parenthesis"));
  CHECK_THAT(s.message(), Catch::Contains("offset"));
}

TEST_CASE("a log check config refuses missing captures, both or neither pattern and format",
          "[agent][log]") {
  LogCheckConfig a;
  auto s = read_config("path: /x\npattern: '^(?<code>\\d+)'\n", a);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("checks[0].pattern"));
  CHECK_THAT(s.message(), Catch::Contains("(?<status>"));

  LogCheckConfig b;
  s = read_config(
      "path: /x\npattern: '^(?<code>\\d+)'\nstatus_capture: code\n"
      "latency_capture: ms\n",
      b);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("checks[0].latency_capture"));

  LogCheckConfig c;
  s = read_config("path: /x\npattern: x\nformat: nginx_combined\n", c);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("exactly one of pattern"));

  LogCheckConfig d;
  s = read_config("pattern: x\nstatus_capture: ''\nerror_status: [5x!]\nformat_x: 1\n", d);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("checks[0].path: missing required key"));
  CHECK_THAT(s.message(), Catch::Contains("checks[0].error_status[0]"));
  CHECK_THAT(s.message(), Catch::Contains("format_x"));

  LogCheckConfig f;
  s = read_config("path: /x\nformat: apache\n", f);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("checks[0].format: must be one of nginx_combined"));
  CHECK_THAT(s.message(), !Catch::Contains("named capture"));

  LogCheckConfig e;
  CHECK(
      read_config("path: /x\npattern: '^(?<code>\\d+) (?<t>\\S+)'\nstatus_capture: code\n"
                  "latency_capture: t\nerror_status: [4xx, 5xx]\npoll_interval: 1s\n",
                  e));
  CHECK(e.latency_unit == "ms");
  CHECK(e.poll_interval == Millis(1000));
}
