#include "hub/pg_tables.h"

#include <string_view>
#include <tuple>

#include "hub/store_rows.h"

namespace reflex::hub {
namespace {

namespace irows = incidents::rows;

std::vector<std::string> split_columns(std::string_view columns) {
  std::vector<std::string> out;
  while (!columns.empty()) {
    const size_t comma = columns.find(',');
    std::string_view name = columns.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    out.emplace_back(name);
    if (comma == std::string_view::npos) break;
    columns.remove_prefix(comma + 1);
  }
  return out;
}

// "INSERT INTO table (columns) VALUES ($1, ..., $N)"
std::string insert_sql(std::string_view table, std::string_view columns) {
  const size_t n = split_columns(columns).size();
  std::string sql =
      "INSERT INTO " + std::string(table) + " (" + std::string(columns) + ") VALUES (";
  for (size_t i = 1; i <= n; ++i) sql += (i > 1 ? ", $" : "$") + std::to_string(i);
  return sql + ")";
}

// insert_sql() that replaces the row whose `key` conflicts, every other column taking the
// new value (SQLite's INSERT OR REPLACE, without deleting the row first).
std::string upsert_sql(std::string_view table, std::string_view columns, std::string_view key) {
  std::string sql =
      insert_sql(table, columns) + " ON CONFLICT (" + std::string(key) + ") DO UPDATE SET ";
  bool first = true;
  for (const auto& c : split_columns(columns)) {
    if (c == key) continue;
    sql += (first ? "" : ", ") + c + " = EXCLUDED." + c;
    first = false;
  }
  return sql;
}

template <class Tuple>
Result<int64_t> run_tuple(pg::Connection& conn, std::string_view sql, const Tuple& values) {
  return std::apply([&](const auto&... v) { return conn.run(sql, v...); }, values);
}

template <class Tuple>
Status exec_tuple(pg::Connection& conn, std::string_view sql, const Tuple& values) {
  auto n = run_tuple(conn, sql, values);
  return n ? Status::ok() : n.status();
}

// Reads every row with `read` (returning Result<T>).
template <class T, class F>
Result<std::vector<T>> read_all(const pg::Rows& rows, F&& read) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (int i = 0; i < rows.size(); ++i) {
    auto v = read(rows[i]);
    if (!v) return v.status();
    out.push_back(std::move(v).value());
  }
  return out;
}

// The first column of a one-row result.
Result<int64_t> scalar(pg::Connection& conn, std::string_view sql) {
  auto rows = conn.query(sql);
  if (!rows) return rows.status();
  if (rows->size() != 1) return Status::error("postgres", "expected one row: " + std::string(sql));
  return (*rows)[0].column_int64(0);
}

std::string select_sql(std::string_view columns, std::string_view rest) {
  return "SELECT " + std::string(columns) + " " + std::string(rest);
}

}  // namespace

// ---- incidents ----

Status PgIncidentTables::append(const incidents::Changes& ch,
                                const std::vector<const incidents::ExpiryWrite*>* ends) {
  static const std::string history = insert_sql(
      "alert_history", "fingerprint, source, from_state, to_state, severity, at_ms, recorded_ms");
  static const std::string incident = upsert_sql("incidents", irows::kIncidentColumns, "id");
  static const std::string member =
      insert_sql("incident_members", "incident_id, fingerprint, host, joined_ms");
  static const std::string timeline = insert_sql(
      "incident_timeline", "incident_id, at_ms, kind, actor, fingerprint, host, text, suppressed");
  for (size_t i = 0; i < ch.alerts.size(); ++i) {
    REFLEX_RETURN_IF_ERROR(write_alert(ch.alerts[i], ends ? (*ends)[i] : nullptr));
  }
  for (const auto& h : ch.history) {
    REFLEX_RETURN_IF_ERROR(exec_tuple(*conn_, history, irows::history_values(h)));
  }
  for (const auto& r : ch.incidents) {
    REFLEX_RETURN_IF_ERROR(exec_tuple(*conn_, incident, irows::incident_values(r)));
  }
  for (const auto& m : ch.members) {
    REFLEX_RETURN_IF_ERROR(exec_tuple(*conn_, member, irows::member_values(m)));
  }
  for (const auto& e : ch.timeline) {
    REFLEX_RETURN_IF_ERROR(exec_tuple(*conn_, timeline, irows::timeline_values(e)));
  }
  return Status::ok();
}

