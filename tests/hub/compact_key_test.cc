#include "hub/incidents/compact_key.h"

#include <catch2/catch.hpp>
#include <string>
#include <unordered_map>
#include <utility>

using reflex::hub::incidents::CompactKey;
using reflex::hub::incidents::CompactKeyEq;
using reflex::hub::incidents::CompactKeyHash;

TEST_CASE("A compact key holds any text, inline or not, and copies and moves keep it",
          "[hub][incidents]") {
  for (size_t n : {0, 1, 15, 16, 22, 23, 24, 100}) {
    CAPTURE(n);
    std::string text;
    for (size_t i = 0; i < n; ++i) text += static_cast<char>('a' + i % 26);
    text += std::string(n > 3 ? 1 : 0, '\0');  // an embedded NUL counts like any byte
    CompactKey k(text);
    CHECK(k.view() == text);
    CHECK(k.str() == text);
    CompactKey copy(k);
    CHECK(copy == k);
    CompactKey moved(std::move(copy));
    CHECK(moved.view() == text);
    CHECK(copy.empty());  // NOLINT: moved-from is empty by contract of this class
    CompactKey assigned("other");
    assigned = k;
    CHECK(assigned.view() == text);
    CompactKey long_one(std::string(40, 'x'));
    long_one = std::move(assigned);
    CHECK(long_one.view() == text);
    k = k;  // self-assignment keeps it
    CHECK(k.view() == text);
  }
  CHECK(CompactKey("a") < CompactKey("b"));
  CHECK(CompactKey(std::string(30, 'a')) < CompactKey(std::string(30, 'a') + "b"));
}

TEST_CASE("A map keyed by compact keys is searched with plain strings", "[hub][incidents]") {
  std::unordered_map<CompactKey, int, CompactKeyHash, CompactKeyEq> m;
  m.emplace(CompactKey("0123456789abcdef"), 1);
  m.emplace(CompactKey("web-1/0123456789abcdef0123"), 2);
  CHECK(m.find(std::string("0123456789abcdef"))->second == 1);
  CHECK(m.find(std::string_view("web-1/0123456789abcdef0123"))->second == 2);
  CHECK(m.find(std::string("0123456789abcdeF")) == m.end());
  CHECK(m.contains(std::string_view("0123456789abcdef")));
}
