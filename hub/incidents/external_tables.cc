#include "hub/incidents/external_tables.h"

#include <nlohmann/json.hpp>

#include "hub/incidents/alert_signal.h"

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

namespace {

constexpr std::string_view kChangeColumns =
    "id, service, environment, version, hosts, strategy, active_color, commit_sha, author, "
    "link, source, at_ms";

Status corrupt(const std::string& where, const std::string& what) {
  return Status::error("corrupt", where + ": " + what);
}

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

// Columns in kChangeColumns order.
Result<Change> read_change(sqlite::Statement& st) {
  Change c;
  c.id = st.column_text(0);
  const std::string where = "changes row " + c.id;
  c.service = st.column_text(1);
  c.environment = st.column_text(2);
  c.version = st.column_text(3);
  auto hosts = nlohmann::json::parse(st.column_text_view(4), nullptr, false);
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

Result<std::vector<Change>> read_changes(sqlite::Statement& st) {
  std::vector<Change> out;
  REFLEX_RETURN_IF_ERROR(each_row(st, [&]() -> Status {
    auto c = read_change(st);
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
  REFLEX_RETURN_IF_ERROR(insert_->bind_all(c.id, c.service, c.environment, c.version,
                                           nlohmann::json(c.hosts).dump(),
                                           deploy_strategy_name(c.strategy), c.active_color,
                                           c.commit, c.author, c.link, c.source, c.at_ms));
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

namespace {
constexpr std::string_view kExpiryColumns =
    "fingerprint, source, rule, severity, host, labels, annotations, ends_at_ms, timeout";
}  // namespace

Result<ExpiryTables> ExpiryTables::prepare(sqlite::Database& db) {
  ExpiryTables t(db);
  auto upsert = prepared(db,
                         "INSERT OR REPLACE INTO external_expiry (fingerprint, source, rule, "
                         "severity, host, labels, annotations, ends_at_ms, timeout) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!upsert) return upsert.status();
  t.upsert_ = std::move(upsert).value();
  auto del = prepared(db, "DELETE FROM external_expiry WHERE fingerprint = ?");
  if (!del) return del.status();
  t.delete_ = std::move(del).value();
  auto select = prepared(
      db, "SELECT " + std::string(kExpiryColumns) + " FROM external_expiry WHERE fingerprint = ?");
  if (!select) return select.status();
  t.select_ = std::move(select).value();
  return t;
}

Status ExpiryTables::apply(const ExpiryWrite& write) {
  if (!write.row) return remove(write.fingerprint);
  const ExpiryRow& r = *write.row;
  REFLEX_RETURN_IF_ERROR(upsert_->bind_all(
      r.fingerprint, r.source, r.rule, std::string(protocol::severity_name(r.severity)), r.host,
      r.labels_json, r.annotations_json, r.ends_at_ms, r.timeout));
  return upsert_->run();
}

Status ExpiryTables::remove(const std::string& fingerprint) {
  REFLEX_RETURN_IF_ERROR(delete_->bind_all(fingerprint));
  return delete_->run();
}

namespace {

Result<ExpiryRow> read_expiry_row(sqlite::Statement& st) {
  ExpiryRow r;
  r.fingerprint = st.column_text(0);
  r.source = st.column_text(1);
  r.rule = st.column_text(2);
  auto sev = parse_severity(st.column_text_view(3));
  if (!sev) return corrupt("external_expiry row " + r.fingerprint, sev.status().message());
  r.severity = *sev;
  r.host = st.column_text(4);
  r.labels_json = st.column_text(5);
  r.annotations_json = st.column_text(6);
  r.ends_at_ms = st.column_int64(7);
  r.timeout = st.column_int64(8) != 0;
  return r;
}

}  // namespace

Result<std::vector<ExpiryRow>> ExpiryTables::load() {
  auto st = db_->prepare("SELECT " + std::string(kExpiryColumns) +
                         " FROM external_expiry ORDER BY ends_at_ms, fingerprint");
  if (!st) return st.status();
  std::vector<ExpiryRow> out;
  REFLEX_RETURN_IF_ERROR(each_row(*st, [&]() -> Status {
    auto r = read_expiry_row(*st);
    if (!r) return r.status();
    out.push_back(std::move(r).value());
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
    auto r = read_expiry_row(*select_);
    if (!r) return r.status();
    out = std::move(r).value();
  }
  select_->reset();  // let go of the read
  return out;
}

}  // namespace reflex::hub::incidents
