#include "hub/suspect_tables.h"

#include <nlohmann/json.hpp>

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
  auto st = db_->prepare(
      "SELECT s.change_id, s.on_dependency, s.lead_ms, s.summary, s.evidence, s.at_ms, "
      "c.service, c.environment, c.version, c.hosts, c.strategy, c.active_color, c.commit_sha, "
      "c.author, c.link, c.source, c.at_ms FROM incident_suspects s JOIN changes c "
      "ON c.id = s.change_id WHERE s.incident_id = ?");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(static_cast<int64_t>(incident_id)));
  auto row = st->step();
  if (!row) return row.status();
  if (!*row) return std::optional<SuspectRecord>();
  SuspectRecord r;
  r.incident_id = incident_id;
  incidents::Change& c = r.suspect.change;
  c.id = st->column_text(0);
  r.suspect.on_dependency = st->column_int64(1) != 0;
  r.suspect.lead_ms = st->column_int64(2);
  r.suspect.summary = st->column_text(3);
  r.suspect.evidence = st->column_text(4);
  r.at_ms = st->column_int64(5);
  c.service = st->column_text(6);
  c.environment = st->column_text(7);
  c.version = st->column_text(8);
  const auto hosts = nlohmann::json::parse(st->column_text_view(9), nullptr, false);
  if (hosts.is_array()) {
    for (const auto& h : hosts) {
      if (h.is_string()) c.hosts.push_back(h.get<std::string>());
    }
  }
  if (!st->column_text_view(10).empty()) {
    auto s = incidents::parse_deploy_strategy(st->column_text_view(10), "strategy");
    if (s) c.strategy = *s;
  }
  c.active_color = st->column_text(11);
  c.commit = st->column_text(12);
  c.author = st->column_text(13);
  c.link = st->column_text(14);
  c.source = st->column_text(15);
  c.at_ms = st->column_int64(16);
  return std::optional<SuspectRecord>(std::move(r));
}

}  // namespace reflex::hub
