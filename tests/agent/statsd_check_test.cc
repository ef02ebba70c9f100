#include "agent/checks/statsd_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/agent/recorder_spy.h"
#include "tests/support/loop_helpers.h"

using namespace reflex;
using namespace reflex::agent;
using reflex::agent::testing::RecorderSpy;
using reflex::testing::run_loop_until;
using std::chrono::seconds;
using Type = StatsdMetric::Type;

namespace {

// A UDP client socket sending to 127.0.0.1:port.
class Sender {
 public:
  explicit Sender(int port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    REQUIRE(fd_ >= 0);
    to_.sin_family = AF_INET;
    to_.sin_port = htons(static_cast<uint16_t>(port));
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~Sender() { ::close(fd_); }
  void send(const std::string& datagram) {
    REQUIRE(::sendto(fd_, datagram.data(), datagram.size(), 0,
                     reinterpret_cast<const sockaddr*>(&to_),
                     sizeof(to_)) == static_cast<ssize_t>(datagram.size()));
  }

 private:
  int fd_;
  sockaddr_in to_{};
};

struct Listener {
  EventLoop loop;
  SystemClock clock;
  UvTimers timers{loop};
  RecorderSpy recorder;
  CheckContext ctx{loop, clock, timers, recorder};
  std::unique_ptr<StatsdCheck> check;
  std::unique_ptr<Sender> sender;

  explicit Listener(StatsdCheckConfig config = {}) {
    config.listen = "127.0.0.1:0";
    check = make_statsd_check({.name = "app", .type = "statsd", .labels = {{"env", "prod"}}},
                              config, ctx);
    REQUIRE(check->start());
    REQUIRE(check->port() > 0);
    sender = std::make_unique<Sender>(check->port());
  }
  ~Listener() { check.reset(); }

