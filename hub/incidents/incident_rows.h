// The incident, silence and external tables' rows as both store backends write and read
// them (SQLite: incident_store.cc, silence_store.cc, external_tables.cc; PostgreSQL:
// hub/pg_tables.cc), so the two dialects cannot drift apart in what a column holds.
//
// For each row: the column list, the values it binds in that order (a tuple, applied to
// sqlite::Statement::bind_all or pg::Connection::run), and a reader that turns a result
// row back into the struct. Readers are templates over the backend's row type
// (sqlite::Statement, pg::Row): both read a column by 0-based index with column_int64,
// column_text, column_text_view and column_is_null. Flags are INTEGER 0/1 in SQLite and
// BOOLEAN in PostgreSQL; flag() reads either. Labels, lists and matchers are JSON text in
// both. A row that no longer parses is a "corrupt" error naming the table and the row.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/json_text.h"
#include "common/status.h"
#include "hub/incidents/alert_signal.h"
#include "hub/incidents/changes.h"
#include "hub/incidents/external_expiry.h"
#include "hub/incidents/incident.h"
#include "hub/incidents/labels_json.h"
#include "hub/incidents/silences.h"

namespace reflex::hub::incidents::rows {

// Binds one of the *_values() tuples to a SQLite statement's parameters 1..N.
template <class Statement, class Tuple>
Status bind_values(Statement& st, const Tuple& values) {
  return std::apply([&](const auto&... v) { return st.bind_all(v...); }, values);
}

inline Status corrupt(const std::string& where, const std::string& what) {
  return Status::error("corrupt", where + ": " + what);
}

// A flag column: BOOLEAN (PostgreSQL) or INTEGER 0/1 (SQLite).
template <class Row>
bool flag(const Row& row, int column) {
  if constexpr (requires { row.column_bool(column); }) {
    return row.column_bool(column);
  } else {
    return row.column_int64(column) != 0;
  }
}

using incidents::labels_json;

inline Result<protocol::Labels> parse_labels(std::string_view text, const std::string& where) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return corrupt(where, "not a JSON object");
  protocol::Labels out;
  for (auto& [k, v] : j.items()) {
    if (!v.is_string()) return corrupt(where, "label " + k + " is not a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

inline Result<std::vector<int64_t>> parse_times(std::string_view text, const std::string& where) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return corrupt(where, "not a JSON array");
  std::vector<int64_t> out;
  for (auto& v : j) {
    if (!v.is_number_integer()) return corrupt(where, "not an integer");
    out.push_back(v.get<int64_t>());
  }
  return out;
}

inline Result<protocol::AlertState> read_state(std::string_view text, const std::string& where) {
  auto s = parse_alert_state(text);
  if (!s) return corrupt(where, s.status().message());
  return *s;
}

inline Result<protocol::Severity> read_severity(std::string_view text, const std::string& where) {
  auto s = parse_severity(text);
  if (!s) return corrupt(where, s.status().message());
  return *s;
}

inline std::string state_text(protocol::AlertState s) {
  return protocol::alert_state_name(s);
}
inline std::string severity_text(protocol::Severity s) {
  return protocol::severity_name(s);
}

// ---- incidents ----

inline constexpr std::string_view kIncidentColumns =
    "id, group_key, group_labels, service, title, status, severity, opened_ms, first_alert_ms, "
    "last_alert_ms, acknowledged_ms, acknowledged_by, resolved_ms, resolved_by, owner, "
    "reopen_count, flapping, recent_reopens, members, firing, affected_hosts, peak_hosts, "
    "resolve_due_ms, reopen_until_ms, settle_due_ms, retained";

// In kIncidentColumns order.
inline auto incident_values(const IncidentRow& r) {
  return std::make_tuple(static_cast<int64_t>(r.id), r.group_key, labels_json(r.group_labels),
                         r.service, r.title, std::string(incident_status_name(r.status)),
                         severity_text(r.severity), r.opened_ms, r.first_alert_ms, r.last_alert_ms,
                         r.acknowledged_ms, r.acknowledged_by, r.resolved_ms, r.resolved_by,
                         r.owner, static_cast<int64_t>(r.reopen_count), r.flapping,
                         json_text(nlohmann::json(r.recent_reopens)),
                         static_cast<int64_t>(r.members), static_cast<int64_t>(r.firing),
                         static_cast<int64_t>(r.affected_hosts), static_cast<int64_t>(r.peak_hosts),
                         r.resolve_due_ms, r.reopen_until_ms, r.settle_due_ms, r.retained);
}

// Columns in kIncidentColumns order.
template <class Row>
Result<IncidentRow> read_incident(const Row& st) {
  IncidentRow r;
  r.id = static_cast<uint64_t>(st.column_int64(0));
  const std::string where = "incidents row " + std::to_string(r.id);
  r.group_key = st.column_text(1);
  auto labels = parse_labels(st.column_text_view(2), where + " group_labels");
  if (!labels) return labels.status();
  r.group_labels = std::move(labels).value();
  r.service = st.column_text(3);
  r.title = st.column_text(4);
  auto status = parse_incident_status(st.column_text_view(5));
  if (!status) return corrupt(where + " status", "unknown status '" + st.column_text(5) + "'");
  r.status = *status;
  auto severity = read_severity(st.column_text_view(6), where + " severity");
  if (!severity) return severity.status();
  r.severity = *severity;
  r.opened_ms = st.column_int64(7);
  r.first_alert_ms = st.column_int64(8);
  r.last_alert_ms = st.column_int64(9);
  r.acknowledged_ms = st.column_int64(10);
  r.acknowledged_by = st.column_text(11);
  r.resolved_ms = st.column_int64(12);
  r.resolved_by = st.column_text(13);
  r.owner = st.column_text(14);
  r.reopen_count = static_cast<uint32_t>(st.column_int64(15));
  r.flapping = flag(st, 16);
  auto times = parse_times(st.column_text_view(17), where + " recent_reopens");
  if (!times) return times.status();
  r.recent_reopens = std::move(times).value();
  r.members = static_cast<uint32_t>(st.column_int64(18));
  r.firing = static_cast<uint32_t>(st.column_int64(19));
  r.affected_hosts = static_cast<uint32_t>(st.column_int64(20));
  r.peak_hosts = static_cast<uint32_t>(st.column_int64(21));
  r.resolve_due_ms = st.column_int64(22);
  r.reopen_until_ms = st.column_int64(23);
  r.settle_due_ms = st.column_int64(24);
  r.retained = flag(st, 25);
  return r;
}

// (incident_id, fingerprint, host, joined_ms)
inline auto member_values(const MemberRow& m) {
  return std::make_tuple(static_cast<int64_t>(m.incident_id), m.fingerprint, m.host, m.joined_ms);
}

// (incident_id, at_ms, kind, actor, fingerprint, host, text, suppressed)
inline auto timeline_values(const TimelineEntry& e) {
  return std::make_tuple(static_cast<int64_t>(e.incident_id), e.at_ms,
                         std::string(timeline_kind_name(e.kind)), e.actor, e.fingerprint, e.host,
                         e.text, e.suppressed);
}

// What an incident's detail reads of its timeline, oldest first.
inline constexpr std::string_view kTimelineColumns =
    "at_ms, kind, actor, fingerprint, host, text, suppressed";

template <class Row>
Result<TimelineEntry> read_timeline_entry(const Row& st, uint64_t incident_id) {
  auto kind = parse_timeline_kind(st.column_text_view(1));
  if (!kind) {
    return corrupt("incident_timeline of incident " + std::to_string(incident_id),
                   "unknown kind '" + st.column_text(1) + "'");
  }
  return TimelineEntry{incident_id,       st.column_int64(0), *kind,
                       st.column_text(2), st.column_text(3),  st.column_text(4),
                       st.column_text(5), st.column_text(6)};
}

// Columns: fingerprint, host, joined_ms.
template <class Row>
MemberRow read_member(const Row& st, uint64_t incident_id) {
  return {incident_id, st.column_text(0), st.column_text(1), st.column_int64(2)};
}

// ---- alerts ----

// What the engine restores; kAlertDetailColumns follow it when the detail is read too.
inline constexpr std::string_view kAlertColumns =
    "fingerprint, host, state, severity, since_ms, last_ms, incident_id";
inline constexpr std::string_view kAlertDetailColumns =
    "retained, source, rule, labels, annotations";

// (fingerprint, source, rule, labels, annotations, host, state, severity, since_ms,
// last_ms, incident_id, retained): a row with its detail, inserted or replaced.
inline auto alert_values(const AlertRow& row, const AlertRow::Detail& d) {
  const AlertRecord& r = row.record;
  return std::make_tuple(row.fingerprint, d.source, d.rule, labels_json(d.labels),
                         labels_json(d.annotations), r.host, state_text(r.state),
                         severity_text(r.severity), r.since_ms, r.last_ms,
                         static_cast<int64_t>(r.incident_id), row.retained);
}

// (fingerprint, host, state, severity, since_ms, last_ms, incident_id, retained): a row
// without detail updates the record of an alert already stored.
inline auto alert_record_values(const AlertRow& row) {
  const AlertRecord& r = row.record;
  return std::make_tuple(row.fingerprint, r.host, state_text(r.state), severity_text(r.severity),
                         r.since_ms, r.last_ms, static_cast<int64_t>(r.incident_id), row.retained);
}

// (fingerprint, source, from_state, to_state, severity, at_ms, recorded_ms)
inline auto history_values(const AlertTransition& h) {
  std::optional<std::string> from;
  if (h.from) from = state_text(*h.from);
  return std::make_tuple(h.fingerprint, h.source, from, state_text(h.to), severity_text(h.severity),
                         h.at_ms, h.recorded_ms);
}

// Columns in kAlertColumns order.
template <class Row>
Result<AlertRow> read_alert_record(const Row& st) {
  AlertRow row;
  row.fingerprint = st.column_text(0);
  const std::string where = "alerts row " + row.fingerprint;
  row.record.host = st.column_text(1);
  auto state = read_state(st.column_text_view(2), where + " state");
  if (!state) return state.status();
  row.record.state = *state;
  auto severity = read_severity(st.column_text_view(3), where + " severity");
  if (!severity) return severity.status();
  row.record.severity = *severity;
  row.record.since_ms = st.column_int64(4);
  row.record.last_ms = st.column_int64(5);
  row.record.incident_id = static_cast<uint64_t>(st.column_int64(6));
  return row;
}

// Columns kAlertColumns, then kAlertDetailColumns.
template <class Row>
Result<AlertRow> read_alert(const Row& st) {
  auto row = read_alert_record(st);
  if (!row) return row.status();
  row->retained = flag(st, 7);
  const std::string where = "alerts row " + row->fingerprint;
  AlertRow::Detail d;
  d.source = st.column_text(8);
  d.rule = st.column_text(9);
  auto labels = parse_labels(st.column_text_view(10), where + " labels");
  if (!labels) return labels.status();
  d.labels = std::move(labels).value();
  auto annotations = parse_labels(st.column_text_view(11), where + " annotations");
  if (!annotations) return annotations.status();
  d.annotations = std::move(annotations).value();
  row->detail = std::move(d);
  return row;
}

// ---- silences ----

inline constexpr std::string_view kSilenceColumns =
    "id, matchers, starts_at_ms, ends_at_ms, created_by, comment, created_ms, expired_by, "
    "reminded_ms";

inline std::string matchers_json(const Matchers& matchers) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& m : matchers) j.push_back(m.to_string());
  return json_text(j);
}

