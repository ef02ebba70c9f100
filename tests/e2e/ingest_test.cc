// What the hub does with frames from peers that are not well-behaved agents: every bad
// frame is dropped and counted by reason, the sender is told why when it can be, and
// the hub keeps serving the agents that behave.
#include <catch2/catch.hpp>
#include <random>
#include <zmq.hpp>

#include "protocol/codec.h"
#include "tests/e2e/hub_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;

namespace {

class RawPeer {
 public:
  explicit RawPeer(const std::string& endpoint) : socket_(ctx_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 5000);
    socket_.connect(endpoint);
  }
  void send(const std::string& bytes) { socket_.send(zmq::buffer(bytes), zmq::send_flags::none); }
  void send(const protocol::Envelope& env) { send(protocol::encode(env)); }
  // The hub's next answer, decoded; fails the test on timeout.
  protocol::Envelope receive() {
    zmq::message_t msg;
    REQUIRE(socket_.recv(msg));
    auto env = protocol::decode(msg.to_string_view());
    REQUIRE(env);
    return *env;
  }

 private:
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
};

protocol::Envelope hello_from(const std::string& id, uint32_t min = 1, uint32_t max = 1) {
  protocol::Envelope env;
  env.agent_id = id;
  env.version = min;
  protocol::Hello h;
  h.hostname = id;
  h.agent_version = "test";
  h.proto_min = min;
  h.proto_max = max;
  h.heartbeat_ms = 60'000;
  env.body = h;
  return env;
}

}  // namespace

TEST_CASE("garbage, truncated and unexpected frames are dropped, counted and answered",
          "[e2e][ingest]") {
  HubProcess hub;
  auto good = hub.start_agent("web-1");
  REQUIRE(wait_until([&] { return hub.states()["web-1"] == "alive"; }));

  RawPeer peer(hub.ingest());
  std::mt19937 rng(12345);  // fixed seed: the same bytes every run
  std::string noise(512, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  noise[0] = '\xc1';  // never valid msgpack
  peer.send(noise);
  CHECK(peer.receive().body.index() == static_cast<size_t>(protocol::MessageType::kError));

  std::string frame = protocol::encode(hello_from("intruder"));
  peer.send(frame.substr(0, frame.size() / 2));
  auto answer = peer.receive();
  REQUIRE(std::holds_alternative<protocol::Error>(answer.body));
  CHECK(std::get<protocol::Error>(answer.body).code == "truncated");

  // A heartbeat before hello is refused: the peer must register first.
  protocol::Envelope hb;
  hb.agent_id = "intruder";
  hb.body = protocol::Heartbeat{};
  peer.send(hb);
  answer = peer.receive();
  REQUIRE(std::holds_alternative<protocol::Error>(answer.body));
  CHECK(std::get<protocol::Error>(answer.body).code == "hello_required");

  // An ack is a hub-to-agent message; an agent may not send one.
  protocol::Envelope ack;
  ack.agent_id = "intruder";
  ack.body = protocol::Ack{1, 0, 0};
  peer.send(ack);
  answer = peer.receive();
  CHECK(std::get<protocol::Error>(answer.body).code == "unexpected_type");

  CHECK(hub.metric("reflex_hub_frames_rejected_total{reason=\"malformed\"}") == 1);
  CHECK(hub.metric("reflex_hub_frames_rejected_total{reason=\"truncated\"}") == 1);
  CHECK(hub.metric("reflex_hub_frames_rejected_total{reason=\"hello_required\"}") == 1);
  CHECK(hub.metric("reflex_hub_frames_rejected_total{reason=\"unexpected_type\"}") == 1);

  // Nothing of it registered an agent, and the real agent still reports.
  auto states = hub.states();
  CHECK(states.size() == 1);
  const int64_t before = hub.agents()["agents"][0]["last_seen_ms"];
  CHECK(wait_until([&] { return hub.agents()["agents"][0]["last_seen_ms"] > before; }));
}

TEST_CASE("a hello in a protocol version the hub does not speak is refused with the reason",
          "[e2e][ingest]") {
  HubProcess hub;
  std::string cfg = read_file(hub.config_path());
  cfg.replace(cfg.find("check_interval: 50ms}"), 21, "check_interval: 50ms, window: 123}");
  hub.dir().write("hub.yaml", cfg);
  hub.restart();
  RawPeer peer(hub.ingest());
  peer.send(hello_from("future", 1, 1));
  auto answer = peer.receive();
  REQUIRE(std::holds_alternative<protocol::Ack>(answer.body));
  CHECK(std::get<protocol::Ack>(answer.body).proto == 1);
  CHECK(std::get<protocol::Ack>(answer.body).window == 123);  // the configured grant

  // An agent that only speaks versions 2..3 gets an error naming both ranges.
  RawPeer newer(hub.ingest());
  auto h = hello_from("newer", 1, 1);
  std::get<protocol::Hello>(h.body).proto_min = 2;
  std::get<protocol::Hello>(h.body).proto_max = 3;
  newer.send(h);
  answer = newer.receive();
  REQUIRE(std::holds_alternative<protocol::Error>(answer.body));
  const auto& err = std::get<protocol::Error>(answer.body);
  CHECK(err.code == "unsupported_version");
  CHECK(err.message.find("2..3") != std::string::npos);
  CHECK(hub.states().count("newer") == 0);
}

TEST_CASE("an agent cannot send frames under another agent's id", "[e2e][ingest]") {
  HubProcess hub;
  RawPeer a(hub.ingest());
  a.send(hello_from("web-a"));
  REQUIRE(std::holds_alternative<protocol::Ack>(a.receive().body));
  protocol::Envelope hb;
  hb.agent_id = "web-b";  // registered as web-a
  hb.body = protocol::Heartbeat{};
  a.send(hb);
  auto answer = a.receive();
  REQUIRE(std::holds_alternative<protocol::Error>(answer.body));
  CHECK(std::get<protocol::Error>(answer.body).code == "hello_required");
  CHECK(hub.states().count("web-b") == 0);
}
