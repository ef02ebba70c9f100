// Bearer tokens on a real reflex-hub: requests without a token are refused, a viewer reads
// but cannot act, a responder's actions are recorded under the token's name, reflexctl
// sends the token, SIGHUP swaps the tokens, and a hub that would serve an open API beyond
// loopback refuses to start. Plus the post-incident report of a real incident.
#include <httplib.h>
#include <signal.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/e2e/hub_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kAlice = "alice-e2e-0123456789abcdef";
const std::string kGrafana = "grafana-e2e-0123456789abcdef";

std::string tokens_yaml(const TempDir& dir) {
  return "api:\n  tokens:\n"
         "    - {name: alice, role: responder, token_file: " +
         dir.file("alice") +
         "}\n"
         "    - {name: grafana, role: viewer, token_file: " +
         dir.file("grafana") + "}\n";
}

// A tcp check on a port nothing listens on, and a rule that fires while it fails.
std::string failing_check(int port) {
  return "checks:\n"
         "  - {name: db, type: tcp, port: " +
         std::to_string(port) +
         ", interval: 200ms, timeout: 100ms}\n"
         "rules:\n"
         "  - {name: db-down, series: db, when: 'state == CRITICAL', severity: high}\n";
}

httplib::Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// A hub with two tokens (alice: responder, grafana: viewer) and one agent whose failing
// check has opened an incident.
struct TokenHub {
  TokenHub()
      : tokens(),
        alice_file(tokens.write("alice", kAlice + "\n")),
        grafana_file(tokens.write("grafana", kGrafana + "\n")),
        hub(tokens_yaml(tokens)),
        http("127.0.0.1", std::stoi(hub.url().substr(hub.url().rfind(':') + 1))) {
    HubProcess::AgentSpec spec;
    spec.hostname = "host-1";
    spec.labels = "{service: checkout, env: prod}";
    spec.extra_yaml = failing_check(reserve_port());
    agent = hub.start_agent("web-1", spec);
    http.set_read_timeout(20);
    REQUIRE(wait_until(
        [&] {
          auto res = http.Get("/api/v1/incidents", bearer(kAlice));
          if (!res || res->status != 200) return false;
          const json doc = json::parse(res->body, nullptr, false);
          if (!doc.is_object() || doc["incidents"].size() != 1) return false;
          id = std::to_string(doc["incidents"][0]["id"].get<uint64_t>());
          return true;
        },
        30s));
  }
  json detail() {
    auto res = http.Get("/api/v1/incidents/" + id, bearer(kAlice));
    REQUIRE(res);
    REQUIRE(res->status == 200);
    return json::parse(res->body);
  }
  const json* last(const std::string& kind) {
    last_detail = detail();
    const json* found = nullptr;
    for (const auto& e : last_detail["timeline"]) {
      if (e["kind"] == kind) found = &e;
    }
    return found;
  }

  TempDir tokens;
  std::string alice_file, grafana_file;
  HubProcess hub;
  httplib::Client http;
  std::unique_ptr<Child> agent;
  std::string id;
  json last_detail;
};

}  // namespace

TEST_CASE(
    "with tokens the hub refuses a request without one, a viewer reads but cannot ack, and "
    "a responder's ack is recorded under the token's name",
    "[e2e][api-tokens]") {
  TokenHub t;
  auto anon = t.http.Get("/api/v1/incidents");
  REQUIRE(anon);
  CHECK(anon->status == 401);
  CHECK(anon->get_header_value("WWW-Authenticate").rfind("Bearer", 0) == 0);
  CHECK(json::parse(anon->body)["error"]["code"] == "unauthorized");
  auto wrong = t.http.Get("/api/v1/incidents", bearer(kAlice + "x"));
  REQUIRE(wrong);
  CHECK(wrong->status == 401);

  // Health and metrics stay open for load balancers and Prometheus.
  CHECK(t.http.Get("/healthz")->status == 200);
  CHECK(t.http.Get("/metrics")->status == 200);

  auto list = t.http.Get("/api/v1/incidents", bearer(kGrafana));
  REQUIRE(list);
  CHECK(list->status == 200);
  auto viewer_ack = t.http.Post("/api/v1/incidents/" + t.id + "/ack", bearer(kGrafana),
                                R"({"actor": "grafana"})", "application/json");
  REQUIRE(viewer_ack);
  CHECK(viewer_ack->status == 403);
  CHECK(json::parse(viewer_ack->body)["error"]["code"] == "forbidden");
  CHECK(t.last("acknowledged") == nullptr);

  // A body actor other than the token's name is refused and changes nothing.
  auto mismatch = t.http.Post("/api/v1/incidents/" + t.id + "/ack", bearer(kAlice),
                              R"({"actor": "bob"})", "application/json");
  REQUIRE(mismatch);
  CHECK(mismatch->status == 400);
  CHECK(json::parse(mismatch->body)["error"]["message"].get<std::string>().rfind("actor:", 0) == 0);
  CHECK(t.last("acknowledged") == nullptr);

  auto ack =
      t.http.Post("/api/v1/incidents/" + t.id + "/ack", bearer(kAlice), "", "application/json");
  REQUIRE(ack);
  CHECK(ack->status == 200);
  const json* acked = t.last("acknowledged");
  REQUIRE(acked != nullptr);
  CHECK((*acked)["actor"] == "alice");
  CHECK(t.last_detail["incident"]["acknowledged_by"] == "alice");
}

