#include "hub/suspect_tables.h"

#include "hub/store_rows.h"

namespace reflex::hub {

const std::string_view kSuspectsSchemaSql = R"sql(
CREATE TABLE incident_suspects (
  incident_id INTEGER PRIMARY KEY,
  change_id TEXT NOT NULL,       -- changes.id
  on_dependency INTEGER NOT NULL,
  lead_ms INTEGER NOT NULL,
  summary TEXT NOT NULL,
  evidence TEXT NOT NULL,
  at_ms INTEGER NOT NULL
) STRICT;
)sql";

Result<SuspectTables> SuspectTables::prepare(sqlite::Database& db) {
  SuspectTables t(db);
  auto upsert = db.prepare(
      "INSERT INTO incident_suspects (incident_id, change_id, on_dependency, lead_ms, summary, "
      "evidence, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(incident_id) DO UPDATE SET "
      "change_id = excluded.change_id, on_dependency = excluded.on_dependency, "
      "lead_ms = excluded.lead_ms, summary = excluded.summary, evidence = excluded.evidence, "
      "at_ms = excluded.at_ms");
  if (!upsert) return upsert.status();
  t.upsert_ = std::make_unique<sqlite::Statement>(std::move(upsert).value());
  return t;
}

Status SuspectTables::append(const SuspectRecord& r) {
  REFLEX_RETURN_IF_ERROR(rows::bind_values(*upsert_, rows::suspect_values(r)));
  return upsert_->run();
}

Result<std::optional<SuspectRecord>> SuspectTables::load(uint64_t incident_id) {
  auto st = db_->prepare("SELECT " + std::string(rows::kSuspectJoinColumns) +
                         " FROM incident_suspects s JOIN changes c ON c.id = s.change_id "
                         "WHERE s.incident_id = ?");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(static_cast<int64_t>(incident_id)));
  auto row = st->step();
  if (!row) return row.status();
  if (!*row) return std::optional<SuspectRecord>();
  return std::optional<SuspectRecord>(rows::read_suspect(*st, incident_id));
}

}  // namespace reflex::hub
