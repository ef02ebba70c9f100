#include "common/sqlite.h"

#include <sqlite3.h>

#include <cassert>
#include <cctype>
#include <system_error>
#include <utility>

#include "common/schema_version.h"

namespace reflex::sqlite {
namespace {

// The codes documented in sqlite.h; callers branch on these, never on SQLite numbers.
const char* code_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "busy";
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
      return "constraint";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "corrupt";
    case SQLITE_FULL:
      return "full";
    case SQLITE_READONLY:
      return "read_only";
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
      return "io";
    case SQLITE_ERROR:
    case SQLITE_SCHEMA:
      return "sql";
    case SQLITE_RANGE:
    case SQLITE_MISUSE:
      return "misuse";
    default:
      return "sqlite";
  }
}

// The file a connection is on, as SQLite resolved it (absolute), for messages.
std::string name_of(sqlite3* db) {
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  return file && *file ? file : ":memory:";
}

// SQL as it should appear in a message: one line, short enough to read.
std::string snippet(const char* sql) {
  constexpr size_t kMax = 60;
  std::string out;
  for (const char* p = sql ? sql : ""; *p && out.size() < kMax; ++p) {
    bool space = std::isspace(static_cast<unsigned char>(*p));
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : *p;
  }
  if (sql && std::string_view(sql).size() > kMax) out += "...";
  return "\"" + out + "\"";
}

// "<file>: <what>: <SQLite message> (<OS error>, sqlite code N)".
Status error_from(sqlite3* db, const std::string& file, int rc, const std::string& what) {
  std::string message = file + ": " + what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int os_error = db ? sqlite3_system_errno(db) : 0;
  message += " (";
  if (os_error != 0 && std::string_view(code_for(rc)) == "io") {
    message += std::generic_category().message(os_error) + ", ";
  }
  message += "sqlite code " + std::to_string(db ? sqlite3_extended_errcode(db) : rc) + ")";
  return Status::error(code_for(rc), std::move(message));
}

Status error_from(sqlite3* db, int rc, const std::string& what) {
  return error_from(db, name_of(db), rc, what);
}

Status exec_on(sqlite3* db, const std::string& sql) {
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::ok() : error_from(db, rc, "exec " + snippet(sql.c_str()));
}

const char* synchronous_name(Synchronous s) {
  switch (s) {
    case Synchronous::kOff:
      return "OFF";
    case Synchronous::kNormal:
      return "NORMAL";
    case Synchronous::kFull:
      return "FULL";
  }
  return "FULL";
}

}  // namespace

// ---- Database ----

Result<Database> Database::open(const std::string& path, const OpenOptions& options) {
  // NOMUTEX: the one-thread-at-a-time rule in the header makes SQLite's own
  // per-connection mutex redundant.
  int flags =
      SQLITE_OPEN_NOMUTEX |
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Database db(raw, path);  // closes the handle on every return below
  if (rc != SQLITE_OK) return error_from(raw, path, rc, "open");
  sqlite3_extended_result_codes(raw, 1);
  REFLEX_RETURN_IF_ERROR(db.configure(options));
  return db;
}

Status Database::configure(const OpenOptions& options) {
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  if (options.wal && !options.read_only) {
    // The pragma answers with the mode actually in effect, which is not WAL when the
    // file system cannot support it; durability assumptions depend on knowing that.
    auto pragma = prepare("PRAGMA journal_mode=WAL");
    if (!pragma) return pragma.status();
    auto row = pragma->step();
    if (!row) return row.status();
    std::string mode = *row ? pragma->column_text(0) : "";
    bool in_memory = name_of(db_) == ":memory:";
    if (mode != "wal" && !in_memory) {
      return Status::error("io", path_ + ": could not enable WAL (journal_mode is " + mode + ")");
    }
  }
  Synchronous sync =
      options.synchronous.value_or(options.wal ? Synchronous::kNormal : Synchronous::kFull);
  REFLEX_RETURN_IF_ERROR(exec(std::string("PRAGMA synchronous=") + synchronous_name(sync)));
  return exec(options.foreign_keys ? "PRAGMA foreign_keys=ON" : "PRAGMA foreign_keys=OFF");
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

// close_v2 defers the close until the last statement is finalized, so a statement
// destroyed after its database is still safe.
Database::~Database() {
  sqlite3_close_v2(db_);
}

Status Database::exec(std::string_view sql) {
  return exec_on(db_, std::string(sql));
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, &tail);
  Statement stmt(raw);  // finalizes on every return below
  std::string text(sql);
  if (rc != SQLITE_OK) return error_from(db_, rc, "prepare " + snippet(text.c_str()));
  if (raw == nullptr) {
    return Status::error("misuse", path_ + ": prepare: no statement in " + snippet(text.c_str()));
  }
  for (const char* p = tail; p < sql.data() + sql.size(); ++p) {
    if (!std::isspace(static_cast<unsigned char>(*p)) && *p != ';') {
      return Status::error("misuse", path_ + ": prepare takes one statement, found more in " +
                                         snippet(text.c_str()));
    }
  }
  return stmt;
}

int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int Database::changes() const {
  return sqlite3_changes(db_);
}

// ---- Statement ----

Statement::Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Status Statement::check_bind(int rc, int index) const {
  if (rc == SQLITE_OK) return Status::ok();
  sqlite3* db = sqlite3_db_handle(stmt_);
  return error_from(
      db, rc, "bind parameter " + std::to_string(index) + " of " + snippet(sqlite3_sql(stmt_)));
}