// In kSilenceColumns order.
inline auto silence_values(const Silence& s) {
  return std::make_tuple(static_cast<int64_t>(s.id), matchers_json(s.matchers), s.starts_at_ms,
                         s.ends_at_ms, s.created_by, s.comment, s.created_ms, s.expired_by,
                         s.reminded_ms);
}

template <class Row>
Result<Silence> read_silence(const Row& st) {
  Silence s;
  s.id = static_cast<uint64_t>(st.column_int64(0));
  const std::string where = "silences row " + std::to_string(s.id) + " matchers";
  const nlohmann::json j = nlohmann::json::parse(st.column_text_view(1), nullptr, false);
  if (!j.is_array()) return Status::error("corrupt", where + ": not a JSON array");
  for (const auto& item : j) {
    if (!item.is_string()) return Status::error("corrupt", where + ": not a string");
    auto m = Matcher::parse(item.get<std::string>());
    if (!m) return Status::error("corrupt", where + ": " + m.status().message());
    s.matchers.push_back(std::move(m).value());
  }
  s.starts_at_ms = st.column_int64(2);
  s.ends_at_ms = st.column_int64(3);
  s.created_by = st.column_text(4);
  s.comment = st.column_text(5);
  s.created_ms = st.column_int64(6);
  s.expired_by = st.column_text(7);
  s.reminded_ms = st.column_int64(8);
  return s;
}

