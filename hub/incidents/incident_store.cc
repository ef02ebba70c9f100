#include "hub/incidents/incident_store.h"

#include "hub/incidents/incident_rows.h"

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

using rows::bind_values;
using rows::read_severity;
using rows::read_state;

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
      {&upsert_incident_, "INSERT OR REPLACE INTO incidents (" +
                              std::string(rows::kIncidentColumns) +
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

Status IncidentTables::append(const Changes& ch, const std::vector<const ExpiryWrite*>* ends) {
  for (size_t i = 0; i < ch.alerts.size(); ++i) {
    REFLEX_RETURN_IF_ERROR(write_alert(ch.alerts[i], ends ? (*ends)[i] : nullptr));
  }
  for (const auto& h : ch.history) {
    REFLEX_RETURN_IF_ERROR(bind_values(*insert_history_, rows::history_values(h)));
    REFLEX_RETURN_IF_ERROR(insert_history_->run());
  }
  for (const auto& row : ch.incidents) REFLEX_RETURN_IF_ERROR(write_incident(row));
  for (const auto& m : ch.members) {
    REFLEX_RETURN_IF_ERROR(bind_values(*insert_member_, rows::member_values(m)));
    REFLEX_RETURN_IF_ERROR(insert_member_->run());
  }
  for (const auto& e : ch.timeline) {
    REFLEX_RETURN_IF_ERROR(bind_values(*insert_timeline_, rows::timeline_values(e)));
    REFLEX_RETURN_IF_ERROR(insert_timeline_->run());
  }
  return Status::ok();
}

Status IncidentTables::write_alert(const AlertRow& row, const ExpiryWrite* end) {
  if (!end) {
    if (row.detail) {
      REFLEX_RETURN_IF_ERROR(bind_values(*upsert_alert_, rows::alert_values(row, *row.detail)));
      return upsert_alert_->run();
    }
    REFLEX_RETURN_IF_ERROR(bind_values(*update_alert_, rows::alert_record_values(row)));
    return update_alert_->run();
  }
  const auto end_values = std::make_tuple(end->ends_at_ms, end->timeout);
  if (row.detail) {
    if (!upsert_alert_end_) {
      auto st = prepared(*db_, R"sql(
INSERT INTO alerts (fingerprint, source, rule, labels, annotations, host, state, severity,
                    since_ms, last_ms, incident_id, retained, ends_at_ms, ends_by_timeout)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
ON CONFLICT(fingerprint) DO UPDATE SET source = ?2, rule = ?3, labels = ?4, annotations = ?5,
  host = ?6, state = ?7, severity = ?8, since_ms = ?9, last_ms = ?10, incident_id = ?11,
  retained = ?12, ends_at_ms = ?13, ends_by_timeout = ?14)sql");
      if (!st) return st.status();
      upsert_alert_end_ = std::move(st).value();
    }
    REFLEX_RETURN_IF_ERROR(bind_values(
        *upsert_alert_end_, std::tuple_cat(rows::alert_values(row, *row.detail), end_values)));
    return upsert_alert_end_->run();
  }
  if (!update_alert_end_) {
    auto st = prepared(*db_,
                       "UPDATE alerts SET host = ?2, state = ?3, severity = ?4, since_ms = ?5, "
                       "last_ms = ?6, incident_id = ?7, retained = ?8, ends_at_ms = ?9, "
                       "ends_by_timeout = ?10 WHERE fingerprint = ?1");
    if (!st) return st.status();
    update_alert_end_ = std::move(st).value();
  }
  REFLEX_RETURN_IF_ERROR(
      bind_values(*update_alert_end_, std::tuple_cat(rows::alert_record_values(row), end_values)));
  REFLEX_RETURN_IF_ERROR(update_alert_end_->run());
  if (end->ends_at_ms && db_->changes() == 0) return no_alert_row(end->fingerprint);
  return Status::ok();
}

Status IncidentTables::write_incident(const IncidentRow& r) {
  REFLEX_RETURN_IF_ERROR(bind_values(*upsert_incident_, rows::incident_values(r)));
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
    auto st = db_->prepare("SELECT " + std::string(rows::kIncidentColumns) +
                           " FROM incidents WHERE retained = 1 ORDER BY id");
    if (!st) return st.status();
    REFLEX_RETURN_IF_ERROR(each_row(*st, [&]() -> Status {
      auto r = rows::read_incident(*st);
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
      auto row = rows::read_alert_record(*st);
      if (!row) return row.status();
      snap.alerts.push_back(std::move(row).value());
      return Status::ok();
    }));
  }
  return snap;
}

Result<std::optional<IncidentRow>> IncidentTables::incident(uint64_t id) {
  auto st = db_->prepare("SELECT " + std::string(rows::kIncidentColumns) +
                         " FROM incidents WHERE id = ?");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(static_cast<int64_t>(id)));
  auto row = st->step();
  if (!row) return row.status();
  if (!*row) return std::optional<IncidentRow>();
  auto r = rows::read_incident(*st);
  if (!r) return r.status();
  return std::optional<IncidentRow>(std::move(r).value());
}

Result<std::vector<TimelineEntry>> IncidentTables::timeline(uint64_t incident_id) {
  auto st = db_->prepare("SELECT " + std::string(rows::kTimelineColumns) +
                         " FROM incident_timeline WHERE incident_id = ? ORDER BY id");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(static_cast<int64_t>(incident_id)));
  std::vector<TimelineEntry> out;
  REFLEX_RETURN_IF_ERROR(each_row(*st, [&]() -> Status {
    auto entry = rows::read_timeline_entry(*st, incident_id);
    if (!entry) return entry.status();
    out.push_back(std::move(entry).value());
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
    out.push_back(rows::read_member(*st, incident_id));
    return Status::ok();
  }));
  return out;
}

Result<std::optional<AlertRow>> IncidentTables::alert(const std::string& fingerprint) {
  auto st =
      db_->prepare("SELECT " + std::string(rows::kAlertColumns) + ", " +
                   std::string(rows::kAlertDetailColumns) + " FROM alerts WHERE fingerprint = ?");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(fingerprint));
  auto more = st->step();
  if (!more) return more.status();
  if (!*more) return std::optional<AlertRow>();
  auto row = rows::read_alert(*st);
  if (!row) return row.status();
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
