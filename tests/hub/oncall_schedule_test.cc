// Who is on call: rotations, layers, day restrictions and overrides as pure functions of
// the schedule and an instant, in Europe/Berlin across both daylight-saving changes.
#include <catch2/catch.hpp>

#include "hub/oncall/schedule.h"
#include "tests/hub/oncall_fixtures.h"

using namespace reflex;
using namespace reflex::hub::oncall;
using reflex::testing::at;
using reflex::testing::iso;

namespace {

Schedule schedule(const std::string& yaml, const std::string& name = "s") {
  auto cfg = reflex::testing::oncall_from_yaml(std::string(reflex::testing::kPeople) + yaml);
  REQUIRE(cfg.schedules.count(name));
  return cfg.schedules.at(name);
}

// "user [start, end) source", with open edges as "..."
std::string show(const Shift& s) {
  return (s.user.empty() ? "nobody" : s.user) + " [" +
         (s.start_ms == kOpenStart ? "..." : iso(s.start_ms)) + ", " +
         (s.end_ms == kOpenEnd ? "..." : iso(s.end_ms)) + ") " + s.source;
}

std::vector<std::string> show(const std::vector<Shift>& shifts) {
  std::vector<std::string> out;
  for (const auto& s : shifts) out.push_back(show(s));
  return out;
}

const char* kExample = R"(
schedules:
  checkout-primary:
    time_zone: Europe/Berlin
    layers:
      - name: weekly
        rotation: weekly
        handoff: "mon 09:00"
        start: 2026-01-05
        members: [alice, bob]
      - name: weekend-cover
        rotation: daily
        handoff: "09:00"
        start: 2026-01-03
        members: [carol]
        restrict: {days: [sat, sun]}
    overrides:
      - {user: bob, start: 2026-12-24T09:00:00+01:00, end: 2026-12-27T09:00:00+01:00}
)";

}  // namespace

TEST_CASE("a weekly rotation hands over on its weekday at the handoff time on the zone's clock",
          "[hub][oncall]") {
  const Schedule s = schedule(R"(
schedules:
  s:
    time_zone: Europe/Berlin
    layers:
      - {name: weekly, rotation: weekly, handoff: "mon 09:00", start: 2026-01-05,
         members: [alice, bob]}
)");
  CHECK(show(on_call(s, at("2026-01-07T12:00:00Z"))) ==
        "alice [2026-01-05T08:00:00Z, 2026-01-12T08:00:00Z) weekly");
  CHECK(show(next_shifts(s, at("2026-01-07T12:00:00Z"), 3)) ==
        std::vector<std::string>{"bob [2026-01-12T08:00:00Z, 2026-01-19T08:00:00Z) weekly",
                                 "alice [2026-01-19T08:00:00Z, 2026-01-26T08:00:00Z) weekly",
                                 "bob [2026-01-26T08:00:00Z, 2026-02-02T08:00:00Z) weekly"});
  // The week the clocks go forward: Monday 09:00 CET to Monday 09:00 CEST.
  CHECK(show(on_call(s, at("2026-03-29T12:00:00Z"))) ==
        "bob [2026-03-23T08:00:00Z, 2026-03-30T07:00:00Z) weekly");
}

TEST_CASE("before a layer's first shift nobody is on call in it", "[hub][oncall]") {
  const Schedule s = schedule(R"(
schedules:
  s:
    time_zone: Europe/Berlin
    layers: [{rotation: weekly, handoff: "mon 09:00", start: 2026-01-05, members: [alice]}]
)");
  const Shift before = on_call(s, at("2026-01-01T00:00:00Z"));
  CHECK(show(before) == "nobody [..., 2026-01-05T08:00:00Z) ");
  CHECK(show(next_shifts(s, at("2026-01-01T00:00:00Z"), 2)) ==
        std::vector<std::string>{"alice [2026-01-05T08:00:00Z, ...) layers[0]"});
}

