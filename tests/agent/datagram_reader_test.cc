#include "agent/checks/datagram_reader.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/loop_helpers.h"

using namespace reflex;
using namespace reflex::agent;
using reflex::testing::run_loop_until;
using std::chrono::seconds;

namespace {

sockaddr_storage loopback_any_port() {
  sockaddr_storage addr{};
  auto* in = reinterpret_cast<sockaddr_in*>(&addr);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// A reader on 127.0.0.1 that keeps what it was given, and a socket sending to it.
struct Fixture {
  EventLoop loop;
  UvTimers timers{loop};
  std::vector<std::string> got;
  uint64_t dropped = 0;
  bool truncated = false;
  std::unique_ptr<DatagramReader> reader;
  int out = ::socket(AF_INET, SOCK_DGRAM, 0);

  explicit Fixture(DatagramReaderOptions options) {
    auto r = DatagramReader::open(
        loop, timers, loopback_any_port(),
        [this](std::string_view data, bool cut, uint64_t lost) {
          got.emplace_back(data);
          truncated = truncated || cut;
          dropped += lost;
        },
        options);
    REQUIRE(r);
    reader = std::move(r).value();
    REQUIRE(reader->port() > 0);
    REQUIRE(out >= 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(reader->port()));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(out, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0);
  }
  ~Fixture() {
    reader.reset();
    ::close(out);
  }
  void send(const std::string& datagram) {
    REQUIRE(::send(out, datagram.data(), datagram.size(), 0) ==
            static_cast<ssize_t>(datagram.size()));
  }
  bool receive(size_t count) {
    return run_loop_until(
        loop, [&] { return got.size() >= count; }, seconds(10));
  }
};

}  // namespace

TEST_CASE("datagrams that arrive during a pause are read together, in order",
          "[agent][datagram_reader]") {
  Fixture f({.pause = Millis(300), .receive_buffer = 1024 * 1024});
  // Sent from another thread while the loop waits, 2 ms apart: read one at a time they
  // would wake the loop 40 times.
  int sent = 0;  // Catch2's assertions are for the test's own thread
  std::thread sender([&] {
    for (int i = 0; i < 40; ++i) {
      const std::string d = "d" + std::to_string(i);
      if (::send(f.out, d.data(), d.size(), 0) == static_cast<ssize_t>(d.size())) ++sent;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  const bool all = f.receive(40);
  sender.join();
  REQUIRE(sent == 40);
  REQUIRE(all);
  // The first wakes it; the rest queue during the pause (a slow machine may need a few).
  CHECK(f.reader->drains() <= 4);
  for (int i = 0; i < 40; ++i) CHECK(f.got[static_cast<size_t>(i)] == "d" + std::to_string(i));
  CHECK(f.dropped == 0);
}

TEST_CASE("an idle reader goes back to waiting and still takes the next datagram at once",
          "[agent][datagram_reader]") {
  Fixture f({.pause = Millis(10), .receive_buffer = 1024 * 1024});
  f.send("one");
  REQUIRE(f.receive(1));
  // After a pause that found nothing the reader waits for readability, not on a timer.
  REQUIRE(run_loop_until(
      f.loop, [&] { return f.reader->drains() >= 2; }, seconds(10)));
  const uint64_t drains = f.reader->drains();
  f.send("two");
  REQUIRE(f.receive(2));
  CHECK(f.got[1] == "two");
  CHECK(f.reader->drains() == drains + 1);
}

TEST_CASE("a datagram near the UDP size limit arrives whole", "[agent][datagram_reader]") {
  Fixture f({.pause = Millis(10), .receive_buffer = 1024 * 1024});
  const std::string big(65'000, 'x');
  f.send(big);
  REQUIRE(f.receive(1));
  CHECK(f.got[0] == big);
  CHECK_FALSE(f.truncated);
}

TEST_CASE("datagrams the kernel dropped for a full receive buffer are counted",
          "[agent][datagram_reader]") {
  // The smallest buffer the kernel allows holds a few datagrams; the loop does not run
  // while 200 are sent, so most are dropped.
  Fixture f({.pause = Millis(10), .receive_buffer = 1});
  for (int i = 0; i < 200; ++i) f.send("metric:" + std::to_string(i) + "|c");
  REQUIRE(run_loop_until(
      f.loop, [&] { return !f.got.empty() && f.reader->drains() >= 2; }, seconds(10)));
  const size_t queued = f.got.size();
  CHECK(queued < 200);
  // The kernel stamps its drop count on the next datagram it queues.
  f.send("after");
  REQUIRE(f.receive(queued + 1));
  CHECK(f.got.back() == "after");
  CHECK(f.dropped == 200 - queued);
}
