// The hub store's schema in PostgreSQL's dialect (hub/pg_store.cc).
//
// One logical schema, two dialects: migration N here creates what SQLite's migration N
// creates (hub/sqlite_store.cc and the table modules it lists), with PostgreSQL's native
// types: BIGINT for every integer and time, BOOLEAN for flags, BYTEA for event frames;
// labels, lists and documents stay JSON text, written and read by the same code
// (hub/store_rows.h). Where SQLite orders rows by their implicit rowid (a history, a
// membership), the PostgreSQL table has an identity column `seq` that does the same.
// A released migration is never edited, only followed by a new one, with the same number
// in both lists.
#pragma once

#include <span>

#include "common/pg.h"

namespace reflex::hub {

std::span<const pg::Migration> pg_migrations();

}  // namespace reflex::hub
