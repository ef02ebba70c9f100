// Memory stays bounded under a flood: a peer that ignores its window and pushes events as
// fast as the hub lets it must meet backpressure (a paused socket, then ZeroMQ's and
// TCP's buffers), not a hub whose memory grows with the flood.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <zmq.hpp>

#include "protocol/codec.h"
#include "tests/e2e/hub_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;

TEST_CASE("a peer flooding the hub past its window meets backpressure, not hub memory growth",
          "[e2e][flood]") {
  HubProcess hub;
  const long rss_before = hub.child().rss_kib();

  // 150,000 events of about 1 KiB: 150 MiB pushed at the hub, far more than it may hold.
  constexpr uint64_t kEvents = 150'000;
  std::atomic<bool> done{false};
  std::thread flooder([&] {
    zmq::context_t ctx(1);
    zmq::socket_t peer(ctx, zmq::socket_type::dealer);
    peer.set(zmq::sockopt::linger, 0);
    peer.connect(hub.ingest());
    protocol::Envelope env;
    env.agent_id = "flood-1";
    protocol::Hello hello;
    hello.hostname = "flood-1";
    env.body = hello;
    peer.send(zmq::buffer(protocol::encode(env)), zmq::send_flags::none);
    zmq::message_t answer;
    (void)peer.recv(answer);  // registered; every ack after this is ignored
    protocol::Metrics m;
    m.samples.push_back({"flood", {{"padding", std::string(1000, 'x')}}, 0, ""});
    for (uint64_t seq = 1; seq <= kEvents; ++seq) {
      env.seq = seq;
      m.samples[0].value = static_cast<double>(seq);
      env.body = m;
      peer.send(zmq::buffer(protocol::encode(env)), zmq::send_flags::none);  // blocks at HWM
    }
    done = true;
    // Stay connected until everything is stored.
    while (hub.stored_seqs("flood-1").size() < kEvents) std::this_thread::sleep_for(50ms);
  });

  long peak = 0;
  REQUIRE(wait_until(
      [&] {
        peak = std::max(peak, hub.child().rss_kib());
        return done.load();
      },
      120s));
  flooder.join();
  INFO("hub RSS before " << rss_before << " KiB, peak " << peak << " KiB");
  // The hub may hold one backlog (32 MiB) while one batch is written: well under the flood.
  if (!kSanitized) CHECK(peak - rss_before < 110 * 1024);
  const auto seqs = hub.stored_seqs("flood-1");
  REQUIRE(seqs.size() == kEvents);
  CHECK(seqs.front() == 1);
  CHECK(seqs.back() == kEvents);
  CHECK(std::adjacent_find(seqs.begin(), seqs.end(),
                           [](uint64_t a, uint64_t b) { return b != a + 1; }) == seqs.end());
  CHECK(hub.metric("reflex_hub_ingest_paused_total") >= 1);
}

TEST_CASE("an agent producing far faster than it can deliver keeps its memory bounded",
          "[e2e][flood]") {
  HubProcess hub;
  hub.stop(SIGTERM);  // nothing is acknowledged: all of it must wait in the spool, on disk
  auto agent = hub.start_agent("web-1", "200ms", "load_test: {events: 100000, rate: 50000}\n");
  long start = 0, peak = 0;
  REQUIRE(wait_until([&] { return (start = agent->rss_kib()) > 0; }));
  REQUIRE(wait_until(
      [&] {
        peak = std::max(peak, agent->rss_kib());
        return read_file(hub.dir().file("web-1.log")).find("load test: all") != std::string::npos;
      },
      120s));
  INFO("agent RSS at start " << start << " KiB, peak " << peak << " KiB");
  if (!kSanitized) CHECK(peak < 32 * 1024);
}
