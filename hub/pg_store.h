// HubStore on PostgreSQL 15 (store.backend: postgres), for hubs that share one database.
//
// Same semantics as the SQLite store: write_batch() is one transaction, applied in the
// same order, and the loads return the same structs in the same order. The schema is
// hub/pg_schema.cc's, migrated on open; a database written by a newer build is refused
// ("schema_too_new"). The store uses one connection, from one thread at a time. When the
// connection is lost (a PostgreSQL restart or failover), a load or the BEGIN of a batch
// reconnects and runs again; a batch that loses it after BEGIN fails whole.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "hub/config.h"
#include "hub/outbox/outbox_reader.h"
#include "hub/silence_reader.h"
#include "hub/store.h"

namespace reflex::hub {

// cfg.dsn with the password added (read now from password_file, trailing newline
// trimmed, or from the environment variable password_env), as a libpq keyword, or a URI
// query parameter when the dsn is a URI. Errors ("config") name the key; the result holds
// the password, so it goes to libpq only, never to a message or log.
Result<std::string> pg_conninfo(const StoreConfig& cfg);

// Connects, migrates and prepares the store. Errors name the server (pg::redact_dsn's
// host:port/database form), never the password.
Result<std::unique_ptr<HubStore>> open_pg_store(const StoreConfig& cfg);

// The HTTP API's reader on the same database: cfg.pool connections of its own, opened
// now, shared by the API's threads (a call waits while all are busy). The store must
// have been opened (and migrated) first.
Result<std::unique_ptr<HubReader>> open_pg_reader(const StoreConfig& cfg);
// The outbox's and the silence API's readers: one connection each, opened now.
Result<std::unique_ptr<OutboxReader>> open_pg_outbox_reader(const StoreConfig& cfg);
Result<std::unique_ptr<SilenceReader>> open_pg_silence_reader(const StoreConfig& cfg);

}  // namespace reflex::hub
