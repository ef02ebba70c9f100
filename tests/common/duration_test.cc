#include "common/duration.h"

#include <catch2/catch.hpp>

using namespace reflex;

TEST_CASE("durations are read with their unit", "[duration]") {
  CHECK(parse_duration("250ms")->count() == 250);
  CHECK(parse_duration("5s")->count() == 5000);
  CHECK(parse_duration("1m30s")->count() == 90'000);
  CHECK(parse_duration("2h")->count() == 7'200'000);
  CHECK(parse_duration("1d")->count() == 86'400'000);
  CHECK(parse_duration("0s")->count() == 0);
}

TEST_CASE("a duration without a unit, with an unknown unit or garbage is refused", "[duration]") {
  for (const char* bad : {"", "5", "5x", "s", "-5s", "5 s", "1.5s", "99999999999999999999s"}) {
    auto d = parse_duration(bad);
    INFO(bad);
    REQUIRE_FALSE(d);
    CHECK(d.status().code() == "invalid_value");
    CHECK(d.status().message().find(std::string("\"") + bad + "\"") != std::string::npos);
  }
}

TEST_CASE("formatting a duration reads back to the same value", "[duration]") {
  for (int64_t ms : {0, 1, 999, 1000, 61'001, 90'000, 3'600'000, 90'061'001}) {
    auto text = format_duration(Millis(ms));
    INFO(text);
    CHECK(parse_duration(text)->count() == ms);
  }
  CHECK(format_duration(Millis(90'000)) == "1m30s");
}