Status Statement::check_parameter_count(int count) const {
  int expected = sqlite3_bind_parameter_count(stmt_);
  if (count == expected) return Status::ok();
  return Status::error(
      "misuse", name_of(sqlite3_db_handle(stmt_)) + ": " + snippet(sqlite3_sql(stmt_)) + " takes " +
                    std::to_string(expected) + " parameters, " + std::to_string(count) + " given");
}

Status Statement::bind_int64(int index, int64_t value) {
  return check_bind(sqlite3_bind_int64(stmt_, index, value), index);
}

Status Statement::bind_double(int index, double value) {
  return check_bind(sqlite3_bind_double(stmt_, index, value), index);
}

Status Statement::bind_text(int index, std::string_view value) {
  return check_bind(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
}

Status Statement::bind_blob(int index, std::span<const uint8_t> value) {
  // A null pointer would bind NULL rather than an empty blob.
  static const uint8_t kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  return check_bind(sqlite3_bind_blob64(stmt_, index, data, value.size(), SQLITE_TRANSIENT), index);
}

Status Statement::bind_null(int index) {
  return check_bind(sqlite3_bind_null(stmt_, index), index);
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_);
  Status status = error_from(db, rc, "step " + snippet(sqlite3_sql(stmt_)));
  sqlite3_reset(stmt_);
  return status;
}

Status Statement::run() {
  auto row = step();
  if (!row) return row.status();
  const bool had_row = *row;
  reset();
  if (had_row) {  // the message is built only here: run() is on the ingest hot path
    return Status::error("misuse", name_of(sqlite3_db_handle(stmt_)) + ": run " +
                                       snippet(sqlite3_sql(stmt_)) +
                                       " returned a row; read rows with step()");
  }
  return Status::ok();
}

void Statement::reset() {
  // The return value repeats the last step()'s error, which step() already reported.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Statement::column_count() const {
  return sqlite3_column_count(stmt_);
}

bool Statement::column_is_null(int column) const {
  assert(column >= 0 && column < column_count());
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::column_int64(int column) const {
  assert(column >= 0 && column < column_count());
  return sqlite3_column_int64(stmt_, column);
}

double Statement::column_double(int column) const {
  assert(column >= 0 && column < column_count());
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::column_text(int column) const {
  return std::string(column_text_view(column));
}

std::string_view Statement::column_text_view(int column) const {
  assert(column >= 0 && column < column_count());
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);  // after _text: the UTF-8 size
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text), static_cast<size_t>(size)};
}

std::vector<uint8_t> Statement::column_blob(int column) const {
  assert(column >= 0 && column < column_count());
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr) return {};
  return {data, data + size};
}

// ---- Transaction ----

Result<Transaction> Transaction::begin(Database& db) {
  REFLEX_RETURN_IF_ERROR(exec_on(db.db_, "BEGIN IMMEDIATE"));
  return Transaction(db.db_);
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() {
  // SQLite itself ends the transaction after some errors (e.g. disk full); a second
  // ROLLBACK would only fail.
  if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Status Transaction::commit() {
  if (db_ == nullptr) return Status::error("misuse", "commit: transaction already finished");
  REFLEX_RETURN_IF_ERROR(exec_on(db_, "COMMIT"));
  db_ = nullptr;
  return Status::ok();
}

// ---- Migrations ----

Result<int> schema_version(Database& db) {
  auto pragma = db.prepare("PRAGMA user_version");
  if (!pragma) return pragma.status();
  auto row = pragma->step();
  if (!row) return row.status();
  return static_cast<int>(pragma->column_int64(0));
}

namespace {

// user_version lives in the file header and is written inside the transaction, so the
// migration and its version bump commit or roll back together.
Status apply(Database& db, const Migration& m, int newest) {
  std::string context = db.path() + ": migration " + std::to_string(m.version);
  auto tx = Transaction::begin(db);
  if (!tx) return tx.status().with_context(context);
  // Read again under the write lock: another process may have migrated meanwhile.
  auto current = schema_version(db);
  if (!current) return current.status();
  if (*current > newest) return schema_too_new(db.path(), *current, newest);
  if (*current >= m.version) return Status::ok();
  REFLEX_RETURN_IF_ERROR(db.exec(m.sql).with_context(context));
  REFLEX_RETURN_IF_ERROR(db.exec("PRAGMA user_version = " + std::to_string(m.version)));
  return tx->commit().with_context(context);
}

}  // namespace

Status migrate(Database& db, std::span<const Migration> migrations) {
  int newest = 0;
  for (const Migration& m : migrations) {
    if (m.version <= newest) {
      return Status::error("misuse", db.path() +
                                         ": migration versions must be positive and "
                                         "strictly increasing; " +
                                         std::to_string(m.version) + " follows " +
                                         std::to_string(newest));
    }
    newest = m.version;
  }
  auto current = schema_version(db);
  if (!current) return current.status();
  if (*current > newest) return schema_too_new(db.path(), *current, newest);
  // Up to date needs no write lock, so read-only connections can call migrate too.
  for (const Migration& m : migrations) {
    if (m.version > *current) REFLEX_RETURN_IF_ERROR(apply(db, m, newest));
  }
  return Status::ok();
}

}  // namespace reflex::sqlite
