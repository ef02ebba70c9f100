#include "common/clock.h"

#include <catch2/catch.hpp>
#include <vector>

using namespace reflex;

TEST_CASE("simulated timers fire in due order with the clock at their due time", "[clock]") {
  SimulatedTime t(1000);
  std::vector<std::pair<char, int64_t>> fired;
  t.start(Millis(300), Millis(0), [&] { fired.push_back({'b', t.monotonic_ms()}); });
  t.start(Millis(100), Millis(0), [&] { fired.push_back({'a', t.monotonic_ms()}); });
  t.advance(Millis(250));
  REQUIRE(fired.size() == 1);
  CHECK(fired[0] == std::make_pair('a', int64_t{100}));
  CHECK(t.monotonic_ms() == 250);
  CHECK(t.now_ms() == 1250);
  t.advance(Millis(100));
  REQUIRE(fired.size() == 2);
  CHECK(fired[1] == std::make_pair('b', int64_t{300}));
  CHECK(t.pending() == 0);
}

TEST_CASE("a repeating simulated timer fires every period until cancelled", "[clock]") {
  SimulatedTime t;
  int n = 0;
  TimerId id = t.start(Millis(10), Millis(10), [&] { ++n; });
  t.advance(Millis(55));
  CHECK(n == 5);
  t.cancel(id);
  t.advance(Millis(100));
  CHECK(n == 5);
}

TEST_CASE("a timer may cancel itself and start others from its callback", "[clock]") {
  SimulatedTime t;
  std::vector<int64_t> at;
  TimerId self = 0;
  self = t.start(Millis(10), Millis(10), [&] {
    at.push_back(t.monotonic_ms());
    t.cancel(self);
    t.start(Millis(5), Millis(0), [&] { at.push_back(t.monotonic_ms()); });
  });
  t.advance(Millis(100));
  CHECK(at == std::vector<int64_t>{10, 15});
}
