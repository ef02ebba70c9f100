// A thin libpq wrapper for the hub's PostgreSQL store and leadership lease.
//
// It mirrors common/sqlite.h: every call returns a Status naming the server
// (host:port/database, never the password) and PostgreSQL's message with its SQLSTATE;
// transactions roll back on early returns (RAII); schema migrations are versioned, each
// applied once, even when several hubs start at the same time.
//
// Thread rule: a Connection, and every Transaction made from it, is used by one thread at
// a time. Another thread opens its own Connection. Calls block until the server answers;
// a dsn may bound connecting with connect_timeout=N (seconds).
//
// Error codes (Status::code()): "connection" (cannot connect, or the connection was lost:
// SQLSTATE class 08, server shutting down 57P01-57P03), "constraint" (class 23),
// "serialization" (40001 serialization failure, 40P01 deadlock: retry the transaction),
// "sql" (class 42: syntax, missing table or column, ...), "misuse" (wrong API use, such as
// an argument count that does not match the query's $N parameters), "schema_too_new",
// "postgres" (any other SQLSTATE; the message names it).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/status.h"

struct pg_conn;
struct pg_result;

namespace reflex::pg {

// The dsn with its password replaced by "***", for logs and messages. Understands both
// conninfo forms: "host=h password=secret" (quoted values too) and
// "postgresql://user:secret@h/db?password=secret".
std::string redact_dsn(std::string_view dsn);

// The values of a query's parameters $1..$N, in order. Values are copied. Integers,
// floating point and bool are typed (int8, float8, bool); text is sent untyped, so
// PostgreSQL infers its type from where $N is used ('2026-01-01' can be a timestamptz);
// bytes are sent as bytea.
class Params {
 public:
  void add_int64(int64_t value);
  void add_double(double value);
  void add_bool(bool value);
  // Text cannot hold a NUL byte in PostgreSQL; one is a "misuse" error at query time.
  void add_text(std::string_view value);
  void add_blob(std::span<const uint8_t> value);
  void add_null();

  // Picks the add_* for the argument's type: integers, bool, floating point, anything
  // viewable as text, bytes (span / vector of uint8_t), std::nullopt, and std::optional
  // of those (empty adds NULL).
  template <class T>
  void add(const T& value);

  int size() const { return static_cast<int>(values_.size()); }

 private:
  friend class Connection;
  void push(std::optional<std::string> value, unsigned int type, bool binary);

  std::vector<std::optional<std::string>> values_;
  std::vector<unsigned int> types_;  // PostgreSQL type oids; 0 lets the server infer
  std::vector<int> formats_;         // 0 text, 1 binary
  int nul_in_text_ = 0;              // 1-based index of the first text value holding NUL
};

// One row of a result, read by 0-based column index. A view: it must not outlive its Rows.
// Reading a column as a type it does not hold (text as an integer) is a programming
// error: it asserts, and reads as 0 when assertions are off.
class Row {
 public:
  int column_count() const;
  bool column_is_null(int column) const;
  int64_t column_int64(int column) const;  // NULL reads as 0
  double column_double(int column) const;  // NULL reads as 0.0
  bool column_bool(int column) const;      // NULL reads as false
  std::string column_text(int column) const;
  // Valid as long as the Rows it came from.
  std::string_view column_text_view(int column) const;
  std::vector<uint8_t> column_blob(int column) const;  // a bytea column

 private:
  friend class Rows;
  Row(const pg_result* result, int row) : result_(result), row_(row) {}
  const pg_result* result_;
  int row_;
};

// The complete result of one query, held in memory (libpq reads all rows at once).
class Rows {
 public:
  Rows(Rows&& other) noexcept;
  Rows& operator=(Rows&& other) noexcept;
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  ~Rows();

  int size() const;
  bool empty() const { return size() == 0; }
  int column_count() const;
  Row operator[](int row) const;
  // Rows inserted, updated or deleted by the statement (0 for other statements).
  int64_t affected() const;

 private:
  friend class Connection;
  explicit Rows(pg_result* result) : result_(result) {}
  pg_result* result_ = nullptr;
};

// One session with one database.
class Connection {
 public:
  // `dsn` is a libpq conninfo string, "host=/run/postgresql dbname=reflex" or
  // "postgresql://reflex@db1/reflex". The Status on failure names the server and
  // PostgreSQL's reason, never the password.
  static Result<Connection> open(const std::string& dsn);

  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs SQL text that takes no parameters and whose rows are not needed: DDL and
  // migration scripts (several statements allowed, run as one implicit transaction
  // unless the text holds BEGIN/COMMIT itself).
  Status exec(std::string_view sql);

