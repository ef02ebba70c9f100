// Incidents as values: the row the store keeps, the timeline, the notify intents, and
// Changes, which is everything one call into the IncidentEngine changed.
//
// Changes is what the hub writes (one transaction) and what the notification layer
// reads: the engine never does I/O. Every struct compares field by field, which the
// restart-equivalence tests rely on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/incidents/alert_book.h"
#include "protocol/messages.h"

namespace reflex::hub::incidents {

enum class IncidentStatus : uint8_t { kTriggered, kAcknowledged, kResolved };
const char* incident_status_name(IncidentStatus s);
std::optional<IncidentStatus> parse_incident_status(std::string_view text);

// One incident, as stored and as the API shows it. Timers are plain due times (0: none)
// so they survive a restart with the row.
struct IncidentRow {
  uint64_t id = 0;
  std::string group_key;  // see group_of()
  protocol::Labels group_labels;
  std::string service;  // the value of the service label, "" when the alerts carry none
  std::string title;    // from the alert that opened it: "HighErrorRate on checkout"
  IncidentStatus status = IncidentStatus::kTriggered;
  // Highest severity of the firing members while the incident is open; kept as it was
  // when the last one resolved or the incident was resolved.
  protocol::Severity severity = protocol::Severity::kWarning;
  int64_t opened_ms = 0;       // hub clock
  int64_t first_alert_ms = 0;  // source clock: earliest firing transition of a member
  int64_t last_alert_ms = 0;   // source clock: latest firing transition or join
  int64_t acknowledged_ms = 0;
  std::string acknowledged_by;
  int64_t resolved_ms = 0;
  std::string resolved_by;  // a person, or "reflex" when it resolved by itself
  std::string owner;
  uint32_t reopen_count = 0;
  bool flapping = false;
  std::vector<int64_t> recent_reopens;  // reopen times within the flap window, oldest first
  uint32_t members = 0;                 // member alerts (each counted once per joining)
  uint32_t firing = 0;                  // member alerts firing now
  uint32_t affected_hosts = 0;          // distinct hosts with a firing member
  uint32_t peak_hosts = 0;              // most hosts affected at once while open
  int64_t resolve_due_ms = 0;           // auto-resolve (all members resolved)
  int64_t reopen_until_ms = 0;          // resolved: a firing before this reopens it
  int64_t settle_due_ms = 0;            // flapping: clears if no reopen until then
  bool retained = true;                 // held by the engine (restored on load)

  bool open() const { return status != IncidentStatus::kResolved; }
  bool operator==(const IncidentRow&) const = default;
};

struct MemberRow {
  uint64_t incident_id = 0;
  std::string fingerprint;
  std::string host;
  int64_t joined_ms = 0;  // hub clock

  bool operator==(const MemberRow&) const = default;
};

enum class TimelineKind : uint8_t {
  kOpened,
  kAlertJoined,
  kAlertFiring,    // a member fired again
  kAlertResolved,  // a member resolved
  kSeverityChanged,
  kAutoResolveScheduled,
  kAutoResolveCancelled,
  kAcknowledged,
  kAssigned,
  kNote,
  kResolved,
  kReopened,
  kFlapping,
  kSettled,
  kRemediation,
  kResponse,  // a responder chose a response option ("start_mim by alice")
  kStep,      // a workflow step ran, waited, was skipped, or its call finished
};
const char* timeline_kind_name(TimelineKind k);
std::optional<TimelineKind> parse_timeline_kind(std::string_view text);

struct TimelineEntry {
  uint64_t incident_id = 0;
  int64_t at_ms = 0;  // hub clock; for timer-driven entries, the due time
  TimelineKind kind = TimelineKind::kNote;
  std::string actor;        // a person, "reflex", or the signal's source ("agent:web-1")
  std::string fingerprint;  // the alert concerned, if any
  std::string host;
  std::string text;
  // Why the signal behind this entry notifies nobody ("silenced by 42", "inhibited by
  // incident 7"); empty when it does. Set by the engine's suppression hook.
  std::string suppressed;

  bool operator==(const TimelineEntry&) const = default;
};

enum class NotifyKind : uint8_t {
  kOpened,
  kReopened,
  kSeverityRaised,
  kRemediationExhausted,
  kSettled,  // stopped flapping while still open
  kResolved,
};
const char* notify_kind_name(NotifyKind k);

// "Someone may need to hear about this": the notification layer decides who and how.
// Never produced for a flapping incident or for a suppressed signal.
struct NotifyIntent {
  uint64_t incident_id = 0;
  NotifyKind kind = NotifyKind::kOpened;
  std::string reason;
  protocol::Severity severity = protocol::Severity::kWarning;
  int64_t at_ms = 0;

  bool operator==(const NotifyIntent&) const = default;
};

enum class IncidentEventKind : uint8_t {
  kOpened,
  kAcknowledged,
  kResolved,
  kReopened,
  kReleased,
  kResponse,  // a response option other than acknowledge and resolve (start_mim, ...)
};
const char* incident_event_kind_name(IncidentEventKind k);

// A lifecycle step. kReleased: the engine let go of a resolved incident whose reopen
// window (and flap settling) is over; it lives on in the store only.
struct IncidentEvent {
  uint64_t incident_id = 0;
  IncidentEventKind kind = IncidentEventKind::kOpened;
  int64_t at_ms = 0;
  std::string option;  // kResponse: the option chosen
  std::string actor;   // kResponse, kAcknowledged: who

  bool operator==(const IncidentEvent&) const = default;
};

// Everything one engine call changed, in the order it happened. Row lists are upserts:
// apply them in order and the last row of an id wins. Changes of successive calls must
// be written in call order; merge() concatenates them for one group commit.
struct Changes {
  std::vector<AlertRow> alerts;
  std::vector<AlertTransition> history;
  std::vector<IncidentRow> incidents;
  std::vector<MemberRow> members;
  std::vector<TimelineEntry> timeline;
  std::vector<NotifyIntent> notify;
  std::vector<IncidentEvent> events;

  bool empty() const {
    return alerts.empty() && history.empty() && incidents.empty() && members.empty() &&
           timeline.empty() && notify.empty() && events.empty();
  }
  void merge(Changes&& later);
  bool operator==(const Changes&) const = default;
};

// A member as the engine holds it (the store's MemberRow has more).
struct MemberRef {
  uint64_t incident_id = 0;
  std::string fingerprint;
  bool operator==(const MemberRef&) const = default;
};

// Everything an engine needs to continue exactly where another left off: what
// IncidentEngine::snapshot() returns and IncidentTables::load() reads back.
struct EngineSnapshot {
  uint64_t next_incident_id = 1;
  std::vector<IncidentRow> incidents;  // retained, by id
  std::vector<MemberRef> members;      // of those incidents, by incident then joining order
  std::vector<AlertRow> alerts;        // retained, by fingerprint, without detail

  bool operator==(const EngineSnapshot&) const = default;
};

}  // namespace reflex::hub::incidents
