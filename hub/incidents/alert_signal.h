// An alert signal: one alert's state as a source reports it, the single input shape of
// the incident engine whatever the alert came from (an agent's rule, an external
// monitoring tool, or the hub itself when an agent is lost).
//
// Signals come from untrusted input, so validate_signal() and the parse_* functions
// refuse bad values with a Status naming the field; the engine calls validate_signal()
// before it changes anything.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/messages.h"

namespace reflex::hub::incidents {

struct AlertSignal {
  // Who reports it: "agent:<id>", "external:<name>" (Alertmanager clients, scripts) or
  // "hub:<name>" (alerts the hub raises itself, such as lost agents).
  std::string source;
  std::string fingerprint;  // identity of the alert; stable across its transitions
  std::string rule;         // the rule or alertname
  protocol::AlertState state = protocol::AlertState::kPending;
  protocol::Severity severity = protocol::Severity::kWarning;
  protocol::Labels labels;       // grouping keys (service, env, ...) are read from here
  protocol::Labels annotations;  // summary, runbook_url, ...
  std::string host;              // may be empty when the source does not say
  int64_t at_ms = 0;             // when the source saw the transition (its clock, epoch ms)

  bool operator==(const AlertSignal&) const = default;
};

// Ok, or an "invalid_signal" error naming the first bad field: empty fingerprint or
// rule, a source of another form, a state or severity outside its enum, negative at_ms.
Status validate_signal(const AlertSignal& signal);

// Text forms as external payloads carry them; errors name `field` and list the valid
// values.
Result<protocol::AlertState> parse_alert_state(std::string_view text,
                                               std::string_view field = "state");
Result<protocol::Severity> parse_severity(std::string_view text,
                                          std::string_view field = "severity");

// The signal for an alert an agent sent. The agent's own labels (its hello: service,
// env, ...) fill in labels the alert does not carry, so alerts group by the service of
// the host that raised them; the alert's labels win on conflict. The measured value and
// the rule's threshold become the annotations `value` and `threshold` unless the rule
// sets annotations of those names itself.
inline constexpr std::string_view kValueAnnotation = "value";
inline constexpr std::string_view kThresholdAnnotation = "threshold";
AlertSignal signal_from_agent(const std::string& agent_id, const std::string& hostname,
                              const protocol::Labels& agent_labels, const protocol::Alert& alert,
                              int64_t at_ms);

}  // namespace reflex::hub::incidents