  // One statement with parameters $1..$N bound to args in order. The number of args must
  // equal the highest N the statement uses, so a forgotten or extra argument is an error
  // ("misuse").
  template <class... Args>
  Result<Rows> query(std::string_view sql, const Args&... args);
  Result<Rows> query_params(std::string_view sql, const Params& params);

  // For statements whose rows are not needed: the number of rows they changed.
  template <class... Args>
  Result<int64_t> run(std::string_view sql, const Args&... args);

  // Inside BEGIN ... COMMIT (also after a statement in it failed).
  bool in_transaction() const;

  // True once the connection to the server is lost (after a call failed with
  // "connection"); every later call fails until reset() succeeds.
  bool broken() const;
  // Closes the connection and opens it again with the same dsn (after a PostgreSQL
  // restart or failover). A transaction that was open is gone: the server rolled it back.
  Status reset();

  // "host:port/database", as messages name the server.
  const std::string& server() const { return server_; }

 private:
  friend class Transaction;
  Connection(pg_conn* conn, std::string server, std::string password)
      : conn_(conn), server_(std::move(server)), password_(std::move(password)) {}
  Status error(const std::string& what, const pg_result* result);
  Status unexpected(const pg_result* result, const char* call, std::string_view sql) const;

  pg_conn* conn_ = nullptr;
  bool lost_ = false;  // a call failed for want of the server; PQstatus may lag
  std::string server_;
  std::string password_;  // only to scrub it from libpq's messages
};

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

// BEGIN ... COMMIT. Rolls back in the destructor unless commit() succeeded. Must not
// outlive its Connection, which must not be moved while the transaction is open. A
// lost connection during commit() leaves the outcome unknown: the server may have
// committed. With kSerializable, expect "serialization" errors and retry the
// whole transaction.
class Transaction {
 public:
  static Result<Transaction> begin(Connection& conn,
                                   Isolation isolation = Isolation::kReadCommitted);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&& other) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  // Fails, and leaves the rollback to the destructor, when a statement in the transaction
  // failed: PostgreSQL would otherwise answer COMMIT with a silent ROLLBACK.
  Status commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_ = nullptr;  // null once committed or moved from
};

// One step of a schema. Versions are positive and strictly increasing; a released
// migration is never edited, only followed by a new one.
struct Migration {
  int version;
  std::string_view sql;
};

// The newest version recorded in schema_migrations (0 when the table does not exist).
Result<int> schema_version(Connection& conn);

// Applies every migration newer than the database's version, in order, each in its own
// transaction together with its row in schema_migrations(version, applied_at), so a crash
// or a failing migration leaves the database at the last complete version. Migration SQL
// must not BEGIN or COMMIT itself. Refuses ("schema_too_new") a database written by a
// newer build. Safe to run from several processes at once: a transaction-scoped advisory
// lock serialises them and each migration is applied once.
Status migrate(Connection& conn, std::span<const Migration> migrations);

// ---- template implementation ----

namespace detail {
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
}  // namespace detail

template <class T>
void Params::add(const T& value) {
  if constexpr (std::is_same_v<T, std::nullopt_t>) {
    add_null();
  } else if constexpr (detail::is_optional<T>::value) {
    value ? add(*value) : add_null();
  } else if constexpr (std::is_same_v<T, bool>) {
    add_bool(value);
  } else if constexpr (std::is_integral_v<T>) {
    static_assert(sizeof(T) < sizeof(int64_t) || std::is_signed_v<T>,
                  "uint64_t does not fit PostgreSQL's bigint; convert explicitly");
    add_int64(static_cast<int64_t>(value));
  } else if constexpr (std::is_floating_point_v<T>) {
    add_double(static_cast<double>(value));
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    add_text(std::string_view(value));
  } else if constexpr (std::is_convertible_v<const T&, std::span<const uint8_t>>) {
    add_blob(std::span<const uint8_t>(value));
  } else {
    static_assert(sizeof(T) == 0, "no PostgreSQL parameter type for this type");
  }
}

template <class... Args>
Result<Rows> Connection::query(std::string_view sql, const Args&... args) {
  Params params;
  (params.add(args), ...);
  return query_params(sql, params);
}

template <class... Args>
Result<int64_t> Connection::run(std::string_view sql, const Args&... args) {
  auto rows = query(sql, args...);
  if (!rows) return rows.status();
  return rows->affected();
}

}  // namespace reflex::pg