Status PgIncidentTables::write_alert(const incidents::AlertRow& row,
                                     const incidents::ExpiryWrite* end) {
  static constexpr std::string_view kColumns =
      "fingerprint, source, rule, labels, annotations, host, state, severity, since_ms, "
      "last_ms, incident_id, retained";
  static constexpr std::string_view kRecord =
      "UPDATE alerts SET host = $2, state = $3, severity = $4, since_ms = $5, last_ms = $6, "
      "incident_id = $7, retained = $8";
  if (!end) {
    static const std::string upsert = upsert_sql("alerts", kColumns, "fingerprint");
    static const std::string update = std::string(kRecord) + " WHERE fingerprint = $1";
    if (row.detail) return exec_tuple(*conn_, upsert, irows::alert_values(row, *row.detail));
    return exec_tuple(*conn_, update, irows::alert_record_values(row));
  }
  static const std::string upsert_end =
      upsert_sql("alerts", std::string(kColumns) + ", ends_at_ms, ends_by_timeout", "fingerprint");
  static const std::string update_end = std::string(kRecord) +
                                        ", ends_at_ms = $9, ends_by_timeout = $10 "
                                        "WHERE fingerprint = $1";
  const auto end_values = std::make_tuple(end->ends_at_ms, end->timeout);
  if (row.detail) {
    return exec_tuple(*conn_, upsert_end,
                      std::tuple_cat(irows::alert_values(row, *row.detail), end_values));
  }
  auto n =
      run_tuple(*conn_, update_end, std::tuple_cat(irows::alert_record_values(row), end_values));
  if (!n) return n.status();
  if (end->ends_at_ms && *n == 0) return incidents::no_alert_row(end->fingerprint);
  return Status::ok();
}

Result<incidents::EngineSnapshot> PgIncidentTables::load() {
  incidents::EngineSnapshot snap;
  auto next = scalar(*conn_, "SELECT COALESCE(MAX(id), 0) + 1 FROM incidents");
  if (!next) return next.status();
  snap.next_incident_id = static_cast<uint64_t>(*next);
  {
    auto rows = conn_->query(
        select_sql(irows::kIncidentColumns, "FROM incidents WHERE retained ORDER BY id"));
    if (!rows) return rows.status();
    auto incidents = read_all<incidents::IncidentRow>(
        *rows, [](const pg::Row& r) { return irows::read_incident(r); });
    if (!incidents) return incidents.status();
    snap.incidents = std::move(incidents).value();
  }
  {
    auto rows = conn_->query(
        "SELECT m.incident_id, m.fingerprint FROM incident_members m "
        "JOIN incidents i ON i.id = m.incident_id WHERE i.retained "
        "ORDER BY m.incident_id, m.seq");
    if (!rows) return rows.status();
    for (int i = 0; i < rows->size(); ++i) {
      const pg::Row r = (*rows)[i];
      snap.members.push_back({static_cast<uint64_t>(r.column_int64(0)), r.column_text(1)});
    }
  }
  {
    auto rows = conn_->query(select_sql(
        irows::kAlertColumns, "FROM alerts WHERE retained ORDER BY fingerprint COLLATE \"C\""));
    if (!rows) return rows.status();
    auto alerts = read_all<incidents::AlertRow>(
        *rows, [](const pg::Row& r) { return irows::read_alert_record(r); });
    if (!alerts) return alerts.status();
    snap.alerts = std::move(alerts).value();
  }
  return snap;
}

Result<std::vector<incidents::AlertRow>> PgIncidentTables::firing_alerts() {
  auto rows = conn_->query("SELECT " + std::string(irows::kAlertColumns) + ", " +
                           std::string(irows::kAlertDetailColumns) +
                           " FROM alerts WHERE retained AND state = 'firing' "
                           "ORDER BY fingerprint COLLATE \"C\"");
  if (!rows) return rows.status();
  return read_all<incidents::AlertRow>(*rows,
                                       [](const pg::Row& r) { return irows::read_alert(r); });
}

// ---- silences ----

Status PgSilenceTables::append(const std::vector<incidents::Silence>& rows) {
  static const std::string upsert = upsert_sql("silences", irows::kSilenceColumns, "id");
  for (const auto& s : rows) {
    REFLEX_RETURN_IF_ERROR(exec_tuple(*conn_, upsert, irows::silence_values(s)));
  }
  return Status::ok();
}

Result<incidents::SilenceSnapshot> PgSilenceTables::load(int64_t ended_after_ms) {
  incidents::SilenceSnapshot snap;
  auto next = scalar(*conn_, "SELECT COALESCE(MAX(id), 0) + 1 FROM silences");
  if (!next) return next.status();
  snap.next_id = static_cast<uint64_t>(*next);
  auto rows = conn_->query(
      select_sql(irows::kSilenceColumns, "FROM silences WHERE ends_at_ms > $1 ORDER BY id"),
      ended_after_ms);
  if (!rows) return rows.status();
  auto silences =
      read_all<incidents::Silence>(*rows, [](const pg::Row& r) { return irows::read_silence(r); });
  if (!silences) return silences.status();
  snap.silences = std::move(silences).value();
  return snap;
}

// ---- changes ----

Result<bool> PgChangeTables::append(const incidents::Change& c) {
  static const std::string insert =
      insert_sql("changes", irows::kChangeColumns) + " ON CONFLICT (id) DO NOTHING";
  if (c.id.empty()) return Status::error("invalid_argument", "a change to store needs an id");
  auto n = run_tuple(*conn_, insert, irows::change_values(c));
  if (!n) return n.status();
  return *n == 1;
}

