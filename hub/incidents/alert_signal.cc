#include "hub/incidents/alert_signal.h"

#include <charconv>

namespace reflex::hub::incidents {
namespace {

Status invalid(std::string_view field, const std::string& what) {
  return Status::error("invalid_signal", std::string(field) + ": " + what);
}

// Shortest text that reads back as the same double ("812.5", "0.05", "1e+20").
std::string number_text(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

bool has_named_prefix(std::string_view source, std::string_view prefix) {
  return source.size() > prefix.size() && source.substr(0, prefix.size()) == prefix;
}

}  // namespace

Status validate_signal(const AlertSignal& s) {
  if (s.fingerprint.empty()) return invalid("fingerprint", "must not be empty");
  if (s.rule.empty()) return invalid("rule", "must not be empty");
  if (!has_named_prefix(s.source, "agent:") && !has_named_prefix(s.source, "external:") &&
      !has_named_prefix(s.source, "hub:")) {
    return invalid("source",
                   "must be agent:<id>, external:<name> or hub:<name>, got '" + s.source + "'");
  }
  if (static_cast<unsigned>(s.state) > static_cast<unsigned>(protocol::AlertState::kResolved)) {
    return invalid("state", "unknown alert state " + std::to_string(static_cast<int>(s.state)) +
                                " (expected pending, firing or resolved)");
  }
  if (static_cast<unsigned>(s.severity) > static_cast<unsigned>(protocol::Severity::kCritical)) {
    return invalid("severity", "unknown severity " + std::to_string(static_cast<int>(s.severity)) +
                                   " (expected info, warning, high or critical)");
  }
  if (s.at_ms < 0) return invalid("at_ms", "must not be negative");
  return Status::ok();
}

Result<protocol::AlertState> parse_alert_state(std::string_view text, std::string_view field) {
  for (auto state : {protocol::AlertState::kPending, protocol::AlertState::kFiring,
                     protocol::AlertState::kResolved}) {
    if (text == protocol::alert_state_name(state)) return state;
  }
  return invalid(field, "unknown alert state '" + std::string(text) +
                            "' (expected pending, firing or resolved)");
}

Result<protocol::Severity> parse_severity(std::string_view text, std::string_view field) {
  for (auto sev : {protocol::Severity::kInfo, protocol::Severity::kWarning,
                   protocol::Severity::kHigh, protocol::Severity::kCritical}) {
    if (text == protocol::severity_name(sev)) return sev;
  }
  return invalid(field, "unknown severity '" + std::string(text) +
                            "' (expected info, warning, high or critical)");
}

AlertSignal signal_from_agent(const std::string& agent_id, const std::string& hostname,
                              const protocol::Labels& agent_labels, const protocol::Alert& alert,
                              int64_t at_ms) {
  AlertSignal s;
  s.source = "agent:" + agent_id;
  s.fingerprint = alert.fingerprint;
  s.rule = alert.rule;
  s.state = alert.state;
  s.severity = alert.severity;
  s.labels = alert.labels;
  for (const auto& [k, v] : agent_labels) s.labels.emplace(k, v);  // emplace: alert wins
  s.annotations = alert.annotations;
  // The measurement that caused the transition, for responders (the API, the dashboard);
  // a rule's own annotations of these names win.
  s.annotations.try_emplace(std::string(kValueAnnotation), number_text(alert.value));
  s.annotations.try_emplace(std::string(kThresholdAnnotation), number_text(alert.threshold));
  s.host = hostname;
  s.at_ms = at_ms;
  return s;
}

}  // namespace reflex::hub::incidents
