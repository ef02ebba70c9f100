// negotiate_version: what the hub answers to a Hello's [proto_min, proto_max].
#include <catch2/catch.hpp>

#include "protocol/codec.h"

namespace reflex::protocol {
namespace {

TEST_CASE("version negotiation picks the highest version both sides speak", "[version]") {
  CHECK(negotiate_version(1, 1) == 1u);
  CHECK(negotiate_version(0, 1) == 1u);
  CHECK(negotiate_version(1, 7) == kMaxVersion);  // a newer agent falls back to ours
  CHECK(negotiate_version(0, UINT32_MAX) == kMaxVersion);
}

TEST_CASE("version negotiation fails when the ranges do not meet", "[version]") {
  CHECK_FALSE(negotiate_version(kMaxVersion + 1, kMaxVersion + 5).has_value());
  CHECK_FALSE(negotiate_version(0, 0).has_value());
  CHECK_FALSE(negotiate_version(1, 0).has_value());  // an empty range meets nothing
  CHECK_FALSE(negotiate_version(UINT32_MAX, UINT32_MAX).has_value());
}

}  // namespace
}  // namespace reflex::protocol
