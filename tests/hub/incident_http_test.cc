// The incident API of a real hub (in this process, on loopback): people's actions are
// recorded with their actor and only acknowledged once durable, bad requests change
// nothing, and commits that fail are undone whole.
#include <catch2/catch.hpp>

#include "common/sqlite.h"
#include "tests/hub/hub_harness.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using namespace std::chrono_literals;
using nlohmann::json;
using protocol::AlertState;

namespace {

// A hub with one agent whose alert has opened incident 1.
struct OneIncident {
  explicit OneIncident(IncidentsConfig cfg = {}) : hub(std::move(cfg)), api(hub.http_port()) {
    agent.hello();
    agent.alert(1, "fp-1", AlertState::kFiring);
    REQUIRE(agent.wait_ack(1));
  }
  RunningHub hub;
  StandInAgent agent{hub.endpoint(), "web-1", "host-1"};
  Api api;
};

// What the record holds about an incident: the document without the time of asking.
json record(Api& api, uint64_t id) {
  json d = api.incident(id);
  d.erase("now_ms");
  return d;
}

size_t count_kind(const json& detail, const std::string& kind) {
  size_t n = 0;
  for (const auto& e : detail["timeline"]) n += e["kind"] == kind;
  return n;
}

const json* last_of(const json& detail, const std::string& kind) {
  const json* found = nullptr;
  for (const auto& e : detail["timeline"]) {
    if (e["kind"] == kind) found = &e;
  }
  return found;
}

}  // namespace

TEST_CASE("an agent's alert opens an incident the API lists and shows with its timeline",
          "[hub][incident-api]") {
  OneIncident t;
  auto list = t.api.get("/api/v1/incidents");
  REQUIRE(list.status == 200);
  REQUIRE(list.body["incidents"].size() == 1);
  const json& inc = list.body["incidents"][0];
  CHECK(inc["id"] == 1);
  CHECK(inc["title"] == "HighErrorRate on checkout");
  CHECK(inc["status"] == "triggered");
  CHECK(inc["hosts"] == "1 of 1 host");
  const json d = t.api.incident(1);
  REQUIRE(d["members"].size() == 1);
  CHECK(d["members"][0]["fingerprint"] == "web-1/fp-1");
  CHECK(d["members"][0]["host"] == "host-1");
  CHECK(d["alerts"][0]["state"] == "firing");
  CHECK(d["alerts"][0]["labels"] ==
        json({{"series", "web"}, {"service", "checkout"}, {"env", "prod"}}));
  CHECK(d["timeline"][0]["kind"] == "opened");
  CHECK(d["timeline"][0]["actor"] == "agent:web-1");

  auto alerts = t.api.get("/api/v1/alerts");
  REQUIRE(alerts.status == 200);
  REQUIRE(alerts.body["alerts"].size() == 1);
  CHECK(alerts.body["alerts"][0]["fingerprint"] == "web-1/fp-1");
  CHECK(alerts.body["alerts"][0]["incident_id"] == 1);

  t.agent.alert(2, "fp-1", AlertState::kResolved);
  REQUIRE(t.agent.wait_ack(2));
  CHECK(t.api.get("/api/v1/alerts").body["alerts"].empty());
}

