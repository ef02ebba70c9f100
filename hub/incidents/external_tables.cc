#include "hub/incidents/external_tables.h"

#include "hub/incidents/incident_rows.h"

namespace reflex::hub::incidents {

const std::string_view kChangesSchemaSql = R"sql(
CREATE TABLE changes (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  service TEXT NOT NULL,
  environment TEXT NOT NULL,
  version TEXT NOT NULL,
  hosts TEXT NOT NULL,         -- JSON array of host names
  strategy TEXT NOT NULL,      -- '' | canary | blue-green | rolling
  active_color TEXT NOT NULL,
  commit_sha TEXT NOT NULL,
  author TEXT NOT NULL,
  link TEXT NOT NULL,
  source TEXT NOT NULL,
  at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX changes_by_service ON changes(service, at_ms);
CREATE INDEX changes_by_time ON changes(at_ms);
)sql";

const std::string_view kExternalExpirySchemaSql = R"sql(
CREATE TABLE external_expiry (
  fingerprint TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  rule TEXT NOT NULL,
  severity TEXT NOT NULL,      -- info | warning | high | critical
  host TEXT NOT NULL,
  labels TEXT NOT NULL,        -- JSON object
  annotations TEXT NOT NULL,   -- JSON object
  ends_at_ms INTEGER NOT NULL,
  timeout INTEGER NOT NULL     -- 1: the end came from resolve_timeout
) STRICT;
)sql";

const std::string_view kExpiryInAlertsSql = R"sql(
ALTER TABLE alerts ADD COLUMN ends_at_ms INTEGER;  -- an open external alert's end; else NULL
ALTER TABLE alerts ADD COLUMN ends_by_timeout INTEGER NOT NULL DEFAULT 0;  -- 1: resolve_timeout
UPDATE alerts SET ends_at_ms = e.ends_at_ms, ends_by_timeout = e.timeout
  FROM external_expiry AS e WHERE e.fingerprint = alerts.fingerprint;
DROP TABLE external_expiry;
)sql";

namespace {

using rows::kChangeColumns;
using rows::kExpiryColumns;
using rows::kExpiryEndColumns;

using rows::bind_values;

Result<std::unique_ptr<sqlite::Statement>> prepared(sqlite::Database& db, std::string_view sql) {
  auto st = db.prepare(sql);
  if (!st) return st.status();
  return std::make_unique<sqlite::Statement>(std::move(st).value());
}

template <class F>
Status each_row(sqlite::Statement& st, F&& row) {
  for (;;) {
    auto more = st.step();
    if (!more) return more.status();
    if (!*more) return Status::ok();
    REFLEX_RETURN_IF_ERROR(row());
  }
}

Result<std::vector<Change>> read_changes(sqlite::Statement& st) {
  std::vector<Change> out;
  REFLEX_RETURN_IF_ERROR(each_row(st, [&]() -> Status {
    auto c = rows::read_change(st);
    if (!c) return c.status();
    out.push_back(std::move(c).value());
    return Status::ok();
  }));
  return out;
}

}  // namespace

Result<ChangeTables> ChangeTables::prepare(sqlite::Database& db) {
  ChangeTables t(db);
  auto insert = prepared(db, "INSERT INTO changes (" + std::string(kChangeColumns) +
                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                 "ON CONFLICT(id) DO NOTHING");
  if (!insert) return insert.status();
  t.insert_ = std::move(insert).value();
  return t;
}

Result<bool> ChangeTables::append(const Change& c) {
  if (c.id.empty()) return Status::error("invalid_argument", "a change to store needs an id");
  REFLEX_RETURN_IF_ERROR(bind_values(*insert_, rows::change_values(c)));
  REFLEX_RETURN_IF_ERROR(insert_->run());
  return db_->changes() == 1;
}

Result<ChangeSnapshot> ChangeTables::load(size_t per_service) {
  ChangeSnapshot snap;
  {
    auto st = db_->prepare(
        "SELECT COALESCE(MAX(CAST(substr(id, 5) AS INTEGER)), 0) + 1 FROM changes "
        "WHERE id GLOB 'chg-[0-9]*'");
    if (!st) return st.status();
    auto row = st->step();
    if (!row) return row.status();
    snap.next_seq = static_cast<uint64_t>(st->column_int64(0));
  }
  auto st = db_->prepare("SELECT " + std::string(kChangeColumns) +
                         " FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY service "
                         "ORDER BY at_ms DESC, seq DESC) AS rn FROM changes) "
                         "WHERE rn <= ? ORDER BY at_ms, seq");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(static_cast<int64_t>(per_service)));
  auto recent = read_changes(*st);
  if (!recent) return recent.status();
  snap.recent = std::move(recent).value();
  return snap;
}

Result<std::vector<Change>> ChangeTables::list(const std::string& service, int64_t since_ms,
                                               size_t limit) {
  auto st = db_->prepare("SELECT " + std::string(kChangeColumns) +
                         " FROM changes WHERE (?1 = '' OR service = ?1) AND at_ms >= ?2 "
                         "ORDER BY at_ms DESC, seq DESC LIMIT ?3");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(service, since_ms, static_cast<int64_t>(limit)));
  return read_changes(*st);
}

Result<ExpiryTables> ExpiryTables::prepare(sqlite::Database& db) {
  ExpiryTables t(db);
  auto set = prepared(db,
                      "UPDATE alerts SET ends_at_ms = ?2, ends_by_timeout = ?3 "
                      "WHERE fingerprint = ?1");
  if (!set) return set.status();
  t.set_ = std::move(set).value();
  auto select = prepared(db, "SELECT " + std::string(kExpiryColumns) +
                                 " FROM alerts WHERE fingerprint = ? AND ends_at_ms IS NOT NULL");
  if (!select) return select.status();
  t.select_ = std::move(select).value();
  return t;
}

Status ExpiryTables::apply(const ExpiryWrite& write) {
  REFLEX_RETURN_IF_ERROR(set_->bind_all(write.fingerprint, write.ends_at_ms, write.timeout));
  REFLEX_RETURN_IF_ERROR(set_->run());
  if (write.ends_at_ms && db_->changes() == 0) return no_alert_row(write.fingerprint);
  return Status::ok();
}

Result<std::vector<ExpiryEnd>> ExpiryTables::load() {
  auto st =
      db_->prepare("SELECT " + std::string(kExpiryEndColumns) +
                   " FROM alerts WHERE ends_at_ms IS NOT NULL ORDER BY ends_at_ms, fingerprint");
  if (!st) return st.status();
  std::vector<ExpiryEnd> out;
  REFLEX_RETURN_IF_ERROR(each_row(*st, [&]() -> Status {
    out.push_back(rows::read_expiry_end(*st));
    return Status::ok();
  }));
  return out;
}

Result<std::optional<ExpiryRow>> ExpiryTables::row(const std::string& fingerprint) {
  REFLEX_RETURN_IF_ERROR(select_->bind_all(fingerprint));
  auto found = select_->step();
  if (!found) return found.status();
  std::optional<ExpiryRow> out;
  if (*found) {
    auto r = rows::read_expiry(*select_);
    if (!r) return r.status();
    out = std::move(r).value();
  }
  select_->reset();  // let go of the read
  return out;
}

}  // namespace reflex::hub::incidents
