// Body decoders: one flat list of field reads per message, mirroring body_encode.cc.
// kRequired / kOptional here is the wire contract in docs/PROTOCOL.md.
#include <cstdint>

#include "protocol/body_codec.h"
#include "protocol/constants.h"

namespace reflex::protocol::internal {
namespace {

constexpr Need kRequired = Need::kRequired;
constexpr Need kOptional = Need::kOptional;

Status read_fields(const FieldMap& f, Hello& m) {
  REFLEX_RETURN_IF_ERROR(f.get(key::kHostname, kRequired, m.hostname));
  REFLEX_RETURN_IF_ERROR(f.get(key::kAgentVersion, kRequired, m.agent_version));
  REFLEX_RETURN_IF_ERROR(f.get(key::kLabels, kOptional, m.labels));
  REFLEX_RETURN_IF_ERROR(f.get(key::kProtoMin, kRequired, m.proto_min));
  REFLEX_RETURN_IF_ERROR(f.get(key::kProtoMax, kRequired, m.proto_max));
  REFLEX_RETURN_IF_ERROR(f.get(key::kHeartbeatMs, kRequired, m.heartbeat_ms));
  return f.get(key::kActions, kOptional, m.actions);
}

Status read_fields(const FieldMap& f, Heartbeat& m) {
  REFLEX_RETURN_IF_ERROR(f.get(key::kUptimeMs, kRequired, m.uptime_ms));
  REFLEX_RETURN_IF_ERROR(f.get(key::kSpoolDepth, kRequired, m.spool_depth));
  return f.get(key::kOpenCircuits, kRequired, m.open_circuits);
}

Status read_fields(const FieldMap& f, Sample& s) {
  REFLEX_RETURN_IF_ERROR(f.get(key::kName, kRequired, s.name));
  REFLEX_RETURN_IF_ERROR(f.get(key::kLabels, kOptional, s.labels));
  REFLEX_RETURN_IF_ERROR(f.get(key::kValue, kRequired, s.value));
  return f.get(key::kUnit, kOptional, s.unit);
}

Status read_fields(const FieldMap& f, Metrics& m) {
  const msgpack::object* samples = f.find(key::kSamples);
  const Path path = f.path().field(key::kSamples);
  if (samples == nullptr) return error_at(code::kMissingField, path, "required field is missing");
  if (samples->type != msgpack::type::ARRAY) return wrong_type(path, "array", *samples);
  m.samples.resize(samples->via.array.size);
  for (uint32_t i = 0; i < samples->via.array.size; ++i) {
    const Path sample_path = path.at(i);
    Result<FieldMap> sample = FieldMap::open(samples->via.array.ptr[i], sample_path);
    if (!sample) return sample.status();
    REFLEX_RETURN_IF_ERROR(read_fields(*sample, m.samples[i]));
  }
  return Status::ok();
}

Status read_fields(const FieldMap& f, Alert& m) {
  REFLEX_RETURN_IF_ERROR(f.get(key::kRule, kRequired, m.rule));
  REFLEX_RETURN_IF_ERROR(f.get(key::kFingerprint, kRequired, m.fingerprint));
  REFLEX_RETURN_IF_ERROR(f.get(key::kState, kRequired, m.state));
  REFLEX_RETURN_IF_ERROR(f.get(key::kSeverity, kRequired, m.severity));
  REFLEX_RETURN_IF_ERROR(f.get(key::kLabels, kOptional, m.labels));
  REFLEX_RETURN_IF_ERROR(f.get(key::kAnnotations, kOptional, m.annotations));
  REFLEX_RETURN_IF_ERROR(f.get(key::kValue, kRequired, m.value));
  REFLEX_RETURN_IF_ERROR(f.get(key::kThreshold, kRequired, m.threshold));
  return f.get(key::kActiveSinceMs, kOptional, m.active_since_ms);
}

Status read_fields(const FieldMap& f, Remediation& m) {
  REFLEX_RETURN_IF_ERROR(f.get(key::kRule, kOptional, m.rule));
  REFLEX_RETURN_IF_ERROR(f.get(key::kAlertFingerprint, kOptional, m.alert_fingerprint));
  REFLEX_RETURN_IF_ERROR(f.get(key::kAction, kRequired, m.action));
  REFLEX_RETURN_IF_ERROR(f.get(key::kTarget, kOptional, m.target));
  REFLEX_RETURN_IF_ERROR(f.get(key::kOutcome, kRequired, m.outcome));
  REFLEX_RETURN_IF_ERROR(f.get(key::kReason, kOptional, m.reason));
  REFLEX_RETURN_IF_ERROR(f.get(key::kAttempt, kRequired, m.attempt));
  REFLEX_RETURN_IF_ERROR(f.get(key::kExitCode, kOptional, m.exit_code));
  REFLEX_RETURN_IF_ERROR(f.get(key::kDurationMs, kRequired, m.duration_ms));
  REFLEX_RETURN_IF_ERROR(f.get(key::kOutput, kOptional, m.output));
  REFLEX_RETURN_IF_ERROR(f.get(key::kCommandId, kOptional, m.command_id));
  return f.get(key::kDryRun, kOptional, m.dry_run);
}

Status read_fields(const FieldMap& f, Command& m) {
  REFLEX_RETURN_IF_ERROR(f.get(key::kId, kRequired, m.id));
  REFLEX_RETURN_IF_ERROR(f.get(key::kAction, kRequired, m.action));
  REFLEX_RETURN_IF_ERROR(f.get(key::kTarget, kOptional, m.target));
  REFLEX_RETURN_IF_ERROR(f.get(key::kParams, kOptional, m.params));
  REFLEX_RETURN_IF_ERROR(f.get(key::kDeadlineMs, kOptional, m.deadline_ms));
  return f.get(key::kDryRun, kOptional, m.dry_run);
}

Status read_fields(const FieldMap& f, CommandResult& m) {
  REFLEX_RETURN_IF_ERROR(f.get(key::kId, kRequired, m.id));
  REFLEX_RETURN_IF_ERROR(f.get(key::kStatus, kRequired, m.status));
  REFLEX_RETURN_IF_ERROR(f.get(key::kMessage, kOptional, m.message));
  REFLEX_RETURN_IF_ERROR(f.get(key::kExitCode, kOptional, m.exit_code));
  REFLEX_RETURN_IF_ERROR(f.get(key::kDurationMs, kRequired, m.duration_ms));
  return f.get(key::kOutput, kOptional, m.output);
}

Status read_fields(const FieldMap& f, Ack& m) {
  REFLEX_RETURN_IF_ERROR(f.get(key::kUpto, kRequired, m.upto));
  REFLEX_RETURN_IF_ERROR(f.get(key::kProto, kOptional, m.proto));
  return f.get(key::kWindow, kOptional, m.window);
}

Status read_fields(const FieldMap& f, Error& m) {
  REFLEX_RETURN_IF_ERROR(f.get(key::kCode, kRequired, m.code));
  REFLEX_RETURN_IF_ERROR(f.get(key::kMessage, kRequired, m.message));
  return f.get(key::kErrorSeq, kOptional, m.seq);
}

Status read_fields(const FieldMap& f, Gap& m) {
  REFLEX_RETURN_IF_ERROR(f.get(key::kFirstSeq, kRequired, m.first_seq));
  REFLEX_RETURN_IF_ERROR(f.get(key::kLastSeq, kRequired, m.last_seq));
  REFLEX_RETURN_IF_ERROR(f.get(key::kDropped, kRequired, m.dropped));
  REFLEX_RETURN_IF_ERROR(f.get(key::kDroppedByType, kOptional, m.dropped_by_type));
  REFLEX_RETURN_IF_ERROR(f.get(key::kFirstTsMs, kRequired, m.first_ts_ms));
  REFLEX_RETURN_IF_ERROR(f.get(key::kLastTsMs, kRequired, m.last_ts_ms));
  return f.get(key::kReason, kRequired, m.reason);
}

template <class Message>
Status read_as(const FieldMap& f, Body& out) {
  return read_fields(f, out.emplace<Message>());
}

}  // namespace

Status read_body(MessageType type, const FieldMap& fields, Body& out) {
  switch (type) {
    case MessageType::kHello:
      return read_as<Hello>(fields, out);
    case MessageType::kHeartbeat:
      return read_as<Heartbeat>(fields, out);
    case MessageType::kMetrics:
      return read_as<Metrics>(fields, out);
    case MessageType::kAlert:
      return read_as<Alert>(fields, out);
    case MessageType::kRemediation:
      return read_as<Remediation>(fields, out);
    case MessageType::kCommand:
      return read_as<Command>(fields, out);
    case MessageType::kCommandResult:
      return read_as<CommandResult>(fields, out);
    case MessageType::kAck:
      return read_as<Ack>(fields, out);
    case MessageType::kError:
      return read_as<Error>(fields, out);
    case MessageType::kGap:
      return read_as<Gap>(fields, out);
  }
  // Unreachable: codec.cc only passes types it found in kTypeNames.
  return error_at(code::kUnknownType, fields.path(), "no decoder for this type");
}

}  // namespace reflex::protocol::internal
