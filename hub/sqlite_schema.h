// The hub store's schema in SQLite's dialect (hub/sqlite_store.cc), the twin of
// hub/pg_schema.h: migration N means the same in both lists.
#pragma once

#include <span>

#include "common/sqlite.h"

namespace reflex::hub {

std::span<const sqlite::Migration> sqlite_migrations();

}  // namespace reflex::hub
