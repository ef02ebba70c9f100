// The silences API: parsing its bodies and queries (without a server), and a real hub on
// loopback where a silence is durable before its 201, mutes the alerts it matches on the
// record (no notify intent), and lets notifications through again once expired.
#include "hub/silence_api.h"

#include <httplib.h>

#include <catch2/catch.hpp>

#include "hub/incidents/silence_store.h"
#include "tests/hub/hub_harness.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using nlohmann::json;
using protocol::AlertState;

namespace {

constexpr int64_t kNow = 1'700'000'000'000;

std::string error_of(const std::string& body) {
  auto c = parse_silence_create(body, kNow);
  REQUIRE_FALSE(c);
  CHECK(c.status().code() == "invalid_body");
  return c.status().message();
}

size_t count_suppressed(const json& detail, const std::string& reason) {
  size_t n = 0;
  for (const auto& e : detail["timeline"]) n += e["suppressed"] == reason;
  return n;
}

}  // namespace

TEST_CASE("a silence body reads text and structured matchers, a duration and its author",
          "[hub][silence-api]") {
  auto c = parse_silence_create(R"({"matchers": ["service=\"checkout\"", "env=~prod",
      {"name": "team", "op": "!=", "value": "db"},
      {"name": "host", "value": "web-.*", "isRegex": true}],
      "duration": "2h", "created_by": "alice", "comment": "deploying"})",
                                kNow);
  INFO(c.status().to_string());
  REQUIRE(c);
  CHECK(c->kind == SilenceCommand::Kind::kCreate);
  REQUIRE(c->spec.matchers.size() == 4);
  CHECK(incidents::matchers_to_string(c->spec.matchers) ==
        R"({service="checkout", env=~"prod", team!="db", host=~"web-.*"})");
  CHECK(c->spec.starts_at_ms == 0);
  CHECK(c->spec.ends_at_ms == kNow + 2 * 3'600'000);
  CHECK(c->spec.created_by == "alice");
  CHECK(c->spec.comment == "deploying");

  auto timed = parse_silence_create(
      R"({"matchers": "{service=\"checkout\"}", "starts_at": "2023-11-15T00:00:00Z",
          "ends_at": "2023-11-15T02:00:00+01:00", "actor": "bob", "comment": "x"})",
      kNow);
  REQUIRE(timed);
  CHECK(timed->spec.starts_at_ms == 1'700'006'400'000);
  CHECK(timed->spec.ends_at_ms == 1'700'006'400'000 + 3'600'000);
  CHECK(timed->spec.created_by == "bob");
}

TEST_CASE("a bad silence body is refused naming the field", "[hub][silence-api]") {
  const std::string ok_rest = R"("duration": "1h", "created_by": "a", "comment": "c")";
  CHECK_THAT(error_of("[]"), Catch::Contains("JSON object"));
  CHECK_THAT(error_of("{nope"), Catch::Contains("not JSON"));
  CHECK_THAT(error_of(R"({"duration": "1h", "created_by": "a", "comment": "c"})"),
             Catch::StartsWith("matchers: required"));
  CHECK_THAT(error_of(R"({"matchers": ["service=\"x\"", "9bad=\"y\""], )" + ok_rest + "}"),
             Catch::StartsWith("matchers[1]: "));
  CHECK_THAT(error_of(R"({"matchers": [{"name": "a", "value": "b", "op": "~"}], )" + ok_rest + "}"),
             Catch::StartsWith("matchers[0].op: "));
  CHECK_THAT(error_of(R"({"matchers": ["a=b"], "created_by": "a", "comment": "c"})"),
             Catch::StartsWith("ends_at: required"));
  CHECK_THAT(error_of(R"({"matchers": ["a=b"], "duration": "soon", "created_by": "a",
                          "comment": "c"})"),
             Catch::StartsWith("duration: "));
  CHECK_THAT(error_of(R"({"matchers": ["a=b"], "ends_at": "tomorrow", "created_by": "a",
                          "comment": "c"})"),
             Catch::StartsWith("ends_at: "));
  CHECK_THAT(error_of(R"({"matchers": ["a=b"], "duration": "1h", "comment": "c"})"),
             Catch::StartsWith("created_by: required"));
  CHECK_THAT(error_of(R"({"matchers": ["a=b"], "duration": "1h", "created_by": "a"})"),
             Catch::StartsWith("comment: required"));
  CHECK_THAT(error_of(R"({"matchers": ["a=b"], "colour": "red", )" + ok_rest + "}"),
             Catch::StartsWith("colour: unknown field"));
}

TEST_CASE("an expiry names its actor in the query or the body, and a list filters by state",
          "[hub][silence-api]") {
  CHECK(*parse_expire_actor("", {{"actor", "bob"}}) == "bob");
  CHECK(*parse_expire_actor(R"({"actor": "bob"})", {}) == "bob");
  CHECK_THAT(parse_expire_actor("", {}).status().message(), Catch::StartsWith("actor: required"));
  CHECK_THAT(parse_expire_actor(R"({"who": "bob"})", {}).status().message(),
             Catch::StartsWith("who: unknown field"));
  CHECK(parse_silence_query({})->has_value() == false);
  CHECK(**parse_silence_query({{"state", "expired"}}) == incidents::SilenceState::kExpired);
  CHECK_THAT(parse_silence_query({{"state", "gone"}}).status().message(),
             Catch::StartsWith("state: expected active, pending or expired"));
  CHECK_THAT(parse_silence_query({{"limit", "3"}}).status().message(),
             Catch::StartsWith("limit: unknown parameter"));
}

