// The on-call API's query parsing and documents (hub/oncall/oncall_api.h); the routes
// themselves are exercised over HTTP in tests/e2e/oncall_test.cc.
#include <catch2/catch.hpp>

#include "hub/oncall/oncall_api.h"
#include "tests/hub/oncall_fixtures.h"

using namespace reflex;
using namespace reflex::hub::oncall;
using nlohmann::json;
using reflex::testing::at;

namespace {

const char* kSchedules = R"(
schedules:
  checkout-primary:
    time_zone: Europe/Berlin
    layers:
      - {name: weekly, rotation: weekly, handoff: "mon 09:00", start: 2026-01-05, members: [alice, bob]}
  solo:
    time_zone: UTC
    layers: [{name: solo, rotation: daily, handoff: "00:00", start: 2026-01-01, members: [carol]}]
)";

}  // namespace

TEST_CASE("the on-call query defaults to now and one next shift and names a bad parameter",
          "[hub][oncall][api]") {
  auto q = parse_oncall_query({}, 1234);
  REQUIRE(q);
  CHECK(q->at_ms == 1234);
  CHECK(q->next == 1);

  auto given = parse_oncall_query({{"at", "2026-01-07T12:00:00+01:00"}, {"next", "3"}}, 0);
  REQUIRE(given);
  CHECK(given->at_ms == at("2026-01-07T11:00:00Z"));
  CHECK(given->next == 3);

  for (const auto& [params, names] :
       std::vector<std::pair<std::multimap<std::string, std::string>, std::string>>{
           {{{"at", "yesterday"}}, "at: \"yesterday\" is not an RFC 3339"},
           {{{"next", "101"}}, "next: expected a whole number from 0 to 100"},
           {{{"next", "-1"}}, "next: expected a whole number"},
           {{{"next", "1"}, {"next", "2"}}, "next: given more than once"},
           {{{"who", "me"}}, "who: unknown parameter"}}) {
    auto bad = parse_oncall_query(params, 0);
    REQUIRE_FALSE(bad);
    CHECK(bad.status().code() == "invalid_query");
    CHECK_THAT(bad.status().message(), Catch::Contains(names));
  }
}

TEST_CASE("the on-call document shows each schedule's shift now and next, in UTC and local time",
          "[hub][oncall][api]") {
  const OncallConfig cfg =
      reflex::testing::oncall_from_yaml(std::string(reflex::testing::kPeople) + kSchedules);
  const json doc = oncall_json(cfg, {.at_ms = at("2026-01-07T12:00:00Z"), .next = 1});
  CHECK(doc["at"] == "2026-01-07T12:00:00Z");
  REQUIRE(doc["schedules"].size() == 2);
  const json& primary = doc["schedules"][0];
  CHECK(primary["schedule"] == "checkout-primary");
  CHECK(primary["time_zone"] == "Europe/Berlin");
  CHECK(primary["now"] == json{{"user", "alice"},
                               {"name", "Alice Doe"},
                               {"source", "weekly"},
                               {"start", "2026-01-05T08:00:00Z"},
                               {"end", "2026-01-12T08:00:00Z"},
                               {"start_local", "2026-01-05 09:00"},
                               {"end_local", "2026-01-12 09:00"}});
  REQUIRE(primary["next"].size() == 1);
  CHECK(primary["next"][0]["user"] == "bob");
  CHECK(primary["next"][0]["name"].is_null());  // bob has no name configured

  // One person forever: the shift has no end and nothing follows.
  const json& solo = doc["schedules"][1];
  CHECK(solo["now"]["user"] == "carol");
  CHECK(solo["now"]["end"].is_null());
  CHECK(solo["next"].empty());
}
