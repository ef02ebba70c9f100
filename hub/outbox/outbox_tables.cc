#include "hub/outbox/outbox_tables.h"

#include <functional>

#include "hub/store_rows.h"

namespace reflex::hub {

const std::string_view kOutboxSchemaSql = R"sql(
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  integration TEXT NOT NULL,
  operation TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  incident_id INTEGER,             -- NULL: not about an incident
  payload TEXT NOT NULL,           -- JSON, without credentials
  state TEXT NOT NULL,             -- pending | sending | done | dead
  attempts INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  result TEXT NOT NULL,            -- JSON; "null" until done
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_by_state ON outbox(state, id);
)sql";

namespace {

const std::string kColumns(rows::kOutboxColumns);

using rows::bind_values;

}  // namespace

Result<OutboxTables> OutboxTables::prepare(sqlite::Database& db) {
  OutboxTables t(db);
  auto insert = db.prepare(std::string("INSERT INTO outbox (") + kColumns +
                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!insert) return insert.status();
  t.insert_ = std::make_unique<sqlite::Statement>(std::move(insert).value());
  auto update = db.prepare(
      "UPDATE outbox SET state = ?2, attempts = ?3, next_attempt_ms = ?4, last_error = ?5, "
      "result = ?6, updated_ms = ?7 WHERE id = ?1");
  if (!update) return update.status();
  t.update_ = std::make_unique<sqlite::Statement>(std::move(update).value());
  return t;
}

Status OutboxTables::insert(const OutboxRow& r) {
  REFLEX_RETURN_IF_ERROR(bind_values(*insert_, rows::outbox_values(r)));
  return insert_->run();
}

Status OutboxTables::update(const OutboxUpdate& u) {
  REFLEX_RETURN_IF_ERROR(bind_values(*update_, rows::outbox_update_values(u)));
  REFLEX_RETURN_IF_ERROR(update_->run());
  if (db_->changes() != 1) return rows::missing_outbox_row(u.id);
  return Status::ok();
}

Result<std::vector<OutboxRow>> OutboxTables::select(
    const std::string& where, const std::string& tail,
    const std::function<Status(sqlite::Statement&)>& bind) {
  auto st =
      db_->prepare(std::string("SELECT ") + kColumns + " FROM outbox WHERE " + where + " " + tail);
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(bind(*st));
  std::vector<OutboxRow> out;
  for (;;) {
    auto row = st->step();
    if (!row) return row.status();
    if (!*row) break;
    out.push_back(rows::read_outbox(*st));
  }
  return out;
}

Result<std::vector<OutboxRow>> OutboxTables::load_open() {
  return select("state IN ('pending', 'sending')", "ORDER BY id",
                [](sqlite::Statement&) { return Status::ok(); });
}

Result<std::optional<OutboxRow>> OutboxTables::find(uint64_t id) {
  auto rows = select("id = ?", "",
                     [id](sqlite::Statement& st) { return st.bind_all(static_cast<int64_t>(id)); });
  if (!rows) return rows.status();
  if (rows->empty()) return std::optional<OutboxRow>();
  return std::optional<OutboxRow>(std::move(rows->front()));
}

Result<std::optional<OutboxRow>> OutboxTables::find_by_key(const std::string& key) {
  auto rows =
      select("idempotency_key = ?", "", [&key](sqlite::Statement& st) { return st.bind_all(key); });
  if (!rows) return rows.status();
  if (rows->empty()) return std::optional<OutboxRow>();
  return std::optional<OutboxRow>(std::move(rows->front()));
}

Result<std::vector<OutboxRow>> OutboxTables::list(const OutboxQuery& q) {
  const std::string state = q.state ? outbox_state_name(*q.state) : "";
  return select("(?1 = '' OR state = ?1) AND (?2 < 0 OR incident_id = ?2)",
                "ORDER BY id DESC LIMIT ?3", [&](sqlite::Statement& st) {
                  return st.bind_all(state,
                                     q.incident_id ? static_cast<int64_t>(*q.incident_id) : -1,
                                     static_cast<int64_t>(q.limit));
                });
}

Result<uint64_t> OutboxTables::max_id() {
  auto st = db_->prepare("SELECT COALESCE(MAX(id), 0) FROM outbox");
  if (!st) return st.status();
  auto row = st->step();
  if (!row) return row.status();
  return static_cast<uint64_t>(st->column_int64(0));
}

}  // namespace reflex::hub
