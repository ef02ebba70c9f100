// The wire vocabulary, shared by the encoder and the decoder so they cannot drift.
//
// Every string that appears on the wire (envelope keys, body keys, type names, enum
// values) and every limit the decoder enforces is defined here once.
// docs/PROTOCOL.md describes the same values in prose; change both together.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace reflex::protocol {

// Protocol versions this build speaks. A frame whose "v" is outside the range is
// refused with unsupported_version; Hello/Ack negotiate the highest common one.
inline constexpr uint32_t kMinVersion = 1;
inline constexpr uint32_t kMaxVersion = 1;

// Frames larger than this are refused before any parsing (DecodeLimits overrides it).
inline constexpr size_t kDefaultMaxFrameBytes = size_t{1} << 20;

// Unpack limits, applied while msgpack parses, before anything is allocated for a
// container. The decoder further clamps the element and byte limits to the frame's
// size, since every element takes at least one byte: a 5-byte frame claiming four
// billion elements is refused without allocating.
inline constexpr uint32_t kMaxArrayElements = uint32_t{1} << 16;  // e.g. samples per Metrics
inline constexpr uint32_t kMaxMapEntries = uint32_t{1} << 12;     // e.g. labels per sample
inline constexpr uint32_t kMaxStringBytes = uint32_t{1} << 16;    // also bin and ext payloads
// Containers nested inside each other, counting the envelope map as 1. The deepest
// value v1 uses is 5 (envelope > body > samples > sample > labels).
inline constexpr uint32_t kMaxDepth = 8;

// Error codes decode() returns (Status::code()); the hub may also send them in Error.
namespace code {
inline constexpr std::string_view kOversized = "oversized";
inline constexpr std::string_view kTruncated = "truncated";
inline constexpr std::string_view kMalformed = "malformed";
inline constexpr std::string_view kWrongType = "wrong_type";
inline constexpr std::string_view kMissingField = "missing_field";
inline constexpr std::string_view kUnknownType = "unknown_type";
inline constexpr std::string_view kUnsupportedVersion = "unsupported_version";
inline constexpr std::string_view kInvalidValue = "invalid_value";
}  // namespace code

// Map keys. Envelope keys are one or two letters because every frame carries them.
namespace key {
// Envelope.
inline constexpr std::string_view kVersion = "v";
inline constexpr std::string_view kType = "t";
inline constexpr std::string_view kAgentId = "a";
inline constexpr std::string_view kSeq = "s";
inline constexpr std::string_view kTsMs = "ts";
inline constexpr std::string_view kBody = "b";

// Bodies: snake_case names of the struct fields in messages.h. A name shared by
// several messages (labels, rule, output, ...) is one constant.
inline constexpr std::string_view kHostname = "hostname";
inline constexpr std::string_view kAgentVersion = "agent_version";
inline constexpr std::string_view kLabels = "labels";
inline constexpr std::string_view kProtoMin = "proto_min";
inline constexpr std::string_view kProtoMax = "proto_max";
inline constexpr std::string_view kHeartbeatMs = "heartbeat_ms";
inline constexpr std::string_view kActions = "actions";

inline constexpr std::string_view kUptimeMs = "uptime_ms";
inline constexpr std::string_view kSpoolDepth = "spool_depth";
inline constexpr std::string_view kOpenCircuits = "open_circuits";

inline constexpr std::string_view kSamples = "samples";
inline constexpr std::string_view kName = "name";
inline constexpr std::string_view kValue = "value";
inline constexpr std::string_view kUnit = "unit";

inline constexpr std::string_view kRule = "rule";
inline constexpr std::string_view kFingerprint = "fingerprint";
inline constexpr std::string_view kState = "state";
inline constexpr std::string_view kSeverity = "severity";
inline constexpr std::string_view kAnnotations = "annotations";
inline constexpr std::string_view kThreshold = "threshold";
inline constexpr std::string_view kActiveSinceMs = "active_since_ms";

inline constexpr std::string_view kAlertFingerprint = "alert_fingerprint";
inline constexpr std::string_view kAction = "action";
inline constexpr std::string_view kTarget = "target";
inline constexpr std::string_view kOutcome = "outcome";
inline constexpr std::string_view kReason = "reason";
inline constexpr std::string_view kAttempt = "attempt";
inline constexpr std::string_view kExitCode = "exit_code";
inline constexpr std::string_view kDurationMs = "duration_ms";
inline constexpr std::string_view kOutput = "output";
inline constexpr std::string_view kCommandId = "command_id";
inline constexpr std::string_view kDryRun = "dry_run";

inline constexpr std::string_view kId = "id";
inline constexpr std::string_view kParams = "params";
inline constexpr std::string_view kDeadlineMs = "deadline_ms";

inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kMessage = "message";

inline constexpr std::string_view kUpto = "upto";
inline constexpr std::string_view kProto = "proto";
inline constexpr std::string_view kWindow = "window";

inline constexpr std::string_view kCode = "code";
// Error.seq; distinct from the envelope's "s".
inline constexpr std::string_view kErrorSeq = "seq";

inline constexpr std::string_view kFirstSeq = "first_seq";
inline constexpr std::string_view kLastSeq = "last_seq";
inline constexpr std::string_view kDropped = "dropped";
inline constexpr std::string_view kDroppedByType = "dropped_by_type";
inline constexpr std::string_view kFirstTsMs = "first_ts_ms";
inline constexpr std::string_view kLastTsMs = "last_ts_ms";
}  // namespace key

// Wire names, indexed by the enum's underlying value (and, for types, by the index of
// the Body alternative). NUL-terminated so the *_name functions can return them.
inline constexpr const char* kTypeNames[] = {
    "hello",   "heartbeat",      "metrics", "alert", "remediation",
    "command", "command_result", "ack",     "error", "gap",
};
inline constexpr const char* kSeverityNames[] = {"info", "warning", "high", "critical"};
inline constexpr const char* kAlertStateNames[] = {"pending", "firing", "resolved"};
inline constexpr const char* kRemediationOutcomeNames[] = {
    "started", "succeeded", "failed",        "timed_out",
    "skipped", "recovered", "not_recovered", "exhausted",
};
inline constexpr const char* kCommandStatusNames[] = {"ok", "failed", "rejected", "timed_out"};

// What the *_name functions return for a value outside its enum (a programming error;
// never produced by decode()).
inline constexpr const char* kUnknownName = "unknown";

}  // namespace reflex::protocol
