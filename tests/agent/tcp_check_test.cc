#include "agent/checks/tcp_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <thread>

#include "tests/support/loop_helpers.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::agent;
using reflex::testing::run_loop_until;

namespace {

// A real listener on 127.0.0.1 and a free port. Without `serve` it never accepts, yet the
// kernel completes every handshake: a service that connects but never answers. With
// `serve`, each accepted connection is served on the listener's thread, then closed.
class Listener {
 public:
  using Serve = std::function<void(int fd, const std::atomic<bool>& stopping)>;

  explicit Listener(Serve serve = nullptr) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("Listener: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    if (serve) thread_ = std::thread([this, serve] { accept_loop(serve); });
  }
  ~Listener() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }

  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void accept_loop(const Serve& serve) {
    while (!stopping_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) continue;
      ++accepted_;
      serve(conn, stopping_);
      ::close(conn);
    }
  }

  int fd_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// Reads until `until` has arrived (or the peer closes, or the test ends).
std::string read_until(int fd, const std::string& until, const std::atomic<bool>& stopping) {
  std::string got;
  char buf[256];
  while (!stopping && got.find(until) == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// On the listener's thread, where Catch2 may not assert: a short write shows up as the
// check's failure instead.
void write_all(int fd, const std::string& s) {
  (void)!::write(fd, s.data(), s.size());
}

// Answers "PING\r\n" with `reply`.
Listener::Serve answering(std::string reply) {
  return [reply](int fd, const std::atomic<bool>& stopping) {
    if (read_until(fd, "PING\r\n", stopping).find("PING\r\n") != std::string::npos) {
      write_all(fd, reply);
    }
  };
}

struct Agent {
  EventLoop loop;
  UvTimers timers{loop};

  std::unique_ptr<PeriodicCheck> check(TcpCheckConfig config, Millis timeout = Millis(5'000)) {
    CheckSpec spec;
    spec.name = "redis";
    spec.type = "tcp";
    spec.timeout = timeout;
    return make_tcp_check(spec, std::move(config), loop, timers);
  }

  CheckResult run(TcpCheckConfig config, Millis timeout = Millis(5'000)) {
    auto c = check(std::move(config), timeout);
    std::optional<CheckResult> out;
    int calls = 0;
    bool returned = false, called_inside_run = false;
    c->run([&](CheckResult r) {
      ++calls;
      called_inside_run = !returned;
      out = std::move(r);
    });
    returned = true;
    REQUIRE(run_loop_until(loop, [&] { return out.has_value(); }));
    CHECK(calls == 1);
    CHECK_FALSE(called_inside_run);
    return *out;
  }
};

TcpCheckConfig target(int port, std::string send = "", std::string expect = "") {
  TcpCheckConfig c;
  c.port = port;
  c.send = std::move(send);
  c.expect = std::move(expect);
  return c;
}

std::vector<std::string> read_errors(const std::string& yaml, TcpCheckConfig& out) {
  auto node = config::parse_yaml(yaml, "agent.yaml");
  REQUIRE(node);
  config::Errors errors("agent.yaml");
  {
    config::MapReader r(*node, "checks.redis", errors);
    read_tcp_check(r, out);
  }
  return errors.list();
}

}  // namespace

TEST_CASE("tcp check is OK once connected and reports the connect time", "[agent][tcp_check]") {
  Listener listener;
  Agent agent;
  const CheckResult r = agent.run(target(listener.port()));
  CHECK(r.state == CheckState::kOk);
  CHECK_THAT(r.message, Catch::StartsWith("connected in "));
  CHECK(r.latency_ms.has_value());
  CHECK(r.perf.empty());
}

TEST_CASE("tcp check is OK when the expected answer to what it sent arrives",
          "[agent][tcp_check]") {
  Listener listener(answering("+PONG\r\n"));
  Agent agent;
  const CheckResult r = agent.run(target(listener.port(), "PING\r\n", "+PONG"));
  CHECK(r.state == CheckState::kOk);
  REQUIRE(r.latency_ms.has_value());
  REQUIRE(r.perf.size() == 1);
  CHECK(r.perf[0].name == "response");
  CHECK(r.perf[0].unit == "ms");
  CHECK(r.perf[0].value >= *r.latency_ms);
}

TEST_CASE("tcp check finds the expected string across several reads", "[agent][tcp_check]") {
  Listener listener([](int fd, const std::atomic<bool>& stopping) {
    read_until(fd, "PING\r\n", stopping);
    write_all(fd, "+PO");
    ::usleep(20'000);  // two separate segments, so the check must join its reads
    write_all(fd, "NG\r\n");
    read_until(fd, "never", stopping);
  });
  Agent agent;
  CHECK(agent.run(target(listener.port(), "PING\r\n", "+PONG")).state == CheckState::kOk);
}

TEST_CASE("tcp check is CRITICAL when the answer is not the expected one", "[agent][tcp_check]") {
  Listener listener(answering("-ERR unknown command\r\n"));
  Agent agent;
  const CheckResult r = agent.run(target(listener.port(), "PING\r\n", "+PONG"));
  CHECK(r.state == CheckState::kCritical);
  CHECK(r.message == R"(expected "+PONG", got "-ERR unknown command\r\n")");
}

TEST_CASE("tcp check is CRITICAL when the connection is refused", "[agent][tcp_check]") {
  Agent agent;
  const int port = reflex::testing::reserve_port();  // nothing listens there
  const CheckResult r = agent.run(target(port));
  CHECK(r.state == CheckState::kCritical);
  CHECK(r.message == "connection refused");
  CHECK_FALSE(r.latency_ms.has_value());
}

TEST_CASE("tcp check is CRITICAL after its timeout when a service accepts but never answers",
          "[agent][tcp_check]") {
  Listener listener;  // the kernel accepts; nobody reads or writes
  Agent agent;
  const CheckResult r = agent.run(target(listener.port(), "PING\r\n", "+PONG"), Millis(300));
  CHECK(r.state == CheckState::kCritical);
  CHECK(r.message == "timed out after 300 ms");
}

TEST_CASE("tcp check resolves a host name before connecting", "[agent][tcp_check]") {
  Listener listener;
  Agent agent;
  TcpCheckConfig c = target(listener.port());
  c.host = "localhost";  // may resolve to ::1 first, where nothing listens
  CHECK(agent.run(c).state == CheckState::kOk);
}

TEST_CASE("Destroying a tcp check mid-run closes everything and never calls back",
          "[agent][tcp_check]") {
  Listener listener(answering("+PONG\r\n"));
  Agent agent;
  int calls = 0;
  SECTION("while connected and waiting for the answer") {
    auto check = agent.check(target(listener.port(), "WAIT", "+PONG"));
    check->run([&](CheckResult) { ++calls; });
    REQUIRE(run_loop_until(agent.loop, [&] { return listener.accepted() == 1; }));
    check.reset();
  }
  SECTION("while resolving the host") {
    TcpCheckConfig c = target(listener.port());
    c.host = "localhost";
    auto check = agent.check(c);
    check->run([&](CheckResult) { ++calls; });
    check.reset();
  }
  SECTION("while connecting") {
    auto check = agent.check(target(listener.port()));
    check->run([&](CheckResult) { ++calls; });
    check.reset();
  }
  // The loop lets go of every handle and request; ASan reports any that leaked.
  run_loop_until(
      agent.loop, [] { return false; }, std::chrono::milliseconds(100));
  CHECK(calls == 0);
}

TEST_CASE("tcp check config reads its keys with 127.0.0.1 as the default host",
          "[agent][tcp_check]") {
  TcpCheckConfig c;
  CHECK(read_errors("port: 6379\nsend: \"PING\\r\\n\"\nexpect: +PONG\n", c).empty());
  CHECK(c.host == "127.0.0.1");
  CHECK(c.port == 6379);
  CHECK(c.send == "PING\r\n");
  CHECK(c.expect == "+PONG");
}

TEST_CASE("tcp check config errors name the key path", "[agent][tcp_check]") {
  TcpCheckConfig c;
  SECTION("port is required") {
    const auto errors = read_errors("host: db1\n", c);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("checks.redis.port: missing required key"));
  }
  SECTION("port is 1..65535") {
    const auto errors = read_errors("port: 70000\n", c);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("agent.yaml:1: checks.redis.port: must be between 1 "
                                          "and 65535, got 70000"));
  }
  SECTION("host is not empty") {
    const auto errors = read_errors("host: ''\nport: 1\n", c);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("checks.redis.host: must not be empty"));
  }
}