TEST_CASE("a silence made through the API mutes the alerts it matches until it is expired",
          "[hub][silence-api]") {
  RunningHub hub([](HubConfig&) {});
  Api api(hub.http_port());
  httplib::Client raw("127.0.0.1", hub.http_port());

  // Bad input: a 400 naming the field, and nothing is created.
  auto bad = api.post("/api/v1/silences", R"({"matchers": ["9service=x"], "duration": "1h",
      "created_by": "alice", "comment": "deploy"})");
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body["error"]["message"].get<std::string>(), Catch::StartsWith("matchers[0]: "));
  auto everything = api.post("/api/v1/silences", R"({"matchers": ["team=~\".*\""], "duration":
      "1h", "created_by": "alice", "comment": "deploy"})");
  CHECK(everything.status == 400);
  CHECK(everything.body["error"]["code"] == "invalid_silence");
  CHECK(api.get("/api/v1/silences").body["silences"].empty());

  auto made = api.post("/api/v1/silences", R"({"matchers": ["service=\"checkout\""],
      "duration": "2h", "created_by": "alice", "comment": "deploy"})");
  REQUIRE(made.status == 201);
  CHECK(made.body["id"] == 1);
  CHECK(made.body["silence"]["state"] == "active");
  // Durable before the answer: the store, read directly, has it.
  {
    sqlite::OpenOptions read_only;
    read_only.read_only = true;
    auto db = sqlite::Database::open(hub.store_path(), read_only);
    REQUIRE(db);
    auto tables = incidents::SilenceTables::prepare(*db);
    REQUIRE(tables);
    auto stored = tables->silence(1);
    REQUIRE(stored);
    REQUIRE(*stored);
    CHECK((*stored)->created_by == "alice");
  }
  auto active = api.get("/api/v1/silences?state=active");
  REQUIRE(active.status == 200);
  REQUIRE(active.body["silences"].size() == 1);
  CHECK(active.body["silences"][0]["matchers"] == json({"service=\"checkout\""}));
  CHECK(api.get("/api/v1/silences?state=expired").body["silences"].empty());
  CHECK(api.get("/api/v1/silences?state=later").status == 400);

  StandInAgent agent(hub.endpoint(), "web-1", "host-1");
  agent.hello();
  agent.alert(1, "fp-1", AlertState::kFiring);
  REQUIRE(agent.wait_ack(1));
  json d = api.incident(1);
  CHECK(d["incident"]["status"] == "triggered");  // on the record
  CHECK(count_suppressed(d, "silenced by 1 (alice)") == 1);
  CHECK(api.metric(R"(reflex_hub_notify_intents_total{kind="opened"})") == 0);
  CHECK(api.metric(R"(reflex_hub_signals_suppressed_total{by="silence"})") == 1);

  // Expired, the silence mutes nothing more: the alert coming back notifies its reopening.
  auto expired = raw.Delete("/api/v1/silences/1?actor=bob");
  REQUIRE(expired);
  CHECK(expired->status == 200);
  CHECK(json::parse(expired->body)["silence"]["expired_by"] == "bob");
  auto again = api.post("/api/v1/silences/1/expire", R"({"actor": "bob"})");
  CHECK(again.status == 409);
  CHECK(api.post("/api/v1/silences/9/expire", R"({"actor": "bob"})").status == 404);
  CHECK(api.post("/api/v1/silences/1/expire", R"({})").status == 400);
  REQUIRE(api.get("/api/v1/silences?state=expired").body["silences"].size() == 1);

  REQUIRE(api.post("/api/v1/incidents/1/resolve", R"({"actor": "carol"})").status == 200);
  agent.alert(2, "fp-1", AlertState::kResolved);
  agent.alert(3, "fp-1", AlertState::kFiring);
  REQUIRE(agent.wait_ack(3));
  d = api.incident(1);
  CHECK(d["incident"]["reopen_count"] == 1);
  CHECK(api.metric(R"(reflex_hub_notify_intents_total{kind="reopened"})") == 1);
  CHECK(d["timeline"].back()["suppressed"] == "");
}

TEST_CASE("with a bearer token the silence's creator and expirer are the token's name",
          "[hub][silences][api]") {
  const std::string body =
      R"({"matchers": ["service=\"checkout\""], "duration": "1h", "comment": "deploy"})";
  auto created = parse_silence_create(body, 1'000, "ci-bot");
  REQUIRE(created);
  CHECK(created->spec.created_by == "ci-bot");

  auto repeated = parse_silence_create(
      R"({"matchers": ["a=\"b\""], "duration": "1h", "comment": "x", "created_by": "ci-bot"})",
      1'000, "ci-bot");
  REQUIRE(repeated);
  CHECK(repeated->spec.created_by == "ci-bot");

  auto other = parse_silence_create(
      R"({"matchers": ["a=\"b\""], "duration": "1h", "comment": "x", "created_by": "mallory"})",
      1'000, "ci-bot");
  REQUIRE_FALSE(other);
  CHECK_THAT(other.status().message(), Catch::StartsWith("created_by: \"mallory\" is not"));

  CHECK(*parse_expire_actor("", {}, "ci-bot") == "ci-bot");
  CHECK_FALSE(parse_expire_actor("", {{"actor", "mallory"}}, "ci-bot"));
}