TEST_CASE("ack, assign, notes and resolve through the API record the actor and answer the row",
          "[hub][incident-api]") {
  OneIncident t;
  auto ack = t.api.post("/api/v1/incidents/1/ack", R"({"actor": "alice"})");
  REQUIRE(ack.status == 200);
  CHECK(ack.body["incident"]["status"] == "acknowledged");
  CHECK(ack.body["incident"]["acknowledged_by"] == "alice");

  auto assign = t.api.post("/api/v1/incidents/1/assign", R"({"actor": "alice", "owner": "bob"})");
  REQUIRE(assign.status == 200);
  CHECK(assign.body["incident"]["owner"] == "bob");

  auto note =
      t.api.post("/api/v1/incidents/1/notes", R"({"actor": "carol", "text": "db failover"})");
  REQUIRE(note.status == 200);

  auto resolve = t.api.post("/api/v1/incidents/1/resolve", R"({"actor": "bob"})");
  REQUIRE(resolve.status == 200);
  CHECK(resolve.body["incident"]["status"] == "resolved");
  CHECK(resolve.body["incident"]["resolved_by"] == "bob");

  // The store, read back, has each action with its actor (an OK means committed).
  const json d = t.api.incident(1);
  REQUIRE(last_of(d, "acknowledged"));
  CHECK((*last_of(d, "acknowledged"))["actor"] == "alice");
  CHECK((*last_of(d, "assigned"))["actor"] == "alice");
  CHECK((*last_of(d, "assigned"))["text"] == "assigned to bob");
  CHECK((*last_of(d, "note"))["actor"] == "carol");
  CHECK((*last_of(d, "note"))["text"] == "db failover");
  CHECK((*last_of(d, "resolved"))["actor"] == "bob");

  // Acknowledging a resolved incident is refused; resolving it again changes nothing.
  auto late = t.api.post("/api/v1/incidents/1/ack", R"({"actor": "dave"})");
  CHECK(late.status == 409);
  CHECK(late.body["error"]["code"] == "conflict");
  const size_t entries = t.api.incident(1)["timeline"].size();
  CHECK(t.api.post("/api/v1/incidents/1/resolve", R"({"actor": "dave"})").status == 200);
  CHECK(t.api.incident(1)["timeline"].size() == entries);
}

TEST_CASE("a bad action body is refused with 400 naming the field and changes nothing",
          "[hub][incident-api]") {
  OneIncident t;
  const json before = record(t.api, 1);
  struct Case {
    std::string path, body, message;
  };
  const std::vector<Case> cases = {
      {"ack", "", "the body is not JSON"},
      {"ack", "{\"actor\": ", "the body is not JSON"},
      {"ack", "[\"alice\"]", "the body must be a JSON object"},
      {"ack", "{}", "actor: required"},
      {"ack", R"({"actor": ""})", "actor: must not be empty"},
      {"ack", R"({"actor": 7})", "actor: must be a string"},
      {"ack", R"({"actor": "alice", "force": true})", "force: unknown field (known here: actor)"},
      {"resolve", R"({"who": "alice"})", "who: unknown field (known here: actor)"},
      {"assign", R"({"actor": "alice"})", "owner: required"},
      {"assign", R"({"actor": "alice", "owner": null})", "owner: must be a string"},
      {"notes", R"({"actor": "alice"})", "text: required"},
      {"notes", R"({"actor": "alice", "text": ""})", "text: must not be empty"},
      {"notes", R"({"actor": "alice", "note": "x"})",
       "note: unknown field (known here: actor, text)"},
  };
  for (const auto& c : cases) {
    INFO(c.path << " " << c.body);
    auto res = t.api.post("/api/v1/incidents/1/" + c.path, c.body);
    CHECK(res.status == 400);
    CHECK(res.body["error"]["code"] == "invalid_body");
    CHECK(res.body["error"]["message"].get<std::string>().rfind(c.message, 0) == 0);
  }
  CHECK(record(t.api, 1) == before);
}

