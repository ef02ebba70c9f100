// Encoding then decoding gives back the same Envelope, for every message type, and the
// encoding itself is deterministic.
#include <cmath>
#include <string>

#include <catch2/catch.hpp>

#include "protocol/codec.h"
#include "tests/protocol/msgpack_value.h"
#include "tests/protocol/sample_envelopes.h"

namespace reflex::protocol {
namespace {

using testing::full_envelopes;
using testing::make_envelope;
using testing::minimal_envelopes;

Envelope round_trip(const Envelope& in) {
  Result<Envelope> out = decode(encode(in));
  INFO(type_name(in.type()) << ": " << out.status().to_string());
  REQUIRE(out.is_ok());
  return *out;
}

TEST_CASE("every message type survives a round trip with every field set", "[codec]") {
  for (const Envelope& e : full_envelopes()) {
    INFO(type_name(e.type()));
    CHECK(round_trip(e) == e);
  }
}

TEST_CASE("every message type survives a round trip with its optional fields absent", "[codec]") {
  for (const Envelope& e : minimal_envelopes()) {
    INFO(type_name(e.type()));
    CHECK(round_trip(e) == e);
  }
}

TEST_CASE("the full samples cover every message type once", "[codec]") {
  const auto full = full_envelopes();
  const auto minimal = minimal_envelopes();
  REQUIRE(full.size() == std::variant_size_v<Body>);
  REQUIRE(minimal.size() == std::variant_size_v<Body>);
  for (size_t i = 0; i < full.size(); ++i) {
    CHECK(full[i].body.index() == i);
    CHECK(minimal[i].body.index() == i);
  }
}

TEST_CASE("the encoder leaves out optional fields that hold their absent value", "[codec]") {
  for (const Envelope& e : minimal_envelopes()) {
    INFO(type_name(e.type()));
    const testing::Value body = testing::parse(encode(e))["b"];
    for (size_t i = 0; i < body.items.size(); i += 2) {
      const std::string& key = body.items[i].bytes;
      INFO(key);
      // Everything left in a minimal body is a required field: none of these is.
      CHECK(key != "labels");
      CHECK(key != "actions");
      CHECK(key != "unit");
      CHECK(key != "annotations");
      CHECK(key != "active_since_ms");
      CHECK(key != "exit_code");
      CHECK(key != "dry_run");
      CHECK(key != "proto");
      CHECK(key != "window");
      CHECK(key != "seq");
      CHECK(key != "dropped_by_type");
    }
  }
}

TEST_CASE("encoding is deterministic whatever order labels were inserted in", "[codec]") {
  Hello a;
  a.labels["zone"] = "eu-1";
  a.labels["env"] = "prod";
  a.labels["app"] = "api";
  Hello b;
  b.labels["app"] = "api";
  b.labels["env"] = "prod";
  b.labels["zone"] = "eu-1";
  CHECK(encode(make_envelope(a)) == encode(make_envelope(b)));
  CHECK(encode(make_envelope(a)) == encode(make_envelope(a)));
}

TEST_CASE("encode_into appends to what the buffer already holds", "[codec]") {
  const Envelope e = full_envelopes()[1];
  std::string buffer = "prefix";
  encode_into(e, buffer);
  CHECK(buffer == "prefix" + encode(e));
}

TEST_CASE("floats are always float64, even when integral or negative zero", "[codec]") {
  Metrics m;
  m.samples.push_back({"a", {}, 2.0, ""});
  m.samples.push_back({"b", {}, -0.0, ""});
  const std::string frame = encode(make_envelope(m, 1));
  // 2.0 as float64: cb 40 00 00 00 00 00 00 00 (msgpack-c's pack_double would write 02).
  CHECK(frame.find(testing::unhex("a5 76616c7565 cb 4000000000000000")) != std::string::npos);
  Result<Envelope> out = decode(frame);
  REQUIRE(out.is_ok());
  const auto& samples = std::get<Metrics>(out->body).samples;
  CHECK(samples[0].value == 2.0);
  CHECK(std::signbit(samples[1].value));
}

TEST_CASE("extreme numbers round trip exactly", "[codec]") {
  Envelope e = make_envelope(Gap{.first_seq = UINT64_MAX,
                                 .last_seq = UINT64_MAX,
                                 .dropped = 0,
                                 .dropped_by_type = {{"metrics", UINT64_MAX}},
                                 .first_ts_ms = 0,
                                 .last_ts_ms = UINT64_MAX,
                                 .reason = ""},
                             UINT64_MAX);
  e.ts_ms = UINT64_MAX;
  CHECK(round_trip(e) == e);

  CommandResult low;
  low.exit_code = INT32_MIN;
  low.duration_ms = UINT64_MAX;
  CHECK(round_trip(make_envelope(low)) == make_envelope(low));
  CommandResult high;
  high.exit_code = INT32_MAX;
  CHECK(round_trip(make_envelope(high)) == make_envelope(high));
  CommandResult zero;
  zero.exit_code = 0;  // present and zero is not the same as absent
  CHECK(round_trip(make_envelope(zero)) == make_envelope(zero));

  Metrics m;
  m.samples.push_back({"inf", {}, INFINITY, ""});
  m.samples.push_back({"tiny", {}, 5e-324, ""});
  m.samples.push_back({"big", {}, 1.7976931348623157e308, ""});
  CHECK(round_trip(make_envelope(m, 1)) == make_envelope(m, 1));
}

TEST_CASE("NaN survives a round trip as NaN", "[codec]") {
  Metrics m;
  m.samples.push_back({"nan", {}, NAN, ""});
  Result<Envelope> out = decode(encode(make_envelope(m, 1)));
  REQUIRE(out.is_ok());
  CHECK(std::isnan(std::get<Metrics>(out->body).samples[0].value));
}

TEST_CASE("strings keep arbitrary bytes, including NUL and invalid UTF-8", "[codec]") {
  Error error;
  error.code = std::string("a\0b", 3);
  error.message = "\xff\xfe not utf-8";
  const Envelope e = make_envelope(error);
  CHECK(round_trip(e) == e);
}

TEST_CASE("long strings and large collections use the wider msgpack headers", "[codec]") {
  Remediation r;
  r.action = "a";
  r.output = std::string(4096, 'x');  // str16
  r.reason = std::string(200, 'y');   // str8
  Metrics m;
  for (int i = 0; i < 70; ++i) m.samples.push_back({"s" + std::to_string(i), {}, i * 1.5, ""});
  Hello h;
  for (int i = 0; i < 20; ++i) h.labels["k" + std::to_string(i)] = "v";  // map16
  CHECK(round_trip(make_envelope(r, 1)) == make_envelope(r, 1));
  CHECK(round_trip(make_envelope(m, 1)) == make_envelope(m, 1));
  CHECK(round_trip(make_envelope(h)) == make_envelope(h));
}

TEST_CASE("decoded strings do not point into the frame they came from", "[codec]") {
  std::string frame = encode(full_envelopes()[0]);
  Result<Envelope> out = decode(frame);
  REQUIRE(out.is_ok());
  frame.assign(frame.size(), '\0');
  frame.clear();
  frame.shrink_to_fit();
  const Hello& hello = std::get<Hello>(out->body);
  CHECK(hello.hostname == "web-1.prod");
  CHECK(hello.labels.at("role") == "web");
  CHECK(out->agent_id == "web-1");
}

}  // namespace
}  // namespace reflex::protocol