// ---- changes ----

inline constexpr std::string_view kChangeColumns =
    "id, service, environment, version, hosts, strategy, active_color, commit_sha, author, "
    "link, source, at_ms";

// In kChangeColumns order.
inline auto change_values(const Change& c) {
  return std::make_tuple(c.id, c.service, c.environment, c.version,
                         json_text(nlohmann::json(c.hosts)), deploy_strategy_name(c.strategy),
                         c.active_color, c.commit, c.author, c.link, c.source, c.at_ms);
}

template <class Row>
Result<Change> read_change(const Row& st) {
  Change c;
  c.id = st.column_text(0);
  const std::string where = "changes row " + c.id;
  c.service = st.column_text(1);
  c.environment = st.column_text(2);
  c.version = st.column_text(3);
  const nlohmann::json hosts = nlohmann::json::parse(st.column_text_view(4), nullptr, false);
  if (!hosts.is_array()) return corrupt(where, "hosts is not a JSON array");
  for (const auto& h : hosts) {
    if (!h.is_string()) return corrupt(where, "a host is not a string");
    c.hosts.push_back(h.get<std::string>());
  }
  if (!st.column_text_view(5).empty()) {
    auto s = parse_deploy_strategy(st.column_text_view(5), "strategy");
    if (!s) return corrupt(where, s.status().message());
    c.strategy = *s;
  }
  c.active_color = st.column_text(6);
  c.commit = st.column_text(7);
  c.author = st.column_text(8);
  c.link = st.column_text(9);
  c.source = st.column_text(10);
  c.at_ms = st.column_int64(11);
  return c;
}

