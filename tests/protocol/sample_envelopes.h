// Test helper: one envelope of every message type, with every field set ("full") and
// with only the required fields ("minimal"). Shared by the round-trip, truncation and
// required-field tests so adding a message type means adding it here once.
#pragma once

#include <string>
#include <vector>

#include "protocol/messages.h"

namespace reflex::protocol::testing {

inline Envelope make_envelope(Body body, uint64_t seq = 0) {
  Envelope e;
  e.version = 1;
  e.agent_id = "web-1";
  e.seq = seq;
  e.ts_ms = 1700000000000;
  e.body = std::move(body);
  return e;
}

inline std::vector<Envelope> full_envelopes() {
  Hello hello;
  hello.hostname = "web-1.prod";
  hello.agent_version = "0.1.0";
  hello.labels = {{"env", "prod"}, {"role", "web"}};
  hello.proto_min = 1;
  hello.proto_max = 3;
  hello.heartbeat_ms = 5000;
  hello.actions = {"restart_service", "clear_tmp"};

  Heartbeat heartbeat{.uptime_ms = 3600000, .spool_depth = 12, .open_circuits = 1};

  Metrics metrics;
  metrics.samples.push_back({"http.latency.p99", {{"route", "/api"}}, 412.5, "ms"});
  metrics.samples.push_back({"disk.used", {}, 0.875, "ratio"});
  metrics.samples.push_back({"temp.delta", {{"zone", "a"}}, -3.25, ""});

  Alert alert;
  alert.rule = "high_latency";
  alert.fingerprint = "f00dfeed";
  alert.state = AlertState::kFiring;
  alert.severity = Severity::kCritical;
  alert.labels = {{"route", "/api"}};
  alert.annotations = {{"summary", "p99 above 400ms"}, {"runbook_url", "https://x/rb"}};
  alert.value = 412.5;
  alert.threshold = 400;
  alert.active_since_ms = 1699999990000;

  Remediation remediation;
  remediation.rule = "high_latency";
  remediation.alert_fingerprint = "f00dfeed";
  remediation.action = "restart_service";
  remediation.target = "nginx";
  remediation.outcome = RemediationOutcome::kFailed;
  remediation.reason = "exit status 3";
  remediation.attempt = 2;
  remediation.exit_code = -3;
  remediation.duration_ms = 1250;
  remediation.output = "Job for nginx.service failed.\n";
  remediation.command_id = "cmd-42";
  remediation.dry_run = true;

  Command command;
  command.id = "cmd-42";
  command.action = "restart_service";
  command.target = "nginx";
  command.params = {{"signal", "HUP"}};
  command.deadline_ms = 1700000060000;
  command.dry_run = true;

  CommandResult result;
  result.id = "cmd-42";
  result.status = CommandStatus::kTimedOut;
  result.message = "killed after 30s";
  result.exit_code = 137;
  result.duration_ms = 30000;
  result.output = "partial output";

  Ack ack{.upto = 1041, .proto = 1, .window = 256};
  Error error{.code = "unsupported_version", .message = "no common version", .seq = 7};

  Gap gap;
  gap.first_seq = 100;
  gap.last_seq = 219;
  gap.dropped = 120;
  gap.dropped_by_type = {{"alert", 1}, {"metrics", 119}};
  gap.first_ts_ms = 1699990000000;
  gap.last_ts_ms = 1699990600000;
  gap.reason = "spool_full";

  return {make_envelope(hello),
          make_envelope(heartbeat),
          make_envelope(metrics, 1040),
          make_envelope(alert, 1041),
          make_envelope(remediation, 1042),
          make_envelope(command),
          make_envelope(result, 1043),
          make_envelope(ack),
          make_envelope(error),
          make_envelope(gap, 1044)};
}

// Only what docs/PROTOCOL.md marks required; optional fields hold their absent value.
inline std::vector<Envelope> minimal_envelopes() {
  Hello hello;
  hello.hostname = "h";
  hello.agent_version = "v";
  Remediation remediation;
  remediation.action = "noop";
  remediation.outcome = RemediationOutcome::kSkipped;
  Command command;
  command.id = "c";
  command.action = "noop";
  CommandResult result;
  result.id = "c";
  Error error;
  error.code = "malformed";
  Gap gap;
  gap.reason = "max_age";
  return {make_envelope(hello),      make_envelope(Heartbeat{}),    make_envelope(Metrics{}, 1),
          make_envelope(Alert{}, 2), make_envelope(remediation, 3), make_envelope(command),
          make_envelope(result, 4),  make_envelope(Ack{}),          make_envelope(error),
          make_envelope(gap, 5)};
}

}  // namespace reflex::protocol::testing
