// Silences in SQLite, so API-created silences (and whether their reminder went out)
// survive a hub restart. Maintenance windows come from hub.yaml and are not stored.
//
// Table (kSilenceSchemaSql has the columns):
//   silences  one row per silence, upserted whenever SilenceSet returns its row (create,
//             expire, reminder). Matchers are a JSON array of their canonical text
//             (`["service=\"checkout\"", "env=~\"prod|staging\""]`), parsed back on load.
//
// Like IncidentTables, SilenceTables works inside a database and transaction someone
// else owns: the hub appends kSilenceSchemaSql to its migration list as its next
// version and writes silence rows in its own transactions. One thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/sqlite.h"
#include "common/status.h"
#include "hub/incidents/silences.h"

namespace reflex::hub::incidents {

extern const std::string_view kSilenceSchemaSql;

class SilenceTables {
 public:
  // Prepares the statements on `db`, whose schema must hold the table. `db` must outlive
  // the SilenceTables.
  static Result<SilenceTables> prepare(sqlite::Database& db);

  // Upserts the rows inside the caller's transaction, in order (the last row of an id wins).
  Status append(const std::vector<Silence>& rows);

  // What a restarted SilenceSet restores: silences that end after `ended_after_ms` (pass
  // now minus how long expired silences stay listed), and the next id, which is above
  // every id ever stored, so ids are never reused. A row that no longer parses is a
  // "corrupt" error naming it.
  Result<SilenceSnapshot> load(int64_t ended_after_ms);

  // One silence, however old (API lookups of expired silences).
  Result<std::optional<Silence>> silence(uint64_t id);

 private:
  explicit SilenceTables(sqlite::Database& db) : db_(&db) {}

  sqlite::Database* db_;
  std::unique_ptr<sqlite::Statement> upsert_;
};

}  // namespace reflex::hub::incidents