// ---- the ends of open external alerts, in `alerts` ----

// An open external alert's end, as restore() takes it. From `alerts`.
inline constexpr std::string_view kExpiryEndColumns = "fingerprint, ends_at_ms, ends_by_timeout";
// What an expiring alert resolves with: its end and its latest send. From `alerts`.
inline constexpr std::string_view kExpiryColumns =
    "fingerprint, source, rule, severity, host, labels, annotations, ends_at_ms, ends_by_timeout";

template <class Row>
ExpiryEnd read_expiry_end(const Row& st) {
  return {st.column_text(0), st.column_int64(1), flag(st, 2)};
}

template <class Row>
Result<ExpiryRow> read_expiry(const Row& st) {
  ExpiryRow r;
  r.fingerprint = st.column_text(0);
  r.source = st.column_text(1);
  r.rule = st.column_text(2);
  auto sev = parse_severity(st.column_text_view(3));
  if (!sev) return corrupt("alerts row " + r.fingerprint, sev.status().message());
  r.severity = *sev;
  r.host = st.column_text(4);
  r.labels_json = st.column_text(5);
  r.annotations_json = st.column_text(6);
  r.ends_at_ms = st.column_int64(7);
  r.timeout = flag(st, 8);
  return r;
}

}  // namespace reflex::hub::incidents::rows
