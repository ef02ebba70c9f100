// decode() bounds what a hostile frame can make it do: lying collection headers are
// refused by the unpack limits before msgpack allocates for them, and the element,
// string and depth limits in constants.h hold at their exact boundaries.
#include <string>

#include <catch2/catch.hpp>

#include "protocol/codec.h"
#include "tests/protocol/msgpack_value.h"

namespace reflex::protocol {
namespace {

using testing::array;
using testing::envelope;
using testing::map;
using testing::nil;
using testing::num;
using testing::pack;
using testing::raw;
using testing::str;
using testing::unhex;
using testing::Value;

Value heartbeat_frame() {
  return envelope("heartbeat",
                  map({{"uptime_ms", num(1)}, {"spool_depth", num(2)}, {"open_circuits", num(3)}}));
}

Status decode_status(const std::string& frame) {
  Result<Envelope> out = decode(frame);
  return out.status();
}

// msgpack-c checks unpack_limit before it allocates a container's element table, so a
// refusal that names the limit is a refusal that did not allocate. Without the limit the
// same frames fail later, as "frame ends inside a msgpack value", after trying to
// allocate 4 billion * 24 bytes.
TEST_CASE("a tiny frame claiming four billion elements is refused by the unpack limit",
          "[codec][limits]") {
  for (const char* header : {"dd ffffffff", "df ffffffff", "dc ffff", "de ffff"}) {
    INFO(header);
    const Status s = decode_status(unhex(header));
    CHECK(s.code() == "truncated");
    CHECK_THAT(s.message(), Catch::Contains("header claims more than the"));
  }
  // The same lie deep inside an otherwise valid envelope.
  Value frame = heartbeat_frame();
  frame["b"].set("labels", raw(unhex("df ffffffff")));
  const Status s = decode_status(pack(frame));
  CHECK(s.code() == "truncated");
  CHECK_THAT(s.message(), Catch::Contains("a map header claims more"));
}

TEST_CASE("a big frame claiming four billion elements exceeds the element limit",
          "[codec][limits]") {
  // Over 64 KiB of honest padding, so the frame-size clamp no longer applies.
  Value frame = heartbeat_frame();
  frame.set("pad1", str(std::string(60000, 'x'))).set("pad2", str(std::string(60000, 'y')));
  frame.set("lie", raw(unhex("dd ffffffff")));
  const Status s = decode_status(pack(frame));
  CHECK(s.code() == "oversized");
  CHECK(s.message() == "an array exceeds the limit of 65536");

  frame.set("lie", raw(unhex("df ffffffff")));
  CHECK(decode_status(pack(frame)).message() == "a map exceeds the limit of 4096");
}

TEST_CASE("arrays are limited to kMaxArrayElements elements", "[codec][limits]") {
  Value frame = heartbeat_frame();
  frame.set("future", array(std::vector<Value>(kMaxArrayElements, nil())));
  CHECK(decode(pack(frame)).is_ok());
  frame["future"].items.push_back(nil());
  CHECK(decode_status(pack(frame)).code() == "oversized");
}

TEST_CASE("maps are limited to kMaxMapEntries entries", "[codec][limits]") {
  Value labels = map({});
  for (uint32_t i = 0; i < kMaxMapEntries; ++i) labels.set("k" + std::to_string(i), str(""));
  Value frame = envelope("alert", map({{"rule", str("r")},
                                       {"fingerprint", str("f")},
                                       {"state", str("firing")},
                                       {"severity", str("high")},
                                       {"labels", labels},
                                       {"value", num(1)},
                                       {"threshold", num(1)}}));
  Result<Envelope> ok = decode(pack(frame));
  REQUIRE(ok.is_ok());
  CHECK(std::get<Alert>(ok->body).labels.size() == kMaxMapEntries);
  frame["b"]["labels"].set("one_more", str(""));
  CHECK(decode_status(pack(frame)).code() == "oversized");
}

TEST_CASE("strings are limited to kMaxStringBytes bytes", "[codec][limits]") {
  Value frame = heartbeat_frame().set("a", str(std::string(kMaxStringBytes, 'a')));
  CHECK(decode(pack(frame)).is_ok());
  frame.set("a", str(std::string(kMaxStringBytes + 1, 'a')));
  const Status s = decode_status(pack(frame));
  CHECK(s.code() == "oversized");
  CHECK(s.message() == "a str exceeds the limit of 65536");
}

TEST_CASE("nesting is limited to kMaxDepth levels, counting the envelope", "[codec][limits]") {
  // envelope (1) > body (2) > k nested arrays in an unknown body key.
  auto nested = [](uint32_t levels) {
    Value v = nil();
    for (uint32_t i = 0; i < levels; ++i) v = array({v});
    Value frame = heartbeat_frame();
    frame["b"].set("future", v);
    return pack(frame);
  };
  CHECK(decode(nested(kMaxDepth - 2)).is_ok());
  const Status s = decode_status(nested(kMaxDepth - 1));
  CHECK(s.code() == "oversized");
  CHECK(s.message() == "containers nested deeper than the limit of 8");
}

TEST_CASE("a hundred thousand nested arrays are refused without recursion", "[codec][limits]") {
  const std::string deep = std::string(100000, '\x91') + '\xc0';
  CHECK(decode_status(deep).code() == "oversized");
  const std::string deep_maps = [] {
    std::string s;
    for (int i = 0; i < 100000; ++i) s += unhex("81 a1 6b");  // {"k": {"k": ...
    return s + '\xc0';
  }();
  CHECK(decode_status(deep_maps).code() == "oversized");
}

}  // namespace
}  // namespace reflex::protocol
