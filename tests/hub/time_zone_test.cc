// Time zones read from the system's tz database: offsets across daylight-saving changes,
// local times that happen twice or never, and agreement with the C library.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

#include "hub/incidents/time_zone.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::hub::incidents;

namespace {

constexpr int64_t kHour = 3600;

TimeZone zone(const std::string& name, const std::string& dir = kSystemZoneinfoDir) {
  auto z = TimeZone::load(name, dir);
  INFO(z.status().to_string());
  REQUIRE(z);
  return std::move(z).value();
}

// Unix seconds of a UTC date and time.
int64_t utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  using namespace std::chrono;
  const sys_days date{year(y) / month(mo) / day(d)};
  return date.time_since_epoch().count() * 86'400 + h * kHour + mi * 60;
}
// Seconds on a local clock, same arithmetic.
int64_t local(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  return utc(y, mo, d, h, mi);
}

// The C library's answer, for comparison only: TZ is process-wide, so it is set and
// restored around the calls and the test binary runs its cases on one thread.
class LibcZone {
 public:
  explicit LibcZone(const std::string& name) {
    if (const char* tz = std::getenv("TZ")) saved_ = tz;
    setenv("TZ", (":" + name).c_str(), 1);
    tzset();
  }
  ~LibcZone() {
    if (saved_) {
      setenv("TZ", saved_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  long offset_at(int64_t t) const {
    const time_t tt = static_cast<time_t>(t);
    struct tm tm {};
    localtime_r(&tt, &tm);
    return tm.tm_gmtoff;
  }

 private:
  std::optional<std::string> saved_;
};

}  // namespace

TEST_CASE("Berlin's offsets change at 01:00 UTC on 2026-03-29 and 2026-10-25", "[hub][silences]") {
  const TimeZone berlin = zone("Europe/Berlin");
  CHECK(berlin.name() == "Europe/Berlin");
  CHECK(berlin.offset_at(utc(2026, 3, 29, 1) - 1) == kHour);
  CHECK(berlin.offset_at(utc(2026, 3, 29, 1)) == 2 * kHour);
  CHECK(berlin.offset_at(utc(2026, 10, 25, 1) - 1) == 2 * kHour);
  CHECK(berlin.offset_at(utc(2026, 10, 25, 1)) == kHour);
  CHECK(berlin.offset_at(utc(2026, 7, 1)) == 2 * kHour);
  CHECK(berlin.offset_at(utc(2026, 1, 1)) == kHour);
}

TEST_CASE("New York's offsets change on 2026-03-08 and 2026-11-01 at 2 a.m. local",
          "[hub][silences]") {
  const TimeZone ny = zone("America/New_York");
  CHECK(ny.offset_at(utc(2026, 3, 8, 7) - 1) == -5 * kHour);
  CHECK(ny.offset_at(utc(2026, 3, 8, 7)) == -4 * kHour);
  CHECK(ny.offset_at(utc(2026, 11, 1, 6) - 1) == -4 * kHour);
  CHECK(ny.offset_at(utc(2026, 11, 1, 6)) == -5 * kHour);
}

TEST_CASE("a local time skipped by spring-forward maps to the instant of the jump",
          "[hub][silences]") {
  // Berlin jumps from 02:00 to 03:00 at 01:00 UTC: the clocks pass 02:30 right then.
  const TimeZone berlin = zone("Europe/Berlin");
  const int64_t t = berlin.to_utc(local(2026, 3, 29, 2, 30));
  CHECK(t == utc(2026, 3, 29, 1, 0));
  CHECK(format_local_minute(berlin, t) == "2026-03-29 03:00");
  CHECK(berlin.to_utc(local(2026, 3, 29, 2, 0)) == utc(2026, 3, 29, 1, 0));
  CHECK(berlin.to_utc(local(2026, 3, 29, 3, 0)) == utc(2026, 3, 29, 1, 0));
  CHECK(berlin.to_utc(local(2026, 3, 29, 1, 59)) == utc(2026, 3, 29, 0, 59));
  const TimeZone ny = zone("America/New_York");
  CHECK(ny.to_utc(local(2026, 3, 8, 2, 30)) == utc(2026, 3, 8, 7, 0));
}

TEST_CASE("a local time repeated by fall-back is its first occurrence", "[hub][silences]") {
  const TimeZone berlin = zone("Europe/Berlin");
  CHECK(berlin.to_utc(local(2026, 10, 25, 2, 30)) == utc(2026, 10, 25, 0, 30));
  CHECK(berlin.to_utc(local(2026, 10, 25, 3, 0)) == utc(2026, 10, 25, 2, 0));
  const TimeZone ny = zone("America/New_York");
  CHECK(ny.to_utc(local(2026, 11, 1, 1, 30)) == utc(2026, 11, 1, 5, 30));
  // Ordinary times on those days are unambiguous.
  CHECK(ny.to_utc(local(2026, 11, 1, 12, 0)) == utc(2026, 11, 1, 17, 0));
}

TEST_CASE("offsets agree with the C library for zones of every shape from 1950 to 2150",
          "[hub][silences]") {
  // Southern hemisphere, negative DST (Dublin), 45-minute offsets, abolished DST, a
  // two-hour DST (Troll), a half-hour zone, and dates past 2037 (the POSIX rule).
  for (const char* name :
       {"Europe/Berlin", "America/New_York", "Australia/Sydney", "Europe/Dublin", "Pacific/Chatham",
        "America/Sao_Paulo", "Antarctica/Troll", "Asia/Kolkata", "Africa/Casablanca", "UTC"}) {
    INFO(name);
    const TimeZone z = zone(name);
    const LibcZone libc(name);
    int mismatches = 0;
    for (int64_t t = utc(1950, 1, 1); t < utc(2150, 1, 1) && mismatches < 5;
         t += 31 * kHour + 7 * 60) {
      const long expected = libc.offset_at(t);
      if (z.offset_at(t) != expected) {
        ++mismatches;
        INFO("t=" << t);
        CHECK(z.offset_at(t) == expected);
      }
      // Local -> UTC -> local is the identity, and picks the first of repeated times.
      const int64_t l = z.to_local(t);
      const int64_t back = z.to_utc(l);
      if (back > t || z.to_local(back) != l) {
        ++mismatches;
        INFO("round trip of t=" << t << " gave " << back);
        CHECK(back <= t);
        CHECK(z.to_local(back) == l);
      }
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("a slim zone file, whose future comes only from its POSIX rule, reads the same",
          "[hub][silences]") {
  // zic -b slim writes few transitions and leaves later years to the footer rule, as
  // distributions that ship slim files do.
  reflex::testing::TempDir dir;
  dir.write("test.zi",
            "Rule EU 1981 max - Mar lastSun 1:00u 1:00 S\n"
            "Rule EU 1996 max - Oct lastSun 1:00u 0 -\n"
            "Zone Test/Slim 1:00 EU CE%sT\n");
  const auto out = reflex::testing::run(
      {"/usr/sbin/zic", "-b", "slim", "-d", dir.file("zones"), dir.file("test.zi")});
  INFO(out.err);
  REQUIRE(out.exit_code == 0);
  REQUIRE(std::filesystem::file_size(dir.file("zones/Test/Slim")) < 1000);
  const TimeZone slim = zone("Test/Slim", dir.file("zones"));
  const TimeZone berlin = zone("Europe/Berlin");
  for (int64_t t = utc(1997, 1, 1); t < utc(2100, 1, 1); t += 5 * kHour + 11 * 60) {
    REQUIRE(slim.offset_at(t) == berlin.offset_at(t));
  }
  CHECK(slim.to_utc(local(2090, 10, 30, 2, 30)) == berlin.to_utc(local(2090, 10, 30, 2, 30)));
}

TEST_CASE("unknown zones, unsafe names and files that are not TZif are refused by name",
          "[hub][silences]") {
  auto unknown = TimeZone::load("Europe/Berln");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.status().code() == "unknown_time_zone");
  CHECK_THAT(unknown.status().message(), Catch::Contains("unknown time zone 'Europe/Berln'") &&
                                             Catch::Contains("/usr/share/zoneinfo/Europe/Berln"));

  for (const char* name : {"../../etc/passwd", "/etc/passwd", "Europe/../../etc", "", "a b"}) {
    auto bad = TimeZone::load(name);
    REQUIRE_FALSE(bad);
    CHECK(bad.status().code() == "unknown_time_zone");
  }

  reflex::testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "Fake");
  dir.write("Fake/Zone", "# not a zone file\n");
  auto fake = TimeZone::load("Fake/Zone", dir.path().string());
  REQUIRE_FALSE(fake);
  CHECK(fake.status().code() == "bad_tzif");
  CHECK_THAT(fake.status().message(), Catch::Contains("'Fake/Zone': not a TZif file"));
  auto table = TimeZone::load("zone.tab");  // a file of the database, but no zone name
  REQUIRE_FALSE(table);
  CHECK(table.status().code() == "unknown_time_zone");

  const std::string berlin = reflex::testing::read_file("/usr/share/zoneinfo/Europe/Berlin");
  auto cut = TimeZone::from_tzif("cut", berlin.substr(0, 120));
  REQUIRE_FALSE(cut);
  CHECK_THAT(cut.status().message(), Catch::Contains("truncated"));

  if (std::filesystem::exists("/usr/share/zoneinfo/right/Europe/Berlin")) {
    auto leap = TimeZone::load("right/Europe/Berlin");
    REQUIRE_FALSE(leap);
    CHECK_THAT(leap.status().message(), Catch::Contains("leap seconds"));
  }
}

TEST_CASE("UTC needs no file and local minutes print on the zone's clock", "[hub][silences]") {
  const TimeZone z = TimeZone::utc();
  CHECK(z.offset_at(utc(2026, 6, 1)) == 0);
  CHECK(format_local_minute(z, utc(2026, 6, 1, 4, 5)) == "2026-06-01 04:05");
  CHECK(format_local_minute(zone("Europe/Berlin"), utc(2026, 6, 1, 4, 5)) == "2026-06-01 06:05");
  CHECK(format_local_minute(z, utc(1969, 12, 31, 23, 59)) == "1969-12-31 23:59");
}
