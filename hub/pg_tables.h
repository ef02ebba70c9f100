// The hub store's tables in PostgreSQL (hub/pg_schema.cc), in the shape of their SQLite
// twins: PgIncidentTables is incidents::IncidentTables, PgSilenceTables is
// incidents::SilenceTables, and so on, with the same write and load semantics. What a
// column holds is shared with SQLite through hub/store_rows.h; only the SQL differs.
//
// Each works on a Connection (and, for writes, a transaction) someone else owns, which
// must outlive it and not move; one thread at a time, like the Connection. Text ordering
// is bytewise (COLLATE "C"), as SQLite's, whatever the database's collation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/pg.h"
#include "common/status.h"
#include "hub/store.h"

namespace reflex::hub {

class PgIncidentTables {
 public:
  explicit PgIncidentTables(pg::Connection& conn) : conn_(&conn) {}
  // Rows in order, so the last row of an alert or incident wins; `ends` as in
  // incidents::IncidentTables::append.
  Status append(const incidents::Changes& changes,
                const std::vector<const incidents::ExpiryWrite*>* ends = nullptr);
  // The retained incidents, their members, the retained alerts, the next incident id.
  Result<incidents::EngineSnapshot> load();
  // Retained firing alerts with detail, by fingerprint.
  Result<std::vector<incidents::AlertRow>> firing_alerts();

 private:
  Status write_alert(const incidents::AlertRow& row, const incidents::ExpiryWrite* end);
  pg::Connection* conn_;
};

class PgSilenceTables {
 public:
  explicit PgSilenceTables(pg::Connection& conn) : conn_(&conn) {}
  Status append(const std::vector<incidents::Silence>& rows);
  Result<incidents::SilenceSnapshot> load(int64_t ended_after_ms);

 private:
  pg::Connection* conn_;
};

class PgChangeTables {
 public:
  explicit PgChangeTables(pg::Connection& conn) : conn_(&conn) {}
  // False when a change with this id is already stored (nothing written).
  Result<bool> append(const incidents::Change& change);
  Result<incidents::ChangeSnapshot> load(size_t per_service);

 private:
  pg::Connection* conn_;
};

class PgExpiryTables {
 public:
  explicit PgExpiryTables(pg::Connection& conn) : conn_(&conn) {}
  Status apply(const incidents::ExpiryWrite& write);
  Result<std::vector<incidents::ExpiryEnd>> load();
  Result<std::optional<incidents::ExpiryRow>> row(const std::string& fingerprint);

 private:
  pg::Connection* conn_;
};

class PgSuspectTables {
 public:
  explicit PgSuspectTables(pg::Connection& conn) : conn_(&conn) {}
  // A second suspect for an incident replaces the first.
  Status append(const SuspectRecord& record);

 private:
  pg::Connection* conn_;
};

class PgOutboxTables {
 public:
  explicit PgOutboxTables(pg::Connection& conn) : conn_(&conn) {}
  // A duplicate id or idempotency key is a "constraint" error, as is an update of a row
  // that does not exist.
  Status insert(const OutboxRow& row);
  Status update(const OutboxUpdate& update);

 private:
  pg::Connection* conn_;
};

class PgWorkflowTables {
 public:
  explicit PgWorkflowTables(pg::Connection& conn) : conn_(&conn) {}
  Status upsert(const policy::IncidentWorkflow& w);
  Result<std::vector<policy::IncidentWorkflow>> load_active();

 private:
  pg::Connection* conn_;
};

}  // namespace reflex::hub
