#include "common/sqlite_checkpointer.h"

#include <stdlib.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace reflex::sqlite;
using namespace std::string_literals;

namespace {

// A fresh directory per test, removed afterwards, so tests run on real files.
struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "reflex-sqlite-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  fs::path path;
};

Database open_ok(const std::string& path, const OpenOptions& options = {}) {
  auto db = Database::open(path, options);
  INFO(db.status().to_string());
  REQUIRE(db.is_ok());
  return std::move(db).value();
}

void exec_ok(Database& db, std::string_view sql) {
  auto status = db.exec(sql);
  INFO(status.to_string());
  REQUIRE(status.is_ok());
}

Statement prepare_ok(Database& db, std::string_view sql) {
  auto stmt = db.prepare(sql);
  INFO(stmt.status().to_string());
  REQUIRE(stmt.is_ok());
  return std::move(stmt).value();
}

// The first column of the first row a query returns.
int64_t query_int(Database& db, std::string_view sql) {
  Statement stmt = prepare_ok(db, sql);
  auto row = stmt.step();
  INFO(row.status().to_string());
  REQUIRE(row.is_ok());
  REQUIRE(*row);
  return stmt.column_int64(0);
}

std::string query_text(Database& db, std::string_view sql) {
  Statement stmt = prepare_ok(db, sql);
  auto row = stmt.step();
  REQUIRE(row.is_ok());
  REQUIRE(*row);
  return stmt.column_text(0);
}

void require_ok(const reflex::Status& status) {
  INFO(status.to_string());
  REQUIRE(status.is_ok());
}

}  // namespace

TEST_CASE("open turns on WAL, NORMAL sync, foreign keys and the busy timeout") {
  TempDir dir;
  Database db = open_ok(dir.file("a.db"));
  CHECK(query_text(db, "PRAGMA journal_mode") == "wal");
  CHECK(query_int(db, "PRAGMA synchronous") == 1);  // NORMAL
  CHECK(query_int(db, "PRAGMA foreign_keys") == 1);
  CHECK(query_int(db, "PRAGMA busy_timeout") == 5000);
  CHECK(fs::exists(dir.file("a.db")));
}

TEST_CASE("open honours FULL sync, a custom timeout and WAL off") {
  TempDir dir;
  OpenOptions options;
  options.synchronous = Synchronous::kFull;
  options.busy_timeout_ms = 250;
  Database db = open_ok(dir.file("full.db"), options);
  CHECK(query_int(db, "PRAGMA synchronous") == 2);
  CHECK(query_int(db, "PRAGMA busy_timeout") == 250);

  OpenOptions rollback_journal;
  rollback_journal.wal = false;
  Database plain = open_ok(dir.file("plain.db"), rollback_journal);
  CHECK(query_text(plain, "PRAGMA journal_mode") == "delete");
  CHECK(query_int(plain, "PRAGMA synchronous") == 2);  // FULL without WAL
}

TEST_CASE("every type binds and reads back, including NULL and NUL bytes") {
  TempDir dir;
  Database db = open_ok(dir.file("types.db"));
  exec_ok(db, "CREATE TABLE t(i INTEGER, d REAL, s TEXT, b BLOB, n, o INTEGER, e BLOB)");

  const int64_t big = std::numeric_limits<int64_t>::min();
  const std::string text = "a\0b \xc3\xa9"s;  // embedded NUL and UTF-8
  const std::vector<uint8_t> blob = {0x00, 0xff, 0x00, 0x7f, 0x00};
  const std::vector<uint8_t> empty_blob;
  Statement insert = prepare_ok(db, "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)");
  require_ok(insert.bind_all(big, 3.25, std::string_view(text), blob, std::nullopt,
                             std::optional<int64_t>(42), empty_blob));
  require_ok(insert.run());
  CHECK(db.changes() == 1);
  CHECK(db.last_insert_rowid() == 1);
  require_ok(insert.bind_all(int64_t{7}, -0.5, "plain", blob, std::nullopt,
                             std::optional<int64_t>(), empty_blob));
  require_ok(insert.run());
  CHECK(db.last_insert_rowid() == 2);

  Statement select = prepare_ok(db, "SELECT i, d, s, b, n, o, e FROM t ORDER BY rowid");
  auto row = select.step();
  require_ok(row.status());
  REQUIRE(*row);
  CHECK(select.column_count() == 7);
  CHECK(select.column_int64(0) == big);
  CHECK(select.column_double(1) == 3.25);
  CHECK(select.column_text(2) == text);
  CHECK(select.column_text(2).size() == 6);
  CHECK(select.column_blob(3) == blob);
  CHECK(select.column_is_null(4));
  CHECK_FALSE(select.column_is_null(3));
  CHECK(select.column_int64(5) == 42);
  CHECK_FALSE(select.column_is_null(6));  // an empty blob is not NULL
  CHECK(select.column_blob(6).empty());

  row = select.step();
  REQUIRE(*row);
  CHECK(select.column_int64(0) == 7);
  CHECK(select.column_double(1) == -0.5);
  CHECK(select.column_text_view(2) == "plain");
  CHECK(select.column_is_null(5));  // empty optional

  row = select.step();
  require_ok(row.status());
  CHECK_FALSE(*row);
}

