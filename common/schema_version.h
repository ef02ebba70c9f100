// The one refusal of a database written by a newer release: both stores' migrate()
// (common/sqlite.h, common/pg.h) and `reflex-hub migrate --check` say it alike.
#pragma once

#include <string>

#include "common/status.h"

namespace reflex {

// `where` names the database (a file, or a server as host:port/database).
inline Status schema_too_new(const std::string& where, int found, int newest) {
  return Status::error("schema_too_new", where + ": schema version " + std::to_string(found) +
                                             " is newer than the newest this build knows (" +
                                             std::to_string(newest) +
                                             "); it was written by a newer release");
}

}  // namespace reflex
