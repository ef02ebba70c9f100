// Self-healing end to end: a real agent process supervises a real service, heals it, and
// the hub receives every remediation decision; commands arrive from a stand-in hub.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "protocol/codec.h"
#include "tests/e2e/hub_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;
using protocol::RemediationOutcome;

namespace {

std::vector<protocol::Remediation> remediations(const HubProcess& hub, const std::string& agent) {
  std::vector<protocol::Remediation> out;
  for (const auto& frame : hub.stored_frames(agent)) {
    auto env = protocol::decode(frame);
    REQUIRE(env);
    if (const auto* r = std::get_if<protocol::Remediation>(&env->body)) out.push_back(*r);
  }
  return out;
}

size_t count(const std::vector<protocol::Remediation>& rs, RemediationOutcome o) {
  size_t n = 0;
  for (const auto& r : rs) n += r.outcome == o;
  return n;
}

// Whether a metrics event about series `name` reached the hub (its check has run).
bool has_series(const HubProcess& hub, const std::string& agent, const std::string& name) {
  for (const auto& frame : hub.stored_frames(agent)) {
    auto env = protocol::decode(frame);
    if (!env) continue;
    if (const auto* m = std::get_if<protocol::Metrics>(&env->body)) {
      for (const auto& s : m->samples) {
        if (s.name.rfind(name, 0) == 0) return true;
      }
    }
  }
  return false;
}

pid_t pid_in(const std::string& pidfile) {
  const std::string text = read_file(pidfile);
  return text.empty() ? 0 : std::stoi(text);
}

bool alive(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

// A service that runs until killed, started detached so that it outlives the action that
// starts it; its pidfile is written before the command returns (as systemctl start does).
std::string service_command(const std::string& pidfile) {
  return "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > " + pidfile;
}

}  // namespace

TEST_CASE("a supervised service killed with SIGKILL is restarted and verified", "[e2e][heal]") {
  HubProcess hub;
  const std::string pidfile = hub.dir().file("svc.pid");
  const std::string start = hub.dir().write("start-svc.sh", service_command(pidfile) + "\n");
  REQUIRE(run({"/bin/sh", start}).exit_code == 0);
  REQUIRE(wait_until([&] { return alive(pid_in(pidfile)); }));
  const pid_t first = pid_in(pidfile);

  auto agent = hub.start_agent(
      "web-1", "200ms",
      "metrics_interval: 1s\n"
      "checks: [{name: svc, type: process, pidfile: " +
          pidfile +
          ", interval: 60s}]\n"
          "actions: [{name: restart, type: exec, command: [/bin/sh, " +
          start +
          "], verify_within: 20s, cooldown: 0s, budget: {max_runs: 2, window: 1h}}]\n"
          "rules: [{name: svc-down, series: svc, when: 'state == CRITICAL', heal: [restart]}]\n");
  // The first run finds the service alive (nothing to heal yet).
  REQUIRE(wait_until([&] { return has_series(hub, "web-1", "svc"); }, 20s));
  ::kill(first, SIGKILL);

  REQUIRE(wait_until(
      [&] { return count(remediations(hub, "web-1"), RemediationOutcome::kRecovered) == 1; }, 30s));
  const pid_t second = pid_in(pidfile);
  CHECK(second != first);
  CHECK(alive(second));
  const auto rs = remediations(hub, "web-1");
  REQUIRE(rs.size() == 3);
  CHECK(rs[0].outcome == RemediationOutcome::kStarted);
  CHECK(rs[1].outcome == RemediationOutcome::kSucceeded);
  CHECK(rs[2].outcome == RemediationOutcome::kRecovered);
  CHECK(rs[0].rule == "svc-down");
  CHECK(rs[0].target == "svc");

  // It keeps dying: the second restart is the last the budget allows; the third death
  // opens the circuit and escalates to the hub instead of restarting.
  ::kill(second, SIGKILL);
  REQUIRE(wait_until(
      [&] { return count(remediations(hub, "web-1"), RemediationOutcome::kRecovered) == 2; }, 30s));
  const pid_t third = pid_in(pidfile);
  CHECK(third != second);
  ::kill(third, SIGKILL);
  REQUIRE(wait_until(
      [&] { return count(remediations(hub, "web-1"), RemediationOutcome::kExhausted) == 1; }, 30s));
  const auto all = remediations(hub, "web-1");
  CHECK(count(all, RemediationOutcome::kStarted) == 2);
  CHECK(all.back().outcome == RemediationOutcome::kExhausted);
  CHECK(all.back().reason.rfind("budget", 0) == 0);
  CHECK(pid_in(pidfile) == third);  // not restarted
  // The next heartbeat tells the hub about the open circuit.
  CHECK(wait_until([&] { return hub.agents()["agents"][0]["open_circuits"] == 1; }));
}

TEST_CASE("the hub stores a firing alert right before the restart it started", "[e2e][heal]") {
  HubProcess hub;
  const std::string pidfile = hub.dir().file("svc.pid");
  const std::string start = hub.dir().write("start-svc.sh", service_command(pidfile) + "\n");
  REQUIRE(run({"/bin/sh", start}).exit_code == 0);
  REQUIRE(wait_until([&] { return alive(pid_in(pidfile)); }));

  auto agent = hub.start_agent(
      "web-1", "200ms",
      "metrics_interval: 1s\n"
      "checks: [{name: svc, type: process, pidfile: " +
          pidfile +
          ", interval: 60s}]\n"
          "actions: [{name: restart, type: exec, command: [/bin/sh, " +
          start +
          "], verify_within: 20s, cooldown: 0s}]\n"
          "rules: [{name: svc-down, series: svc, when: 'state == CRITICAL', heal: [restart]}]\n");
  REQUIRE(wait_until([&] { return has_series(hub, "web-1", "svc"); }, 20s));
  ::kill(pid_in(pidfile), SIGKILL);
  REQUIRE(wait_until(
      [&] { return count(remediations(hub, "web-1"), RemediationOutcome::kRecovered) == 1; }, 30s));

  // The healer starts the restart before the alert is written, and its `started` goes to
  // the spool in the alert's own transaction, right after it.
  std::vector<std::string> kinds;
  for (const auto& frame : hub.stored_frames("web-1")) {
    auto env = protocol::decode(frame);
    REQUIRE(env);
    if (const auto* a = std::get_if<protocol::Alert>(&env->body)) {
      kinds.push_back(std::string("alert ") + protocol::alert_state_name(a->state));
    } else if (const auto* r = std::get_if<protocol::Remediation>(&env->body)) {
      kinds.push_back(std::string("remediation ") + protocol::remediation_outcome_name(r->outcome));
    }
  }
  const auto firing = std::find(kinds.begin(), kinds.end(), "alert firing");
  REQUIRE(firing != kinds.end());
  REQUIRE(firing + 1 != kinds.end());
  CHECK(*(firing + 1) == "remediation started");
  CHECK(std::find(kinds.begin(), firing, "remediation started") == firing);
}

namespace {

// A stand-in hub: acknowledges everything, keeps every envelope, and can send commands.
struct StandInHub {
  zmq::context_t ctx{1};
  zmq::socket_t socket{ctx, zmq::socket_type::router};
  std::string endpoint;
  std::string peer;
  std::vector<protocol::Envelope> received;

