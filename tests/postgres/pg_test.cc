#include "common/pg.h"

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <latch>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/postgres/pg_fixture.h"

using namespace reflex::pg;
using namespace reflex::testing;
using namespace std::string_literals;

TEST_CASE("pg: every parameter type reads back as it was bound, NULL included") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  require_ok(conn.exec(
      "CREATE TABLE t (i bigint, d double precision, s text, b bytea, f boolean, n bigint)"));

  const std::vector<uint8_t> bytes = {0x00, 0xff, 0x5c, 0x27, 0x00, 0x78};
  const std::string text = "it's \"quoted\", caf\xc3\xa9, back\\slash";
  auto inserted =
      conn.run("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6)", std::numeric_limits<int64_t>::min(),
               0.1, text, bytes, true, std::optional<int64_t>());
  INFO(inserted.status().to_string());
  REQUIRE(inserted.is_ok());
  CHECK(*inserted == 1);
  auto second =
      conn.run("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6)", std::numeric_limits<int64_t>::max(),
               -1.5e300, ""s, std::vector<uint8_t>{}, false, std::optional<int64_t>(7));
  REQUIRE(second.is_ok());
  auto third = conn.run("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6)", std::nullopt,
                        std::numeric_limits<double>::infinity(), std::optional<std::string>(),
                        std::nullopt, std::optional<bool>(), int32_t{-3});
  REQUIRE(third.is_ok());

  Rows rows = query_ok(conn, "SELECT i, d, s, b, f, n FROM t ORDER BY i NULLS LAST");
  REQUIRE(rows.size() == 3);
  REQUIRE(rows.column_count() == 6);

  Row first = rows[0];
  CHECK(first.column_int64(0) == std::numeric_limits<int64_t>::min());
  CHECK(first.column_double(1) == 0.1);
  CHECK(first.column_text(2) == text);
  CHECK(first.column_blob(3) == bytes);
  CHECK(first.column_bool(4));
  CHECK(first.column_is_null(5));
  CHECK(!first.column_is_null(3));

  Row max = rows[1];
  CHECK(max.column_int64(0) == std::numeric_limits<int64_t>::max());
  CHECK(max.column_double(1) == -1.5e300);
  CHECK(max.column_text(2).empty());
  CHECK(!max.column_is_null(2));  // '' is not NULL
  CHECK(max.column_blob(3).empty());
  CHECK(!max.column_is_null(3));  // an empty blob is not NULL
  CHECK(!max.column_bool(4));
  CHECK(max.column_int64(5) == 7);

  Row nulls = rows[2];
  CHECK(nulls.column_is_null(0));
  CHECK(nulls.column_int64(0) == 0);
  CHECK(std::isinf(nulls.column_double(1)));
  CHECK(nulls.column_is_null(2));
  CHECK(nulls.column_is_null(3));
  CHECK(nulls.column_is_null(4));
  CHECK(nulls.column_int64(5) == -3);
}

TEST_CASE("pg: a text parameter is typed by where it is used") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  auto rows = conn.query("SELECT extract(epoch FROM $1::timestamptz)::bigint, $2::jsonb ->> 'k'",
                         "2026-01-01 00:00:00+00", R"({"k": "v"})");
  INFO(rows.status().to_string());
  REQUIRE(rows.is_ok());
  CHECK((*rows)[0].column_int64(0) == 1767225600);
  CHECK((*rows)[0].column_text(1) == "v");
}

TEST_CASE("pg: a wrong number of arguments is a misuse error and the session stays usable") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());

  auto too_few = conn.query("SELECT $1::int + $2::int", 1);
  REQUIRE(!too_few.is_ok());
  CHECK(too_few.status().code() == "misuse");
  CHECK_THAT(too_few.status().message(), Catch::Contains("takes 2 parameters, 1 given"));

  auto too_many = conn.query("SELECT $1::int", 1, 2);
  REQUIRE(!too_many.is_ok());
  CHECK(too_many.status().code() == "misuse");

  auto none = conn.query("SELECT $1::int");
  REQUIRE(!none.is_ok());
  CHECK(none.status().code() == "misuse");

  auto gap = conn.query("SELECT $2::int", 1);  // $1 unused still counts
  CHECK(gap.status().code() == "misuse");

  CHECK(!conn.broken());
  CHECK(query_int(conn, "SELECT 41 + 1") == 42);
}