TEST_CASE("bind_all rejects a wrong number of values") {
  TempDir dir;
  Database db = open_ok(dir.file("count.db"));
  exec_ok(db, "CREATE TABLE t(a, b)");
  Statement insert = prepare_ok(db, "INSERT INTO t VALUES (?, ?)");
  auto too_few = insert.bind_all(int64_t{1});
  CHECK(too_few.code() == "misuse");
  CHECK_THAT(too_few.message(), Catch::Contains("takes 2 parameters, 1 given"));
  CHECK(insert.bind_all(1, 2, 3).code() == "misuse");
  CHECK(insert.bind_int64(3, 1).code() == "misuse");  // index out of range
}

TEST_CASE("reset clears bindings so a reused statement never inserts stale values") {
  TempDir dir;
  Database db = open_ok(dir.file("reuse.db"));
  exec_ok(db, "CREATE TABLE t(a, b)");
  Statement insert = prepare_ok(db, "INSERT INTO t VALUES (?, ?)");
  require_ok(insert.bind_all(1, "x"));
  require_ok(insert.run());
  require_ok(insert.bind(1, 2));  // parameter 2 left unbound on purpose
  require_ok(insert.run());
  CHECK(query_int(db, "SELECT count(*) FROM t") == 2);
  CHECK(query_int(db, "SELECT count(*) FROM t WHERE a = 2 AND b IS NULL") == 1);
}

TEST_CASE("run refuses a statement that returns rows") {
  TempDir dir;
  Database db = open_ok(dir.file("run.db"));
  Statement select = prepare_ok(db, "SELECT 1");
  CHECK(select.run().code() == "misuse");
}

TEST_CASE("prepare reports SQL errors and refuses trailing statements") {
  TempDir dir;
  Database db = open_ok(dir.file("sql.db"));
  auto bad = db.prepare("SELEC 1");
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().code() == "sql");
  CHECK_THAT(bad.status().message(), Catch::Contains("sql.db"));
  CHECK_THAT(bad.status().message(), Catch::Contains("syntax error"));

  auto missing = db.prepare("SELECT * FROM nowhere");
  CHECK(missing.status().code() == "sql");
  CHECK_THAT(missing.status().message(), Catch::Contains("no such table: nowhere"));

  CHECK(db.prepare("SELECT 1; SELECT 2").status().code() == "misuse");
  CHECK(db.prepare("   ").status().code() == "misuse");
  CHECK(db.prepare("SELECT 1;  \n").is_ok());
}

TEST_CASE("a transaction that is not committed is rolled back") {
  TempDir dir;
  Database db = open_ok(dir.file("tx.db"));
  exec_ok(db, "CREATE TABLE t(a)");
  {
    auto tx = Transaction::begin(db);
    require_ok(tx.status());
    exec_ok(db, "INSERT INTO t VALUES (1)");
    CHECK(query_int(db, "SELECT count(*) FROM t") == 1);  // visible inside
  }
  CHECK(query_int(db, "SELECT count(*) FROM t") == 0);
  {
    auto tx = Transaction::begin(db);
    require_ok(tx.status());
    exec_ok(db, "INSERT INTO t VALUES (2)");
    require_ok(tx->commit());
    CHECK(tx->commit().code() == "misuse");  // only once
  }
  CHECK(query_int(db, "SELECT a FROM t") == 2);
  // The connection is back in autocommit mode: a new transaction can begin.
  auto again = Transaction::begin(db);
  require_ok(again.status());
}

