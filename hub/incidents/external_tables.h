// SQLite tables for what comes from outside: changes (deploys) and the end times of open
// external alerts, so both survive a hub restart.
//
//   changes          one row per change, append-only; `id` unique, so a redelivered
//                    webhook is stored once. hosts is a JSON array; strategy is
//                    deploy_strategy_name() ('' when not said).
//   external_expiry  one row per open external alert (ExpiryRow): upserted on every
//                    observe(), deleted when it resolves or expires.
//
// Like IncidentTables: works inside a database and transaction someone else owns, one
// thread at a time. The hub's store appends each schema to its migration list as a new
// version (a released migration is never edited).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sqlite.h"
#include "common/status.h"
#include "hub/incidents/changes.h"
#include "hub/incidents/external_expiry.h"

namespace reflex::hub::incidents {

extern const std::string_view kChangesSchemaSql;
extern const std::string_view kExternalExpirySchemaSql;

// What a restarted hub loads into its ChangeLog.
struct ChangeSnapshot {
  std::vector<Change> recent;  // per service, the latest by at_ms; oldest first
  uint64_t next_seq = 1;       // after the highest "chg-<n>" ever stored
};

class ChangeTables {
 public:
  // `db` must hold the changes table and outlive this object.
  static Result<ChangeTables> prepare(sqlite::Database& db);

  // Inside the caller's transaction. False when a change with this id is already stored
  // (nothing written). The change must have an id (ChangeLog::add() gives one).
  Result<bool> append(const Change& change);

  // The latest `per_service` changes of every service, and the next id sequence.
  Result<ChangeSnapshot> load(size_t per_service);

  // For GET /api/v1/changes: newest first, at most `limit`; `service` "" for all;
  // only changes at or after `since_ms`.
  Result<std::vector<Change>> list(const std::string& service, int64_t since_ms, size_t limit);

 private:
  explicit ChangeTables(sqlite::Database& db) : db_(&db) {}
  sqlite::Database* db_;
  std::unique_ptr<sqlite::Statement> insert_;
};

class ExpiryTables {
 public:
  // `db` must hold the external_expiry table and outlive this object.
  static Result<ExpiryTables> prepare(sqlite::Database& db);

  // Upserts or deletes, inside the caller's transaction.
  Status apply(const ExpiryWrite& write);
  Status remove(const std::string& fingerprint);
  // Every row, for ExternalExpiry::restore().
  Result<std::vector<ExpiryRow>> load();
  // One alert's row (the one its latest observe() wrote), for expired_signal(); none
  // when no row has this fingerprint.
  Result<std::optional<ExpiryRow>> row(const std::string& fingerprint);

 private:
  explicit ExpiryTables(sqlite::Database& db) : db_(&db) {}
  sqlite::Database* db_;
  std::unique_ptr<sqlite::Statement> upsert_;
  std::unique_ptr<sqlite::Statement> delete_;
  std::unique_ptr<sqlite::Statement> select_;
};

}  // namespace reflex::hub::incidents