Result<incidents::ChangeSnapshot> PgChangeTables::load(size_t per_service) {
  incidents::ChangeSnapshot snap;
  // SQLite's GLOB 'chg-[0-9]*' with a lenient CAST; here only ids that are wholly
  // "chg-<digits>" (and fit a bigint) count.
  auto next = scalar(*conn_,
                     "SELECT COALESCE(MAX(CAST(substr(id, 5) AS BIGINT)), 0) + 1 FROM changes "
                     "WHERE id ~ '^chg-[0-9]{1,18}$'");
  if (!next) return next.status();
  snap.next_seq = static_cast<uint64_t>(*next);
  auto rows =
      conn_->query(select_sql(irows::kChangeColumns,
                              "FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY service "
                              "ORDER BY at_ms DESC, seq DESC) AS rn FROM changes) AS latest "
                              "WHERE rn <= $1 ORDER BY at_ms, seq"),
                   static_cast<int64_t>(per_service));
  if (!rows) return rows.status();
  auto recent =
      read_all<incidents::Change>(*rows, [](const pg::Row& r) { return irows::read_change(r); });
  if (!recent) return recent.status();
  snap.recent = std::move(recent).value();
  return snap;
}

// ---- the ends of open external alerts, in alerts ----

Status PgExpiryTables::apply(const incidents::ExpiryWrite& write) {
  auto n =
      conn_->run("UPDATE alerts SET ends_at_ms = $2, ends_by_timeout = $3 WHERE fingerprint = $1",
                 write.fingerprint, write.ends_at_ms, write.timeout);
  if (!n) return n.status();
  if (write.ends_at_ms && *n == 0) return incidents::no_alert_row(write.fingerprint);
  return Status::ok();
}

Result<std::vector<incidents::ExpiryEnd>> PgExpiryTables::load() {
  auto rows = conn_->query(select_sql(irows::kExpiryEndColumns,
                                      "FROM alerts WHERE ends_at_ms IS NOT NULL "
                                      "ORDER BY ends_at_ms, fingerprint COLLATE \"C\""));
  if (!rows) return rows.status();
  return read_all<incidents::ExpiryEnd>(*rows, [](const pg::Row& r) {
    return Result<incidents::ExpiryEnd>(irows::read_expiry_end(r));
  });
}

Result<std::optional<incidents::ExpiryRow>> PgExpiryTables::row(const std::string& fingerprint) {
  auto rows =
      conn_->query(select_sql(irows::kExpiryColumns,
                              "FROM alerts WHERE fingerprint = $1 AND ends_at_ms IS NOT NULL"),
                   fingerprint);
  if (!rows) return rows.status();
  if (rows->empty()) return std::optional<incidents::ExpiryRow>();
  auto r = irows::read_expiry((*rows)[0]);
  if (!r) return r.status();
  return std::optional<incidents::ExpiryRow>(std::move(r).value());
}

// ---- incident_suspects ----

Status PgSuspectTables::append(const SuspectRecord& r) {
  static const std::string upsert = upsert_sql(
      "incident_suspects",
      "incident_id, change_id, on_dependency, lead_ms, summary, evidence, at_ms", "incident_id");
  return exec_tuple(*conn_, upsert, rows::suspect_values(r));
}

// ---- outbox ----

Status PgOutboxTables::insert(const OutboxRow& r) {
  static const std::string insert = insert_sql("outbox", rows::kOutboxColumns);
  return exec_tuple(*conn_, insert, rows::outbox_values(r));
}

Status PgOutboxTables::update(const OutboxUpdate& u) {
  auto n = run_tuple(*conn_,
                     "UPDATE outbox SET state = $2, attempts = $3, next_attempt_ms = $4, "
                     "last_error = $5, result = $6, updated_ms = $7 WHERE id = $1",
                     rows::outbox_update_values(u));
  if (!n) return n.status();
  if (*n != 1) return rows::missing_outbox_row(u.id);
  return Status::ok();
}

// ---- incident_workflows ----

Status PgWorkflowTables::upsert(const policy::IncidentWorkflow& w) {
  static const std::string upsert =
      upsert_sql("incident_workflows", "incident_id, active, doc, updated_ms", "incident_id");
  return exec_tuple(*conn_, upsert, rows::workflow_values(w));
}

Result<std::vector<policy::IncidentWorkflow>> PgWorkflowTables::load_active() {
  auto found = conn_->query(
      "SELECT doc, incident_id, updated_ms FROM incident_workflows WHERE active "
      "ORDER BY incident_id");
  if (!found) return found.status();
  return read_all<policy::IncidentWorkflow>(
      *found, [](const pg::Row& r) { return rows::read_workflow(r); });
}

}  // namespace reflex::hub
