// `reflex-hub migrate`: the store's schema version, and bringing it up to this build's.
//
// A hub applies pending migrations itself when it opens its store (open_store()). Where
// several hubs share one PostgreSQL, or an upgrade should be a step of its own, the
// operator runs `reflex-hub migrate` first, or `reflex-hub migrate --check` to ask
// whether there is anything to apply.
#pragma once

#include "common/status.h"
#include "hub/config.h"

namespace reflex::hub {

struct SchemaReport {
  int before = 0;  // the version the store was at (0: no schema yet)
  int after = 0;   // the version it is at now; == before unless migrations were applied
  int known = 0;   // the newest version this build knows
  int pending() const { return known > after ? known - after : 0; }
};

// Reads the schema version of the store `cfg` names and, with `apply`, applies every
// migration it lacks, as open_store() would. Without `apply` nothing is written, not even
// a new SQLite file. A store newer than this build is refused ("schema_too_new").
Result<SchemaReport> migrate_store(const StoreConfig& cfg, bool apply);

}  // namespace reflex::hub
