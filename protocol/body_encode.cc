// Body encoders: keys in struct order; optional fields left out when they hold their
// "absent" value (empty string or map, 0 where 0 means unset, false, nullopt).
// Each map header counts the fields written below it; the round-trip tests catch a
// count that disagrees.
#include <variant>

#include "protocol/body_codec.h"
#include "protocol/constants.h"

namespace reflex::protocol::internal {
namespace {

uint32_t present(bool b) {
  return b ? 1 : 0;
}

void write(const Hello& m, WireWriter& w) {
  w.map(5 + present(!m.labels.empty()) + present(!m.actions.empty()));
  w.field(key::kHostname, m.hostname);
  w.field(key::kAgentVersion, m.agent_version);
  if (!m.labels.empty()) w.field_map(key::kLabels, m.labels);
  w.field_uint(key::kProtoMin, m.proto_min);
  w.field_uint(key::kProtoMax, m.proto_max);
  w.field_uint(key::kHeartbeatMs, m.heartbeat_ms);
  if (!m.actions.empty()) w.field_strs(key::kActions, m.actions);
}

void write(const Heartbeat& m, WireWriter& w) {
  w.map(3);
  w.field_uint(key::kUptimeMs, m.uptime_ms);
  w.field_uint(key::kSpoolDepth, m.spool_depth);
  w.field_uint(key::kOpenCircuits, m.open_circuits);
}

void write(const Sample& s, WireWriter& w) {
  w.map(2 + present(!s.labels.empty()) + present(!s.unit.empty()));
  w.field(key::kName, s.name);
  if (!s.labels.empty()) w.field_map(key::kLabels, s.labels);
  w.field_float(key::kValue, s.value);
  if (!s.unit.empty()) w.field(key::kUnit, s.unit);
}

void write(const Metrics& m, WireWriter& w) {
  w.map(1);
  w.str(key::kSamples);
  w.array(static_cast<uint32_t>(m.samples.size()));
  for (const Sample& s : m.samples) write(s, w);
}

void write(const Alert& m, WireWriter& w) {
  w.map(6 + present(!m.labels.empty()) + present(!m.annotations.empty()) +
        present(m.active_since_ms != 0));
  w.field(key::kRule, m.rule);
  w.field(key::kFingerprint, m.fingerprint);
  w.field(key::kState, alert_state_name(m.state));
  w.field(key::kSeverity, severity_name(m.severity));
  if (!m.labels.empty()) w.field_map(key::kLabels, m.labels);
  if (!m.annotations.empty()) w.field_map(key::kAnnotations, m.annotations);
  w.field_float(key::kValue, m.value);
  w.field_float(key::kThreshold, m.threshold);
  if (m.active_since_ms != 0) w.field_uint(key::kActiveSinceMs, m.active_since_ms);
}

void write(const Remediation& m, WireWriter& w) {
  w.map(4 + present(!m.rule.empty()) + present(!m.alert_fingerprint.empty()) +
        present(!m.target.empty()) + present(!m.reason.empty()) + present(m.exit_code.has_value()) +
        present(!m.output.empty()) + present(!m.command_id.empty()) + present(m.dry_run));
  if (!m.rule.empty()) w.field(key::kRule, m.rule);
  if (!m.alert_fingerprint.empty()) w.field(key::kAlertFingerprint, m.alert_fingerprint);
  w.field(key::kAction, m.action);
  if (!m.target.empty()) w.field(key::kTarget, m.target);
  w.field(key::kOutcome, remediation_outcome_name(m.outcome));
  if (!m.reason.empty()) w.field(key::kReason, m.reason);
  w.field_uint(key::kAttempt, m.attempt);
  if (m.exit_code) w.field_int32(key::kExitCode, *m.exit_code);
  w.field_uint(key::kDurationMs, m.duration_ms);
  if (!m.output.empty()) w.field(key::kOutput, m.output);
  if (!m.command_id.empty()) w.field(key::kCommandId, m.command_id);
  if (m.dry_run) w.field_bool(key::kDryRun, true);
}

void write(const Command& m, WireWriter& w) {
  w.map(2 + present(!m.target.empty()) + present(!m.params.empty()) + present(m.deadline_ms != 0) +
        present(m.dry_run));
  w.field(key::kId, m.id);
  w.field(key::kAction, m.action);
  if (!m.target.empty()) w.field(key::kTarget, m.target);
  if (!m.params.empty()) w.field_map(key::kParams, m.params);
  if (m.deadline_ms != 0) w.field_uint(key::kDeadlineMs, m.deadline_ms);
  if (m.dry_run) w.field_bool(key::kDryRun, true);
}

void write(const CommandResult& m, WireWriter& w) {
  w.map(3 + present(!m.message.empty()) + present(m.exit_code.has_value()) +
        present(!m.output.empty()));
  w.field(key::kId, m.id);
  w.field(key::kStatus, command_status_name(m.status));
  if (!m.message.empty()) w.field(key::kMessage, m.message);
  if (m.exit_code) w.field_int32(key::kExitCode, *m.exit_code);
  w.field_uint(key::kDurationMs, m.duration_ms);
  if (!m.output.empty()) w.field(key::kOutput, m.output);
}

void write(const Ack& m, WireWriter& w) {
  w.map(1 + present(m.proto != 0) + present(m.window != 0));
  w.field_uint(key::kUpto, m.upto);
  if (m.proto != 0) w.field_uint(key::kProto, m.proto);
  if (m.window != 0) w.field_uint(key::kWindow, m.window);
}

void write(const Error& m, WireWriter& w) {
  w.map(2 + present(m.seq != 0));
  w.field(key::kCode, m.code);
  w.field(key::kMessage, m.message);
  if (m.seq != 0) w.field_uint(key::kErrorSeq, m.seq);
}

void write(const Gap& m, WireWriter& w) {
  w.map(6 + present(!m.dropped_by_type.empty()));
  w.field_uint(key::kFirstSeq, m.first_seq);
  w.field_uint(key::kLastSeq, m.last_seq);
  w.field_uint(key::kDropped, m.dropped);
  if (!m.dropped_by_type.empty()) w.field_map(key::kDroppedByType, m.dropped_by_type);
  w.field_uint(key::kFirstTsMs, m.first_ts_ms);
  w.field_uint(key::kLastTsMs, m.last_ts_ms);
  w.field(key::kReason, m.reason);
}

}  // namespace

void write_body(const Body& body, WireWriter& w) {
  std::visit([&w](const auto& message) { write(message, w); }, body);
}

}  // namespace reflex::protocol::internal