TEST_CASE("a constraint violation returns constraint and changes nothing") {
  TempDir dir;
  Database db = open_ok(dir.file("constraint.db"));
  exec_ok(db,
          "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
          "CREATE TABLE child(id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id));"
          "INSERT INTO parent VALUES (1);");

  // The second row collides, so the first row of the same statement is undone too.
  Statement insert = prepare_ok(db, "INSERT INTO parent VALUES (?), (?)");
  require_ok(insert.bind_all(2, 1));
  auto status = insert.run();
  CHECK(status.code() == "constraint");
  CHECK_THAT(status.message(), Catch::Contains("constraint.db"));
  CHECK_THAT(status.message(), Catch::Contains("UNIQUE constraint failed: parent.id"));
  CHECK(query_int(db, "SELECT count(*) FROM parent") == 1);

  // The statement is usable again after the failure.
  require_ok(insert.bind_all(2, 3));
  require_ok(insert.run());
  CHECK(query_int(db, "SELECT count(*) FROM parent") == 3);

  // Foreign keys are enforced because open() turned them on.
  Statement orphan = prepare_ok(db, "INSERT INTO child VALUES (1, 99)");
  CHECK(orphan.run().code() == "constraint");
  CHECK(query_int(db, "SELECT count(*) FROM child") == 0);
}

TEST_CASE("a second connection reads committed data while a writer holds a transaction") {
  TempDir dir;
  Database writer = open_ok(dir.file("shared.db"));
  exec_ok(writer, "CREATE TABLE t(a); INSERT INTO t VALUES (1);");

  OpenOptions no_wait;
  no_wait.busy_timeout_ms = 0;  // a blocked read would fail at once, not hang
  Database reader = open_ok(dir.file("shared.db"), no_wait);

  auto tx = Transaction::begin(writer);
  require_ok(tx.status());
  exec_ok(writer, "INSERT INTO t VALUES (2)");
  CHECK(query_int(reader, "SELECT count(*) FROM t") == 1);

  // A second writer is turned away while the first holds the lock.
  Database other_writer = open_ok(dir.file("shared.db"), no_wait);
  auto blocked = Transaction::begin(other_writer);
  REQUIRE_FALSE(blocked.is_ok());
  CHECK(blocked.status().code() == "busy");

  require_ok(tx->commit());
  CHECK(query_int(reader, "SELECT count(*) FROM t") == 2);
}

TEST_CASE("a read-only connection refuses writes") {
  TempDir dir;
  {
    Database db = open_ok(dir.file("ro.db"));
    exec_ok(db, "CREATE TABLE t(a)");
  }
  OpenOptions read_only;
  read_only.read_only = true;
  Database db = open_ok(dir.file("ro.db"), read_only);
  CHECK(query_int(db, "SELECT count(*) FROM t") == 0);
  CHECK(db.exec("INSERT INTO t VALUES (1)").code() == "read_only");

  auto missing = Database::open(dir.file("absent.db"), read_only);
  CHECK(missing.status().code() == "io");
  CHECK_FALSE(fs::exists(dir.file("absent.db")));
}

TEST_CASE("opening a path in a missing directory names the path") {
  TempDir dir;
  std::string path = dir.file("no/such/dir/spool.db");
  auto db = Database::open(path);
  REQUIRE_FALSE(db.is_ok());
  CHECK(db.status().code() == "io");
  CHECK_THAT(db.status().message(), Catch::StartsWith(path + ": open: "));
  CHECK_THAT(db.status().message(), Catch::Contains("unable to open database file"));
}

TEST_CASE("a file that is not a database is reported corrupt") {
  TempDir dir;
  std::string path = dir.file("garbage.db");
  std::ofstream(path) << std::string(4096, 'x');
  auto db = Database::open(path);
  REQUIRE_FALSE(db.is_ok());
  CHECK(db.status().code() == "corrupt");
  CHECK_THAT(db.status().message(), Catch::Contains("garbage.db"));
}

namespace {
constexpr std::array<Migration, 2> kTwo = {{
    {1, "CREATE TABLE events(id INTEGER PRIMARY KEY, body TEXT NOT NULL);"},
    {2, "CREATE TABLE notes(body TEXT); INSERT INTO notes VALUES ('seeded by 2');"},
}};
constexpr std::array<Migration, 3> kThree = {{
    kTwo[0],
    kTwo[1],
    {3, "ALTER TABLE events ADD COLUMN host TEXT;"},
}};
}  // namespace