TEST_CASE("reflexctl sends the token from --token-file and without one fails with a clear message",
          "[e2e][api-tokens]") {
  TokenHub t;
  auto anon = t.hub.ctl({"incidents"});
  CHECK(anon.exit_code != 0);
  CHECK(anon.err.find("bearer token") != std::string::npos);
  CHECK(anon.err.find("--token-file") != std::string::npos);

  auto viewer = t.hub.ctl({"--token-file", t.grafana_file, "incident", "ack", t.id});
  CHECK(viewer.exit_code != 0);
  CHECK(viewer.err.find("not allowed with this token") != std::string::npos);
  CHECK(viewer.err.find("role viewer") != std::string::npos);

  auto listed = t.hub.ctl({"--token-file", t.grafana_file, "incidents", "--json"});
  CHECK(listed.exit_code == 0);
  CHECK(json::parse(listed.out)["incidents"].size() == 1);

  // The option may follow the subcommand too; the actor is the token's, not $USER.
  auto noted =
      t.hub.ctl({"incident", "note", t.id, "looking at the db", "--token-file", t.alice_file});
  INFO(noted.err);
  CHECK(noted.exit_code == 0);
  const json* note = t.last("note");
  REQUIRE(note != nullptr);
  CHECK((*note)["actor"] == "alice");
  CHECK((*note)["text"] == "looking at the db");

  // Or the token itself from the environment.
  ::setenv("REFLEX_TOKEN", kGrafana.c_str(), 1);
  auto from_env = t.hub.ctl({"incidents", "--json"});
  ::unsetenv("REFLEX_TOKEN");
  CHECK(from_env.exit_code == 0);

  auto missing_file = t.hub.ctl({"--token-file", t.tokens.file("nope"), "incidents"});
  CHECK(missing_file.exit_code != 0);
  CHECK(missing_file.err.find("cannot read the token file") != std::string::npos);
}

TEST_CASE("the report of a real incident holds its timeline and its responders",
          "[e2e][api-tokens][incident-report]") {
  TokenHub t;
  REQUIRE(t.hub.ctl({"--token-file", t.alice_file, "incident", "ack", t.id}).exit_code == 0);
  REQUIRE(t.hub.ctl({"--token-file", t.alice_file, "incident", "note", t.id, "db restarted"})
              .exit_code == 0);
  auto out = t.hub.ctl({"--token-file", t.grafana_file, "incident", "report", t.id});
  INFO(out.err);
  REQUIRE(out.exit_code == 0);
  const std::string& md = out.out;
  INFO(md);
  CHECK(md.rfind("# Incident " + t.id + ": ", 0) == 0);
  CHECK(md.find("| Service | checkout |") != std::string::npos);
  CHECK(md.find("| Status | acknowledged |") != std::string::npos);
  CHECK(md.find("| opened | agent:web-1 | host-1 |") != std::string::npos);
  CHECK(md.find("| acknowledged | alice | - | acknowledged by alice |") != std::string::npos);
  CHECK(md.find("| note | alice | - | db restarted |") != std::string::npos);
  const auto responders = md.find("## Responders");
  REQUIRE(responders != std::string::npos);
  CHECK(md.find("| alice | ", responders) != std::string::npos);
  CHECK(md.find("acknowledged, note", responders) != std::string::npos);
}

TEST_CASE("a SIGHUP reloads the tokens: a removed token is refused and a new one accepted",
          "[e2e][api-tokens]") {
  TempDir tokens;
  tokens.write("alice", kAlice + "\n");
  tokens.write("grafana", kGrafana + "\n");
  HubProcess hub(tokens_yaml(tokens));
  httplib::Client http("127.0.0.1", std::stoi(hub.url().substr(hub.url().rfind(':') + 1)));
  REQUIRE(http.Get("/api/v1/agents", bearer(kGrafana))->status == 200);

  const std::string carol = "carol-e2e-0123456789abcdef";
  tokens.write("carol", carol + "\n");
  std::string cfg = read_file(hub.config_path());
  const auto at = cfg.find("api:\n");
  REQUIRE(at != std::string::npos);
  hub.dir().write("hub.yaml", cfg.substr(0, at) +
                                  "api:\n  tokens:\n"
                                  "    - {name: carol, role: viewer, token_file: " +
                                  tokens.file("carol") + "}\n");
  hub.child().signal(SIGHUP);
  REQUIRE(wait_until(
      [&] { return hub.metric("reflex_hub_config_reloads_total{result=\"ok\"}") >= 1; }));
  CHECK(http.Get("/api/v1/agents", bearer(kGrafana))->status == 401);
  CHECK(http.Get("/api/v1/agents", bearer(carol))->status == 200);

  // A token file that goes missing refuses the reload; the running tokens stay.
  std::filesystem::remove(tokens.file("carol"));
  hub.child().signal(SIGHUP);
  REQUIRE(wait_until(
      [&] { return hub.metric("reflex_hub_config_reloads_total{result=\"rejected\"}") >= 1; }));
  CHECK(http.Get("/api/v1/agents", bearer(carol))->status == 200);
}

TEST_CASE("a hub whose HTTP address is not loopback and has no tokens refuses to start",
          "[e2e][api-tokens]") {
  TempDir dir;
  const std::string cfg =
      dir.write("hub.yaml", "listen: tcp://127.0.0.1:" + std::to_string(reserve_port()) +
                                "\nhttp: 0.0.0.0:" + std::to_string(reserve_port()) +
                                "\nstore: {path: " + dir.file("hub.db") + "}\n");
  auto start = run({hub_binary(), "--config", cfg});
  CHECK(start.exit_code == 1);
  CHECK(start.err.find("http: a non-loopback HTTP address needs api.tokens") != std::string::npos);
  CHECK(start.err.find("api.insecure_open: true") != std::string::npos);
  auto check = run({hub_binary(), "check-config", cfg});
  CHECK(check.exit_code == 1);
  CHECK(check.err.find("needs api.tokens") != std::string::npos);
}
