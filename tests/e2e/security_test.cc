// CurveZMQ between real agents and a real hub: only enrolled keys get in, an agent id
// must match its key's enrolment, the allowlist reloads without a restart, and hostile
// bytes on the agent port are dropped and counted while enrolled agents carry on.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <zmq.hpp>

#include "common/curve_keys.h"
#include "protocol/codec.h"
#include "tests/e2e/hub_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;

namespace {

// Keys for the hub and the agents, made with `reflexctl keygen` as an operator would.
struct Keys {
  explicit Keys(const TempDir& dir) : dir(dir) {
    std::filesystem::create_directory(dir.path() / "keys");
    std::filesystem::create_directory(dir.path() / "allow");
    for (const char* name : {"hub", "web-1", "web-2", "rogue"}) {
      auto out = run({ctl_binary(), "keygen", "--out", dir.file("keys"), name});
      if (out.exit_code != 0) throw std::runtime_error(out.err);
    }
    enrol("web-1");
    hub_public = *curve::load_public_key(dir.file("keys/hub.key"));
  }
  void enrol(const std::string& name) const {
    std::filesystem::copy_file(dir.file("keys/" + name + ".key"),
                               dir.file("allow/" + name + ".key"));
  }
  std::string hub_yaml() const {
    return "security: {secret_key_file: " + dir.file("keys/hub.key_secret") +
           ", allowlist: " + dir.file("allow") + "}\n";
  }
  const TempDir& dir;
  std::string hub_public;
};

std::unique_ptr<Child> start_curve_agent(const HubProcess& hub, const Keys& keys,
                                         const std::string& id, const std::string& key_name) {
  const std::string cfg = hub.dir().write(
      id + ".yaml", "id: " + id +
                        "\nheartbeat_interval: 200ms\nstatus_http: {enabled: false}\n"
                        "hub: {endpoints: [" +
                        hub.ingest() + "], ack_timeout: 500ms, failover_after: 2, server_key: '" +
                        keys.hub_public +
                        "', secret_key_file: " + keys.dir.file("keys/" + key_name + ".key_secret") +
                        "}\nspool: {path: " + hub.dir().file(id + "-spool.db") + "}\n");
  return std::make_unique<Child>(std::vector<std::string>{agent_binary(), "--config", cfg},
                                 hub.dir().file(id + ".log"));
}

}  // namespace

TEST_CASE("only enrolled agent keys get in, and a reload enrols a new one", "[e2e][security]") {
  TempDir keydir;
  Keys keys(keydir);
  HubProcess hub(keys.hub_yaml());
  auto web1 = start_curve_agent(hub, keys, "web-1", "web-1");
  auto rogue = start_curve_agent(hub, keys, "rogue", "rogue");
  REQUIRE(wait_until([&] { return hub.states()["web-1"] == "alive"; }));
  REQUIRE(wait_until([&] { return hub.metric("reflex_hub_connections_refused_total") >= 1; }));
  CHECK(hub.states().count("rogue") == 0);

  // The enrolled agent is unaffected: it keeps reporting.
  const int64_t seen = hub.agents()["agents"][0]["last_seen_ms"];
  CHECK(wait_until([&] { return hub.agents()["agents"][0]["last_seen_ms"] > seen; }));

  // Enrol the rogue's key and reload: its agent gets in without a hub restart.
  keys.enrol("rogue");
  hub.child().signal(SIGHUP);
  CHECK(wait_until([&] { return hub.states()["rogue"] == "alive"; }, 20s));
}

TEST_CASE("an enrolled key cannot speak for another agent id", "[e2e][security]") {
  TempDir keydir;
  Keys keys(keydir);
  HubProcess hub(keys.hub_yaml());
  auto impostor = start_curve_agent(hub, keys, "web-2", "web-1");  // web-1's key, web-2's id
  REQUIRE(wait_until([&] {
    return hub.metric("reflex_hub_frames_rejected_total{reason=\"unauthorized\"}") >= 1;
  }));
  CHECK(hub.states().empty());
}

TEST_CASE("random bytes, truncated frames and a 100 MiB frame are dropped and counted",
          "[e2e][security]") {
  TempDir keydir;
  Keys keys(keydir);
  HubProcess hub(keys.hub_yaml());
  auto web1 = start_curve_agent(hub, keys, "web-1", "web-1");
  REQUIRE(wait_until([&] { return hub.states()["web-1"] == "alive"; }));

  // Random bytes on a raw TCP connection: not even a ZMTP greeting.
  const int port = std::stoi(hub.ingest().substr(hub.ingest().rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::mt19937 rng(4242);  // fixed seed: the same bytes every run
  std::string noise(4096, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  // libzmq closes such a connection without a word to the application; the hub counts it.
  const double closed = hub.metric("reflex_hub_connections_closed_total");
  (void)::write(fd, noise.data(), noise.size());
  REQUIRE(wait_until([&] { return hub.metric("reflex_hub_connections_closed_total") > closed; }));
  ::close(fd);

  // An enrolled peer (web-2's key, enrolled for this) sends a truncated frame, then
  // a 100 MiB one.
  keys.enrol("web-2");
  hub.child().signal(SIGHUP);
  REQUIRE(wait_until(
      [&] { return hub.metric("reflex_hub_config_reloads_total{result=\"ok\"}") >= 1; }));
  auto web2_keys = curve::load_keypair(keys.dir.file("keys/web-2.key_secret"));
  REQUIRE(web2_keys);
  zmq::context_t ctx(1);
  zmq::socket_t peer(ctx, zmq::socket_type::dealer);
  peer.set(zmq::sockopt::linger, 0);
  peer.set(zmq::sockopt::curve_serverkey, keys.hub_public);
  peer.set(zmq::sockopt::curve_publickey, web2_keys->public_key);
  peer.set(zmq::sockopt::curve_secretkey, web2_keys->secret_key);
  peer.connect(hub.ingest());
  protocol::Envelope hb;
  hb.agent_id = "web-2";
  hb.body = protocol::Heartbeat{};
  std::string frame = protocol::encode(hb);
  peer.send(zmq::buffer(frame.substr(0, frame.size() - 3)), zmq::send_flags::none);
  REQUIRE(wait_until(
      [&] { return hub.metric("reflex_hub_frames_rejected_total{reason=\"truncated\"}") >= 1; }));
  // Over the 1 MiB frame limit: libzmq refuses it from its size header and closes the
  // connection, so the hub never buffers it.
  const double closed_before_huge = hub.metric("reflex_hub_connections_closed_total");
  std::string huge(100u << 20, 'x');
  peer.send(zmq::buffer(huge), zmq::send_flags::none);
  huge.clear();
  huge.shrink_to_fit();
  REQUIRE(wait_until(
      [&] { return hub.metric("reflex_hub_connections_closed_total") > closed_before_huge; }));

  // The hub kept serving the enrolled agent throughout.
  const int64_t seen = hub.agents()["agents"][0]["last_seen_ms"];
  CHECK(wait_until([&] { return hub.agents()["agents"][0]["last_seen_ms"] > seen; }));
  CHECK(hub.child().running());
  // Its peak memory shows the 100 MiB frame was never held (the bound leaves room for
  // AddressSanitizer's shadow memory).
  const std::string status = read_file("/proc/" + std::to_string(hub.child().pid()) + "/status");
  const auto hwm = status.find("VmHWM:");
  REQUIRE(hwm != std::string::npos);
  CHECK(std::stol(status.substr(hwm + 6)) < 96 * 1024);  // kB
}