TEST_CASE("actions and reads of an unknown incident are 404, of a closed one 409 except notes",
          "[hub][incident-api]") {
  IncidentsConfig cfg;
  cfg.reopen_window = Millis(0);  // resolved incidents are closed at once
  OneIncident t(cfg);
  auto missing = t.api.post("/api/v1/incidents/42/ack", R"({"actor": "alice"})");
  CHECK(missing.status == 404);
  CHECK(missing.body["error"]["code"] == "not_found");
  CHECK(missing.body["error"]["message"] == "no incident 42");
  CHECK(t.api.post("/api/v1/incidents/42/notes", R"({"actor": "a", "text": "x"})").status == 404);
  CHECK(t.api.get("/api/v1/incidents/42").status == 404);
  CHECK(t.api.get("/api/v1/incidents/99999999999999999999999").status == 404);

  REQUIRE(t.api.post("/api/v1/incidents/1/resolve", R"({"actor": "bob"})").status == 200);
  // Closed once its (zero) reopen window has run: the engine lets go of it.
  REQUIRE(reflex::testing::wait_until(
      [&] { return t.api.incident(1)["incident"]["reopen_until_ms"] == 0; }));
  auto closed = t.api.post("/api/v1/incidents/1/assign", R"({"actor": "a", "owner": "b"})");
  CHECK(closed.status == 409);
  CHECK(closed.body["error"]["message"].get<std::string>().find("is closed") != std::string::npos);
  CHECK(t.api.post("/api/v1/incidents/1/resolve", R"({"actor": "a"})").status == 200);
  CHECK(
      t.api.post("/api/v1/incidents/1/notes", R"({"actor": "a", "text": "post-mortem"})").status ==
      200);
  CHECK((*last_of(t.api.incident(1), "note"))["text"] == "post-mortem");
}

TEST_CASE("an action whose commit fails is answered 503, changes nothing and can be repeated",
          "[hub][incident-api]") {
  OneIncident t;
  const json before = record(t.api, 1);
  {
    // Another writer holds the store longer than the hub waits for it (5 s).
    auto db = sqlite::Database::open(t.hub.store_path());
    REQUIRE(db);
    REQUIRE(db->exec("BEGIN IMMEDIATE"));
    auto ack = t.api.post("/api/v1/incidents/1/ack", R"({"actor": "alice"})");
    CHECK(ack.status == 503);
    CHECK(ack.body["error"]["code"] == "unavailable");
    REQUIRE(db->exec("ROLLBACK"));
  }
  CHECK(t.api.metric("reflex_hub_store_commit_failures_total") >= 1);
  CHECK(record(t.api, 1) == before);

  // The engine was put back to the store's state: the same action now applies, once.
  auto again = t.api.post("/api/v1/incidents/1/ack", R"({"actor": "alice"})");
  REQUIRE(again.status == 200);
  CHECK(again.body["incident"]["acknowledged_by"] == "alice");
  CHECK(count_kind(t.api.incident(1), "acknowledged") == 1);
}

TEST_CASE("events whose commit failed are correlated once when resent and duplicates never",
          "[hub][incident-api]") {
  OneIncident t;
  {
    auto db = sqlite::Database::open(t.hub.store_path());
    REQUIRE(db);
    REQUIRE(db->exec("BEGIN IMMEDIATE"));
    // A second alert of the group (it joins) and a remediation report (each report is
    // one timeline entry): the commit carrying them fails.
    t.agent.alert(2, "fp-2", AlertState::kFiring);
    t.agent.remediation(3, "fp-2", "restart");
    REQUIRE(reflex::testing::wait_until(
        [&] { return t.api.metric("reflex_hub_store_commit_failures_total") >= 1; }, 30s));
    // An agent with room in its window goes on with the next number before it hears of
    // the failure: taking that would step over events 2 and 3 for good.
    t.agent.remediation(4, "fp-2", "flush-cache");
    CHECK(t.agent.refusal(4) == "hello_required");
    CHECK(t.agent.refusal(0) == "hello_required");  // said unasked, at the failure
    REQUIRE(db->exec("ROLLBACK"));
  }
  // Not acknowledged: the agent says hello again and resends from the mark it is given,
  // as a real agent does.
  REQUIRE(t.agent.hello() == 1);
  t.agent.alert(2, "fp-2", AlertState::kFiring);
  t.agent.remediation(3, "fp-2", "restart");
  t.agent.remediation(4, "fp-2", "flush-cache");
  REQUIRE(t.agent.wait_ack(4, 30s));
  // And once more after they were acknowledged: duplicates, dropped by sequence.
  t.agent.alert(2, "fp-2", AlertState::kFiring);
  t.agent.remediation(3, "fp-2", "restart");
  t.agent.remediation(4, "fp-2", "flush-cache");
  t.agent.remediation(5, "fp-2", "scale-out");
  REQUIRE(t.agent.wait_ack(5));

  const json d = t.api.incident(1);
  CHECK(d["members"].size() == 2);
  CHECK(count_kind(d, "alert_joined") == 1);
  std::vector<std::string> reports;
  for (const auto& e : d["timeline"]) {
    if (e["kind"] == "remediation") reports.push_back(e["text"]);
  }
  CHECK(reports == std::vector<std::string>{"restart on host-1: succeeded (attempt 1)",
                                            "flush-cache on host-1: succeeded (attempt 1)",
                                            "scale-out on host-1: succeeded (attempt 1)"});
  CHECK(d["incident"]["members"] == 2);
  CHECK(d["incident"]["firing"] == 2);
}

