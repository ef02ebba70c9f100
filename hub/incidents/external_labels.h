// What the hub reads from the label set of an alert an external tool sent: its identity
// (fingerprint), its name, severity and host. Shared by the Alertmanager-compatible
// endpoint, the Alertmanager webhook and the generic events body.
#pragma once

#include <string>
#include <string_view>

#include "protocol/messages.h"

namespace reflex::hub::incidents {

// Prometheus' label name rule: [a-zA-Z_][a-zA-Z0-9_]* (Alertmanager's classic mode).
bool is_valid_label_name(std::string_view name);

// The fingerprint Prometheus and Alertmanager give a label set (model.LabelSet
// .Fingerprint(), the `fingerprint` of Alertmanager's webhook): FNV-1a 64 over the
// labels sorted by name, each name and each value followed by the byte 0xff; 16
// lowercase hex digits. So an alert posted to /api/v2/alerts and the same alert relayed
// by an Alertmanager webhook share one identity.
std::string label_set_fingerprint(const protocol::Labels& labels);

// The engine's severity for a `severity` label value, case-insensitive:
//   critical, crit, page, pager, emergency, emerg, alert, fatal, disaster, p1 -> critical
//   high, error, err, major, p2                                              -> high
//   warning, warn, minor, medium, average, p3                                -> warning
//   info, informational, notice, low, none, debug, ok, p4, p5                -> info
// Anything else, or no label: warning.
protocol::Severity severity_from_label(std::string_view value);

// The `alertname` label, or "unnamed" when there is none (the engine needs a rule name).
std::string rule_from_labels(const protocol::Labels& labels);
protocol::Severity severity_from_labels(const protocol::Labels& labels);
// The host of the `instance` label without its port ("web-1:9100" -> "web-1",
// "[::1]:9100" -> "::1"), else the `host` label, else "".
std::string host_from_labels(const protocol::Labels& labels);

}  // namespace reflex::hub::incidents
