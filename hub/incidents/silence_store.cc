#include "hub/incidents/silence_store.h"

#include <nlohmann/json.hpp>

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

constexpr std::string_view kColumns =
    "id, matchers, starts_at_ms, ends_at_ms, created_by, comment, created_ms, expired_by, "
    "reminded_ms";

std::string matchers_json(const Matchers& matchers) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& m : matchers) j.push_back(m.to_string());
  return j.dump();
}

Result<Silence> read_row(sqlite::Statement& st) {
  Silence s;
  s.id = static_cast<uint64_t>(st.column_int64(0));
  const std::string where = "silences row " + std::to_string(s.id) + " matchers";
  auto j = nlohmann::json::parse(st.column_text_view(1), nullptr, false);
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

}  // namespace

Result<SilenceTables> SilenceTables::prepare(sqlite::Database& db) {
  SilenceTables t(db);
  auto st = db.prepare("INSERT OR REPLACE INTO silences (" + std::string(kColumns) +
                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st) return st.status();
  t.upsert_ = std::make_unique<sqlite::Statement>(std::move(st).value());
  return t;
}

Status SilenceTables::append(const std::vector<Silence>& rows) {
  for (const auto& s : rows) {
    REFLEX_RETURN_IF_ERROR(upsert_->bind_all(static_cast<int64_t>(s.id), matchers_json(s.matchers),
                                             s.starts_at_ms, s.ends_at_ms, s.created_by, s.comment,
                                             s.created_ms, s.expired_by, s.reminded_ms));
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
  auto st = db_->prepare("SELECT " + std::string(kColumns) +
                         " FROM silences WHERE ends_at_ms > ? ORDER BY id");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(ended_after_ms));
  for (;;) {
    auto more = st->step();
    if (!more) return more.status();
    if (!*more) break;
    auto s = read_row(*st);
    if (!s) return s.status();
    snap.silences.push_back(std::move(s).value());
  }
  return snap;
}

Result<std::optional<Silence>> SilenceTables::silence(uint64_t id) {
  auto st = db_->prepare("SELECT " + std::string(kColumns) + " FROM silences WHERE id = ?");
  if (!st) return st.status();
  REFLEX_RETURN_IF_ERROR(st->bind_all(static_cast<int64_t>(id)));
  auto more = st->step();
  if (!more) return more.status();
  if (!*more) return std::optional<Silence>();
  auto s = read_row(*st);
  if (!s) return s.status();
  return std::optional<Silence>(std::move(s).value());
}

}  // namespace reflex::hub::incidents
