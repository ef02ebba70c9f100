// decode() refuses every class of bad frame with its own code and a message that
// names the field, and tolerates what forward compatibility needs (unknown keys, nil
// for absent optional fields, ints where floats are expected).
#include <map>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "protocol/codec.h"
#include "tests/protocol/msgpack_value.h"
#include "tests/protocol/sample_envelopes.h"

namespace reflex::protocol {
namespace {

using testing::array;
using testing::dbl;
using testing::envelope;
using testing::integer;
using testing::map;
using testing::nil;
using testing::num;
using testing::pack;
using testing::raw;
using testing::str;
using testing::unhex;
using testing::Value;

Value heartbeat_body() {
  return map({{"uptime_ms", num(1)}, {"spool_depth", num(2)}, {"open_circuits", num(3)}});
}

Value alert_body() {
  return map({{"rule", str("r")},
              {"fingerprint", str("f")},
              {"state", str("firing")},
              {"severity", str("high")},
              {"value", dbl(1.5)},
              {"threshold", dbl(1)}});
}

Value metrics_body(int samples) {
  Value list = array({});
  for (int i = 0; i < samples; ++i) {
    list.items.push_back(map({{"name", str("m")}, {"value", dbl(i)}}));
  }
  return map({{"samples", list}});
}

// Decodes `frame`, which must fail with `code`, and returns the message.
std::string failure(const std::string& frame, const std::string& code) {
  Result<Envelope> out = decode(frame);
  INFO("frame " << testing::hex(frame.substr(0, 64)));
  REQUIRE_FALSE(out.is_ok());
  INFO(out.status().to_string());
  CHECK(out.status().code() == code);
  return out.status().message();
}

Envelope success(const std::string& frame) {
  Result<Envelope> out = decode(frame);
  INFO(out.status().to_string());
  REQUIRE(out.is_ok());
  return *out;
}

TEST_CASE("hand-built frames in the spec's shape decode", "[codec]") {
  const Envelope e = success(pack(envelope("heartbeat", heartbeat_body())));
  CHECK(e.agent_id == "agent-1");
  CHECK(std::get<Heartbeat>(e.body).open_circuits == 3);
  CHECK(std::get<Alert>(success(pack(envelope("alert", alert_body()))).body).severity ==
        Severity::kHigh);
}

TEST_CASE("a frame over the size limit is oversized before it is parsed", "[codec][errors]") {
  const std::string valid = encode(testing::full_envelopes()[0]);
  CHECK(decode(valid, DecodeLimits{valid.size()}).is_ok());
  Result<Envelope> out = decode(valid, DecodeLimits{valid.size() - 1});
  REQUIRE_FALSE(out.is_ok());
  CHECK(out.status().code() == "oversized");
  // Garbage over the default limit is not even looked at.
  const std::string big(kDefaultMaxFrameBytes + 1, '\xc1');
  CHECK_THAT(failure(big, "oversized"), Catch::Contains("1048577"));
}

TEST_CASE("an empty frame is truncated", "[codec][errors]") {
  failure("", "truncated");
}

TEST_CASE("every proper prefix of a valid frame is truncated", "[codec][errors]") {
  for (const Envelope& e : testing::full_envelopes()) {
    const std::string frame = encode(e);
    for (size_t n = 0; n < frame.size(); ++n) {
      INFO(type_name(e.type()) << " cut to " << n << " of " << frame.size() << " bytes");
      Result<Envelope> out = decode(std::string_view(frame).substr(0, n));
      REQUIRE_FALSE(out.is_ok());
      CHECK(out.status().code() == "truncated");
    }
  }
}

TEST_CASE("bytes after the envelope are malformed", "[codec][errors]") {
  const std::string frame = encode(testing::full_envelopes()[1]);
  CHECK_THAT(failure(frame + '\0', "malformed"), Catch::Contains("1 trailing byte"));
  failure(frame + frame, "malformed");
}

TEST_CASE("bytes that are not msgpack are malformed", "[codec][errors]") {
  failure("\xc1", "malformed");                                 // the one unused byte
  failure(pack(map({{"v", raw("\xc1")}})), "malformed");        // ... inside a map
  failure("GET / HTTP/1.1\r\nHost: hub\r\n\r\n", "malformed");  // 'G' is a fixint, then more
}

TEST_CASE("a frame that is not a map is the wrong type", "[codec][errors]") {
  CHECK(failure(pack(num(7)), "wrong_type") == "envelope: expected map, got uint");
  CHECK(failure(pack(array({})), "wrong_type") == "envelope: expected map, got array");
}

TEST_CASE("a repeated key is malformed wherever it appears", "[codec][errors]") {
  Value twice_v = envelope("heartbeat", heartbeat_body());
  twice_v.append(str("v"), num(1));
  CHECK_THAT(failure(pack(twice_v), "malformed"), Catch::Contains("duplicate key \"v\""));

  Value twice_body = envelope("heartbeat", heartbeat_body().append(str("spool_depth"), num(2)));
  CHECK(failure(pack(twice_body), "malformed") == "b: duplicate key \"spool_depth\"");

  Value labels = map({});
  labels.append(str("env"), str("a")).append(str("env"), str("b"));
  Value twice_label = envelope("alert", alert_body().set("labels", labels));
  CHECK(failure(pack(twice_label), "malformed") == "b.labels: duplicate key \"env\"");

  // Even an unknown key may not repeat: a peer cannot mean both values.
  Value twice_unknown = envelope("heartbeat", heartbeat_body());
  twice_unknown.append(str("x"), num(1)).append(str("x"), num(2));
  failure(pack(twice_unknown), "malformed");
}

TEST_CASE("a field of the wrong msgpack type names its path", "[codec][errors]") {
  CHECK(failure(pack(envelope("heartbeat", heartbeat_body().set("uptime_ms", str("1")))),
                "wrong_type") == "b.uptime_ms: expected uint, got str");
  CHECK(failure(pack(envelope("heartbeat", heartbeat_body().set("uptime_ms", dbl(1)))),
                "wrong_type") == "b.uptime_ms: expected uint, got float");

  Value metrics = envelope("metrics", metrics_body(5));
  metrics["b"]["samples"].items[3].set("value", str("fast"));
  CHECK(failure(pack(metrics), "wrong_type") == "b.samples[3].value: expected float, got str");

  Value label = envelope("alert", alert_body().set("labels", map({{"env", num(1)}})));
  CHECK(failure(pack(label), "wrong_type") == "b.labels.env: expected str, got uint");

  Value actions = envelope("hello", map({{"hostname", str("h")},
                                         {"agent_version", str("v")},
                                         {"proto_min", num(1)},
                                         {"proto_max", num(1)},
                                         {"heartbeat_ms", num(1)},
                                         {"actions", array({str("a"), num(2)})}}));
  CHECK(failure(pack(actions), "wrong_type") == "b.actions[1]: expected str, got uint");

  CHECK(failure(pack(envelope("alert", alert_body().set("state", num(1)))), "wrong_type") ==
        "b.state: expected str, got uint");
  CHECK(failure(pack(envelope("heartbeat", array({}))), "wrong_type") ==
        "b: expected map, got array");
  CHECK(failure(pack(envelope("heartbeat", heartbeat_body()).set("t", num(1))), "wrong_type") ==
        "t: expected str, got uint");
  CHECK(failure(pack(envelope("heartbeat", heartbeat_body()).set("a", nil())), "wrong_type") ==
        "a: expected str, got nil");
  CHECK(failure(pack(envelope("metrics", map({{"samples", array({num(1)})}}))), "wrong_type") ==
        "b.samples[0]: expected map, got uint");
  Value dry_run = envelope("command", map({{"id", str("c")}, {"action", str("a")}}));
  dry_run["b"].set("dry_run", num(1));
  CHECK(failure(pack(dry_run), "wrong_type") == "b.dry_run: expected bool, got uint");
}

TEST_CASE("a required field sent as nil is the wrong type, not absent", "[codec][errors]") {
  CHECK(failure(pack(envelope("heartbeat", heartbeat_body().set("spool_depth", nil()))),
                "wrong_type") == "b.spool_depth: expected uint, got nil");
}

TEST_CASE("an optional field sent as nil counts as absent", "[codec]") {
  Value body = alert_body();
  body.set("labels", nil()).set("active_since_ms", nil());
  const Alert alert = std::get<Alert>(success(pack(envelope("alert", body))).body);
  CHECK(alert.labels.empty());
  CHECK(alert.active_since_ms == 0);
}

TEST_CASE("a missing envelope field is missing_field naming the key", "[codec][errors]") {
  for (const char* key : {"v", "t", "a", "s", "ts", "b"}) {
    INFO(key);
    Value frame = envelope("heartbeat", heartbeat_body());
    frame.erase(key);
    CHECK(failure(pack(frame), "missing_field") ==
          std::string(key) + ": required field is missing");
  }
}

TEST_CASE("every required body field is checked, and only those", "[codec][errors]") {
  // The required fields per type, as docs/PROTOCOL.md lists them. Every other key the
  // full encoding carries must be removable.
  const std::map<MessageType, std::set<std::string>> required = {
      {MessageType::kHello,
       {"hostname", "agent_version", "proto_min", "proto_max", "heartbeat_ms"}},
      {MessageType::kHeartbeat, {"uptime_ms", "spool_depth", "open_circuits"}},
      {MessageType::kMetrics, {"samples"}},
      {MessageType::kAlert, {"rule", "fingerprint", "state", "severity", "value", "threshold"}},
      {MessageType::kRemediation, {"action", "outcome", "attempt", "duration_ms"}},
      {MessageType::kCommand, {"id", "action"}},
      {MessageType::kCommandResult, {"id", "status", "duration_ms"}},
      {MessageType::kAck, {"upto"}},
      {MessageType::kError, {"code", "message"}},
      {MessageType::kGap,
       {"first_seq", "last_seq", "dropped", "first_ts_ms", "last_ts_ms", "reason"}},
  };
  for (const Envelope& e : testing::full_envelopes()) {
    Value full = testing::parse(encode(e));
    const Value body = full["b"];
    const auto& needed = required.at(e.type());
    for (size_t i = 0; i < body.items.size(); i += 2) {
      const std::string key = body.items[i].bytes;
      INFO(type_name(e.type()) << " without " << key);
      Value broken = full;
      broken["b"].erase(key);
      Result<Envelope> out = decode(pack(broken));
      if (needed.count(key)) {
        REQUIRE_FALSE(out.is_ok());
        CHECK(out.status().code() == "missing_field");
        CHECK(out.status().message() == "b." + key + ": required field is missing");
      } else {
        CHECK(out.is_ok());
      }
    }
  }
}

TEST_CASE("a required field inside a sample is checked with its index", "[codec][errors]") {
  Value frame = envelope("metrics", metrics_body(3));
  frame["b"]["samples"].items[2].erase("name");
  CHECK(failure(pack(frame), "missing_field") == "b.samples[2].name: required field is missing");
}

TEST_CASE("an unknown message type is unknown_type", "[codec][errors]") {
  CHECK(failure(pack(envelope("telemetry", map({}))), "unknown_type") ==
        "t: unknown message type \"telemetry\"");
  failure(pack(envelope("Heartbeat", heartbeat_body())), "unknown_type");  // names are exact
}

TEST_CASE("a version outside the supported range is unsupported_version", "[codec][errors]") {
  for (uint64_t v : {uint64_t{0}, uint64_t{kMaxVersion} + 1, uint64_t{1} << 40}) {
    INFO(v);
    Value frame = envelope("heartbeat", heartbeat_body()).set("v", num(v));
    CHECK_THAT(failure(pack(frame), "unsupported_version"), Catch::StartsWith("v: version "));
  }
}

TEST_CASE("the version is checked before the type and the body", "[codec][errors]") {
  // A newer peer may change everything else; it must still learn that the version is
  // the problem.
  Value frame = envelope("telemetry", num(5)).set("v", num(2));
  frame.erase("a");
  failure(pack(frame), "unsupported_version");
}

TEST_CASE("unknown enum values are invalid_value naming the field", "[codec][errors]") {
  CHECK(failure(pack(envelope("alert", alert_body().set("severity", str("urgent")))),
                "invalid_value") == "b.severity: unknown value \"urgent\"");
  CHECK(failure(pack(envelope("alert", alert_body().set("state", str("FIRING")))),
                "invalid_value") == "b.state: unknown value \"FIRING\"");
  Value cr = envelope("command_result",
                      map({{"id", str("c")}, {"status", str("done")}, {"duration_ms", num(0)}}));
  failure(pack(cr), "invalid_value");
  Value rem = envelope("remediation", map({{"action", str("a")},
                                           {"outcome", str("retried")},
                                           {"attempt", num(1)},
                                           {"duration_ms", num(0)}}));
  failure(pack(rem), "invalid_value");
}

TEST_CASE("a negative number where an unsigned one is needed is invalid_value", "[codec][errors]") {
  CHECK(failure(pack(envelope("heartbeat", heartbeat_body().set("spool_depth", integer(-1)))),
                "invalid_value") == "b.spool_depth: expected a non-negative integer, got -1");
  failure(pack(envelope("heartbeat", heartbeat_body()).set("s", integer(-5))), "invalid_value");
  failure(pack(envelope("heartbeat", heartbeat_body()).set("v", integer(-1))), "invalid_value");
}

TEST_CASE("an integer too large for its field is invalid_value", "[codec][errors]") {
  CHECK(failure(pack(envelope("heartbeat",
                              heartbeat_body().set("open_circuits", num(uint64_t{1} << 32)))),
                "invalid_value") == "b.open_circuits: 4294967296 does not fit in uint32");
  CHECK(success(pack(envelope("heartbeat", heartbeat_body().set("open_circuits", num(UINT32_MAX)))))
            .type() == MessageType::kHeartbeat);

  auto with_exit_code = [](Value code) {
    return pack(envelope("command_result", map({{"id", str("c")},
                                                {"status", str("ok")},
                                                {"exit_code", std::move(code)},
                                                {"duration_ms", num(0)}})));
  };
  CHECK(failure(with_exit_code(num(uint64_t{INT32_MAX} + 1)), "invalid_value") ==
        "b.exit_code: 2147483648 does not fit in int32");
  failure(with_exit_code(integer(int64_t{INT32_MIN} - 1)), "invalid_value");
  CHECK(std::get<CommandResult>(success(with_exit_code(integer(INT32_MIN))).body).exit_code ==
        INT32_MIN);
  CHECK(std::get<CommandResult>(success(with_exit_code(integer(-1))).body).exit_code == -1);
  failure(with_exit_code(dbl(1)), "wrong_type");
}

TEST_CASE("integers are accepted where a float is expected", "[codec]") {
  Value body = alert_body();
  body.set("value", num(42)).set("threshold", integer(-3));
  const Alert alert = std::get<Alert>(success(pack(envelope("alert", body))).body);
  CHECK(alert.value == 42.0);
  CHECK(alert.threshold == -3.0);
  // float32 too: ca 3f c0 00 00 is 1.5.
  body.set("value", raw(unhex("ca 3fc00000")));
  CHECK(std::get<Alert>(success(pack(envelope("alert", body))).body).value == 1.5);
}

TEST_CASE("unknown keys in the envelope and the body are ignored", "[codec]") {
  Value frame = envelope("heartbeat", heartbeat_body());
  frame.set("trace_id", str("abc")).set("z", map({{"nested", array({nil(), dbl(1)})}}));
  frame["b"].set("cpu_steal", dbl(0.5)).set("future", array({}));
  frame.append(num(7), str("non-string keys are unknown keys too"));
  const Envelope e = success(pack(frame));
  CHECK(std::get<Heartbeat>(e.body) == Heartbeat{1, 2, 3});
}

TEST_CASE("unknown keys may hold bin and ext values", "[codec]") {
  Value frame = envelope("heartbeat", heartbeat_body());
  frame.set("blob", raw(unhex("c4 03 010203")));  // bin8
  frame.set("ext", raw(unhex("d4 05 ff")));       // fixext1
  success(pack(frame));
}

TEST_CASE("a string field sent as bin is the wrong type", "[codec][errors]") {
  Value frame = envelope("heartbeat", heartbeat_body()).set("a", raw(unhex("c4 01 41")));
  CHECK(failure(pack(frame), "wrong_type") == "a: expected str, got bin");
}

}  // namespace
}  // namespace reflex::protocol
