// Suppression end to end: a real hub with real agents whose checks fail. Alerts of a
// service are attached to its dependency's open incident and notify nobody (topology
// given by a SIGHUP reload); a silence made with reflexctl survives a restart, mutes
// what it matches on the record, and once expired lets notifications through again; a
// maintenance window in a named time zone mutes what it matches.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/e2e/hub_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A tcp check on `port` every 200 ms and a rule that fires while it fails.
std::string failing_check(int port) {
  return "checks:\n"
         "  - {name: db, type: tcp, port: " +
         std::to_string(port) +
         ", interval: 200ms, timeout: 100ms}\n"
         "rules:\n"
         "  - {name: db-down, series: db, when: 'state == CRITICAL', severity: high}\n";
}

HubProcess::AgentSpec agent_of(const std::string& service, const std::string& host, int port) {
  HubProcess::AgentSpec spec;
  spec.hostname = host;
  spec.labels = "{service: " + service + ", env: prod}";
  spec.extra_yaml = failing_check(port);
  return spec;
}

// A TCP listener on 127.0.0.1:port while it lives: a tcp check against it succeeds.
struct Listener {
  int fd = -1;
  explicit Listener(int port) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd, 64) == 0);
  }
  ~Listener() { close(fd); }
};

json incidents(const HubProcess& hub) {
  return hub.api_get("/api/v1/incidents");
}

// Waits until the hub lists exactly `count` incidents and `ready` holds for the newest.
json newest_incident(const HubProcess& hub, size_t count,
                     const std::function<bool(const json&)>& ready) {
  json found;
  wait_until(
      [&] {
        const json doc = incidents(hub);
        if (!doc.is_object() || doc["incidents"].size() != count) return false;
        found = doc["incidents"][0];
        return ready(found);
      },
      30s);
  return found;
}

json detail(const HubProcess& hub, uint64_t id) {
  return hub.api_get("/api/v1/incidents/" + std::to_string(id));
}

