// Incidents in SQLite: the record that outlives the engine's memory, and the state a
// restarted engine continues from.
//
// Tables (kIncidentSchemaSql has the columns):
//   alerts            current state per fingerprint, with labels and annotations; `retained`
//                     marks the alerts the engine holds (restored on load)
//   alert_history     one row per state or severity change, append-only
//   incidents         one row per incident, timers included as due times; `retained` as above
//   incident_members  (incident, alert) with host and joining time, append-only
//   incident_timeline everything that happened to an incident, append-only
// Labels are JSON objects; enums are stored by name (protocol's names, incident.h's).
//
// IncidentTables works inside a database and transaction someone else owns, so the hub
// can write an engine's Changes in the same group commit as its events; IncidentStore
// owns a file of its own (tests, tools). One thread at a time, like the Database.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sqlite.h"
#include "common/status.h"
#include "hub/incidents/external_expiry.h"
#include "hub/incidents/incident.h"

namespace reflex::hub::incidents {

// Creates the tables. IncidentStore applies it as migration 1 of its own file; the hub's
// store, taking these tables into its file, appends it to its migration list as its next
// version (a released migration is never edited).
extern const std::string_view kIncidentSchemaSql;

class IncidentTables {
 public:
  // Prepares the statements on `db`, whose schema must hold the tables. `db` must
  // outlive the IncidentTables.
  static Result<IncidentTables> prepare(sqlite::Database& db);

  // Writes `changes` inside the caller's transaction (no BEGIN or COMMIT here). Rows are
  // applied in order, so the last row of an alert or incident wins. `ends`, when given,
  // is index-aligned with changes.alerts (EndPlan::with_row): the end of an open external
  // alert that a row also sets or clears, in a schema that has those columns (the hub's).
  // Setting an end with a row that updates no stored alert is refused ("not_found").
  Status append(const Changes& changes, const std::vector<const ExpiryWrite*>* ends = nullptr);

  // What a restarted engine restores: the retained incidents, their members, the
  // retained alerts, and the next incident id.
  Result<EngineSnapshot> load();

  // Reading the record (API, reports), oldest first.
  Result<std::optional<IncidentRow>> incident(uint64_t id);
  Result<std::vector<TimelineEntry>> timeline(uint64_t incident_id);
  Result<std::vector<MemberRow>> members(uint64_t incident_id);
  Result<std::optional<AlertRow>> alert(const std::string& fingerprint);  // with detail
  Result<std::vector<AlertTransition>> alert_history(const std::string& fingerprint);

 private:
  explicit IncidentTables(sqlite::Database& db) : db_(&db) {}
  Status prepare_all();
  Status write_alert(const AlertRow& row, const ExpiryWrite* end);
  Status write_incident(const IncidentRow& row);

  sqlite::Database* db_;
  std::unique_ptr<sqlite::Statement> upsert_alert_;
  std::unique_ptr<sqlite::Statement> update_alert_;
  // The same two, setting the end too; prepared at their first use.
  std::unique_ptr<sqlite::Statement> upsert_alert_end_;
  std::unique_ptr<sqlite::Statement> update_alert_end_;
  std::unique_ptr<sqlite::Statement> insert_history_;
  std::unique_ptr<sqlite::Statement> upsert_incident_;
  std::unique_ptr<sqlite::Statement> insert_member_;
  std::unique_ptr<sqlite::Statement> insert_timeline_;
};

class IncidentStore {
 public:
  // Opens (creating) `path` with the hub's durability (WAL, synchronous=FULL) and applies
  // the schema. Errors name the file.
  static Result<std::unique_ptr<IncidentStore>> open(const std::string& path);

  // All of `changes` in one transaction, or nothing.
  Status write(const Changes& changes);
  IncidentTables& tables() { return *tables_; }

 private:
  explicit IncidentStore(sqlite::Database db) : db_(std::move(db)) {}
  sqlite::Database db_;
  std::optional<IncidentTables> tables_;
};

}  // namespace reflex::hub::incidents
