// What the PostgreSQL tests share: a server per test, and connections that must open.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "common/pg.h"
#include "common/status.h"
#include "tests/support/pg_server.h"

namespace reflex::testing {

// A throwaway server for this test. Without PostgreSQL 15 installed the test fails,
// saying what is missing (Catch2 v2 has no skip).
inline std::unique_ptr<PgServer> launch_pg(const PgServerOptions& options = {}) {
  auto server = PgServer::launch(options);
  if (!server) {
    FAIL("no PostgreSQL test server (" << server.status().code()
                                       << "): " << server.status().message());
    return nullptr;
  }
  return std::move(server).value();
}

inline void require_ok(const Status& status) {
  INFO(status.to_string());
  REQUIRE(status.is_ok());
}

inline pg::Connection connect_ok(const std::string& dsn) {
  auto conn = pg::Connection::open(dsn);
  INFO(conn.status().to_string());
  REQUIRE(conn.is_ok());
  return std::move(conn).value();
}

inline pg::Rows query_ok(pg::Connection& conn, std::string_view sql) {
  auto rows = conn.query(sql);
  INFO(rows.status().to_string());
  REQUIRE(rows.is_ok());
  return std::move(rows).value();
}

// The first column of the first row.
inline int64_t query_int(pg::Connection& conn, std::string_view sql) {
  pg::Rows rows = query_ok(conn, sql);
  REQUIRE(rows.size() >= 1);
  return rows[0].column_int64(0);
}

}  // namespace reflex::testing
