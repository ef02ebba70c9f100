#include "hub/incidents/incident_store.h"

#include <nlohmann/json.hpp>

#include "hub/incidents/alert_signal.h"

namespace reflex::hub::incidents {

const std::string_view kIncidentSchemaSql = R"sql(
CREATE TABLE alerts (
  fingerprint TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  rule TEXT NOT NULL,
  labels TEXT NOT NULL,        -- JSON object
  annotations TEXT NOT NULL,   -- JSON object
  host TEXT NOT NULL,
  state TEXT NOT NULL,         -- pending | firing | resolved
  severity TEXT NOT NULL,      -- info | warning | high | critical
  since_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  incident_id INTEGER NOT NULL,  -- 0: none
  retained INTEGER NOT NULL
) STRICT;
CREATE INDEX alerts_retained ON alerts(fingerprint) WHERE retained = 1;
CREATE TABLE alert_history (
  fingerprint TEXT NOT NULL,
  source TEXT NOT NULL,
  from_state TEXT,             -- NULL: first seen
  to_state TEXT NOT NULL,
  severity TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  recorded_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX alert_history_by_alert ON alert_history(fingerprint);
CREATE TABLE incidents (
  id INTEGER PRIMARY KEY,
  group_key TEXT NOT NULL,
  group_labels TEXT NOT NULL,  -- JSON object
  service TEXT NOT NULL,
  title TEXT NOT NULL,
  status TEXT NOT NULL,        -- triggered | acknowledged | resolved
  severity TEXT NOT NULL,
  opened_ms INTEGER NOT NULL,
  first_alert_ms INTEGER NOT NULL,
  last_alert_ms INTEGER NOT NULL,
  acknowledged_ms INTEGER NOT NULL,
  acknowledged_by TEXT NOT NULL,
  resolved_ms INTEGER NOT NULL,
  resolved_by TEXT NOT NULL,
  owner TEXT NOT NULL,
  reopen_count INTEGER NOT NULL,
  flapping INTEGER NOT NULL,
  recent_reopens TEXT NOT NULL,  -- JSON array of ms
  members INTEGER NOT NULL,
  firing INTEGER NOT NULL,
  affected_hosts INTEGER NOT NULL,
  peak_hosts INTEGER NOT NULL,
  resolve_due_ms INTEGER NOT NULL,  -- timers: 0 when not set
  reopen_until_ms INTEGER NOT NULL,
  settle_due_ms INTEGER NOT NULL,
  retained INTEGER NOT NULL
) STRICT;
CREATE INDEX incidents_retained ON incidents(id) WHERE retained = 1;
CREATE TABLE incident_members (
  incident_id INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  host TEXT NOT NULL,
  joined_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX incident_members_by_incident ON incident_members(incident_id);
CREATE TABLE incident_timeline (
  id INTEGER PRIMARY KEY,
  incident_id INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  actor TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  host TEXT NOT NULL,
  text TEXT NOT NULL,
  suppressed TEXT NOT NULL     -- why it notified nobody; '' when it did
) STRICT;
CREATE INDEX incident_timeline_by_incident ON incident_timeline(incident_id, id);
)sql";

namespace {

const sqlite::Migration kMigrations[] = {{1, kIncidentSchemaSql}};

Status corrupt(const std::string& where, const std::string& what) {
  return Status::error("corrupt", where + ": " + what);
}

std::string labels_json(const protocol::Labels& labels) {
  return nlohmann::json(labels).dump();
}

Result<protocol::Labels> parse_labels(std::string_view text, const std::string& where) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return corrupt(where, "not a JSON object");
  protocol::Labels out;
  for (auto& [k, v] : j.items()) {
    if (!v.is_string()) return corrupt(where, "label " + k + " is not a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

Result<std::vector<int64_t>> parse_times(std::string_view text, const std::string& where) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return corrupt(where, "not a JSON array");
  std::vector<int64_t> out;
  for (auto& v : j) {
    if (!v.is_number_integer()) return corrupt(where, "not an integer");
    out.push_back(v.get<int64_t>());
  }
  return out;
}

Result<protocol::AlertState> read_state(std::string_view text, const std::string& where) {
  auto s = parse_alert_state(text);
  if (!s) return corrupt(where, s.status().message());
  return *s;
}

Result<protocol::Severity> read_severity(std::string_view text, const std::string& where) {
  auto s = parse_severity(text);
  if (!s) return corrupt(where, s.status().message());
  return *s;
}

std::string state_text(protocol::AlertState s) {
  return protocol::alert_state_name(s);
}
std::string severity_text(protocol::Severity s) {
  return protocol::severity_name(s);
}

// Runs `st` (bound) and calls `row` for each result row; `row` returns a Status.
template <class F>
Status each_row(sqlite::Statement& st, F&& row) {
  for (;;) {
    auto more = st.step();
    if (!more) return more.status();
    if (!*more) return Status::ok();
    REFLEX_RETURN_IF_ERROR(row());
  }
}

constexpr std::string_view kIncidentColumns =
    "id, group_key, group_labels, service, title, status, severity, opened_ms, first_alert_ms, "
    "last_alert_ms, acknowledged_ms, acknowledged_by, resolved_ms, resolved_by, owner, "
    "reopen_count, flapping, recent_reopens, members, firing, affected_hosts, peak_hosts, "
    "resolve_due_ms, reopen_until_ms, settle_due_ms, retained";

Result<IncidentRow> read_incident(sqlite::Statement& st) {
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
  r.flapping = st.column_int64(16) != 0;
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
  r.retained = st.column_int64(25) != 0;
  return r;
}

// Columns: fingerprint, host, state, severity, since_ms, last_ms, incident_id.
Result<AlertRow> read_alert_record(sqlite::Statement& st) {
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

Result<std::unique_ptr<sqlite::Statement>> prepared(sqlite::Database& db, std::string_view sql) {
  auto st = db.prepare(sql);
  if (!st) return st.status();
  return std::make_unique<sqlite::Statement>(std::move(st).value());
}

}  // namespace

Result<IncidentTables> IncidentTables::prepare(sqlite::Database& db) {
  IncidentTables t(db);
  REFLEX_RETURN_IF_ERROR(t.prepare_all());
  return t;
}

Status IncidentTables::prepare_all() {
  struct {
    std::unique_ptr<sqlite::Statement>* into;
    std::string sql;
  } const statements[] = {
      {&upsert_alert_, R"sql(
INSERT INTO alerts (fingerprint, source, rule, labels, annotations, host, state, severity,
                    since_ms, last_ms, incident_id, retained)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
ON CONFLICT(fingerprint) DO UPDATE SET source = ?2, rule = ?3, labels = ?4, annotations = ?5,
  host = ?6, state = ?7, severity = ?8, since_ms = ?9, last_ms = ?10, incident_id = ?11,
  retained = ?12)sql"},
      {&update_alert_,
       "UPDATE alerts SET host = ?2, state = ?3, severity = ?4, since_ms = ?5, last_ms = ?6, "
       "incident_id = ?7, retained = ?8 WHERE fingerprint = ?1"},
      {&insert_history_,
       "INSERT INTO alert_history (fingerprint, source, from_state, to_state, severity, at_ms, "
       "recorded_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"},
      {&upsert_incident_, "INSERT OR REPLACE INTO incidents (" + std::string(kIncidentColumns) +
                              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                              "?, ?, ?, ?, ?, ?, ?, ?)"},
      {&insert_member_,
       "INSERT INTO incident_members (incident_id, fingerprint, host, joined_ms) "
       "VALUES (?, ?, ?, ?)"},
      {&insert_timeline_,
       "INSERT INTO incident_timeline (incident_id, at_ms, kind, actor, fingerprint, host, "
       "text, suppressed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"},
  };
  for (const auto& s : statements) {
    auto st = prepared(*db_, s.sql);
    if (!st) return st.status();
    *s.into = std::move(st).value();
  }
  return Status::ok();
}

Status IncidentTables::append(const Changes& ch) {
  for (const auto& row : ch.alerts) REFLEX_RETURN_IF_ERROR(write_alert(row));
  for (const auto& h : ch.history) {
    std::optional<std::string> from;
    if (h.from) from = state_text(*h.from);
    REFLEX_RETURN_IF_ERROR(insert_history_->bind_all(h.fingerprint, h.source, from,
                                                     state_text(h.to), severity_text(h.severity),
                                                     h.at_ms, h.recorded_ms));
    REFLEX_RETURN_IF_ERROR(insert_history_->run());
  }
  for (const auto& row : ch.incidents) REFLEX_RETURN_IF_ERROR(write_incident(row));
  for (const auto& m : ch.members) {
    REFLEX_RETURN_IF_ERROR(insert_member_->bind_all(static_cast<int64_t>(m.incident_id),
                                                    m.fingerprint, m.host, m.joined_ms));
    REFLEX_RETURN_IF_ERROR(insert_member_->run());
  }
  for (const auto& e : ch.timeline) {
    REFLEX_RETURN_IF_ERROR(insert_timeline_->bind_all(
        static_cast<int64_t>(e.incident_id), e.at_ms, std::string(timeline_kind_name(e.kind)),
        e.actor, e.fingerprint, e.host, e.text, e.suppressed));
    REFLEX_RETURN_IF_ERROR(insert_timeline_->run());
  }
  return Status::ok();
}

Status IncidentTables::write_alert(const AlertRow& row) {
  const AlertRecord& r = row.record;
  const int64_t incident_id = static_cast<int64_t>(r.incident_id);
  if (row.detail) {
    const AlertRow::Detail& d = *row.detail;
    REFLEX_RETURN_IF_ERROR(upsert_alert_->bind_all(
        row.fingerprint, d.source, d.rule, labels_json(d.labels), labels_json(d.annotations),
        r.host, state_text(r.state), severity_text(r.severity), r.since_ms, r.last_ms, incident_id,
        row.retained));
    return upsert_alert_->run();
  }
  REFLEX_RETURN_IF_ERROR(update_alert_->bind_all(row.fingerprint, r.host, state_text(r.state),
                                                 severity_text(r.severity), r.since_ms, r.last_ms,
                                                 incident_id, row.retained));
  return update_alert_->run();
}

Status IncidentTables::write_incident(const IncidentRow& r) {
  REFLEX_RETURN_IF_ERROR(upsert_incident_->bind_all(
      static_cast<int64_t>(r.id), r.group_key, labels_json(r.group_labels), r.service, r.title,
      std::string(incident_status_name(r.status)), severity_text(r.severity), r.opened_ms,
      r.first_alert_ms, r.last_alert_ms, r.acknowledged_ms, r.acknowledged_by, r.resolved_ms,
      r.resolved_by, r.owner, static_cast<int64_t>(r.reopen_count), r.flapping,
      nlohmann::json(r.recent_reopens).dump(), static_cast<int64_t>(r.members),
      static_cast<int64_t>(r.firing), static_cast<int64_t>(r.affected_hosts),
      static_cast<int64_t>(r.peak_hosts), r.resolve_due_ms, r.reopen_until_ms, r.settle_due_ms,
      r.retained));
  return upsert_incident_->run();
}

Result<EngineSnapshot> IncidentTables::load() {
  EngineSnapshot snap;
  {
    auto st = db_->prepare("SELECT COALESCE(MAX(id), 0) + 1 FROM incidents");
    if (!st) return st.status();
    auto row = st->step();
    if (!row) return row.status();
    snap.next_incident_id = static_cast<uint64_t>(st->column_int64(0));
  }
  {
    auto st = db_->prepare("SELECT " + std::string(kIncidentColumns) +
                           " FROM incidents WHERE retained = 1 ORDER BY id");
    if (!st) return st.status();
    REFLEX_RETURN_IF_ERROR(each_row(*st, [&]() -> Status {
      auto r = read_incident(*st);
      if (!r) return r.status();
      snap.incidents.push_back(std::move(r).value());
      return Status::ok();
    }));
  }
  {
    auto st = db_->prepare(
        "SELECT m.incident_id, m.fingerprint FROM incident_members m "
        "JOIN incidents i ON i.id = m.incident_id WHERE i.retained = 1 "
        "ORDER BY m.incident_id, m.rowid");
    if (!st) return st.status();
    REFLEX_RETURN_IF_ERROR(each_row(*st, [&]() -> Status {
      snap.members.push_back({static_cast<uint64_t>(st->column_int64(0)), st->column_text(1)});
      return Status::ok();
    }));
  }
  {
    auto st = db_->prepare(
        "SELECT fingerprint, host, state, severity, since_ms, last_ms, incident_id FROM alerts "
        "WHERE retained = 1 ORDER BY fingerprint");
    if (!st) return st.status();
    REFLEX_RETURN_IF_ERROR(each_row(*st, [&]() -> Status {
      auto row = read_alert_record(*st);
      if (!row) return row.status();
      snap.alerts.push_back(std::move(row).value());
      return Status::ok();
    }));
  }
  return snap;
}

Result<std::optional<IncidentRow>> IncidentTables::incident(uint64_t id) {
  auto st =
      db_->prepare("SELECT " + std::string(kIncidentColumns) + " FROM incidents WHERE id = ?");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(static_cast<int64_t>(id)));
  auto row = st->step();
  if (!row) return row.status();
  if (!*row) return std::optional<IncidentRow>();
  auto r = read_incident(*st);
  if (!r) return r.status();
  return std::optional<IncidentRow>(std::move(r).value());
}

Result<std::vector<TimelineEntry>> IncidentTables::timeline(uint64_t incident_id) {
  auto st = db_->prepare(
      "SELECT at_ms, kind, actor, fingerprint, host, text, suppressed FROM incident_timeline "
      "WHERE incident_id = ? ORDER BY id");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(static_cast<int64_t>(incident_id)));
  std::vector<TimelineEntry> out;
  REFLEX_RETURN_IF_ERROR(each_row(*st, [&]() -> Status {
    auto kind = parse_timeline_kind(st->column_text_view(1));
    if (!kind) {
      return corrupt("incident_timeline of incident " + std::to_string(incident_id),
                     "unknown kind '" + st->column_text(1) + "'");
    }
    out.push_back(TimelineEntry{incident_id, st->column_int64(0), *kind, st->column_text(2),
                                st->column_text(3), st->column_text(4), st->column_text(5),
                                st->column_text(6)});
    return Status::ok();
  }));
  return out;
}

Result<std::vector<MemberRow>> IncidentTables::members(uint64_t incident_id) {
  auto st = db_->prepare(
      "SELECT fingerprint, host, joined_ms FROM incident_members WHERE incident_id = ? "
      "ORDER BY rowid");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(static_cast<int64_t>(incident_id)));
  std::vector<MemberRow> out;
  REFLEX_RETURN_IF_ERROR(each_row(*st, [&]() -> Status {
    out.push_back({incident_id, st->column_text(0), st->column_text(1), st->column_int64(2)});
    return Status::ok();
  }));
  return out;
}

Result<std::optional<AlertRow>> IncidentTables::alert(const std::string& fingerprint) {
  auto st = db_->prepare(
      "SELECT fingerprint, host, state, severity, since_ms, last_ms, incident_id, retained, "
      "source, rule, labels, annotations FROM alerts WHERE fingerprint = ?");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(fingerprint));
  auto more = st->step();
  if (!more) return more.status();
  if (!*more) return std::optional<AlertRow>();
  auto row = read_alert_record(*st);
  if (!row) return row.status();
  row->retained = st->column_int64(7) != 0;
  AlertRow::Detail d;
  d.source = st->column_text(8);
  d.rule = st->column_text(9);
  auto labels = parse_labels(st->column_text_view(10), "alerts row " + fingerprint + " labels");
  if (!labels) return labels.status();
  d.labels = std::move(labels).value();
  auto annotations =
      parse_labels(st->column_text_view(11), "alerts row " + fingerprint + " annotations");
  if (!annotations) return annotations.status();
  d.annotations = std::move(annotations).value();
  row->detail = std::move(d);
  return std::optional<AlertRow>(std::move(row).value());
}