  StandInHub() {
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::rcvtimeo, 100);
    socket.bind("tcp://127.0.0.1:*");
    endpoint = socket.get(zmq::sockopt::last_endpoint);
  }
  void send(protocol::Body body) {
    protocol::Envelope env;
    env.agent_id = "web-1";
    env.body = std::move(body);
    socket.send(zmq::buffer(peer), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(protocol::encode(env)));
  }
  // Reads what has arrived, answering hello and acknowledging events.
  void poll() {
    for (;;) {
      zmq::message_t id, body;
      if (!socket.recv(id)) return;
      (void)socket.recv(body);
      auto env = protocol::decode(body.to_string_view());
      REQUIRE(env);
      peer = id.to_string();
      if (std::holds_alternative<protocol::Hello>(env->body)) send(protocol::Ack{0, 1, 0});
      if (protocol::is_sequenced(env->type())) send(protocol::Ack{env->seq, 0, 0});
      received.push_back(std::move(*env));
    }
  }
  std::vector<protocol::CommandResult> results() const {
    std::vector<protocol::CommandResult> out;
    for (const auto& e : received) {
      if (const auto* r = std::get_if<protocol::CommandResult>(&e.body)) out.push_back(*r);
    }
    return out;
  }
};

protocol::Command command(std::string id, std::string action, protocol::Labels params) {
  protocol::Command c;
  c.id = std::move(id);
  c.action = std::move(action);
  c.params = std::move(params);
  return c;
}

}  // namespace

TEST_CASE("a hub command runs a declared action and an undeclared one is refused", "[e2e][heal]") {
  StandInHub hub;
  TempDir dir;
  const int status_port = reserve_port();
  const std::string cfg = dir.write(
      "agent.yaml", "id: web-1\nheartbeat_interval: 200ms\nhub: {endpoints: [" + hub.endpoint +
                        "]}\nspool: {path: " + dir.file("spool.db") +
                        "}\nstatus_http: {listen: '127.0.0.1:" + std::to_string(status_port) +
                        "'}\nactions: [{name: flush, type: exec, command: [/bin/echo, flushed, "
                        "'{{cache}}']}]\n");
  Child agent({agent_binary(), "--config", cfg}, dir.file("agent.log"));
  REQUIRE(wait_until([&] {
    hub.poll();
    return !hub.peer.empty();
  }));

  hub.send(command("c-1", "reboot", {}));
  hub.send(command("c-2", "flush", {{"cache", "sessions"}, {"extra", "x"}}));
  hub.send(command("c-3", "flush", {{"cache", "sessions; rm -rf /"}}));
  REQUIRE(wait_until([&] {
    hub.poll();
    return hub.results().size() == 3;
  }));
  const auto res = hub.results();
  CHECK(res[0].id == "c-1");
  CHECK(res[0].status == protocol::CommandStatus::kRejected);
  CHECK(res[0].message == "this agent declares no action \"reboot\" (declared: flush)");
  CHECK(res[1].status == protocol::CommandStatus::kRejected);
  CHECK(res[1].message.find("declares no parameter \"extra\"") != std::string::npos);
  CHECK(res[2].status == protocol::CommandStatus::kOk);
  CHECK(res[2].output == "flushed sessions; rm -rf /\n");

  // Paused through the local API, a command is refused with the reason.
  const std::string url = "http://127.0.0.1:" + std::to_string(status_port);
  auto paused = run({agent_binary(), "remediation", "pause", "--url", url});
  CHECK(paused.exit_code == 0);
  CHECK(paused.out == "remediation paused on this host\n");
  hub.send(command("c-4", "flush", {{"cache", "sessions"}}));
  REQUIRE(wait_until([&] {
    hub.poll();
    return hub.results().size() == 4;
  }));
  CHECK(hub.results()[3].status == protocol::CommandStatus::kRejected);
  CHECK(hub.results()[3].message == "paused: remediation is paused on this host");

  auto status = run({agent_binary(), "status", "--url", url});
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("remediation: PAUSED") != std::string::npos);
  CHECK(status.out.find("flush") != std::string::npos);
  auto bad = run({agent_binary(), "remediation", "explode", "--url", url});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("explode") != std::string::npos);
}