// The timeline entries of incident `id` whose text contains `text`.
std::vector<json> entries(const HubProcess& hub, uint64_t id, const std::string& text) {
  std::vector<json> out;
  const json d = detail(hub, id);
  if (!d.is_object()) return out;
  for (const auto& e : d["timeline"]) {
    if (e["text"].get<std::string>().find(text) != std::string::npos) out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "after a reload names its dependency, a service's alerts join the dependency's "
    "incident as related symptoms and notify nobody",
    "[e2e][suppression]") {
  HubProcess hub;
  const int port = reserve_port();  // nothing listens: the checks fail
  auto db = hub.start_agent("db-1", agent_of("postgres", "db-host", port));
  const json pg = newest_incident(hub, 1, [](const json& i) { return i["firing"] == 1; });
  REQUIRE(pg.is_object());
  CHECK(pg["service"] == "postgres");
  const uint64_t pg_id = pg["id"];

  hub.dir().write("hub.yaml", read_file(hub.config_path()) +
                                  "services:\n  checkout: {depends_on: [postgres]}\n");
  hub.child().signal(SIGHUP);
  REQUIRE(wait_until(
      [&] { return hub.metric(R"(reflex_hub_config_reloads_total{result="ok"})") == 1; }));

  auto web = hub.start_agent("web-1", agent_of("checkout", "web-host", port));
  REQUIRE(wait_until([&] { return !entries(hub, pg_id, "related symptom").empty(); }, 30s));
  const json d = detail(hub, pg_id);
  CHECK(incidents(hub)["incidents"].size() == 1);  // checkout opened none of its own
  CHECK(d["incident"]["members"] == 2);
  const json joined = entries(hub, pg_id, "related symptom").at(0);
  CHECK(joined["kind"] == "alert_joined");
  CHECK(joined["host"] == "web-host");
  CHECK(joined["text"] ==
        "related symptom: db-down firing on web-host (high); checkout depends on postgres");
  CHECK(joined["suppressed"] ==
        "inhibited by dependency postgres (incident " + std::to_string(pg_id) + ")");
  CHECK(hub.metric(R"(reflex_hub_notify_intents_total{kind="opened"})") == 1);  // postgres only
  CHECK(hub.metric(R"(reflex_hub_signals_suppressed_total{by="dependency"})") >= 1);
}

TEST_CASE(
    "a silence made with reflexctl survives a restart, mutes on the record, and once "
    "expired lets notifications through again",
    "[e2e][suppression]") {
  HubProcess hub("incidents: {resolve_after: 1s}\n");
  auto bad = hub.ctl({"silence", "add", "9service=x", "--duration", "2h", "--comment", "deploy",
                      "--author", "alice"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("matchers[0]") != std::string::npos);
  auto made = hub.ctl({"silence", "add", "service=checkout", "env=~prod", "--duration", "2h",
                       "--comment", "deploying 4.2", "--author", "alice"});
  REQUIRE(made.exit_code == 0);
  CHECK(made.out.rfind("silence 1 created (active until ", 0) == 0);

  hub.restart();
  auto listed = hub.ctl({"silence", "list", "--state", "active", "--json"});
  REQUIRE(listed.exit_code == 0);
  const json doc = json::parse(listed.out);
  REQUIRE(doc["silences"].size() == 1);
  CHECK(doc["silences"][0]["created_by"] == "alice");
  CHECK(doc["silences"][0]["matchers"] == json({"service=\"checkout\"", "env=~\"prod\""}));
  auto table = hub.ctl({"silence", "list"});
  CHECK(table.out.find("deploying 4.2") != std::string::npos);

  const int port = reserve_port();
  auto web = hub.start_agent("web-1", agent_of("checkout", "web-host", port));
  const json inc = newest_incident(hub, 1, [](const json& i) { return i["firing"] == 1; });
  REQUIRE(inc.is_object());
  const uint64_t id = inc["id"];
  // Recorded in full, but nobody was told.
  const json d = detail(hub, id);
  REQUIRE_FALSE(d["timeline"].empty());
  CHECK(d["timeline"][0]["kind"] == "opened");
  CHECK(d["timeline"][0]["suppressed"] == "silenced by 1 (alice)");
  CHECK(hub.metric(R"(reflex_hub_notify_intents_total{kind="opened"})") == 0);
  CHECK(hub.metric(R"(reflex_hub_signals_suppressed_total{by="silence"})") >= 1);

  auto expired = hub.ctl({"silence", "expire", "1", "--actor", "bob"});
  REQUIRE(expired.exit_code == 0);
  CHECK(expired.out == "silence 1 expired\n");
  CHECK(hub.ctl({"silence", "expire", "1", "--actor", "bob"}).exit_code == 1);
  CHECK(hub.api_get("/api/v1/silences?state=expired")["silences"].size() == 1);

  {
    Listener up(port);  // the check passes: the alert resolves and the incident with it
    REQUIRE(newest_incident(hub, 1, [](const json& i) {
              return i["status"] == "resolved";
            }).is_object());
  }
  // The check fails again: the incident reopens, and this time someone is told.
  REQUIRE(
      newest_incident(hub, 1, [](const json& i) { return i["reopen_count"] == 1; }).is_object());
  REQUIRE(wait_until(
      [&] { return hub.metric(R"(reflex_hub_notify_intents_total{kind="reopened"})") == 1; }));
  const auto reopened = entries(hub, id, "reopened by");
  REQUIRE(reopened.size() == 1);
  CHECK(reopened[0]["suppressed"] == "");
}

TEST_CASE("a maintenance window in a named time zone mutes the alerts it matches",
          "[e2e][suppression]") {
  // Open all week, every day from local midnight for a day: always, in Berlin's time.
  HubProcess hub(
      "maintenance:\n"
      "  - name: always\n"
      "    matchers: ['service=\"checkout\"']\n"
      "    weekdays: [mon, tue, wed, thu, fri, sat, sun]\n"
      "    start: \"00:00\"\n"
      "    duration: 1d\n"
      "    time_zone: Europe/Berlin\n");
  const int port = reserve_port();
  auto web = hub.start_agent("web-1", agent_of("checkout", "web-host", port));
  auto db = hub.start_agent("db-1", agent_of("postgres", "db-host", port));
  REQUIRE(wait_until(
      [&] {
        const json doc = incidents(hub);
        return doc.is_object() && doc["incidents"].size() == 2;
      },
      30s));
  for (const auto& inc : incidents(hub)["incidents"]) {
    const json d = detail(hub, inc["id"]);
    const std::string reason = d["timeline"][0]["suppressed"];
    if (inc["service"] == "checkout") {
      CHECK_THAT(reason, Catch::StartsWith("in maintenance window always until "));
      CHECK_THAT(reason, Catch::EndsWith(" Europe/Berlin"));
    } else {
      CHECK(reason == "");
    }
  }
  CHECK(hub.metric(R"(reflex_hub_notify_intents_total{kind="opened"})") == 1);
}