Result<std::vector<AlertTransition>> IncidentTables::alert_history(const std::string& fingerprint) {
  auto st = db_->prepare(
      "SELECT source, from_state, to_state, severity, at_ms, recorded_ms FROM alert_history "
      "WHERE fingerprint = ? ORDER BY rowid");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(fingerprint));
  std::vector<AlertTransition> out;
  const std::string where = "alert_history of " + fingerprint;
  REFLEX_RETURN_IF_ERROR(each_row(*st, [&]() -> Status {
    AlertTransition t;
    t.fingerprint = fingerprint;
    t.source = st->column_text(0);
    if (!st->column_is_null(1)) {
      auto from = read_state(st->column_text_view(1), where);
      if (!from) return from.status();
      t.from = *from;
    }
    auto to = read_state(st->column_text_view(2), where);
    if (!to) return to.status();
    t.to = *to;
    auto sev = read_severity(st->column_text_view(3), where);
    if (!sev) return sev.status();
    t.severity = *sev;
    t.at_ms = st->column_int64(4);
    t.recorded_ms = st->column_int64(5);
    out.push_back(std::move(t));
    return Status::ok();
  }));
  return out;
}

Result<std::unique_ptr<IncidentStore>> IncidentStore::open(const std::string& path) {
  sqlite::OpenOptions options;
  options.synchronous = sqlite::Synchronous::kFull;
  auto db = sqlite::Database::open(path, options);
  if (!db) return db.status();
  REFLEX_RETURN_IF_ERROR(sqlite::migrate(*db, kMigrations));
  std::unique_ptr<IncidentStore> store(new IncidentStore(std::move(db).value()));
  auto tables = IncidentTables::prepare(store->db_);
  if (!tables) return tables.status();
  store->tables_.emplace(std::move(tables).value());
  return store;
}

Status IncidentStore::write(const Changes& changes) {
  if (changes.empty()) return Status::ok();
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return tx.status();
  REFLEX_RETURN_IF_ERROR(tables_->append(changes));
  return tx->commit();
}

}  // namespace reflex::hub::incidents
