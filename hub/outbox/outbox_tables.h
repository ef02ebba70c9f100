// SQLite table of the outbox (outbox_row.h), in the hub's own file:
//
//   outbox  one row per outbound call: id (assigned by the delivery stage), integration,
//           operation, idempotency_key (UNIQUE), incident_id (NULL: none), payload and
//           result (JSON text; result "null" until done), state (pending | sending |
//           done | dead), attempts, next_attempt_ms, last_error, created_ms, updated_ms.
//
// Like the other tables: works inside a database (and, for writes, a transaction)
// someone else owns, one thread at a time. The hub's store appends kOutboxSchemaSql to
// its migration list and writes rows through append(); the delivery stage and the API
// read through connections of their own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "common/status.h"
#include "hub/outbox/outbox_row.h"

namespace reflex::hub {

extern const std::string_view kOutboxSchemaSql;

class OutboxTables {
 public:
  // `db` must hold the outbox table and outlive this object.
  static Result<OutboxTables> prepare(sqlite::Database& db);

  // Inside the caller's transaction. A duplicate id or idempotency key is an error
  // ("constraint"): the delivery stage never writes one.
  Status insert(const OutboxRow& row);
  Status update(const OutboxUpdate& update);

  // Pending and sending rows, oldest first: what a (re)started delivery stage resumes.
  Result<std::vector<OutboxRow>> load_open();
  Result<std::optional<OutboxRow>> find(uint64_t id);
  Result<std::optional<OutboxRow>> find_by_key(const std::string& idempotency_key);
  Result<std::vector<OutboxRow>> list(const OutboxQuery& q);
  // The highest id ever stored, 0 for an empty table.
  Result<uint64_t> max_id();

 private:
  explicit OutboxTables(sqlite::Database& db) : db_(&db) {}
  Result<std::vector<OutboxRow>> select(const std::string& where, const std::string& tail,
                                        const std::function<Status(sqlite::Statement&)>& bind);

  sqlite::Database* db_;
  std::unique_ptr<sqlite::Statement> insert_;
  std::unique_ptr<sqlite::Statement> update_;
};

}  // namespace reflex::hub
