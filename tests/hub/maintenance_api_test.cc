// GET /api/v1/maintenance: the windows hub.yaml declares, whether each is open now, and
// its current or next occurrence.
#include <catch2/catch.hpp>

#include <chrono>

#include "hub/maintenance_api.h"
#include "tests/hub/hub_harness.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::incidents;
using namespace reflex::hub::testing;
using nlohmann::json;

namespace {

int64_t utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  using namespace std::chrono;
  const sys_days date{year(y) / month(mo) / day(d)};
  return (date.time_since_epoch().count() * 86'400 + h * 3600 + mi * 60) * 1000;
}

MaintenanceWindow nightly_db() {
  auto when = Recurrence::make({{"sun"}, "02:00", "04:00", 0, "Europe/Berlin"});
  REQUIRE(when);
  auto matchers = parse_matcher_list({R"(service="db")"});
  REQUIRE(matchers);
  return {.name = "nightly-db",
          .matchers = std::move(matchers).value(),
          .when = std::move(when).value(),
          .comment = "index rebuild"};
}

}  // namespace

TEST_CASE("a maintenance window reads as open with its occurrence, or closed with the next",
          "[hub][silences]") {
  // 2026-06-07 is a Sunday: the window is 00:00-02:00 UTC.
  const json open = maintenance_json({nightly_db()}, utc(2026, 6, 7, 1, 0));
  CHECK(open["now_ms"] == utc(2026, 6, 7, 1, 0));
  REQUIRE(open["windows"].size() == 1);
  CHECK(open["windows"][0] == json{{"name", "nightly-db"},
                                   {"matchers", R"({service="db"})"},
                                   {"when", "Sun 02:00-04:00 Europe/Berlin"},
                                   {"comment", "index rebuild"},
                                   {"open", true},
                                   {"start_ms", utc(2026, 6, 7, 0, 0)},
                                   {"end_ms", utc(2026, 6, 7, 2, 0)}});
  const json closed = maintenance_json({nightly_db()}, utc(2026, 6, 7, 2, 0));
  CHECK(closed["windows"][0]["open"] == false);
  CHECK(closed["windows"][0]["start_ms"] == utc(2026, 6, 14, 0, 0));
  CHECK(maintenance_json({}, 0)["windows"] == json::array());
}

TEST_CASE("the hub serves the maintenance windows of its configuration", "[hub][silences]") {
  RunningHub hub([](HubConfig& cfg) { cfg.suppression.maintenance = {nightly_db()}; });
  Api api(hub.http_port());
  const auto answer = api.get("/api/v1/maintenance");
  REQUIRE(answer.status == 200);
  REQUIRE(answer.body["windows"].size() == 1);
  const json w = answer.body["windows"][0];
  CHECK(w["name"] == "nightly-db");
  const int64_t now = answer.body["now_ms"];
  CHECK(w["open"] == (w["start_ms"] <= now && now < w["end_ms"]));
  CHECK(w["end_ms"] > now);
}
