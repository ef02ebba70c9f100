// checks -> windows -> rules -> hub with real processes: a hub, an HTTP server whose
// answer the test switches, and an agent probing it, with a StatsD check fed real
// datagrams. What the hub stores, what the agent's local surface shows, and reloads.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "tests/e2e/hub_fixture.h"
#include "tests/support/http_test_server.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A health endpoint whose status the test sets.
struct SwitchableServer {
  std::atomic<int> status{200};
  HttpTestServer server{[this](httplib::Server& svr) {
    svr.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      res.status = status.load();
      res.set_content(res.status == 200 ? "ok" : "failing", "text/plain");
    });
  }};
};

// The port of the agent's status surface, from its start-up log line.
int status_port(const HubProcess& hub, const std::string& id) {
  static const std::regex re(R"(status on 127\.0\.0\.1:(\d+))");
  int port = 0;
  wait_until([&] {
    std::smatch m;
    const std::string log = read_file(hub.dir().file(id + ".log"));
    if (!std::regex_search(log, m, re)) return false;
    port = std::stoi(m[1]);
    return true;
  });
  return port;
}

// GET on the agent's surface; nullopt unless it answered 200.
std::optional<std::string> get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  auto res = client.Get(path);
  if (!res || res->status != 200) return std::nullopt;
  return res->body;
}

json get_status(int port) {
  auto body = get(port, "/status");
  return body ? json::parse(*body, nullptr, false) : json();
}

// The entry of doc[list] whose `key` is `name`, or nullptr.
const json* find_named(const json& doc, const char* list, const char* key,
                       const std::string& name) {
  if (!doc.is_object() || !doc.contains(list) || !doc[list].is_array()) return nullptr;
  for (const auto& item : doc[list]) {
    if (item.is_object() && item.value(key, "") == name) return &item;
  }
  return nullptr;
}

// Every event the hub stored for `agent_id`, decoded, in sequence order.
std::vector<protocol::Envelope> stored(const HubProcess& hub, const std::string& agent_id) {
  std::vector<protocol::Envelope> out;
  for (const auto& frame : hub.stored_frames(agent_id)) {
    auto env = protocol::decode(frame);
    if (env) out.push_back(std::move(env).value());
  }
  return out;
}

std::vector<protocol::Alert> stored_alerts(const HubProcess& hub, const std::string& agent_id,
                                           const std::string& rule) {
  std::vector<protocol::Alert> out;
  for (const auto& env : stored(hub, agent_id)) {
    if (const auto* a = std::get_if<protocol::Alert>(&env.body); a && a->rule == rule) {
      out.push_back(*a);
    }
  }
  return out;
}

bool has_alert(const std::vector<protocol::Alert>& alerts, protocol::AlertState state) {
  for (const auto& a : alerts) {
    if (a.state == state) return true;
  }
  return false;
}

// Sends each datagram to 127.0.0.1:port over UDP.
void send_udp(int port, const std::vector<std::string>& datagrams) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (const auto& d : datagrams) {
    sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  }
  close(fd);
}

// A UDP socket bound to 127.0.0.1:port for as long as it lives.
struct UdpSquatter {
  int fd = -1;
  explicit UdpSquatter(int port) {
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd);
      fd = -1;
    }
  }
  ~UdpSquatter() {
    if (fd >= 0) close(fd);
  }
};

std::string http_check(const std::string& name, const std::string& url) {
  return "  - name: " + name +
         "\n    type: http\n    interval: 200ms\n    labels: {service: checkout, env: e2e}\n"
         "    url: " +
         url + "\n";
}

std::string statsd_check(const std::string& name, int port) {
  return "  - name: " + name + "\n    type: statsd\n    listen: 127.0.0.1:" + std::to_string(port) +
         "\n";
}

// Rewrites the agent's config, replacing the `old_extra` that start_agent appended with
// `new_extra` (and, when `hub_endpoint` is given, the hub it reports to), and sends it
// SIGHUP.
void reload(const HubProcess& hub, Child& agent, const std::string& id,
            const std::string& old_extra, const std::string& new_extra,
            const std::string& hub_endpoint = "") {
  const std::string path = hub.dir().file(id + ".yaml");
  const std::string text = read_file(path);
  REQUIRE(text.size() >= old_extra.size());
  REQUIRE(text.compare(text.size() - old_extra.size(), old_extra.size(), old_extra) == 0);
  std::string base = text.substr(0, text.size() - old_extra.size());
  if (!hub_endpoint.empty()) {
    const size_t at = base.find(hub.ingest());
    REQUIRE(at != std::string::npos);
    base.replace(at, hub.ingest().size(), hub_endpoint);
  }
  hub.dir().write(id + ".yaml", base + new_extra);
  agent.signal(SIGHUP);
}

}  // namespace

