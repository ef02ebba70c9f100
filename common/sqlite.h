// A thin SQLite wrapper for the agent's spool and the hub's store.
//
// It exists so that every SQLite call returns a Status naming the database file and the
// SQLite message, so connections are opened with the same durability settings
// everywhere, and so statements, transactions and schema migrations clean up after
// themselves (RAII) even on early returns.
//
// Thread rule: a Database, and every Statement and Transaction made from it, is used by
// one thread at a time. Another thread opens its own Database on the same file; in WAL
// mode readers on other connections see the last committed state and are never blocked
// by the writer (writers still take turns, waiting up to busy_timeout_ms).
//
// Error codes (Status::code()): "io" (cannot open, read or write the file), "busy"
// (locked past the timeout), "constraint", "corrupt" (damaged or not a database),
// "full" (disk or quota), "read_only", "sql" (syntax, missing table, ...), "misuse"
// (wrong API use: bind index or argument count), "schema_too_new", "sqlite" (other).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace reflex::sqlite {

enum class Synchronous { kOff, kNormal, kFull };

struct OpenOptions {
  // Write-ahead logging: readers do not block the writer, commits are one fsync.
  bool wal = true;
  // Unset means NORMAL with WAL (a power cut may lose the last commits but never
  // corrupts) and FULL otherwise. Choose kFull when a commit must survive power loss
  // before it is acknowledged.
  std::optional<Synchronous> synchronous;
  int busy_timeout_ms = 5000;
  bool foreign_keys = true;
  // Opens an existing file without write access; the journal mode is left as the file
  // has it.
  bool read_only = false;
};

// One prepared statement. Parameters are bound by 1-based index (SQLite's numbering);
// columns are read by 0-based index (also SQLite's). Bound values are copied, so the
// arguments need not outlive the bind call. Must not outlive its Database.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Status bind_int64(int index, int64_t value);
  Status bind_double(int index, double value);
  Status bind_text(int index, std::string_view value);
  Status bind_blob(int index, std::span<const uint8_t> value);
  Status bind_null(int index);

  // Picks the bind_* for the argument's type: integers (and bool), floating point,
  // anything viewable as text, bytes (span / vector of uint8_t), std::nullopt, and
  // std::optional of those (empty binds NULL).
  template <class T>
  Status bind(int index, const T& value);

  // Resets the statement, then binds args to parameters 1..N. N must equal the number
  // of parameters in the SQL, so a forgotten or extra argument is an error.
  template <class... Args>
  Status bind_all(const Args&... args);

  // Runs to the next row: true when a row is available to read, false when done.
  // On error the statement is reset so it can be reused.
  Result<bool> step();
  // For statements that return no rows (INSERT, UPDATE, DELETE, ...): runs to
  // completion, then resets. A returned row is a "misuse" error; use step().
  Status run();
  // Rewinds and clears all bindings. A SELECT left mid-result keeps its read snapshot
  // (and blocks WAL checkpoints) until reset or destroyed.
  void reset();

  int column_count() const;
  bool column_is_null(int column) const;
  int64_t column_int64(int column) const;  // NULL reads as 0
  double column_double(int column) const;  // NULL reads as 0.0
  std::string column_text(int column) const;
  // Valid until the next step(), reset() or destruction.
  std::string_view column_text_view(int column) const;
  std::vector<uint8_t> column_blob(int column) const;

 private:
  friend class Database;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Status check_bind(int rc, int index) const;
  Status check_parameter_count(int count) const;

  sqlite3_stmt* stmt_ = nullptr;
};

// One connection to one database file.
class Database {
 public:
  static Result<Database> open(const std::string& path, const OpenOptions& options = {});

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs SQL text that takes no parameters and whose rows are not needed: DDL, pragmas
  // and migration scripts (several statements allowed). Data goes through prepare().
  Status exec(std::string_view sql);
  // Exactly one statement; trailing text after it is an error, not silently ignored.
  Result<Statement> prepare(std::string_view sql);

  int64_t last_insert_rowid() const;
  // Rows changed by the most recent INSERT, UPDATE or DELETE on this connection.
  int changes() const;
  const std::string& path() const { return path_; }

 private:
  friend class Transaction;
  friend class Checkpointer;
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status configure(const OpenOptions& options);

  sqlite3* db_ = nullptr;
  std::string path_;
};

// BEGIN IMMEDIATE ... COMMIT. Immediate, so the write lock is taken (or "busy"
// reported) at begin rather than surprising the caller halfway through. Rolls back in
// the destructor unless commit() succeeded. Must not outlive its Database.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&& other) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  // On failure the transaction stays open and is rolled back by the destructor.
  Status commit();

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;  // null once committed or moved from
};

// One step of a schema. Versions are positive and strictly increasing; a released
// migration is never edited, only followed by a new one.
struct Migration {
  int version;
  std::string_view sql;
};

// The schema version recorded in the file (PRAGMA user_version; 0 for a new file).
Result<int> schema_version(Database& db);

// Applies every migration newer than the file's version, in order, each in its own
// transaction together with the version bump, so a crash or a failing migration leaves
// the file at the last complete version. Migration SQL must not BEGIN or COMMIT itself.
// Refuses ("schema_too_new") a file written by a newer build, since this build would
// misread it. Safe to run from several processes at once: each migration is applied
// once.
Status migrate(Database& db, std::span<const Migration> migrations);

// ---- template implementation ----

namespace detail {
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
}  // namespace detail

template <class T>
Status Statement::bind(int index, const T& value) {
  if constexpr (std::is_same_v<T, std::nullopt_t>) {
    return bind_null(index);
  } else if constexpr (detail::is_optional<T>::value) {
    return value ? bind(index, *value) : bind_null(index);
  } else if constexpr (std::is_integral_v<T>) {
    static_assert(sizeof(T) < sizeof(int64_t) || std::is_signed_v<T>,
                  "uint64_t does not fit SQLite's int64; convert explicitly");
    return bind_int64(index, static_cast<int64_t>(value));
  } else if constexpr (std::is_floating_point_v<T>) {
    return bind_double(index, static_cast<double>(value));
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return bind_text(index, std::string_view(value));
  } else if constexpr (std::is_convertible_v<const T&, std::span<const uint8_t>>) {
    return bind_blob(index, std::span<const uint8_t>(value));
  } else {
    static_assert(sizeof(T) == 0, "no SQLite binding for this type");
  }
}

template <class... Args>
Status Statement::bind_all(const Args&... args) {
  reset();
  REFLEX_RETURN_IF_ERROR(check_parameter_count(static_cast<int>(sizeof...(Args))));
  int index = 0;
  Status status;
  // Stops at the first failure; the fold short-circuits on &&.
  ((status = bind(++index, args), status.is_ok()) && ...);
  return status;
}

}  // namespace reflex::sqlite