TEST_CASE("pg: a $N inside literals, quoted names, comments or dollar quotes is no parameter") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  auto rows = conn.query(
      "SELECT '$2' AS \"$3\", $$ $4 $$, $tag$ $5 $tag$, E'\\' $6', 'it''s $7', $1::int"
      " -- $8\n /* $9 /* $10 */ $11 */",
      7);
  INFO(rows.status().to_string());
  REQUIRE(rows.is_ok());
  CHECK((*rows)[0].column_text(0) == "$2");
  CHECK((*rows)[0].column_text(3) == "' $6");
  CHECK((*rows)[0].column_int64(5) == 7);
}

TEST_CASE("pg: text holding a NUL byte is refused rather than cut short") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  auto rows = conn.query("SELECT $1::text, $2::text", "fine", "a\0b"s);
  REQUIRE(!rows.is_ok());
  CHECK(rows.status().code() == "misuse");
  CHECK_THAT(rows.status().message(), Catch::Contains("$2"));
}

TEST_CASE("pg: a duplicate key is a constraint error naming the constraint") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  require_ok(conn.exec("CREATE TABLE agents (id text CONSTRAINT agents_id_unique PRIMARY KEY)"));
  REQUIRE(conn.run("INSERT INTO agents VALUES ($1)", "web-1").is_ok());
  auto again = conn.run("INSERT INTO agents VALUES ($1)", "web-1");
  REQUIRE(!again.is_ok());
  CHECK(again.status().code() == "constraint");
  CHECK_THAT(again.status().message(), Catch::Contains("agents_id_unique"));
  CHECK_THAT(again.status().message(), Catch::Contains("SQLSTATE 23505"));
}

TEST_CASE("pg: an SQL error names the server, the statement and the problem") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  auto rows = conn.query("SELECT id FROM no_such_table WHERE id = $1", 1);
  REQUIRE(!rows.is_ok());
  const std::string& message = rows.status().message();
  CHECK(rows.status().code() == "sql");
  CHECK_THAT(message, Catch::Contains("no_such_table"));
  CHECK_THAT(message, Catch::Contains("does not exist"));
  CHECK_THAT(message, Catch::Contains("42P01"));
  CHECK_THAT(message, Catch::StartsWith(server->socket_dir() + ":" +
                                        std::to_string(server->port()) + "/reflex_test: "));

  auto syntax = conn.exec("CREATE TABLE broken (");
  REQUIRE(!syntax.is_ok());
  CHECK(syntax.code() == "sql");
  CHECK_THAT(syntax.message(), Catch::Contains("syntax error"));
}

TEST_CASE("pg: exec runs several statements and stops at the first failure") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  require_ok(
      conn.exec("CREATE TABLE a (x int); CREATE TABLE b (x int); INSERT INTO a VALUES (1);"));
  CHECK(query_int(conn, "SELECT count(*) FROM a") == 1);
  // One implicit transaction: the insert before the failure is undone too.
  auto failed = conn.exec("INSERT INTO a VALUES (2); INSERT INTO missing VALUES (3);");
  REQUIRE(!failed.is_ok());
  CHECK(failed.code() == "sql");
  CHECK(query_int(conn, "SELECT count(*) FROM a") == 1);
  CHECK(conn.exec(" -- nothing\n").code() == "misuse");
}

TEST_CASE("pg: a transaction rolls back when it goes out of scope without commit") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  require_ok(conn.exec("CREATE TABLE t (x int)"));
  {
    auto tx = Transaction::begin(conn);
    REQUIRE(tx.is_ok());
    CHECK(conn.in_transaction());
    REQUIRE(conn.run("INSERT INTO t VALUES ($1)", 1).is_ok());
  }
  CHECK(!conn.in_transaction());
  CHECK(query_int(conn, "SELECT count(*) FROM t") == 0);
  {
    auto tx = Transaction::begin(conn);
    REQUIRE(tx.is_ok());
    REQUIRE(conn.run("INSERT INTO t VALUES ($1)", 2).is_ok());
    require_ok(tx->commit());
    auto twice = tx->commit();
    CHECK(twice.code() == "misuse");
  }
  CHECK(query_int(conn, "SELECT sum(x) FROM t") == 2);
}