TEST_CASE("an agent's http check feeds windows, rules and the hub, and its surface shows them",
          "[e2e][agent-checks]") {
  HubProcess hub;
  SwitchableServer target;
  const int statsd_port = reserve_port();
  const std::string extra = "checks:\n" + http_check("web", target.server.url("/health")) +
                            statsd_check("app", statsd_port) +
                            "windows: {length: 2s, slices: 4}\n"
                            "metrics_interval: 1s\n"
                            "rules:\n"
                            "  - name: web-errors\n"
                            "    series: web\n"
                            "    when: error_rate > 50%\n"
                            "    for: 400ms\n"
                            "    severity: high\n"
                            "    annotations: {summary: web fails}\n";
  auto agent = hub.start_agent("web-1", "200ms", extra);
  const int port = status_port(hub, "web-1");
  REQUIRE(port > 0);

  // (a) metrics summaries of the check's series reach the hub.
  REQUIRE(wait_until([&] {
    for (const auto& env : stored(hub, "web-1")) {
      if (const auto* m = std::get_if<protocol::Metrics>(&env.body)) {
        for (const auto& s : m->samples) {
          if (s.name == "web.count" && s.value > 0 && s.labels.count("service")) return true;
        }
      }
    }
    return false;
  }));
  CHECK(stored_alerts(hub, "web-1", "web-errors").empty());  // healthy: no alert

  // (b) the target fails: pending, then firing after `for`.
  target.status = 500;
  REQUIRE(wait_until(
      [&] {
        return has_alert(stored_alerts(hub, "web-1", "web-errors"), protocol::AlertState::kFiring);
      },
      20s));
  const auto raised = stored_alerts(hub, "web-1", "web-errors");
  REQUIRE(raised.size() >= 2);
  CHECK(raised[0].state == protocol::AlertState::kPending);
  const protocol::Alert& firing = raised.back();
  CHECK(firing.state == protocol::AlertState::kFiring);
  CHECK(firing.severity == protocol::Severity::kHigh);
  CHECK(std::regex_match(firing.fingerprint, std::regex("[0-9a-f]{16}")));
  CHECK(raised[0].fingerprint == firing.fingerprint);
  CHECK(firing.labels.at("service") == "checkout");
  CHECK(firing.labels.at("env") == "e2e");
  CHECK(firing.labels.at("series") == "web");
  CHECK(firing.annotations.at("summary") == "web fails");
  CHECK(firing.value > 0.5);
  CHECK(firing.threshold == Approx(0.5));

  // (d) the local surface shows the check and the firing rule.
  const json status = get_status(port);
  INFO(status.dump(2));
  const json* web = find_named(status, "checks", "name", "web");
  REQUIRE(web != nullptr);
  CHECK((*web)["type"] == "http");
  CHECK((*web)["runs"].get<uint64_t>() > 0);
  CHECK((*web)["failures"].get<uint64_t>() > 0);
  CHECK((*web)["state"] == "CRITICAL");
  const json* rule = find_named(status, "rules", "rule", "web-errors");
  REQUIRE(rule != nullptr);
  CHECK((*rule)["state"] == "firing");
  CHECK((*rule)["fingerprint"] == firing.fingerprint);
  const auto metrics = get(port, "/metrics");
  REQUIRE(metrics);
  CHECK(contains(*metrics, "reflex_series_error_ratio{series=\"web\""));
  CHECK(contains(*metrics, "reflex_agent_rule_state{rule=\"web-errors\""));

  // (e) `reflex-agent status` prints it as a table.
  const auto printed =
      run({agent_binary(), "status", "--url", "http://127.0.0.1:" + std::to_string(port)});
  INFO(printed.err);
  CHECK(printed.exit_code == 0);
  CHECK(contains(printed.out, "CHECK"));
  CHECK(contains(printed.out, "web "));
  CHECK(contains(printed.out, "app "));
  CHECK(contains(printed.out, "web-errors"));
  CHECK(contains(printed.out, "firing"));
  // ...also when it finds the surface in an agent config given after the command.
  const std::string surface = hub.dir().write(
      "surface.yaml", "status_http: {listen: \"127.0.0.1:" + std::to_string(port) + "\"}\n");
  const auto from_config = run({agent_binary(), "status", "-c", surface});
  INFO(from_config.err);
  CHECK(from_config.exit_code == 0);
  CHECK(contains(from_config.out, "web-errors"));

  // (f) StatsD datagrams become series.
  send_udp(statsd_port, {"orders:1|c\norders:2|c", "checkout.latency:12|ms", "queue:7|g"});
  REQUIRE(wait_until([&] {
    const auto m = get(port, "/metrics");
    return m && contains(*m, "series=\"app.orders\"") &&
           contains(*m, "reflex_series_latency_ms{series=\"app.checkout.latency\"") &&
           contains(*m, "reflex_series_value{series=\"app.queue\"");
  }));

  // (c) the target recovers: resolved, with the same fingerprint.
  target.status = 200;
  REQUIRE(wait_until(
      [&] {
        return has_alert(stored_alerts(hub, "web-1", "web-errors"),
                         protocol::AlertState::kResolved);
      },
      20s));
  const auto all = stored_alerts(hub, "web-1", "web-errors");
  CHECK(all.back().state == protocol::AlertState::kResolved);
  CHECK(all.back().fingerprint == firing.fingerprint);
  CHECK(all.back().value <= 0.5);

  agent->signal(SIGTERM);
  CHECK(agent->wait() == 0);
}

