// Generic alert events: a small documented JSON body for scripts and monitoring tools
// that do not speak the Alertmanager API, and the Alertmanager webhook payload, so an
// Alertmanager can use the hub as a webhook receiver. Both become alert signals.
//
// Generic events body (all or nothing: one bad alert refuses the request):
//   {"source": "backup-cron",                 required; [A-Za-z0-9][A-Za-z0-9_.-]{0,63};
//                                             the signals' source is "external:<source>"
//    "alerts": [                              required, at least one
//      {"name": "BackupFailed",               required; the rule, and the alertname label
//       "state": "firing",                    required: firing | resolved
//       "severity": "high",                   info | warning (default) | high | critical
//       "labels": {"service": "db"},          strings; names [a-zA-Z_][a-zA-Z0-9_]*, not
//                                             starting with "__"; empty values dropped;
//                                             service/env group the alert into incidents
//       "annotations": {"summary": "..."},    strings
//       "host": "db-1",                       the host it concerns, if any
//       "at": "2026-01-01T10:00:00Z",         RFC 3339, when it happened; default now
//       "fingerprint": "backup-db-1"}]}       identity, 1-128 printable characters;
//                                             default: label_set_fingerprint() of the
//                                             labels + alertname=<name> + __source__=
//                                             <source> + __host__=<host> (when set)
// Unknown fields are errors (they are usually typos). Errors name the field:
// "alerts[2].state: expected firing or resolved, got 'ok'". A firing event stays firing
// until a resolved event for the same identity arrives: generic events do not expire.
//
// Alertmanager webhook payload (CONTRACTS 9b): the per-alert `status` (firing |
// resolved), `labels` (required, non-empty after dropping empty values), `annotations`,
// `startsAt`, `endsAt` (Go's zero time = not set) and `fingerprint` (used as the
// identity; computed from the labels as Alertmanager does when absent) are read; every
// other field, known or not, is ignored. Signals are built as for POST /api/v2/alerts
// (rule from alertname, severity mapped from the severity label, host from instance),
// with at_ms = startsAt when firing and endsAt when resolved (now when unset). Webhook
// alerts do not expire either: Alertmanager sends their resolution (send_resolved is on
// by default for webhooks).
//
// Pure: no clock, no I/O; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "hub/incidents/alert_signal.h"

namespace reflex::hub::incidents {

// The signals of a generic events body, or a "bad_request" error naming the field.
Result<std::vector<AlertSignal>> parse_generic_events(std::string_view body, int64_t now_ms);

// The signals of an Alertmanager webhook payload, or a "bad_request" error naming the
// field. `source` is the signals' source.
Result<std::vector<AlertSignal>> parse_alertmanager_webhook(
    std::string_view body, int64_t now_ms, std::string_view source = "external:alertmanager");

// For one endpoint that takes both: a body with a top-level "groupKey" is an
// Alertmanager webhook payload, anything else a generic events body.
Result<std::vector<AlertSignal>> parse_events_body(std::string_view body, int64_t now_ms);

}  // namespace reflex::hub::incidents
