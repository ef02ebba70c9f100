// Nothing acknowledged is ever lost: real hub and agent processes, real crashes.
// Each agent runs a load test that numbers its events by sequence, so the hub's store
// must end up holding exactly 1..N for it, each once, in order.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>
#include <thread>

#include <zmq.hpp>

#include "common/sqlite.h"
#include "protocol/codec.h"
#include "tests/e2e/hub_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;

namespace {

std::string load(int events, int rate) {
  return "load_test: {events: " + std::to_string(events) + ", rate: " + std::to_string(rate) +
         "}\n";
}

std::vector<uint64_t> one_to(uint64_t n) {
  std::vector<uint64_t> v(n);
  std::iota(v.begin(), v.end(), 1);
  return v;
}

// Waits until the hub's store holds `n` events of `agent_id` (or the timeout passes).
bool stored(const HubProcess& hub, const std::string& agent_id, size_t n,
            std::chrono::milliseconds timeout = 60s) {
  return wait_until([&] { return hub.stored_seqs(agent_id).size() >= n; }, timeout);
}

// The last sequence number an agent's spool has written (0 while it cannot be read).
int64_t spool_last_seq(const std::string& spool) {
  auto db = sqlite::Database::open(spool);
  if (!db) return 0;
  auto st = db->prepare("SELECT value FROM state WHERE key = 'last_seq'");
  if (!st) return 0;
  auto row = st->step();
  return row && *row ? st->column_int64(0) : 0;
}

}  // namespace