TEST_CASE(
    "a daily 09:00 handoff in Europe/Berlin stays at 09:00 when the clocks go forward, "
    "that shift lasting 23 hours",
    "[hub][oncall][dst]") {
  const Schedule s = schedule(R"(
schedules:
  s:
    time_zone: Europe/Berlin
    layers: [{name: daily, rotation: daily, handoff: "09:00", start: 2026-03-01, members: [alice, bob]}]
)");
  const Shift shift = on_call(s, at("2026-03-28T12:00:00Z"));
  CHECK(show(shift) == "bob [2026-03-28T08:00:00Z, 2026-03-29T07:00:00Z) daily");
  CHECK(shift.end_ms - shift.start_ms == 23 * 3'600'000);
  CHECK(show(next_shifts(s, at("2026-03-28T12:00:00Z"), 1)) ==
        std::vector<std::string>{"alice [2026-03-29T07:00:00Z, 2026-03-30T07:00:00Z) daily"});
}

TEST_CASE(
    "a daily 09:00 handoff in Europe/Berlin stays at 09:00 when the clocks go back, "
    "that shift lasting 25 hours",
    "[hub][oncall][dst]") {
  const Schedule s = schedule(R"(
schedules:
  s:
    time_zone: Europe/Berlin
    layers: [{name: daily, rotation: daily, handoff: "09:00", start: 2026-10-01, members: [alice, bob]}]
)");
  const Shift shift = on_call(s, at("2026-10-25T02:30:00Z"));  // inside the repeated hour
  CHECK(show(shift) == "bob [2026-10-24T07:00:00Z, 2026-10-25T08:00:00Z) daily");
  CHECK(shift.end_ms - shift.start_ms == 25 * 3'600'000);
  CHECK(show(next_shifts(s, at("2026-10-25T02:30:00Z"), 1)) ==
        std::vector<std::string>{"alice [2026-10-25T08:00:00Z, 2026-10-26T08:00:00Z) daily"});
}

TEST_CASE(
    "an hours rotation hands over at its handoff time and every shift after it on the "
    "local clock",
    "[hub][oncall][dst]") {
  const Schedule s = schedule(R"(
schedules:
  s:
    time_zone: Europe/Berlin
    layers: [{name: sun, rotation: hours, shift: 12h, handoff: "08:00", start: 2026-01-05,
              members: [carol, dave]}]
)");
  CHECK(show(on_call(s, at("2026-01-05T12:00:00Z"))) ==
        "carol [2026-01-05T07:00:00Z, 2026-01-05T19:00:00Z) sun");
  CHECK(show(next_shifts(s, at("2026-01-05T12:00:00Z"), 1)) ==
        std::vector<std::string>{"dave [2026-01-05T19:00:00Z, 2026-01-06T07:00:00Z) sun"});
  // 20:00 CET to 08:00 CEST: eleven real hours.
  CHECK(show(on_call(s, at("2026-03-29T00:00:00Z"))) ==
        "dave [2026-03-28T19:00:00Z, 2026-03-29T06:00:00Z) sun");
}

TEST_CASE("a shift that the clocks skip is nobody's turn and is passed over",
          "[hub][oncall][dst]") {
  // Hourly from local midnight: the 02:00 shift does not exist on 2026-03-29 in Berlin.
  const Schedule s = schedule(R"(
schedules:
  s:
    time_zone: Europe/Berlin
    layers: [{name: hourly, rotation: hours, shift: 1h, handoff: "00:00", start: 2026-03-29,
              members: [alice, bob, carol]}]
)");
  CHECK(show(on_call(s, at("2026-03-29T00:30:00Z"))) ==
        "bob [2026-03-29T00:00:00Z, 2026-03-29T01:00:00Z) hourly");
  CHECK(show(on_call(s, at("2026-03-29T01:00:00Z"))) ==
        "alice [2026-03-29T01:00:00Z, 2026-03-29T02:00:00Z) hourly");
}

