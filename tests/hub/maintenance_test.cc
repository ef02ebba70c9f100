// Recurring maintenance windows: open at the right local times, on ordinary days and on
// the days clocks change in both directions.
#include <catch2/catch.hpp>

#include <chrono>

#include "hub/incidents/maintenance.h"

using namespace reflex;
using namespace reflex::hub::incidents;

namespace {

constexpr int64_t kMs = 1000;

// Unix ms of a UTC date and time.
int64_t utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  using namespace std::chrono;
  const sys_days date{year(y) / month(mo) / day(d)};
  return (date.time_since_epoch().count() * 86'400 + h * 3600 + mi * 60) * kMs;
}

Recurrence every(std::vector<std::string> days, std::string start, std::string end,
                 std::string zone, int64_t duration_ms = 0) {
  RecurrenceSpec spec{std::move(days), std::move(start), std::move(end), duration_ms,
                      std::move(zone)};
  auto r = Recurrence::make(spec);
  INFO(r.status().to_string());
  REQUIRE(r);
  return std::move(r).value();
}

std::string error_of(RecurrenceSpec spec) {
  auto r = Recurrence::make(spec);
  REQUIRE_FALSE(r);
  CHECK(r.status().code() == "invalid_window");
  return r.status().message();
}

}  // namespace

TEST_CASE("a Sunday 02:00-04:00 Berlin window is open exactly then on an ordinary Sunday",
          "[hub][silences]") {
  const Recurrence w = every({"sun"}, "02:00", "04:00", "Europe/Berlin");
  // 2026-06-07 is a Sunday; Berlin is at +02:00, so the window is 00:00-02:00 UTC.
  CHECK_FALSE(w.open_at(utc(2026, 6, 6, 23, 59)));
  auto open = w.open_at(utc(2026, 6, 7, 0, 0));
  REQUIRE(open);
  CHECK(*open == Occurrence{utc(2026, 6, 7, 0, 0), utc(2026, 6, 7, 2, 0)});
  CHECK(w.open_at(utc(2026, 6, 7, 1, 59)));
  CHECK_FALSE(w.open_at(utc(2026, 6, 7, 2, 0)));
  CHECK_FALSE(w.open_at(utc(2026, 6, 8, 0, 30)));  // Monday
  CHECK_FALSE(w.open_at(utc(2026, 6, 6, 0, 30)));  // Saturday
  // In winter Berlin is at +01:00.
  CHECK(*w.open_at(utc(2026, 1, 4, 1, 0)) ==
        Occurrence{utc(2026, 1, 4, 1, 0), utc(2026, 1, 4, 3, 0)});
  CHECK(w.describe() == "Sun 02:00-04:00 Europe/Berlin");
}

TEST_CASE("on the spring-forward day a Berlin window opens when the clocks jump past its start",
          "[hub][silences]") {
  // 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST at 01:00 UTC.
  const Recurrence w = every({"sun"}, "02:00", "04:00", "Europe/Berlin");
  CHECK_FALSE(w.open_at(utc(2026, 3, 29, 0, 59)));  // 01:59 CET
  auto open = w.open_at(utc(2026, 3, 29, 1, 0));    // 03:00 CEST
  REQUIRE(open);
  CHECK(*open == Occurrence{utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 0)});  // one real hour
  CHECK_FALSE(w.open_at(utc(2026, 3, 29, 2, 0)));                              // 04:00 CEST

  // A window at 02:30, a time the clocks never show that day, opens at the jump.
  const Recurrence half = every({"sun"}, "02:30", "", "Europe/Berlin", 60 * 60'000);
  CHECK(*half.open_at(utc(2026, 3, 29, 1, 0)) ==
        Occurrence{utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)});
  CHECK_FALSE(half.open_at(utc(2026, 3, 29, 1, 30)));  // 03:30 CEST
  // The Sunday after, it is an ordinary hour again.
  CHECK(*half.open_at(utc(2026, 4, 5, 0, 30)) ==
        Occurrence{utc(2026, 4, 5, 0, 30), utc(2026, 4, 5, 1, 30)});
}

TEST_CASE("on the fall-back day a Berlin window spans the repeated hour", "[hub][silences]") {
  // 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET at 01:00 UTC, so 02:00-03:00
  // happens twice and 02:00-04:00 lasts three real hours.
  const Recurrence w = every({"sun"}, "02:00", "04:00", "Europe/Berlin");
  CHECK_FALSE(w.open_at(utc(2026, 10, 24, 23, 59)));  // 01:59 CEST
  auto open = w.open_at(utc(2026, 10, 25, 0, 0));
  REQUIRE(open);
  CHECK(*open == Occurrence{utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 3, 0)});
  CHECK(w.open_at(utc(2026, 10, 25, 0, 30)));       // 02:30 CEST, first pass
  CHECK(w.open_at(utc(2026, 10, 25, 1, 30)));       // 02:30 CET, second pass
  CHECK(w.open_at(utc(2026, 10, 25, 2, 59)));       // 03:59 CET
  CHECK_FALSE(w.open_at(utc(2026, 10, 25, 3, 0)));  // 04:00 CET

  // A window inside the repeated hour takes its first pass only.
  const Recurrence inside = every({"sun"}, "02:30", "02:45", "Europe/Berlin");
  CHECK(*inside.open_at(utc(2026, 10, 25, 0, 30)) ==
        Occurrence{utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 45)});
  CHECK_FALSE(inside.open_at(utc(2026, 10, 25, 1, 35)));
}

