// Golden vectors: the exact bytes of one frame per message type, laid out field by
// field. They pin the encoding (key order, integer widths, float64, which optional
// fields are left out) so a change to the wire format cannot slip through unnoticed;
// an agent written in another language can test against the same bytes.
// docs/PROTOCOL.md quotes the heartbeat vector as its worked example.
#include <string>

#include <catch2/catch.hpp>

#include "protocol/codec.h"
#include "tests/protocol/msgpack_value.h"

namespace reflex::protocol {
namespace {

using testing::hex;
using testing::unhex;

Envelope envelope(Body body, uint64_t seq = 0) {
  Envelope e;
  e.agent_id = "web-1";
  e.seq = seq;
  e.ts_ms = 1700000000000;
  e.body = std::move(body);
  return e;
}

// The six envelope entries up to the "b" key, for a given type and sequence byte.
std::string head(std::string_view type_hex, std::string_view seq_hex) {
  return std::string("86") +                // map, 6 entries
         "a176 01" +                        // "v": 1
         "a174 " + std::string(type_hex) +  // "t": type name
         "a161 a5 7765622d31" +             // "a": "web-1"
         "a173 " + std::string(seq_hex) +   // "s": seq
         "a27473 cf 0000018bcfe56800" +     // "ts": 1700000000000 (uint64)
         "a162";                            // "b":
}

void check_golden(const Envelope& e, const std::string& golden_hex) {
  const std::string golden = unhex(golden_hex);
  CHECK(hex(encode(e)) == hex(golden));
  Result<Envelope> decoded = decode(golden);
  INFO(decoded.status().to_string());
  REQUIRE(decoded.is_ok());
  CHECK(*decoded == e);
}

TEST_CASE("a heartbeat encodes to its golden bytes", "[codec][golden]") {
  check_golden(envelope(Heartbeat{.uptime_ms = 3600000, .spool_depth = 12, .open_circuits = 1}),
               head("a9 686561727462656174", "00") +
                   "83"                                  // body map, 3 entries
                   "a9 757074696d655f6d73 ce 0036ee80"   // "uptime_ms": 3600000 (uint32)
                   "ab 73706f6f6c5f6465707468 0c"        // "spool_depth": 12
                   "ad 6f70656e5f6369726375697473 01");  // "open_circuits": 1
}

TEST_CASE("a hello encodes to its golden bytes", "[codec][golden]") {
  Hello h;
  h.hostname = "web-1";
  h.agent_version = "0.1.0";
  h.labels = {{"env", "prod"}};
  h.heartbeat_ms = 5000;
  h.actions = {"restart"};
  check_golden(envelope(h), head("a5 68656c6c6f", "00") +
                                "87"                                           // 7 entries
                                "a8 686f73746e616d65 a5 7765622d31"            // "hostname"
                                "ad 6167656e745f76657273696f6e a5 302e312e30"  // "agent_version"
                                "a6 6c6162656c73 81 a3 656e76 a4 70726f64"  // "labels": {env: prod}
                                "a9 70726f746f5f6d696e 01"                  // "proto_min": 1
                                "a9 70726f746f5f6d6178 01"                  // "proto_max": 1
                                "ac 6865617274626561745f6d73 cd 1388"       // "heartbeat_ms": 5000
                                "a7 616374696f6e73 91 a7 72657374617274");  // "actions": [restart]
}

TEST_CASE("an alert encodes to its golden bytes", "[codec][golden]") {
  Alert a;
  a.rule = "disk_full";
  a.fingerprint = "9f3c";
  a.state = AlertState::kFiring;
  a.severity = Severity::kCritical;
  a.labels = {{"mount", "/"}};
  a.value = 0.97;
  a.threshold = 0.9;
  // annotations empty and active_since_ms 0: both left out.
  check_golden(envelope(a, 7),
               head("a5 616c657274", "07") +
                   "87"
                   "a4 72756c65 a9 6469736b5f66756c6c"            // "rule": "disk_full"
                   "ab 66696e6765727072696e74 a4 39663363"        // "fingerprint": "9f3c"
                   "a5 7374617465 a6 666972696e67"                // "state": "firing"
                   "a8 7365766572697479 a8 637269746963616c"      // "severity": "critical"
                   "a6 6c6162656c73 81 a5 6d6f756e74 a1 2f"       // "labels": {mount: /}
                   "a5 76616c7565 cb 3fef0a3d70a3d70a"            // "value": 0.97
                   "a9 7468726573686f6c64 cb 3feccccccccccccd");  // "threshold": 0.9
}

TEST_CASE("an ack answering a hello encodes to its golden bytes", "[codec][golden]") {
  // window 0 ("unchanged") is left out.
  check_golden(envelope(Ack{.upto = 42, .proto = 1, .window = 0}),
               head("a3 61636b", "00") +
                   "82"
                   "a4 7570746f 2a"      // "upto": 42
                   "a5 70726f746f 01");  // "proto": 1
}

TEST_CASE("a gap encodes to its golden bytes", "[codec][golden]") {
  Gap g;
  g.first_seq = 10;
  g.last_seq = 19;
  g.dropped = 10;
  g.dropped_by_type = {{"metrics", 10}};
  g.first_ts_ms = 1699999000000;
  g.last_ts_ms = 1699999600000;
  g.reason = "spool_full";
  check_golden(envelope(g, 20),
               head("a3 676170", "14") +
                   "87"
                   "a9 66697273745f736571 0a"  // "first_seq": 10
                   "a8 6c6173745f736571 13"    // "last_seq": 19
                   "a7 64726f70706564 0a"      // "dropped": 10
                   "af 64726f707065645f62795f74797065 81 a7 6d657472696373 0a"
                   "ab 66697273745f74735f6d73 cf 0000018bcfd625c0"  // "first_ts_ms"
                   "aa 6c6173745f74735f6d73 cf 0000018bcfdf4d80"    // "last_ts_ms"
                   "a6 726561736f6e aa 73706f6f6c5f66756c6c");      // "reason"
}

TEST_CASE("metrics encode to their golden bytes", "[codec][golden]") {
  Metrics m;
  m.samples.push_back({"cpu", {}, 0.5, "ratio"});
  check_golden(envelope(m, 3), head("a7 6d657472696373", "03") +
                                   "81"
                                   "a7 73616d706c6573 91"               // "samples": [
                                   "83"                                 //   3 entries, no labels
                                   "a4 6e616d65 a3 637075"              //   "name": "cpu"
                                   "a5 76616c7565 cb 3fe0000000000000"  // "value": 0.5
                                   "a4 756e6974 a5 726174696f");        //   "unit": "ratio"
}

}  // namespace
}  // namespace reflex::protocol