TEST_CASE("a reload whose StatsD port is taken is refused whole: old checks and old hub stay",
          "[e2e][agent-checks]") {
  HubProcess hub;
  SwitchableServer target;
  const int old_port = reserve_port();
  const int taken_port = reserve_port();
  const std::string extra = "checks:\n" + http_check("web", target.server.url("/health")) +
                            statsd_check("app", old_port) + "metrics_interval: 1s\n";
  auto agent = hub.start_agent("web-2", "200ms", extra);
  const int port = status_port(hub, "web-2");
  REQUIRE(port > 0);
  REQUIRE(wait_until([&] {
    const json s = get_status(port);
    return find_named(s, "checks", "name", "app") != nullptr;
  }));

  REQUIRE(wait_until([&] { return !hub.stored_seqs("web-2").empty(); }));

  // The new config also names another hub: a refused reload must not switch to it.
  UdpSquatter squatter(taken_port);
  REQUIRE(squatter.fd >= 0);
  reload(hub, *agent, "web-2", extra,
         "checks:\n" + http_check("web", target.server.url("/health")) +
             statsd_check("app2", taken_port) + "metrics_interval: 1s\n",
         "tcp://127.0.0.1:" + std::to_string(reserve_port()));
  REQUIRE(wait_until(
      [&] { return contains(read_file(hub.dir().file("web-2.log")), "reload refused"); }));
  CHECK(agent->running());
  INFO(read_file(hub.dir().file("web-2.log")));
  const size_t delivered = hub.stored_seqs("web-2").size();
  CHECK(wait_until([&] { return hub.stored_seqs("web-2").size() >= delivered + 2; }));

  // The old checks answer: the old StatsD port still counts datagrams, the http check runs.
  send_udp(old_port, {"hits:1|c"});
  REQUIRE(wait_until([&] {
    const json s = get_status(port);
    const json* app = find_named(s, "checks", "name", "app");
    return app && (*app)["runs"].get<uint64_t>() >= 1;
  }));
  const json s = get_status(port);
  CHECK(find_named(s, "checks", "name", "app2") == nullptr);
  CHECK(find_named(s, "checks", "name", "web") != nullptr);
  REQUIRE(wait_until([&] {
    const json now = get_status(port);
    const json* web = find_named(now, "checks", "name", "web");
    return web && (*web)["runs"].get<uint64_t>() >= 2;
  }));

  agent->signal(SIGTERM);
  CHECK(agent->wait() == 0);
}

TEST_CASE("a reload that removes a firing rule resolves its alert at the hub",
          "[e2e][agent-checks]") {
  HubProcess hub;
  SwitchableServer target;
  const int statsd_port = reserve_port();
  const std::string checks = "checks:\n" + http_check("web", target.server.url("/health")) +
                             statsd_check("app", statsd_port) +
                             "windows: {length: 2s, slices: 4}\n";
  const std::string extra = checks +
                            "rules:\n"
                            "  - {name: web-seen, series: web, when: 'count >= 1', "
                            "severity: info}\n";
  auto agent = hub.start_agent("web-3", "200ms", extra);
  const int port = status_port(hub, "web-3");
  REQUIRE(port > 0);
  REQUIRE(wait_until([&] {
    return has_alert(stored_alerts(hub, "web-3", "web-seen"), protocol::AlertState::kFiring);
  }));
  const std::string fingerprint = stored_alerts(hub, "web-3", "web-seen").back().fingerprint;

  reload(hub, *agent, "web-3", extra, checks);
  REQUIRE(wait_until([&] {
    return has_alert(stored_alerts(hub, "web-3", "web-seen"), protocol::AlertState::kResolved);
  }));
  const auto alerts = stored_alerts(hub, "web-3", "web-seen");
  CHECK(alerts.back().state == protocol::AlertState::kResolved);
  CHECK(alerts.back().fingerprint == fingerprint);
  CHECK(alerts.back().severity == protocol::Severity::kInfo);

  // The reloaded StatsD check listens on the same port again, and the rule is gone.
  REQUIRE(wait_until([&] {
    send_udp(statsd_port, {"hits:1|c"});
    const json s = get_status(port);
    const json* app = find_named(s, "checks", "name", "app");
    return app && (*app)["runs"].get<uint64_t>() >= 1;
  }));
  CHECK(find_named(get_status(port), "rules", "rule", "web-seen") == nullptr);

  agent->signal(SIGTERM);
  CHECK(agent->wait() == 0);
}