TEST_CASE("New York windows follow its own change days in both directions", "[hub][silences]") {
  const Recurrence w = every({"sunday"}, "01:00", "03:00", "America/New_York");
  // 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00 UTC; 01:00-03:00 is one real hour.
  CHECK(*w.open_at(utc(2026, 3, 8, 6, 30)) ==
        Occurrence{utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 7, 0)});
  CHECK_FALSE(w.open_at(utc(2026, 3, 8, 7, 0)));
  // 2026-11-01: 02:00 EDT goes back to 01:00 EST at 06:00 UTC; 01:00-03:00 is three hours.
  CHECK(*w.open_at(utc(2026, 11, 1, 5, 0)) ==
        Occurrence{utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 8, 0)});
  CHECK(w.open_at(utc(2026, 11, 1, 6, 30)));  // 01:30 EST, the second pass
  CHECK_FALSE(w.open_at(utc(2026, 11, 1, 8, 0)));
  CHECK_FALSE(w.open_at(utc(2026, 11, 1, 4, 59)));
}

TEST_CASE("a window can cross midnight and last days, counted on the local calendar",
          "[hub][silences]") {
  const Recurrence night = every({"sat"}, "22:00", "02:00", "Europe/Berlin");
  // Saturday 2026-06-06 22:00 CEST to Sunday 02:00 CEST.
  CHECK(*night.open_at(utc(2026, 6, 6, 23, 30)) ==
        Occurrence{utc(2026, 6, 6, 20, 0), utc(2026, 6, 7, 0, 0)});
  CHECK_FALSE(night.open_at(utc(2026, 6, 7, 0, 0)));

  // Friday 18:00 for three days, across the fall-back night: ends Monday 18:00 CET.
  const Recurrence weekend = every({"fri"}, "18:00", "", "Europe/Berlin", 3 * 86'400'000LL);
  const auto occ = weekend.open_at(utc(2026, 10, 26, 16, 59));
  REQUIRE(occ);
  CHECK(*occ == Occurrence{utc(2026, 10, 23, 16, 0), utc(2026, 10, 26, 17, 0)});
  CHECK_FALSE(weekend.open_at(utc(2026, 10, 26, 17, 0)));
  CHECK(weekend.describe() == "Fri 18:00 for 3d Europe/Berlin");
}

TEST_CASE("next() gives the open occurrence or the next one to start", "[hub][silences]") {
  const Recurrence w = every({"mon", "thu"}, "09:00", "10:00", "UTC");
  // Tuesday 2026-06-09: next is Thursday the 11th.
  CHECK(w.next(utc(2026, 6, 9, 12)) == Occurrence{utc(2026, 6, 11, 9), utc(2026, 6, 11, 10)});
  CHECK(w.next(utc(2026, 6, 11, 9, 30)) == Occurrence{utc(2026, 6, 11, 9), utc(2026, 6, 11, 10)});
  CHECK(w.next(utc(2026, 6, 11, 10)) == Occurrence{utc(2026, 6, 15, 9), utc(2026, 6, 15, 10)});
  CHECK(w.describe() == "Mon,Thu 09:00-10:00 UTC");
}

TEST_CASE("a recurring spec with a bad field is refused naming the field", "[hub][silences]") {
  const RecurrenceSpec good{{"sun"}, "02:00", "04:00", 0, "Europe/Berlin"};
  auto with = [&](auto change) {
    RecurrenceSpec s = good;
    change(s);
    return error_of(s);
  };
  CHECK_THAT(with([](auto& s) { s.weekdays.clear(); }), Catch::StartsWith("weekdays: "));
  CHECK_THAT(with([](auto& s) {
               s.weekdays = {"sun", "sunnday"};
             }),
             Catch::StartsWith("weekdays[1]: unknown day 'sunnday'"));
  CHECK_THAT(with([](auto& s) { s.start = "2:00"; }), Catch::StartsWith("start: expected"));
  CHECK_THAT(with([](auto& s) { s.start = "24:00"; }), Catch::StartsWith("start: "));
  CHECK_THAT(with([](auto& s) { s.end = "04:60"; }), Catch::StartsWith("end: "));
  CHECK_THAT(with([](auto& s) { s.duration_ms = 3'600'000; }),
             Catch::Contains("either end or duration, not both"));
  CHECK_THAT(with([](auto& s) { s.end.clear(); }), Catch::StartsWith("end: missing"));
  CHECK_THAT(with([](auto& s) {
               s.end.clear();
               s.duration_ms = 8 * 86'400'000LL;
             }),
             Catch::StartsWith("duration: must be at most 7d"));
  CHECK_THAT(with([](auto& s) {
               s.end.clear();
               s.duration_ms = 90'000;
             }),
             Catch::StartsWith("duration: must be a positive number of whole minutes"));
  CHECK_THAT(with([](auto& s) { s.time_zone = "Mars/Olympus"; }),
             Catch::StartsWith("time_zone: unknown time zone 'Mars/Olympus'"));
  CHECK_THAT(with([](auto& s) { s.time_zone.clear(); }), Catch::StartsWith("time_zone: missing"));
}
