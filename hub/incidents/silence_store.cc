#include "hub/incidents/silence_store.h"

#include "hub/incidents/incident_rows.h"

namespace reflex::hub::incidents {

const std::string_view kSilenceSchemaSql = R"sql(
CREATE TABLE silences (
  id INTEGER PRIMARY KEY,
  matchers TEXT NOT NULL,      -- JSON array of matcher texts
  starts_at_ms INTEGER NOT NULL,
  ends_at_ms INTEGER NOT NULL, -- exclusive; set to the expiry time when expired early
  created_by TEXT NOT NULL,
  comment TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expired_by TEXT NOT NULL,    -- '' unless expired early
  reminded_ms INTEGER NOT NULL -- 0: no reminder yet
) STRICT;
CREATE INDEX silences_by_end ON silences(ends_at_ms);
)sql";

namespace {

using rows::kSilenceColumns;
using rows::read_silence;

}  // namespace

Result<SilenceTables> SilenceTables::prepare(sqlite::Database& db) {
  SilenceTables t(db);
  auto st = db.prepare("INSERT OR REPLACE INTO silences (" + std::string(kSilenceColumns) +
                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st) return st.status();
  t.upsert_ = std::make_unique<sqlite::Statement>(std::move(st).value());
  return t;
}

Status SilenceTables::append(const std::vector<Silence>& rows) {
  for (const auto& s : rows) {
    REFLEX_RETURN_IF_ERROR(rows::bind_values(*upsert_, rows::silence_values(s)));
    REFLEX_RETURN_IF_ERROR(upsert_->run());
  }
  return Status::ok();
}

Result<SilenceSnapshot> SilenceTables::load(int64_t ended_after_ms) {
  SilenceSnapshot snap;
  {
    auto st = db_->prepare("SELECT COALESCE(MAX(id), 0) + 1 FROM silences");
    if (!st) return st.status();
    auto row = st->step();
    if (!row) return row.status();
    snap.next_id = static_cast<uint64_t>(st->column_int64(0));
  }
  auto st = db_->prepare("SELECT " + std::string(kSilenceColumns) +
                         " FROM silences WHERE ends_at_ms > ? ORDER BY id");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(ended_after_ms));
  for (;;) {
    auto more = st->step();
    if (!more) return more.status();
    if (!*more) break;
    auto s = read_silence(*st);
    if (!s) return s.status();
    snap.silences.push_back(std::move(s).value());
  }
  return snap;
}

Result<std::optional<Silence>> SilenceTables::silence(uint64_t id) {
  auto st = db_->prepare("SELECT " + std::string(kSilenceColumns) + " FROM silences WHERE id = ?");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(static_cast<int64_t>(id)));
  auto more = st->step();
  if (!more) return more.status();
  if (!*more) return std::optional<Silence>();
  auto s = read_silence(*st);
  if (!s) return s.status();
  return std::optional<Silence>(std::move(s).value());
}

}  // namespace reflex::hub::incidents