TEST_CASE("the incident list filters by status, service, severity and since and refuses the rest",
          "[hub][incident-api]") {
  OneIncident t;
  auto ids = [&](const std::string& query) {
    auto res = t.api.get("/api/v1/incidents" + query);
    INFO(query << " -> " << res.body.dump());
    REQUIRE(res.status == 200);
    std::vector<uint64_t> out;
    for (const auto& i : res.body["incidents"]) out.push_back(i["id"]);
    return out;
  };
  using Ids = std::vector<uint64_t>;
  CHECK(ids("?status=triggered") == Ids{1});
  CHECK(ids("?status=open") == Ids{1});
  CHECK(ids("?status=resolved").empty());
  CHECK(ids("?service=checkout") == Ids{1});
  CHECK(ids("?service=payments").empty());
  CHECK(ids("?severity=warning") == Ids{1});  // high is at least warning
  CHECK(ids("?severity=critical").empty());
  CHECK(ids("?since=1h") == Ids{1});
  CHECK(ids("?since=99999999999999").empty());
  CHECK(ids("?limit=1&status=open&service=checkout") == Ids{1});

  for (const auto& [query, message] : std::vector<std::pair<std::string, std::string>>{
           {"?status=done", "status: expected triggered, acknowledged, resolved or open"},
           {"?severity=urgent", "severity: unknown severity 'urgent'"},
           {"?since=yesterday", "since: expected epoch milliseconds or a duration"},
           {"?limit=0", "limit: expected a whole number from 1 to 1000"},
           {"?sort=id", "sort: unknown parameter"},
           {"?status=open&status=resolved", "status: given more than once"}}) {
    auto res = t.api.get("/api/v1/incidents" + query);
    INFO(query);
    CHECK(res.status == 400);
    CHECK(res.body["error"]["code"] == "invalid_query");
    CHECK(res.body["error"]["message"].get<std::string>().rfind(message, 0) == 0);
  }
}

TEST_CASE("an agent alert whose annotations are not UTF-8 is stored and shown, not a crash",
          "[hub][incident-api]") {
  // A rule summary from an agent.yaml saved in Latin-1 ("café" as 63 61 66 e9).
  RunningHub hub;
  StandInAgent agent{hub.endpoint(), "web-1", "host-1"};
  Api api(hub.http_port());
  agent.hello();
  agent.alert(1, "fp-1", AlertState::kFiring, {{"summary", std::string("caf\xe9 down")}});
  REQUIRE(agent.wait_ack(1));
  const json d = api.incident(1);
  REQUIRE(d["alerts"].size() == 1);
  CHECK(d["alerts"][0]["annotations"]["summary"] == "caf\xef\xbf\xbd down");
  agent.alert(2, "fp-1", AlertState::kResolved);
  CHECK(agent.wait_ack(2));
}
