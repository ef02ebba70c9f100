#include "hub/incidents/rfc3339.h"

#include <catch2/catch.hpp>

using namespace reflex::hub::incidents;

namespace {

constexpr int64_t kNewYear2026 = 1'767'261'600'000;  // 2026-01-01T10:00:00Z

int64_t ms(std::string_view text) {
  auto r = parse_rfc3339_ms(text, "t");
  INFO(text << ": " << r.status().to_string());
  REQUIRE(r);
  return *r;
}

}  // namespace

TEST_CASE("RFC 3339 times with fractions and offsets read as the same instant", "[hub][external]") {
  CHECK(ms("2026-01-01T10:00:00Z") == kNewYear2026);
  CHECK(ms("2026-01-01t10:00:00z") == kNewYear2026);
  CHECK(ms("2026-01-01 10:00:00Z") == kNewYear2026);
  CHECK(ms("2026-01-01T10:00:00") == kNewYear2026);  // no offset: UTC
  CHECK(ms("2026-01-01T12:00:00+02:00") == kNewYear2026);
  CHECK(ms("2026-01-01T12:00:00+0200") == kNewYear2026);
  CHECK(ms("2026-01-01T04:30:00-05:30") == kNewYear2026);
  CHECK(ms("2026-01-01T10:00:00.5Z") == kNewYear2026 + 500);
  CHECK(ms("2026-01-01T10:00:00.123456789Z") == kNewYear2026 + 123);  // truncated to ms
  CHECK(ms("2026-01-01T11:00:00.250+01:00") == kNewYear2026 + 250);
  CHECK(ms("2024-02-29T23:59:59.999Z") == 1'709'251'199'999);  // a leap day
  CHECK(ms("1970-01-01T00:00:00Z") == 0);
  CHECK(ms("0001-01-01T00:00:00Z") == kGoZeroTimeMs);
}

TEST_CASE("Malformed or out-of-range times are refused naming the field and the problem",
          "[hub][external]") {
  struct Case {
    const char* text;
    const char* why;
  } const cases[] = {
      {"", "expected YYYY-MM-DD"},
      {"2026-01-01", "expected T between date and time"},
      {"2026-01-01T10:00Z", "expected hh:mm:ss"},
      {"2026-13-01T10:00:00Z", "month out of range"},
      {"2025-02-29T10:00:00Z", "day out of range"},
      {"2026-01-01T24:00:00Z", "hour out of range"},
      {"2026-01-01T10:60:00Z", "minute out of range"},
      {"2026-01-01T10:00:60Z", "second out of range"},
      {"2026-01-01T10:00:00.Z", "expected digits after the decimal point"},
      {"2026-01-01T10:00:00+2:00", "expected a zone offset +hh:mm"},
      {"2026-01-01T10:00:00+25:00", "zone offset out of range"},
      {"2026-01-01T10:00:00 UTC", "expected Z or a zone offset"},
      {"2026-01-01T10:00:00Zjunk", "unexpected text after the date-time"},
      {"1767261600", "expected YYYY-MM-DD"},
  };
  for (const auto& c : cases) {
    auto r = parse_rfc3339_ms(c.text, "alerts[0].startsAt");
    INFO(c.text);
    REQUIRE_FALSE(r);
    CHECK(r.status().code() == "bad_request");
    CHECK(r.status().message() == std::string("alerts[0].startsAt: \"") + c.text +
                                      "\" is not an RFC 3339 date-time (" + c.why + ")");
  }
}

TEST_CASE("Formatted times read back to the same millisecond", "[hub][external]") {
  CHECK(format_rfc3339_ms(kNewYear2026) == "2026-01-01T10:00:00Z");
  CHECK(format_rfc3339_ms(kNewYear2026 + 7) == "2026-01-01T10:00:00.007Z");
  CHECK(format_rfc3339_ms(kGoZeroTimeMs) == "0001-01-01T00:00:00Z");
  for (int64_t t : {int64_t{0}, kNewYear2026 + 999, int64_t{1'709'251'199'999}, int64_t{-1}}) {
    CHECK(ms(format_rfc3339_ms(t)) == t);
  }
}