  // Sends one datagram and runs the loop until the check has read it.
  void send(const std::string& datagram) {
    const auto before = check->status().runs;
    sender->send(datagram);
    REQUIRE(run_loop_until(
        loop, [&] { return check->status().runs > before; }, seconds(10)));
  }
  uint64_t bad(const std::string& reason) const {
    auto it = check->status().bad_input.find(reason);
    return it == check->status().bad_input.end() ? 0 : it->second;
  }
};

Status read_config(const std::string& yaml, StatsdCheckConfig& out) {
  auto node = config::parse_yaml(yaml, "agent.yaml");
  REQUIRE(node);
  config::Errors errors("agent.yaml");
  {
    config::MapReader r(*node, "checks[1]", errors);
    read_statsd_check(r, out);
  }
  return errors.status();
}

}  // namespace

TEST_CASE("statsd lines parse into metrics, and bad ones into their bad-input reason",
          "[agent][statsd]") {
  struct Good {
    const char* line;
    Type type;
    double value;
    double rate;
    bool relative;
  };
  for (const auto& g : std::vector<Good>{
           {"hits:1|c", Type::kCounter, 1, 1, false},
           {"hits:-2|c", Type::kCounter, -2, 1, false},
           {"hits:3|c|@0.25", Type::kCounter, 3, 0.25, false},
           {"api.latency:12.5|ms", Type::kTimer, 12.5, 1, false},
           {"api.latency:7|h|@0.1", Type::kTimer, 7, 0.1, false},
           {"queue-depth:40|g", Type::kGauge, 40, 1, false},
           {"queue-depth:+4|g", Type::kGauge, 4, 1, true},
           {"queue-depth:-4.5|g", Type::kGauge, -4.5, 1, true},
           {"a/b_c:1|c\r", Type::kCounter, 1, 1, false},
       }) {
    INFO(g.line);
    auto m = parse_statsd_line(g.line);
    REQUIRE(m);
    CHECK(m->type == g.type);
    CHECK(m->value == g.value);
    CHECK(m->sample_rate == g.rate);
    CHECK(m->relative == g.relative);
  }

  auto set = parse_statsd_line("users:alice|s");
  REQUIRE(set);
  CHECK(set->type == Type::kSet);
  CHECK(set->set_member == "alice");
  CHECK(set->name == "users");

  auto tagged = parse_statsd_line("req:1|c|@0.5|#route:/cart,canary");
  REQUIRE(tagged);
  CHECK(tagged->tags == Labels{{"route", "/cart"}, {"canary", ""}});
  CHECK(tagged->sample_rate == 0.5);

  for (const auto& [line, reason] : std::vector<std::pair<const char*, const char*>>{
           {"hits", "malformed_line"},
           {"hits:1", "malformed_line"},
           {":1|c", "malformed_line"},
           {"my hits:1|c", "malformed_line"},
           {"hits:1|c|x", "malformed_line"},
           {"hits:abc|c", "bad_value"},
           {"hits:|c", "bad_value"},
           {"hits:nan|g", "bad_value"},
           {"hits:1e999|c", "bad_value"},
           {"hits:++1|c", "bad_value"},
           {"lat:-1|ms", "bad_value"},
           {"users:|s", "bad_value"},
           {"hits:1|q", "unknown_type"},
           {"hits:1|", "unknown_type"},
           {"hits:1|c|@0", "bad_sample_rate"},
           {"hits:1|c|@1.5", "bad_sample_rate"},
           {"hits:1|c|@x", "bad_sample_rate"},
           {"hits:1|c|#bad tag:x", "bad_tags"},
           {"hits:1|c|#a:1,", "bad_tags"},
           {"hits:1|c|#a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "bad_tags"},
       }) {
    INFO(line);
    auto m = parse_statsd_line(line);
    REQUIRE_FALSE(m);
    CHECK(m.status().code() == reason);
  }
}

TEST_CASE("counters, timers and gauges in one datagram are recorded with rates applied",
          "[agent][statsd]") {
  Listener l;
  l.send(
      "hits:1|c\nhits:2|c|@0.5\nlat:12.5|ms\nlat:7|h|@0.1\n"
      "depth:20|g\ndepth:+5|g\ndepth:-30|g\n");
  REQUIRE(l.recorder.counters.size() == 2);
  CHECK(l.recorder.counters[0].series == "app.hits");
  CHECK(l.recorder.counters[0].value == 1);
  CHECK(l.recorder.counters[1].value == 4);
  CHECK(l.recorder.counters[0].labels == Labels{{"env", "prod"}});
  REQUIRE(l.recorder.events.size() == 2);  // a sampled timer is still one observation
  CHECK(l.recorder.events[0].series == "app.lat");
  CHECK(*l.recorder.events[0].latency_ms == 12.5);
  CHECK(*l.recorder.events[1].latency_ms == 7);
  CHECK_FALSE(l.recorder.events[0].error);
  REQUIRE(l.recorder.gauges.size() == 3);
  CHECK(l.recorder.gauges[0].value == 20);
  CHECK(l.recorder.gauges[1].value == 25);
  CHECK(l.recorder.gauges[2].value == -5);
  CHECK(l.check->status().runs == 1);
  CHECK(l.check->status().bad_input.empty());
}

TEST_CASE("dogstatsd tags become labels under the check's own labels", "[agent][statsd]") {
  Listener l;
  l.send("req:1|c|#route:/cart,env:dev\nreq:1|c|#route:/pay\n");
  REQUIRE(l.recorder.counters.size() == 2);
  CHECK(l.recorder.counters[0].labels == Labels{{"env", "prod"}, {"route", "/cart"}});
  CHECK(l.recorder.counters[1].labels == Labels{{"env", "prod"}, {"route", "/pay"}});
}

TEST_CASE("a set reports its distinct values at each flush and then starts again",
          "[agent][statsd]") {
  Listener l({.flush_interval = Millis(50)});
  l.send("users:alice|s\nusers:bob|s\nusers:alice|s\n");
  auto gauge_of = [&](double v) {
    for (const auto& g : l.recorder.gauges) {
      if (g.series == "app.users" && g.value == v) return true;
    }
    return false;
  };
  REQUIRE(run_loop_until(
      l.loop, [&] { return gauge_of(2); }, seconds(10)));
  REQUIRE(run_loop_until(
      l.loop, [&] { return gauge_of(0); }, seconds(10)));
  l.send("users:carol|s\n");
  REQUIRE(run_loop_until(
      l.loop, [&] { return gauge_of(1); }, seconds(10)));
  for (const auto& g : l.recorder.gauges) CHECK(g.value <= 2);
}

TEST_CASE("a set stops taking new values at its bound within one interval", "[agent][statsd]") {
  Listener l({.flush_interval = Millis(3'600'000)});
  for (int d = 0; d < 3; ++d) {
    std::string datagram;
    for (int i = 0; i < 4000; ++i) datagram += "ids:" + std::to_string(d * 4000 + i) + "|s\n";
    l.send(datagram);
  }
  l.send("ids:0|s\n");  // known values are still fine
  CHECK(l.bad("set_overflow") == 2000);
}

TEST_CASE("malformed lines are counted by reason without losing the datagram's good lines",
          "[agent][statsd]") {
  Listener l;
  l.send(
      "good:1|c\nnocolon\nbad:abc|c\nx:1|zz\ny:1|c|@2\n:1|c\nbad name:1|c\n\x01\xff\n"
      "ok:2|ms\n");
  CHECK(l.recorder.counters.size() == 1);
  CHECK(l.recorder.events.size() == 1);
  CHECK(l.bad("malformed_line") == 4);
  CHECK(l.bad("bad_value") == 1);
  CHECK(l.bad("unknown_type") == 1);
  CHECK(l.bad("bad_sample_rate") == 1);
  l.send(std::string("\0\0\0garbage", 10));
  l.send("good:5|c");
  REQUIRE(l.recorder.counters.size() == 2);
  CHECK(l.recorder.counters[1].value == 5);
  CHECK(l.check->status().runs == 3);
}

TEST_CASE("metrics beyond max_series are dropped and counted", "[agent][statsd]") {
  Listener l({.max_series = 2});
  l.send("a:1|c\nb:1|c\nc:1|c\na:1|c\nb:1|c|#k:v\n");
  CHECK(l.recorder.counters.size() == 3);
  CHECK(l.bad("too_many_metrics") == 2);
}

TEST_CASE("a statsd check whose port is taken fails to start naming the address",
          "[agent][statsd]") {
  Listener l;
  StatsdCheckConfig c;
  c.listen = "127.0.0.1:" + std::to_string(l.check->port());
  auto second = make_statsd_check({.name = "other", .type = "statsd", .labels = {}}, c, l.ctx);
  auto s = second->start();
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains(c.listen));
  CHECK(second->port() == 0);
}

TEST_CASE("a statsd check config names the key of a bad listen address", "[agent][statsd]") {
  StatsdCheckConfig c;
  auto s = read_config("listen: localhost8125\nmax_series: 0\n", c);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("checks[1].listen"));
  CHECK_THAT(s.message(), Catch::Contains("checks[1].max_series"));
  StatsdCheckConfig d;
  REQUIRE(read_config("listen: '[::1]:9125'\nflush_interval: 5s\nmax_series: 50\n", d));
  CHECK(d.listen == "[::1]:9125");
  CHECK(d.flush_interval == Millis(5000));
  CHECK(d.max_series == 50);
}