TEST_CASE("pg: commit after a failed statement fails and nothing of the transaction stays") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  require_ok(conn.exec("CREATE TABLE t (x int PRIMARY KEY)"));
  {
    auto tx = Transaction::begin(conn);
    REQUIRE(tx.is_ok());
    REQUIRE(conn.run("INSERT INTO t VALUES ($1)", 1).is_ok());
    CHECK(conn.run("INSERT INTO t VALUES ($1)", 1).status().code() == "constraint");
    auto commit = tx->commit();
    REQUIRE(!commit.is_ok());
    CHECK_THAT(commit.message(), Catch::Contains("failed"));
  }
  CHECK(!conn.in_transaction());
  CHECK(query_int(conn, "SELECT count(*) FROM t") == 0);
  auto nested = Transaction::begin(conn);
  REQUIRE(nested.is_ok());
  CHECK(Transaction::begin(conn).status().code() == "misuse");
}

namespace {

// Migration 2 leaves a row per application, so a second application would show.
const std::array<Migration, 2> kTwo = {{
    {1, "CREATE TABLE agents (id text PRIMARY KEY)"},
    {2, "CREATE TABLE applied (version int); INSERT INTO applied VALUES (2);"},
}};
const std::array<Migration, 3> kThree = {{
    kTwo[0],
    kTwo[1],
    {3, "ALTER TABLE agents ADD COLUMN hostname text; INSERT INTO applied VALUES (3);"},
}};

}  // namespace

TEST_CASE("pg: migrate applies each migration once and records its version") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  auto fresh = schema_version(conn);
  REQUIRE(fresh.is_ok());
  CHECK(*fresh == 0);

  require_ok(migrate(conn, kTwo));
  CHECK(*schema_version(conn) == 2);
  require_ok(migrate(conn, kTwo));
  CHECK(query_int(conn, "SELECT count(*) FROM applied") == 1);
  CHECK(query_int(conn, "SELECT count(*) FROM schema_migrations") == 2);

  require_ok(migrate(conn, kThree));
  CHECK(*schema_version(conn) == 3);
  CHECK(query_int(conn, "SELECT count(*) FROM applied") == 2);
  require_ok(conn.exec("INSERT INTO agents (id, hostname) VALUES ('a', 'h')"));
}

TEST_CASE("pg: migrate refuses a database written by a newer build") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  require_ok(migrate(conn, kThree));
  auto older = migrate(conn, kTwo);
  REQUIRE(!older.is_ok());
  CHECK(older.code() == "schema_too_new");
  CHECK_THAT(older.message(), Catch::Contains("schema version 3"));
  CHECK_THAT(older.message(), Catch::Contains("(2)"));
}