TEST_CASE("a later layer wins where it has someone on call and the earlier one shows elsewhere",
          "[hub][oncall]") {
  const Schedule s = schedule(kExample, "checkout-primary");
  // Saturday and Sunday on the Berlin clock are carol's.
  CHECK(show(on_call(s, at("2026-01-10T12:00:00Z"))) ==
        "carol [2026-01-09T23:00:00Z, 2026-01-11T23:00:00Z) weekend-cover");
  CHECK(show(on_call(s, at("2026-01-09T12:00:00Z"))) ==
        "alice [2026-01-05T08:00:00Z, 2026-01-09T23:00:00Z) weekly");
  // Monday before the 09:00 handoff is still the weekly layer's alice.
  CHECK(show(on_call(s, at("2026-01-12T05:00:00Z"))) ==
        "alice [2026-01-11T23:00:00Z, 2026-01-12T08:00:00Z) weekly");
  CHECK(
      show(next_shifts(s, at("2026-01-12T05:00:00Z"), 2)) ==
      std::vector<std::string>{"bob [2026-01-12T08:00:00Z, 2026-01-16T23:00:00Z) weekly",
                               "carol [2026-01-16T23:00:00Z, 2026-01-18T23:00:00Z) weekend-cover"});
}

TEST_CASE("an override wins over every layer for its interval", "[hub][oncall]") {
  const Schedule s = schedule(kExample, "checkout-primary");
  CHECK(show(on_call(s, at("2026-12-23T12:00:00Z"))) ==
        "alice [2026-12-21T08:00:00Z, 2026-12-24T08:00:00Z) weekly");
  // Through the weekend too, which is otherwise carol's.
  CHECK(show(on_call(s, at("2026-12-26T12:00:00Z"))) ==
        "bob [2026-12-24T08:00:00Z, 2026-12-27T08:00:00Z) override");
  CHECK(show(next_shifts(s, at("2026-12-25T12:00:00Z"), 3)) ==
        std::vector<std::string>{"carol [2026-12-27T08:00:00Z, 2026-12-27T23:00:00Z) weekend-cover",
                                 "alice [2026-12-27T23:00:00Z, 2026-12-28T08:00:00Z) weekly",
                                 "bob [2026-12-28T08:00:00Z, 2027-01-01T23:00:00Z) weekly"});
}

TEST_CASE("consecutive turns of the same person are one shift", "[hub][oncall]") {
  const Schedule s = schedule(R"(
schedules:
  s:
    time_zone: Europe/Berlin
    layers: [{name: solo, rotation: daily, handoff: "09:00", start: 2026-01-03, members: [carol]}]
)");
  CHECK(show(on_call(s, at("2026-02-01T00:00:00Z"))) == "carol [2026-01-03T08:00:00Z, ...) solo");
  CHECK(next_shifts(s, at("2026-02-01T00:00:00Z"), 3).empty());
}

TEST_CASE("a gap with nobody on call is a shift of its own among the next shifts",
          "[hub][oncall]") {
  const Schedule s = schedule(R"(
schedules:
  s:
    time_zone: Europe/Berlin
    layers:
      - {name: weekdays, rotation: daily, handoff: "09:00", start: 2026-01-05, members: [alice, bob],
         restrict: {days: [mon, tue, wed, thu, fri]}}
)");
  CHECK(show(on_call(s, at("2026-01-09T12:00:00Z"))) ==
        "alice [2026-01-09T08:00:00Z, 2026-01-09T23:00:00Z) weekdays");
  CHECK(show(next_shifts(s, at("2026-01-09T12:00:00Z"), 2)) ==
        std::vector<std::string>{"nobody [2026-01-09T23:00:00Z, 2026-01-11T23:00:00Z) ",
                                 "alice [2026-01-11T23:00:00Z, 2026-01-12T08:00:00Z) weekdays"});
}
