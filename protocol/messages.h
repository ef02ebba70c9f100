// The messages agents and the hub exchange, as plain C++ values.
//
// Every ZeroMQ message carries exactly one Envelope encoded by protocol/codec.h.
// The shapes are fixed here for every message the system uses, including those whose
// behaviour later stages fill in; docs/PROTOCOL.md is the prose specification.
// Every struct compares field by field (operator==), which tests rely on.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace reflex::protocol {

using Labels = std::map<std::string, std::string>;

enum class Severity : uint8_t { kInfo, kWarning, kHigh, kCritical };

// agent -> hub, first message on every (re)connection.
struct Hello {
  std::string hostname;
  std::string agent_version;
  Labels labels;
  uint32_t proto_min = 1;  // protocol versions the agent speaks
  uint32_t proto_max = 1;
  uint32_t heartbeat_ms = 0;          // the agent's heartbeat interval
  std::vector<std::string> actions;   // remediation actions its config declares

  bool operator==(const Hello&) const = default;
};

// agent -> hub, every heartbeat interval.
struct Heartbeat {
  uint64_t uptime_ms = 0;
  uint64_t spool_depth = 0;     // events written but not yet acknowledged
  uint32_t open_circuits = 0;   // remediation circuits currently open

  bool operator==(const Heartbeat&) const = default;
};

struct Sample {
  std::string name;                 // e.g. "http.latency.p99"
  Labels labels;
  double value = 0;
  std::string unit;                 // optional: "ms", "ratio", "bytes", ...

  bool operator==(const Sample&) const = default;
};

// agent -> hub, window summaries at the metrics interval. Sequenced.
struct Metrics {
  std::vector<Sample> samples;

  bool operator==(const Metrics&) const = default;
};

enum class AlertState : uint8_t { kPending, kFiring, kResolved };

// agent -> hub, a rule transition. Sequenced.
struct Alert {
  std::string rule;
  std::string fingerprint;          // stable per rule and label set
  AlertState state = AlertState::kPending;
  Severity severity = Severity::kWarning;
  Labels labels;
  Labels annotations;               // summary, runbook_url, ...
  double value = 0;                 // the value that caused the transition
  double threshold = 0;
  uint64_t active_since_ms = 0;     // when the condition started to hold (0: unknown)

  bool operator==(const Alert&) const = default;
};

enum class RemediationOutcome : uint8_t {
  kStarted,
  kSucceeded,
  kFailed,
  kTimedOut,
  kSkipped,       // see reason: budget, cooldown, dry_run, paused, in_flight
  kRecovered,     // verification: the rule resolved within verify_within
  kNotRecovered,  // verification: it did not
  kExhausted,     // the ladder or the budget is spent; escalate
};

// agent -> hub, every remediation decision. Sequenced.
struct Remediation {
  std::string rule;
  std::string alert_fingerprint;
  std::string action;
  std::string target;
  RemediationOutcome outcome = RemediationOutcome::kStarted;
  std::string reason;             // why skipped / failed; empty otherwise
  uint32_t attempt = 0;           // 1-based rung or retry number
  std::optional<int32_t> exit_code;
  uint64_t duration_ms = 0;
  std::string output;             // last 4 KiB of output
  std::string command_id;         // set when the hub asked for this run
  bool dry_run = false;

  bool operator==(const Remediation&) const = default;
};

// hub -> agent: run one of the agent's declared actions.
struct Command {
  std::string id;                 // unique per hub; echoed in CommandResult
  std::string action;
  std::string target;
  Labels params;
  uint64_t deadline_ms = 0;       // absolute, epoch ms; 0: the action's own timeout
  bool dry_run = false;

  bool operator==(const Command&) const = default;
};

enum class CommandStatus : uint8_t { kOk, kFailed, kRejected, kTimedOut };

// agent -> hub, the outcome of a Command. Sequenced.
struct CommandResult {
  std::string id;
  CommandStatus status = CommandStatus::kOk;
  std::string message;            // why rejected or failed
  std::optional<int32_t> exit_code;
  uint64_t duration_ms = 0;
  std::string output;

  bool operator==(const CommandResult&) const = default;
};

// hub -> agent: everything up to and including `upto` is durable at the hub.
// Also the hub's answer to Hello, carrying the negotiated protocol version.
struct Ack {
  uint64_t upto = 0;
  uint32_t proto = 0;             // set in the answer to Hello; 0 otherwise
  uint32_t window = 0;            // events the agent may have in flight; 0: unchanged

  bool operator==(const Ack&) const = default;
};

// either direction: a frame or request was refused.
struct Error {
  std::string code;               // e.g. unsupported_version, unauthorized, malformed, slow_down
  std::string message;
  uint64_t seq = 0;               // the refused frame's sequence number, if any

  bool operator==(const Error&) const = default;
};

// agent -> hub: the spool had to drop events. Loss is never silent. Sequenced.
struct Gap {
  uint64_t first_seq = 0;         // dropped range, inclusive
  uint64_t last_seq = 0;
  uint64_t dropped = 0;
  std::map<std::string, uint64_t> dropped_by_type;  // "metrics" -> 120, ...
  uint64_t first_ts_ms = 0;
  uint64_t last_ts_ms = 0;
  std::string reason;             // spool_full, max_age, disk_full

  bool operator==(const Gap&) const = default;
};

using Body = std::variant<Hello, Heartbeat, Metrics, Alert, Remediation, Command, CommandResult,
                          Ack, Error, Gap>;

enum class MessageType : uint8_t {
  kHello,
  kHeartbeat,
  kMetrics,
  kAlert,
  kRemediation,
  kCommand,
  kCommandResult,
  kAck,
  kError,
  kGap,
};

struct Envelope {
  uint32_t version = 1;           // protocol version of this frame
  std::string agent_id;
  uint64_t seq = 0;               // per-agent sequence for durable events; 0 for control
  uint64_t ts_ms = 0;             // sender's wall clock, epoch milliseconds
  Body body;

  MessageType type() const { return static_cast<MessageType>(body.index()); }

  bool operator==(const Envelope&) const = default;
};

// The wire name of a type ("hello", "command_result", ...).
const char* type_name(MessageType type);
const char* severity_name(Severity s);
const char* alert_state_name(AlertState s);
const char* remediation_outcome_name(RemediationOutcome o);
const char* command_status_name(CommandStatus s);

// True for the types an agent spools and sequences (metrics, alert, remediation,
// command_result, gap); control messages carry seq 0.
bool is_sequenced(MessageType type);

}  // namespace reflex::protocol