TEST_CASE("pg: a failing migration leaves the database at the last complete version") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  const std::array<Migration, 2> bad = {{
      kTwo[0],
      {2, "CREATE TABLE half (x int); SELECT * FROM no_such_table;"},
  }};
  auto status = migrate(conn, bad);
  REQUIRE(!status.is_ok());
  CHECK(status.code() == "sql");
  CHECK_THAT(status.message(), Catch::Contains("migration 2"));
  CHECK(*schema_version(conn) == 1);
  CHECK(query_int(conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'half'") == 0);

  const std::array<Migration, 2> unordered = {{{2, "SELECT 1"}, {1, "SELECT 1"}}};
  CHECK(migrate(conn, unordered).code() == "misuse");
}

TEST_CASE("pg: two processes migrating at once both succeed and apply each migration once") {
  auto server = launch_pg();
  // The sleep holds the first migrator inside migration 1 long enough that the second
  // has read version 0 too: without the lock both would apply it.
  const std::array<Migration, 2> slow = {{
      {1, "CREATE TABLE agents (id text PRIMARY KEY); SELECT pg_sleep(0.3);"},
      {2, "CREATE TABLE applied (version int); INSERT INTO applied VALUES (2);"},
  }};
  Connection a = connect_ok(server->dsn());
  Connection b = connect_ok(server->dsn());
  reflex::Status status_a, status_b;
  std::latch start(2);
  std::thread ta([&] {
    start.arrive_and_wait();
    status_a = migrate(a, slow);
  });
  std::thread tb([&] {
    start.arrive_and_wait();
    status_b = migrate(b, slow);
  });
  ta.join();
  tb.join();
  require_ok(status_a);
  require_ok(status_b);
  Connection check = connect_ok(server->dsn());
  CHECK(*schema_version(check) == 2);
  CHECK(query_int(check, "SELECT count(*) FROM applied") == 1);
  CHECK(query_int(check, "SELECT count(*) FROM schema_migrations") == 2);
}

TEST_CASE("pg: the password never appears in an error or a redacted dsn") {
  auto server = launch_pg();
  const std::string secret = "s3cr3t-Pa55";

  auto missing = Connection::open(server->dsn_for("no_such_db") + " password=" + secret);
  REQUIRE(!missing.is_ok());
  CHECK(missing.status().code() == "connection");
  CHECK_THAT(missing.status().message(), Catch::Contains("no_such_db"));
  CHECK_THAT(missing.status().message(), !Catch::Contains(secret));

  auto malformed = Connection::open("host=/tmp password=" + secret + " dbname");
  REQUIRE(!malformed.is_ok());
  CHECK(malformed.status().code() == "config");
  CHECK_THAT(malformed.status().message(), !Catch::Contains(secret));

  auto misspelt = Connection::open("host=/tmp pasword=" + secret);
  REQUIRE(!misspelt.is_ok());
  CHECK_THAT(misspelt.status().message(), Catch::Contains("pasword"));
  CHECK_THAT(misspelt.status().message(), !Catch::Contains(secret));

  CHECK(redact_dsn("host=db password=" + secret + " dbname=reflex") ==
        "host=db password=*** dbname=reflex");
  CHECK(redact_dsn("host=db password = 'with space \\' " + secret + "' user=r") ==
        "host=db password = *** user=r");
  CHECK(redact_dsn("postgresql://reflex:" + secret + "@db:5432/reflex?sslmode=require") ==
        "postgresql://reflex:***@db:5432/reflex?sslmode=require");
  CHECK(redact_dsn("postgres://db/reflex?user=r&password=" + secret + "&sslmode=disable") ==
        "postgres://db/reflex?user=r&password=***&sslmode=disable");
  CHECK(redact_dsn("host=db dbname=reflex") == "host=db dbname=reflex");
}

TEST_CASE("pg: a connection comes back with reset() after PostgreSQL restarts") {
  auto server = launch_pg();
  Connection conn = connect_ok(server->dsn());
  require_ok(conn.exec("CREATE TABLE t (x int); INSERT INTO t VALUES (1);"));

  require_ok(server->restart());
  auto lost = conn.query("SELECT count(*) FROM t");
  REQUIRE(!lost.is_ok());
  INFO(lost.status().to_string());
  CHECK(lost.status().code() == "connection");
  CHECK(conn.broken());

  require_ok(conn.reset());
  CHECK(!conn.broken());
  CHECK(query_int(conn, "SELECT count(*) FROM t") == 1);  // committed before the crash

  require_ok(server->stop());
  CHECK(conn.query("SELECT 1").status().code() == "connection");
  auto down = conn.reset();
  CHECK(down.code() == "connection");
  require_ok(server->start());
  require_ok(conn.reset());
  CHECK(query_int(conn, "SELECT 1") == 1);
}

TEST_CASE("pg: the test server also listens on 127.0.0.1 when asked") {
  auto server = launch_pg({.tcp = true});
  REQUIRE(!server->tcp_dsn().empty());
  Connection conn = connect_ok(server->tcp_dsn());
  CHECK(query_int(conn, "SELECT inet_server_port()") == server->port());
}