TEST_CASE("events produced while the hub is down all arrive once and in order", "[e2e][delivery]") {
  HubProcess hub;
  hub.stop(SIGTERM);
  // 10,000 events over ~5 s, all spooled while no hub is there; then 5 s more of silence.
  auto agent = hub.start_agent("web-1", "200ms", load(10'000, 2'000));
  const auto spool = hub.dir().file("web-1-spool.db");
  REQUIRE(wait_until([&] { return spool_last_seq(spool) == 10'000; }, 30s));
  std::this_thread::sleep_for(5s);  // the outage itself, not a wait for a condition
  hub.start();
  REQUIRE(stored(hub, "web-1", 10'000));
  CHECK(hub.stored_seqs("web-1") == one_to(10'000));
  // Each frame is the agent's own: its sample carries the sequence it was written with.
  auto frames = hub.stored_frames("web-1");
  for (size_t i = 0; i < frames.size(); i += 997) {
    auto env = protocol::decode(frames[i]);
    REQUIRE(env);
    const auto& m = std::get<protocol::Metrics>(env->body);
    CHECK(m.samples.at(0).value == static_cast<double>(i + 1));
  }
}

TEST_CASE("a hub killed three times mid-stream loses and duplicates nothing", "[e2e][delivery]") {
  HubProcess hub;
  auto agent = hub.start_agent("web-1", "200ms", load(50'000, 10'000));
  for (int crash = 0; crash < 3; ++crash) {
    // Let some events be committed, then crash the hub while more are in flight.
    const size_t before = hub.stored_seqs("web-1").size();
    REQUIRE(wait_until([&] { return hub.stored_seqs("web-1").size() > before + 2'000; }, 30s));
    hub.stop(SIGKILL);
    hub.start();
  }
  REQUIRE(stored(hub, "web-1", 50'000));
  CHECK(hub.stored_seqs("web-1") == one_to(50'000));
}

TEST_CASE("an agent killed mid-stream continues from its spool", "[e2e][delivery]") {
  HubProcess hub;
  auto agent = hub.start_agent("web-1", "200ms", load(20'000, 10'000));
  REQUIRE(wait_until([&] { return hub.stored_seqs("web-1").size() > 5'000; }, 30s));
  agent->signal(SIGKILL);
  agent->wait();
  agent = hub.start_agent("web-1", "200ms", load(20'000, 10'000));
  REQUIRE(stored(hub, "web-1", 20'000));
  CHECK(hub.stored_seqs("web-1") == one_to(20'000));
}

TEST_CASE("a full spool drops metrics and a gap record says exactly how many", "[e2e][delivery]") {
  HubProcess hub;
  hub.stop(SIGTERM);
  // 1,000 sequence numbers into a spool that holds 100 events: most metrics must go, and
  // every number must be accounted for, as a delivered metric, a dropped one or a gap.
  auto agent = hub.start_agent("web-1", "200ms", load(1'000, 5'000), "max_events: 100");
  const auto spool = hub.dir().file("web-1-spool.db");
  REQUIRE(wait_until([&] { return spool_last_seq(spool) >= 1'000; }, 30s));
  hub.start();

  uint64_t delivered_metrics = 0, dropped_metrics = 0, gaps = 0, last = 0;
  REQUIRE(wait_until(
      [&] {
        delivered_metrics = dropped_metrics = gaps = 0;
        auto seqs = hub.stored_seqs("web-1");
        last = seqs.empty() ? 0 : seqs.back();
        if (last < 1'000) return false;
        for (const auto& frame : hub.stored_frames("web-1")) {
          auto env = protocol::decode(frame);
          if (!env) continue;
          if (const auto* g = std::get_if<protocol::Gap>(&env->body)) {
            ++gaps;
            CHECK(g->reason.find("spool_full") != std::string::npos);
            CHECK(g->dropped == g->dropped_by_type.at("metrics"));
            // Oldest metrics first: one range (interleaved only with kept gap records).
            CHECK(g->last_seq - g->first_seq + 1 >= g->dropped);
            dropped_metrics += g->dropped;
          } else {
            ++delivered_metrics;
          }
        }
        return delivered_metrics + dropped_metrics + gaps == last;
      },
      30s));
  INFO("delivered " << delivered_metrics << ", dropped " << dropped_metrics << ", gaps " << gaps
                    << ", last " << last);
  CHECK(delivered_metrics + dropped_metrics + gaps == last);
  CHECK(gaps >= 1);
  CHECK(delivered_metrics <= 100);
  CHECK(dropped_metrics >= 1'000 - 100 - gaps);
  // What is stored is in order, each once.
  auto seqs = hub.stored_seqs("web-1");
  CHECK(std::adjacent_find(seqs.begin(), seqs.end(), std::greater_equal<>()) == seqs.end());
}

TEST_CASE("an agent whose first hub is down moves to the next endpoint and delivers there",
          "[e2e][delivery]") {
  HubProcess hub;
  // A port nothing listens on, then the real hub.
  const std::string cfg =
      hub.dir().write("web-1.yaml",
                      "id: web-1\nheartbeat_interval: 100ms\nstatus_http: {enabled: false}\n"
                      "hub: {endpoints: ['tcp://127.0.0.1:1', " +
                          hub.ingest() +
                          "], ack_timeout: 300ms, failover_after: 2}\n"
                          "spool: {path: " +
                          hub.dir().file("web-1-spool.db") + "}\n" + load(500, 5'000));
  Child agent({agent_binary(), "--config", cfg}, hub.dir().file("web-1.log"));
  REQUIRE(stored(hub, "web-1", 500, 30s));
  CHECK(hub.stored_seqs("web-1") == one_to(500));
}

TEST_CASE("an agent keeps no more events in flight than the hub grants", "[e2e][delivery]") {
  // A stand-in hub that answers hello with a window of 5 and acknowledges on demand.
  zmq::context_t ctx(1);
  zmq::socket_t hub(ctx, zmq::socket_type::router);
  hub.set(zmq::sockopt::linger, 0);
  hub.set(zmq::sockopt::rcvtimeo, 300);
  hub.bind("tcp://127.0.0.1:*");
  const std::string endpoint = hub.get(zmq::sockopt::last_endpoint);
  TempDir dir;
  const std::string cfg = dir.write(
      "web-1.yaml",
      "id: web-1\nheartbeat_interval: 1s\nstatus_http: {enabled: false}\nhub: {endpoints: [" +
          endpoint + "], ack_timeout: 1m}\nspool: {path: " + dir.file("spool.db") + "}\n" +
          load(100, 10'000));
  Child agent({agent_binary(), "--config", cfg}, dir.file("agent.log"));

  std::string peer;
  std::vector<uint64_t> events;
  auto receive_all = [&] {  // until the agent has been quiet for 300 ms
    for (;;) {
      zmq::message_t id, body;
      if (!hub.recv(id)) return;
      (void)hub.recv(body);
      auto env = protocol::decode(body.to_string_view());
      REQUIRE(env);
      if (std::holds_alternative<protocol::Hello>(env->body)) {
        peer = id.to_string();
        protocol::Envelope ack;
        ack.agent_id = "web-1";
        ack.body = protocol::Ack{0, 1, 5};
        hub.send(zmq::buffer(peer), zmq::send_flags::sndmore);
        hub.send(zmq::buffer(protocol::encode(ack)));
      } else if (protocol::is_sequenced(env->type())) {
        events.push_back(env->seq);
      }
    }
  };
  REQUIRE(wait_until([&] {
    receive_all();
    return !events.empty();
  }));
  receive_all();
  CHECK(events == one_to(5));  // 100 are spooled; only the granted 5 are in flight

  protocol::Envelope ack;
  ack.agent_id = "web-1";
  ack.body = protocol::Ack{5, 0, 5};
  hub.send(zmq::buffer(peer), zmq::send_flags::sndmore);
  hub.send(zmq::buffer(protocol::encode(ack)));
  receive_all();
  CHECK(events == one_to(10));
}

TEST_CASE("commits that fail while the store is locked are retried and lose nothing",
          "[e2e][delivery]") {
  HubProcess hub;
  auto agent = hub.start_agent("web-1", "200ms", load(3'000, 500));
  REQUIRE(wait_until([&] { return hub.stored_seqs("web-1").size() > 200; }));
  {
    // Another writer holds the store longer than the hub waits for it (5 s), so at least
    // one group commit fails; events keep arriving meanwhile.
    auto db = sqlite::Database::open(hub.dir().file("hub.db"));
    REQUIRE(db);
    REQUIRE(db->exec("BEGIN IMMEDIATE"));
    REQUIRE(
        wait_until([&] { return hub.metric("reflex_hub_store_commit_failures_total") >= 1; }, 30s));
    REQUIRE(db->exec("ROLLBACK"));
  }
  REQUIRE(stored(hub, "web-1", 3'000));
  CHECK(hub.stored_seqs("web-1") == one_to(3'000));
}
