#include "hub/store_migrate.h"

#include <filesystem>

#include "common/pg.h"
#include "common/schema_version.h"
#include "common/sqlite.h"
#include "hub/pg_schema.h"
#include "hub/pg_store.h"
#include "hub/sqlite_schema.h"

namespace reflex::hub {
namespace {

// Runs the shared steps on either backend: read the version, refuse a newer one, apply.
template <class Db, class Migrations, class ReadVersion, class Migrate>
Result<SchemaReport> report_and_apply(const StoreConfig& cfg, Db& db, Migrations migrations,
                                      bool apply, ReadVersion read_version, Migrate migrate) {
  SchemaReport report;
  report.known = migrations.back().version;
  auto before = read_version(db);
  if (!before) return before.status();
  report.before = report.after = *before;
  if (report.before > report.known) return schema_too_new(cfg.where(), report.before, report.known);
  if (!apply || report.before == report.known) return report;
  REFLEX_RETURN_IF_ERROR(migrate(db, migrations));
  auto after = read_version(db);
  if (!after) return after.status();
  report.after = *after;
  return report;
}

Result<SchemaReport> migrate_postgres(const StoreConfig& cfg, bool apply) {
  auto conninfo = pg_conninfo(cfg);
  if (!conninfo) return conninfo.status();
  auto conn = pg::Connection::open(*conninfo);
  if (!conn) return conn.status();
  return report_and_apply(
      cfg, *conn, pg_migrations(), apply, [](pg::Connection& c) { return pg::schema_version(c); },
      [](pg::Connection& c, std::span<const pg::Migration> m) { return pg::migrate(c, m); });
}

Result<SchemaReport> migrate_sqlite(const StoreConfig& cfg, bool apply) {
  std::error_code ec;
  if (!apply && !std::filesystem::exists(cfg.path, ec)) {
    SchemaReport report;
    report.known = sqlite_migrations().back().version;
    return report;  // no file, no schema; and asking must not create one
  }
  sqlite::OpenOptions options;
  options.synchronous = sqlite::Synchronous::kFull;
  options.read_only = !apply;
  auto db = sqlite::Database::open(cfg.path, options);
  if (!db) return db.status();
  return report_and_apply(
      cfg, *db, sqlite_migrations(), apply,
      [](sqlite::Database& d) { return sqlite::schema_version(d); },
      [](sqlite::Database& d, std::span<const sqlite::Migration> m) {
        return sqlite::migrate(d, m);
      });
}

}  // namespace

Result<SchemaReport> migrate_store(const StoreConfig& cfg, bool apply) {
  return cfg.postgres() ? migrate_postgres(cfg, apply) : migrate_sqlite(cfg, apply);
}

}  // namespace reflex::hub
