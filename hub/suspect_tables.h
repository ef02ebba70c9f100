// SQLite table of the suspects the hub named for incidents (the change that probably
// caused each one, change_suspect.h), in the hub's own file beside the changes table:
//
//   incident_suspects  one row per incident that had a suspect when it opened:
//                      change_id (a row of `changes`), on_dependency, lead_ms, summary,
//                      evidence, at_ms (hub clock, when it was named).
//
// Like ChangeTables: works inside a database and transaction someone else owns, one
// thread at a time. The hub's store appends kSuspectsSchemaSql to its migration list.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "common/sqlite.h"
#include "common/status.h"
#include "hub/store.h"

namespace reflex::hub {

extern const std::string_view kSuspectsSchemaSql;

class SuspectTables {
 public:
  // `db` must hold the incident_suspects and changes tables and outlive this object.
  static Result<SuspectTables> prepare(sqlite::Database& db);

  // Inside the caller's transaction; a second suspect for an incident replaces the first.
  Status append(const SuspectRecord& record);
  // The incident's suspect with its change as stored; nullopt when it has none.
  Result<std::optional<SuspectRecord>> load(uint64_t incident_id);

 private:
  explicit SuspectTables(sqlite::Database& db) : db_(&db) {}
  sqlite::Database* db_;
  std::unique_ptr<sqlite::Statement> upsert_;
};

}  // namespace reflex::hub
