// SQLite tables for what comes from outside: changes (deploys) and the end times of open
// external alerts, so both survive a hub restart.
//
//   changes          one row per change, append-only; `id` unique, so a redelivered
//                    webhook is stored once. hosts is a JSON array; strategy is
//                    deploy_strategy_name() ('' when not said).
//   alerts           the end of each open external alert, in two columns of its row
//                    (ends_at_ms, ends_by_timeout; NULL and 0 otherwise): set on every
//                    observe(), cleared when it resolves or expires. They were a table
//                    of their own (external_expiry, kExternalExpirySchemaSql) that
//                    repeated each alert's labels and annotations and cost every new
//                    alert a write at a random place in one more B-tree;
//                    kExpiryInAlertsSql moves them.
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
extern const std::string_view kExternalExpirySchemaSql;  // released; replaced by the next
// Needs the alerts table (kIncidentSchemaSql) and external_expiry; moves the ends into
// alerts and drops external_expiry.
extern const std::string_view kExpiryInAlertsSql;

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
  // `db` must hold the alerts table with its end columns and outlive this object.
  static Result<ExpiryTables> prepare(sqlite::Database& db);

  // Sets or clears an alert's end, inside the caller's transaction. Setting the end of
  // an alert without a row is refused ("not_found"): its expiry could not be read back.
  Status apply(const ExpiryWrite& write);
  // Every end, for ExternalExpiry::restore() (a scan of `alerts`, once per start).
  Result<std::vector<ExpiryEnd>> load();
  // One open alert's end with its latest send, for expired_signal(); none when no alert
  // with this fingerprint has an end.
  Result<std::optional<ExpiryRow>> row(const std::string& fingerprint);

 private:
  explicit ExpiryTables(sqlite::Database& db) : db_(&db) {}
  sqlite::Database* db_;
  std::unique_ptr<sqlite::Statement> set_;
  std::unique_ptr<sqlite::Statement> select_;
};

}  // namespace reflex::hub::incidents
