// The Alertmanager-compatible inbound API: reads a `POST /api/v2/alerts` body (what a
// Prometheus server sends to its alertmanagers) into alert signals, following
// Alertmanager's own handling so Prometheus can point at the hub unchanged.
//
// Two stages, as in Alertmanager:
//  1. The OpenAPI layer, before the handler: the body must be a JSON array of objects
//     with the right types (labels and annotations objects of strings, startsAt/endsAt
//     RFC 3339 strings, generatorURL a string) and every alert must have a `labels` key.
//     A failure refuses the whole request and stores nothing: 400 for malformed JSON, a
//     wrong type or a bad date; 422 for a missing body or a missing `labels`; the body is
//     a JSON object {"code": <int>, "message": "..."} (openapi_error_reply()).
//  2. The handler, per alert: defaulting (below), then validation. Valid alerts are
//     accepted even when others in the batch are not (partial acceptance); the reply is
//     then 400 with a JSON string joining the errors with "; " (post_alerts_reply()).
//
// Defaulting, with the hub's `now`:
//  - startsAt missing, null or "" (or Go's zero time): endsAt if set, else now.
//  - endsAt missing: now + resolve_timeout, and the alert is marked `timeout`: it
//    resolves by itself unless re-sent (ExternalExpiry does that).
//  - endsAt at or before now: the alert is resolved as of endsAt; after now: firing.
// Validation (Alertmanager's words, prefixed with "alerts[<i>]: "): "start time must be
// before end time"; "at least one label pair required" (labels with an empty value are
// dropped first); "invalid label set: invalid name \"1x\"" (names must match
// [a-zA-Z_][a-zA-Z0-9_]*); "invalid annotations: invalid name ..."; and, the hub's own,
// "start time before 1970 is not supported".
//
// Differences from Alertmanager, on purpose: "" for a date means "not set" (Go would read
// 1970-01-01); generatorURL is not checked as a URI; label values need no further check
// because the JSON parser already refuses invalid UTF-8. Unknown fields are ignored.
//
// Signals: source "external:alertmanager" (options.source); fingerprint =
// label_set_fingerprint(labels) (Alertmanager's own fingerprint, 16 hex digits); rule =
// the alertname label (else "unnamed"); severity from the `severity` label
// (severity_from_label() has the mapping; unknown or missing -> warning); host from the
// `instance` label without its port; labels and annotations as sent, plus the annotation
// "generatorURL" when the alert has one and no annotation of that name; state firing or
// resolved as above; at_ms = startsAt when firing, endsAt when resolved.
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

struct AlertmanagerInOptions {
  std::string source = "external:alertmanager";
  int64_t resolve_timeout_ms = 5 * 60'000;  // Alertmanager's global.resolve_timeout
};

// One accepted alert: the signal for the engine, and when it resolves by itself.
struct ExternalAlert {
  AlertSignal signal;
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = 0;  // firing: resolves at this time unless re-sent
  bool timeout = false;    // ends_at came from resolve_timeout, not from the sender

  bool operator==(const ExternalAlert&) const = default;
};

// What the handler stage made of a body that passed the OpenAPI stage.
struct PostedAlerts {
  std::vector<ExternalAlert> accepted;  // in body order
  std::vector<std::string> errors;      // one per refused alert, "alerts[<i>]: <why>"
};

// Stage-1 failures are a Status with code "unprocessable" (422, OpenAPI code 602) or
// "bad_request" (400, OpenAPI code 400); map them with openapi_error_reply().
Result<PostedAlerts> parse_postable_alerts(std::string_view body, int64_t now_ms,
                                           const AlertmanagerInOptions& options = {});

// An HTTP answer as Alertmanager gives it. An empty body means none.
struct AlertmanagerReply {
  int status = 200;
  std::string content_type;  // "application/json" when there is a body
  std::string body;

  bool operator==(const AlertmanagerReply&) const = default;
};

// 200 without a body when every alert was accepted, else 400 with a JSON string.
AlertmanagerReply post_alerts_reply(const PostedAlerts& posted);
// 400/422 with {"code": 400|602, "message": "..."} for a stage-1 failure; any other
// Status code is answered 500 the same way.
AlertmanagerReply openapi_error_reply(const Status& failure);
// 500 with a JSON string: storing the accepted alerts failed.
AlertmanagerReply internal_error_reply(std::string_view message);

}  // namespace reflex::hub::incidents
