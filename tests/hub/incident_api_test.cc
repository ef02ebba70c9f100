// The deciding parts of the incident API, without a server: reading action bodies and
// list queries strictly, mapping refusals to HTTP statuses, and the incident document.
#include "hub/incident_api.h"

#include <catch2/catch.hpp>

using namespace reflex;
using namespace reflex::hub;
using Kind = IncidentAction::Kind;

namespace {

constexpr int64_t kNow = 1'700'000'000'000;

Result<IncidentQuery> query(std::multimap<std::string, std::string> params) {
  return parse_incident_query(params, kNow);
}

}  // namespace

TEST_CASE("an action body is read strictly and every refusal names the field",
          "[hub][incident-api]") {
  auto ack = parse_action(Kind::kAcknowledge, 3, R"({"actor": "alice"})");
  REQUIRE(ack);
  CHECK(ack->incident_id == 3);
  CHECK(ack->actor == "alice");
  auto assign = parse_action(Kind::kAssign, 3, R"({"actor": "alice", "owner": ""})");
  REQUIRE(assign);
  CHECK(assign->owner.empty());  // unassigns
  auto note = parse_action(Kind::kNote, 3, R"({"text": "x", "actor": "a"})");
  REQUIRE(note);
  CHECK(note->text == "x");

  CHECK(
      parse_action(Kind::kResolve, 3, R"({"actor": "alice", "owner": "bob"})").status().message() ==
      "owner: unknown field (known here: actor)");
  CHECK(parse_action(Kind::kNote, 3, R"({"actor": "a"})").status().message() == "text: required");
  CHECK(parse_action(Kind::kAcknowledge, 3, "{\"actor\": \"" + std::string(201, 'a') + "\"}")
            .status()
            .message() == "actor: longer than 200 bytes");
  CHECK(parse_action(Kind::kAcknowledge, 3, "null").status().code() == "invalid_body");
}

TEST_CASE("a list query reads each parameter and refuses unknown or repeated ones",
          "[hub][incident-api]") {
  auto q = query({{"status", "acknowledged"},
                  {"service", "checkout"},
                  {"severity", "high"},
                  {"since", "2h"},
                  {"limit", "5"}});
  REQUIRE(q);
  CHECK(q->status == incidents::IncidentStatus::kAcknowledged);
  CHECK(!q->open_only);
  CHECK(q->service == "checkout");
  CHECK(q->min_severity == protocol::Severity::kHigh);
  CHECK(q->since_ms == kNow - 2 * 3'600'000);
  CHECK(q->limit == 5);
  CHECK(query({{"since", "1700000000000"}})->since_ms == 1'700'000'000'000);
  CHECK(query({{"status", "open"}})->open_only);
  CHECK(query({})->limit == 100);

  CHECK(query({{"limit", "1001"}}).status().message() ==
        "limit: expected a whole number from 1 to 1000, got \"1001\"");
  CHECK(query({{"since", "-5"}}).status().code() == "invalid_query");
  CHECK(query({{"page", "2"}}).status().message().rfind("page: unknown parameter", 0) == 0);
}

TEST_CASE("refusals map to HTTP statuses", "[hub][incident-api]") {
  CHECK(http_status_of(Status::error("invalid_body", "x")) == 400);
  CHECK(http_status_of(Status::error("invalid_argument", "x")) == 400);
  CHECK(http_status_of(Status::error("not_found", "x")) == 404);
  CHECK(http_status_of(Status::error("conflict", "x")) == 409);
  CHECK(http_status_of(Status::error("unavailable", "x")) == 503);
  CHECK(http_status_of(Status::error("io", "x")) == 500);
}

TEST_CASE("the incident document says k of n hosts, the peak once resolved",
          "[hub][incident-api]") {
  incidents::IncidentRow row;
  row.id = 4;
  row.service = "checkout";
  row.affected_hosts = 2;
  row.peak_hosts = 3;
  CHECK(incident_json(row, 12)["hosts"] == "2 of 12 hosts");
  CHECK(incident_json(row, 0)["hosts"] == "2 hosts");
  row.status = incidents::IncidentStatus::kResolved;
  row.affected_hosts = 0;
  CHECK(incident_json(row, 12)["hosts"] == "3 of 12 hosts");
  CHECK(incident_json(row, 12)["status"] == "resolved");
}

TEST_CASE("a bearer token's name is the actor and a different body actor is refused",
          "[hub][incident-api][api-auth]") {
  auto bare = parse_action(Kind::kAcknowledge, 3, "", "alice");
  REQUIRE(bare);
  CHECK(bare->actor == "alice");
  auto no_actor = parse_action(Kind::kNote, 3, R"({"text": "x"})", "alice");
  REQUIRE(no_actor);
  CHECK(no_actor->actor == "alice");
  auto same = parse_action(Kind::kResolve, 3, R"({"actor": "alice"})", "alice");
  REQUIRE(same);
  CHECK(same->actor == "alice");

  auto other = parse_action(Kind::kAcknowledge, 3, R"({"actor": "bob"})", "alice");
  REQUIRE_FALSE(other);
  CHECK(other.status().code() == "invalid_body");
  CHECK(other.status().message().rfind("actor: \"bob\" is not \"alice\"", 0) == 0);
  CHECK(parse_action(Kind::kAcknowledge, 3, R"({"actor": 5})", "alice").status().message() ==
        "actor: must be a string");
  // Without a token nothing changes: the body names the actor, and must.
  CHECK(parse_action(Kind::kAcknowledge, 3, "{}").status().message() == "actor: required");
  CHECK(parse_action(Kind::kAcknowledge, 3, "").status().code() == "invalid_body");
}