TEST_CASE("migrations apply once, in order, and are idempotent on reopen") {
  TempDir dir;
  std::string path = dir.file("migrate.db");
  {
    Database db = open_ok(path);
    auto version = schema_version(db);
    REQUIRE(version.is_ok());
    CHECK(*version == 0);
    require_ok(migrate(db, kTwo));
    CHECK(*schema_version(db) == 2);
    CHECK(query_int(db, "SELECT count(*) FROM notes") == 1);
    require_ok(migrate(db, kTwo));
  }
  {
    Database db = open_ok(path);
    CHECK(*schema_version(db) == 2);
    require_ok(migrate(db, kTwo));
    CHECK(query_int(db, "SELECT count(*) FROM notes") == 1);  // not seeded twice
    require_ok(migrate(db, kThree));
    CHECK(*schema_version(db) == 3);
    exec_ok(db, "INSERT INTO events(body, host) VALUES ('x', 'web-1')");
    CHECK(query_int(db, "SELECT count(*) FROM notes") == 1);
  }
}

TEST_CASE("migrate refuses a database written by a newer build") {
  TempDir dir;
  std::string path = dir.file("newer.db");
  {
    Database db = open_ok(path);
    require_ok(migrate(db, kThree));
  }
  Database db = open_ok(path);
  auto status = migrate(db, kTwo);
  CHECK(status.code() == "schema_too_new");
  CHECK_THAT(status.message(), Catch::Contains("newer.db"));
  CHECK_THAT(status.message(), Catch::Contains("version 3"));
  CHECK_THAT(status.message(), Catch::Contains("(2)"));
  CHECK(*schema_version(db) == 3);
}

TEST_CASE("a failing migration keeps the previous version and none of its changes") {
  TempDir dir;
  Database db = open_ok(dir.file("fail.db"));
  const std::array<Migration, 2> broken = {{
      kTwo[0],
      {2, "CREATE TABLE half(a); INSERT INTO missing VALUES (1);"},
  }};
  auto status = migrate(db, broken);
  CHECK(status.code() == "sql");
  CHECK_THAT(status.message(), Catch::Contains("migration 2"));
  CHECK(*schema_version(db) == 1);
  CHECK(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'half'") == 0);
  CHECK(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'events'") == 1);
}

TEST_CASE("migrate rejects versions that do not increase") {
  TempDir dir;
  Database db = open_ok(dir.file("order.db"));
  const std::array<Migration, 2> unordered = {{kTwo[1], kTwo[0]}};
  CHECK(migrate(db, unordered).code() == "misuse");
  const std::array<Migration, 1> zero = {{{0, "CREATE TABLE z(a)"}}};
  CHECK(migrate(db, zero).code() == "misuse");
  CHECK(*schema_version(db) == 0);
}

namespace {

// Commits `commits` transactions of `rows` rows of 1 KiB each.
void write_kib_rows(Database& db, int commits, int rows) {
  Statement insert = prepare_ok(db, "INSERT INTO blobs (body) VALUES (?)");
  const std::string body(1024, 'x');
  for (int c = 0; c < commits; ++c) {
    auto tx = Transaction::begin(db);
    REQUIRE(tx.is_ok());
    for (int r = 0; r < rows; ++r) {
      require_ok(insert.bind_all(body));
      require_ok(insert.run());
    }
    require_ok(tx->commit());
  }
}

uintmax_t file_size(const std::string& path) {
  return fs::file_size(path);
}

}  // namespace

TEST_CASE("with a checkpointer, commits leave the WAL to its thread, which copies it back") {
  TempDir dir;
  const std::string path = dir.file("db.sqlite");
  Database db = open_ok(path);
  exec_ok(db, "CREATE TABLE blobs (body TEXT NOT NULL)");
  const uintmax_t empty = file_size(path);

  SECTION("the writer itself no longer checkpoints, not even past SQLite's 1000 pages") {
    auto checkpointer = Checkpointer::start(db, 1'000'000);
    REQUIRE(checkpointer.is_ok());
    write_kib_rows(db, 60, 50);  // about 3,000 pages of 1 KiB rows into 4 KiB pages
    CHECK(file_size(path) == empty);
    CHECK((*checkpointer)->runs() == 0);
    SECTION("and does again once the checkpointer is gone") {
      checkpointer->reset();
      write_kib_rows(db, 2, 50);
      CHECK(file_size(path) > empty);
    }
  }
  SECTION("once a commit leaves enough pages in the WAL, its thread checkpoints") {
    auto checkpointer = Checkpointer::start(db, 40);
    REQUIRE(checkpointer.is_ok());
    write_kib_rows(db, 20, 10);  // about 60 pages
    for (int i = 0; i < 500 && (*checkpointer)->runs() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE((*checkpointer)->runs() >= 1);
    CHECK((*checkpointer)->last_error().empty());
    CHECK(file_size(path) > empty);
    Database other = open_ok(path);
    CHECK(query_int(other, "SELECT count(*) FROM blobs") == 200);
  }
}
