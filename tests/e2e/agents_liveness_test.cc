// The walking skeleton end to end: a real hub, real agents, reflexctl, SIGKILL.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <regex>

#include "common/sqlite.h"
#include "tests/e2e/hub_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;

TEST_CASE("a killed agent is marked lost within the window and alive again when it returns",
          "[e2e]") {
  HubProcess hub;
  auto web1 = hub.start_agent("web-1");
  auto web2 = hub.start_agent("web-2");

  REQUIRE(wait_until([&] {
    auto s = hub.states();
    return s["web-1"] == "alive" && s["web-2"] == "alive";
  }));
  auto doc = hub.agents();
  for (const auto& a : doc["agents"]) {
    CHECK(a["labels"]["service"] == "checkout");
    CHECK(a["heartbeat_ms"] == 200);
    CHECK(!a["version"].get<std::string>().empty());
  }

  web2->signal(SIGKILL);
  web2->wait();
  // 3 missed heartbeats of 200 ms, checked every 50 ms: lost 600-650 ms after the last
  // heartbeat. The wait is generous so a loaded machine does not fail the test; the
  // hub's own record proves it waited for the missed heartbeats and no longer.
  REQUIRE(wait_until([&] { return hub.states()["web-2"] == "lost"; }, 5s));
  const auto after = hub.agents();
  for (const auto& a : after["agents"]) {
    if (a["id"] != "web-2") continue;
    const int64_t silent_for =
        a["state_since_ms"].get<int64_t>() - a["last_seen_ms"].get<int64_t>();
    CHECK(silent_for > 600);
    CHECK(silent_for < 600 + 50 + 250);  // one check interval, plus scheduling slack
  }
  CHECK(hub.states()["web-1"] == "alive");

  auto web2_again = hub.start_agent("web-2");
  REQUIRE(wait_until([&] { return hub.states()["web-2"] == "alive"; }));

  // A graceful stop commits everything; the store holds every state change with its time.
  hub.child().signal(SIGTERM);
  CHECK(hub.child().wait() == 0);
  auto db = sqlite::Database::open(hub.dir().file("hub.db"));
  REQUIRE(db);
  auto st = db->prepare(
      "SELECT state, reason FROM agent_state_changes WHERE agent_id = 'web-2' ORDER BY rowid");
  REQUIRE(st);
  std::vector<std::string> history;
  while (*st->step()) history.push_back(st->column_text(0) + ":" + st->column_text(1));
  REQUIRE(history.size() == 3);
  CHECK(history[0] == "alive:registered");
  CHECK(history[1] == "lost:missed 3 heartbeats");
  CHECK(history[2].rfind("alive:", 0) == 0);
}

TEST_CASE("a restarted hub keeps its agents and a running agent registers again", "[e2e]") {
  HubProcess hub;
  auto web1 = hub.start_agent("web-1");
  REQUIRE(wait_until([&] { return hub.states()["web-1"] == "alive"; }));
  const int64_t first_seen = hub.agents()["agents"][0]["first_seen_ms"];

  hub.restart();
  // The record survives the restart, and the agent, told hello_required by a hub that
  // does not know its connection, registers again and keeps heartbeating.
  auto doc = hub.agents();
  REQUIRE(doc["agents"].size() == 1);
  CHECK(doc["agents"][0]["first_seen_ms"] == first_seen);
  const int64_t seen_before = doc["agents"][0]["last_seen_ms"];
  REQUIRE(wait_until([&] {
    auto d = hub.agents();
    return d.contains("agents") && d["agents"][0]["last_seen_ms"].get<int64_t>() > seen_before &&
           d["agents"][0]["state"] == "alive";
  }));
}

TEST_CASE("reflexctl prints agents as a readable table", "[e2e]") {
  HubProcess hub;
  auto web1 = hub.start_agent("web-1");
  REQUIRE(wait_until([&] { return hub.states()["web-1"] == "alive"; }));
  auto out = run({ctl_binary(), "--hub", hub.url(), "agents"});
  REQUIRE(out.exit_code == 0);
  CHECK(out.out.rfind("ID", 0) == 0);
  CHECK(out.out.find("web-1") != std::string::npos);
  CHECK(out.out.find("alive") != std::string::npos);
  CHECK(out.out.find("service=checkout") != std::string::npos);

  auto down = run({ctl_binary(), "--hub", "http://127.0.0.1:1", "agents"});
  CHECK(down.exit_code == 1);
  CHECK(down.err.find("cannot reach the hub at http://127.0.0.1:1") != std::string::npos);
}

TEST_CASE("reflexctl shows one agent with its checks as it last reported them", "[e2e]") {
  HubProcess hub;
  const int closed = reserve_port();  // nothing listens: the check fails
  auto web1 = hub.start_agent("web-1", "200ms",
                              "metrics_interval: 1s\nchecks:\n  - {name: db, type: tcp, port: " +
                                  std::to_string(closed) + ", interval: 200ms, timeout: 100ms}\n");
  REQUIRE(wait_until([&] { return hub.states()["web-1"] == "alive"; }));
  Output out;
  REQUIRE(wait_until(
      [&] {
        out = run({ctl_binary(), "--hub", hub.url(), "agents", "web-1"});
        return out.exit_code == 0 && out.out.find("CHECKS") != std::string::npos;
      },
      15s));
  CHECK(std::regex_search(out.out, std::regex("\nSTATE +alive\n")));
  // The db series: its state and statistics, from the agent's metrics summary.
  CHECK(std::regex_search(out.out, std::regex("\ndb +critical +count=")));
  CHECK(out.out.find("error_rate=1 ratio") != std::string::npos);

  auto unknown = run({ctl_binary(), "--hub", hub.url(), "agents", "web-9"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("no agent \"web-9\"") != std::string::npos);
}

TEST_CASE("reflexctl lists the maintenance windows of hub.yaml", "[e2e]") {
  HubProcess hub(
      "maintenance:\n"
      "  - {name: nightly-db, matchers: ['service=\"postgres\"'], weekdays: [sun], start: "
      "\"02:00\", end: \"04:00\", time_zone: Europe/Berlin, comment: index rebuild}\n");
  auto out = run({ctl_binary(), "--hub", hub.url(), "maintenance"});
  REQUIRE(out.exit_code == 0);
  CHECK(out.out.rfind("NAME", 0) == 0);
  CHECK(out.out.find("nightly-db") != std::string::npos);
  CHECK(out.out.find("Sun 02:00-04:00 Europe/Berlin") != std::string::npos);
  CHECK(out.out.find("{service=\"postgres\"}") != std::string::npos);
  CHECK(out.out.find("index rebuild") != std::string::npos);

  HubProcess bare;
  auto none = run({ctl_binary(), "--hub", bare.url(), "maintenance"});
  REQUIRE(none.exit_code == 0);
  CHECK(none.out.find("(hub.yaml declares no maintenance windows)") != std::string::npos);
}
