// Every binary's command line: --help, --version, check-config, bad arguments, and the
// daemons' signals (SIGHUP reload, SIGTERM stop).
#include <signal.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "tests/e2e/hub_fixture.h"

using namespace reflex::testing;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("every binary answers --version and --help", "[e2e][cli]") {
  for (const auto& bin : {hub_binary(), agent_binary(), ctl_binary()}) {
    auto v = run({bin, "--version"});
    CHECK(v.exit_code == 0);
    CHECK(contains(v.out, REFLEX_VERSION));
    auto h = run({bin, "--help"});
    CHECK(h.exit_code == 0);
    CHECK(contains(h.out, "check-config"));
  }
  // Subcommands that read a config say how to give it, since -c may follow them.
  for (const auto& args :
       std::vector<std::vector<std::string>>{{hub_binary(), "migrate", "--help"},
                                             {agent_binary(), "status", "--help"},
                                             {agent_binary(), "remediation", "--help"}}) {
    INFO(args[1]);
    auto h = run(args);
    CHECK(h.exit_code == 0);
    CHECK(contains(h.out, "-c/--config, before or after"));
  }
}

TEST_CASE("unknown arguments are refused with a message", "[e2e][cli]") {
  for (const auto& bin : {hub_binary(), agent_binary(), ctl_binary()}) {
    auto out = run({bin, "--no-such-flag"});
    CHECK(out.exit_code != 0);
    CHECK(contains(out.err + out.out, "--no-such-flag"));
  }
}

TEST_CASE("check-config accepts a valid file and lists every error of a bad one", "[e2e][cli]") {
  TempDir dir;
  auto good_hub =
      dir.write("hub.yaml", "listen: tcp://127.0.0.1:7171\nagents: {lost_after_missed: 5}\n");
  auto bad_hub = dir.write("bad-hub.yaml",
                           "listen: nowhere\n"
                           "agents:\n"
                           "  lost_after_missed: zero\n"
                           "  lost_after: 3\n");
  auto good_agent = dir.write("agent.yaml", "id: web-1\nheartbeat_interval: 2s\n");
  auto bad_agent = dir.write("bad-agent.yaml", "id: web-1\nheartbeat_interval: 2\n");

  CHECK(run({hub_binary(), "check-config", good_hub}).exit_code == 0);
  auto bad = run({hub_binary(), "check-config", bad_hub});
  CHECK(bad.exit_code == 1);
  CHECK(contains(bad.err, "bad-hub.yaml:1: listen:"));
  CHECK(contains(bad.err, "bad-hub.yaml:3: agents.lost_after_missed: expected a whole number"));
  CHECK(contains(bad.err, "bad-hub.yaml:4: agents.lost_after: unknown key"));

  CHECK(run({agent_binary(), "check-config", good_agent}).exit_code == 0);
  auto bad_a = run({agent_binary(), "check-config", bad_agent});
  CHECK(bad_a.exit_code == 1);
  CHECK(contains(bad_a.err, "bad-agent.yaml:2: heartbeat_interval: invalid duration \"2\""));

  // reflexctl tells the kinds apart, or takes --kind.
  CHECK(run({ctl_binary(), "check-config", good_hub}).exit_code == 0);
  CHECK(run({ctl_binary(), "check-config", good_agent}).exit_code == 0);
  CHECK(run({ctl_binary(), "check-config", "--kind", "hub", bad_hub}).exit_code == 1);
  CHECK(run({hub_binary(), "check-config", dir.file("missing.yaml")}).exit_code == 1);
}

TEST_CASE("migrate reports the store's schema, applies it, and --check says what is pending",
          "[e2e][cli]") {
  TempDir dir;
  const std::string db = dir.file("hub.db");
  auto cfg = dir.write("hub.yaml", "store: {path: " + db + "}\n");

  auto asked = run({hub_binary(), "migrate", "--check", "-c", cfg});
  CHECK(asked.exit_code == 3);
  CHECK(contains(asked.out, "store " + db + ": schema version 0 (this build knows "));
  CHECK(contains(asked.out, "migrations pending"));
  CHECK_FALSE(std::filesystem::exists(db));  // asking creates nothing

  auto applied = run({hub_binary(), "migrate", "-c", cfg});
  CHECK(applied.exit_code == 0);
  CHECK(contains(applied.out, "schema version 0 -> "));
  CHECK(contains(applied.out, ": migrated"));

  auto again = run({hub_binary(), "migrate", "--check", "-c", cfg});
  CHECK(again.exit_code == 0);
  CHECK(contains(again.out, ": up to date"));

  auto bad = dir.write("bad.yaml", "store: {backend: postgres}\n");
  auto refused = run({hub_binary(), "migrate", "-c", bad});
  CHECK(refused.exit_code == 1);
  CHECK(contains(refused.err, "store.dsn"));
}

TEST_CASE("a daemon with an invalid config does not start", "[e2e][cli]") {
  TempDir dir;
  auto bad = dir.write("hub.yaml", "store: {backend: oracle}\n");
  auto out = run({hub_binary(), "--config", bad});
  CHECK(out.exit_code == 1);
  CHECK(contains(out.err, "store.backend: must be one of postgres, sqlite, got \"oracle\""));
}

TEST_CASE("SIGHUP applies a valid config and refuses an invalid one without stopping",
          "[e2e][cli]") {
  HubProcess hub;
  const std::string original = read_file(hub.config_path());

  // Invalid: refused, counted, and the hub keeps serving.
  hub.dir().write("hub.yaml", original + "surprise: 1\n");
  hub.child().signal(SIGHUP);
  REQUIRE(wait_until(
      [&] { return hub.metric("reflex_hub_config_reloads_total{result=\"rejected\"}") == 1; }));
  CHECK(hub.metric("reflex_hub_config_last_reload_successful") == 0);
  CHECK(hub.child().running());

  // Valid: applied.
  hub.dir().write("hub.yaml", original);
  hub.child().signal(SIGHUP);
  REQUIRE(wait_until(
      [&] { return hub.metric("reflex_hub_config_reloads_total{result=\"ok\"}") == 1; }));
  CHECK(hub.metric("reflex_hub_config_last_reload_successful") == 1);

  hub.child().signal(SIGTERM);
  CHECK(hub.child().wait() == 0);
}

TEST_CASE("SIGTERM and SIGINT stop the agent gracefully", "[e2e][cli]") {
  HubProcess hub;
  for (int sig : {SIGTERM, SIGINT}) {
    // A fresh id each time: the first agent's registration must not stand in for the
    // second's (a signal before the handlers are installed would kill it).
    const std::string id = "web-" + std::to_string(sig);
    auto agent = hub.start_agent(id);
    REQUIRE(wait_until([&] { return hub.states()[id] == "alive"; }));
    agent->signal(sig);
    CHECK(agent->wait() == 0);
  }
}
