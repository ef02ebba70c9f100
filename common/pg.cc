#include "common/pg.h"

#include <libpq-fe.h>

#include <cassert>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <utility>

#include "common/schema_version.h"

namespace reflex::pg {
namespace {

// PostgreSQL's type oids (pg_type.dat) for the parameters we type ourselves.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kFloat8Oid = 701;

// Serialises migrators across processes (pg_advisory_xact_lock); "Reflex" in ASCII.
constexpr int64_t kMigrationLockKey = 0x5265666c6578;

// The codes documented in pg.h; callers branch on these, never on SQLSTATEs.
const char* code_for(std::string_view state) {
  if (state.size() != 5) return "postgres";
  std::string_view cls = state.substr(0, 2);
  if (cls == "08" || state == "57P01" || state == "57P02" || state == "57P03") return "connection";
  if (cls == "23") return "constraint";
  if (state == "40001" || state == "40P01") return "serialization";
  if (cls == "42") return "sql";
  return "postgres";
}

// SQL as it should appear in a message: one line, short enough to read.
std::string snippet(std::string_view sql) {
  constexpr size_t kMax = 60;
  std::string out;
  for (char c : sql) {
    if (out.size() >= kMax) break;
    bool space = std::isspace(static_cast<unsigned char>(c));
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  if (sql.size() > kMax) out += "...";
  return "\"" + out + "\"";
}

// libpq's messages end in a newline and may span lines, indented with tabs
// ("server closed the connection unexpectedly\n\tThis probably means ...").
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c));
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// The highest $N the statement uses, skipping string literals ('...', E'...'), quoted
// identifiers, comments and dollar-quoted bodies, where a $1 is just text. libpq cannot
// say: the server accepts more values than the statement uses, as long as they are typed.
int highest_parameter(std::string_view sql) {
  int highest = 0;
  size_t i = 0;
  const size_t n = sql.size();
  auto at = [&](size_t k) { return k < n ? sql[k] : '\0'; };
  while (i < n) {
    char c = sql[i];
    bool after_word = i > 0 && identifier_char(sql[i - 1]);
    if (c == '\'') {
      // E'...' takes backslash escapes; with standard_conforming_strings, '...' does not.
      bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                     !(i > 1 && identifier_char(sql[i - 2]));
      for (++i; i < n; ++i) {
        if (escapes && sql[i] == '\\') {
          ++i;
        } else if (sql[i] == '\'') {
          if (at(i + 1) != '\'') break;
          ++i;  // '' inside the literal
        }
      }
      ++i;
    } else if (c == '"') {
      for (++i; i < n; ++i) {
        if (sql[i] == '"') {
          if (at(i + 1) != '"') break;
          ++i;
        }
      }
      ++i;
    } else if (c == '-' && at(i + 1) == '-') {
      while (i < n && sql[i] != '\n') ++i;
    } else if (c == '/' && at(i + 1) == '*') {
      int depth = 0;  // PostgreSQL's block comments nest
      do {
        if (sql.substr(i, 2) == "/*") {
          ++depth;
          i += 2;
        } else if (sql.substr(i, 2) == "*/") {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      } while (i < n && depth > 0);
    } else if (c == '$' && !after_word && std::isdigit(static_cast<unsigned char>(at(i + 1)))) {
      int number = 0;
      for (++i; i < n && std::isdigit(static_cast<unsigned char>(sql[i])); ++i) {
        number = std::min(number * 10 + (sql[i] - '0'), 1 << 20);
      }
      highest = std::max(highest, number);
    } else if (c == '$' && !after_word) {
      // $tag$ ... $tag$ (tag possibly empty); a lone '$' is left to the server.
      size_t end = i + 1;
      while (end < n && identifier_char(sql[end]) && sql[end] != '$') ++end;
      if (at(end) != '$') {
        ++i;
        continue;
      }
      std::string_view tag = sql.substr(i, end - i + 1);
      size_t close = sql.find(tag, end + 1);
      i = close == std::string_view::npos ? n : close + tag.size();
    } else {
      ++i;
    }
  }
  return highest;
}

std::string scrub(std::string text, const std::string& password) {
  if (password.empty()) return text;
  for (size_t at = text.find(password); at != std::string::npos; at = text.find(password, at + 3)) {
    text.replace(at, password.size(), "***");
  }
  return text;
}

// "host:port/database" of a connection, as libpq resolved it.
std::string server_name(const PGconn* conn) {
  auto field = [](const char* value) { return std::string(value && *value ? value : "?"); };
  return field(PQhost(conn)) + ":" + field(PQport(conn)) + "/" + field(PQdb(conn));
}

void ignore_notice(void*, const char*) {
  // NOTICEs ("relation already exists, skipping") are chatter, and libpq would print
  // them to stderr; warnings and errors arrive as results.
}

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

bool succeeded(const PGresult* result) {
  ExecStatusType status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

// "password = 'a b'" style: the value as written, quotes and backslashes included.
size_t conninfo_value_end(std::string_view dsn, size_t pos) {
  if (pos < dsn.size() && dsn[pos] == '\'') {
    for (++pos; pos < dsn.size(); ++pos) {
      if (dsn[pos] == '\\') {
        ++pos;
      } else if (dsn[pos] == '\'') {
        return pos + 1;
      }
    }
    return dsn.size();
  }
  while (pos < dsn.size() && !std::isspace(static_cast<unsigned char>(dsn[pos]))) {
    pos += dsn[pos] == '\\' ? 2 : 1;
  }
  return std::min(pos, dsn.size());
}

std::string redact_keyword_dsn(std::string_view dsn, std::vector<std::string>& secrets) {
  std::string out;
  size_t pos = 0;
  auto skip_space = [&] {
    while (pos < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[pos]))) {
      out += dsn[pos++];
    }
  };
  for (;;) {
    skip_space();
    if (pos >= dsn.size()) return out;
    size_t key_start = pos;
    while (pos < dsn.size() && dsn[pos] != '=' &&
           !std::isspace(static_cast<unsigned char>(dsn[pos]))) {
      ++pos;
    }
    std::string_view key = dsn.substr(key_start, pos - key_start);
    out += key;
    skip_space();
    if (pos >= dsn.size() || dsn[pos] != '=') {
      // Not conninfo as libpq reads it: whatever follows could be a secret.
      if (pos < dsn.size()) {
        out += "***";
        secrets.emplace_back(dsn.substr(pos));
      }
      return out;
    }
    out += dsn[pos++];
    skip_space();
    size_t end = conninfo_value_end(dsn, pos);
    std::string_view value = dsn.substr(pos, end - pos);
    out += key == "password" ? "***" : value;
    if (key == "password") secrets.emplace_back(value);
    pos = end;
  }
}

std::string redact_uri_dsn(std::string_view dsn, size_t scheme_end,
                           std::vector<std::string>& secrets) {
  std::string out(dsn.substr(0, scheme_end));
  std::string_view rest = dsn.substr(scheme_end);
  size_t query = rest.find('?');
  std::string_view before_query = rest.substr(0, query);
  // user:password@host — the last '@' ends the user info, since a host never holds one.
  size_t at = before_query.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view user_info = before_query.substr(0, at);
    size_t colon = user_info.find(':');
    out += colon == std::string_view::npos ? user_info : user_info.substr(0, colon + 1);
    if (colon != std::string_view::npos) {
      out += "***";
      secrets.emplace_back(user_info.substr(colon + 1));
    }
    out += before_query.substr(at);
  } else {
    out += before_query;
  }
  if (query == std::string_view::npos) return out;
  std::string_view params = rest.substr(query + 1);
  out += '?';
  for (bool first = true; !params.empty() || first; first = false) {
    size_t amp = params.find('&');
    std::string_view param = params.substr(0, amp);
    if (!first) out += '&';
    if (param.starts_with("password=")) {
      out += "password=***";
      secrets.emplace_back(param.substr(9));
    } else {
      out += param;
    }
    if (amp == std::string_view::npos) break;
    params = params.substr(amp + 1);
  }
  return out;
}

// The dsn with its password replaced, and the text replaced (as written) in `secrets`.
std::string redact(std::string_view dsn, std::vector<std::string>& secrets) {
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (dsn.starts_with(scheme)) return redact_uri_dsn(dsn, scheme.size(), secrets);
  }
  return redact_keyword_dsn(dsn, secrets);
}

}  // namespace

std::string redact_dsn(std::string_view dsn) {
  std::vector<std::string> secrets;
  return redact(dsn, secrets);
}

// ---- Params ----

void Params::push(std::optional<std::string> value, unsigned int type, bool binary) {
  values_.push_back(std::move(value));
  types_.push_back(type);
  formats_.push_back(binary ? 1 : 0);
}

void Params::add_int64(int64_t value) {
  push(std::to_string(value), kInt8Oid, false);
}

void Params::add_double(double value) {
  // to_chars gives the shortest text that reads back as the same double.
  if (std::isnan(value)) return push("NaN", kFloat8Oid, false);
  if (std::isinf(value)) return push(value > 0 ? "Infinity" : "-Infinity", kFloat8Oid, false);
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  assert(ec == std::errc());
  push(std::string(buffer, end), kFloat8Oid, false);
}

void Params::add_bool(bool value) {
  push(value ? "t" : "f", kBoolOid, false);
}

void Params::add_text(std::string_view value) {
  // libpq reads text parameters as C strings: a NUL would silently cut the value short.
  if (nul_in_text_ == 0 && value.find('\0') != std::string_view::npos) nul_in_text_ = size() + 1;
  push(std::string(value), 0, false);
}

void Params::add_blob(std::span<const uint8_t> value) {
  push(std::string(reinterpret_cast<const char*>(value.data()), value.size()), kByteaOid, true);
}

void Params::add_null() {
  push(std::nullopt, 0, false);
}

// ---- Row / Rows ----

int Row::column_count() const {
  return PQnfields(result_);
}

bool Row::column_is_null(int column) const {
  assert(column >= 0 && column < column_count());
  return PQgetisnull(result_, row_, column) != 0;
}

int64_t Row::column_int64(int column) const {
  std::string_view text = column_text_view(column);
  int64_t value = 0;
  if (text.empty()) return 0;
  [[maybe_unused]] auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  assert(ec == std::errc() && end == text.data() + text.size() && "column is not an integer");
  return value;
}

double Row::column_double(int column) const {
  std::string_view text = column_text_view(column);
  double value = 0.0;
  if (text.empty()) return 0.0;
  // from_chars reads "NaN", "Infinity" and "-Infinity" as PostgreSQL writes them.
  [[maybe_unused]] auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  assert(ec == std::errc() && end == text.data() + text.size() && "column is not a number");
  return value;
}

bool Row::column_bool(int column) const {
  return column_text_view(column) == "t";
}

std::string Row::column_text(int column) const {
  return std::string(column_text_view(column));
}

std::string_view Row::column_text_view(int column) const {
  assert(column >= 0 && column < column_count());
  if (PQgetisnull(result_, row_, column)) return {};
  return {PQgetvalue(result_, row_, column),
          static_cast<size_t>(PQgetlength(result_, row_, column))};
}

std::vector<uint8_t> Row::column_blob(int column) const {
  assert(column >= 0 && column < column_count());
  if (PQgetisnull(result_, row_, column)) return {};
  assert(PQftype(result_, column) == kByteaOid && "column is not bytea");
  size_t size = 0;
  unsigned char* bytes = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row_, column)), &size);
  if (bytes == nullptr) return {};  // out of memory
  std::vector<uint8_t> out(bytes, bytes + size);
  PQfreemem(bytes);
  return out;
}

Rows::Rows(Rows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}

Rows& Rows::operator=(Rows&& other) noexcept {
  if (this != &other) {
    PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

Rows::~Rows() {
  PQclear(result_);
}

int Rows::size() const {
  return PQntuples(result_);
}

int Rows::column_count() const {
  return PQnfields(result_);
}

Row Rows::operator[](int row) const {
  assert(row >= 0 && row < size());
  return Row(result_, row);
}

int64_t Rows::affected() const {
  const char* count = PQcmdTuples(result_);
  int64_t value = 0;
  std::from_chars(count, count + std::strlen(count), value);
  return value;
}

// ---- Connection ----

Result<Connection> Connection::open(const std::string& dsn) {
  // Parsed first: a dsn libpq cannot read is reported without echoing it, and the
  // password is known so that it can be scrubbed from whatever libpq says later.
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &parse_error);
  if (options == nullptr) {
    std::string reason = parse_error ? one_line(parse_error) : "out of memory";
    PQfreemem(parse_error);
    // Not echoed: in a dsn libpq cannot read, a password is not reliably found. libpq's
    // reason quotes what it could not read, which could be the password too.
    std::vector<std::string> secrets;
    (void)redact(dsn, secrets);
    for (const std::string& secret : secrets) reason = scrub(reason, secret);
    return Status::error("config", "invalid PostgreSQL dsn: " + reason);
  }
  std::string password;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (std::strcmp(option->keyword, "password") == 0 && option->val) password = option->val;
  }
  PQconninfoFree(options);

  PGconn* raw = PQconnectdb(dsn.c_str());
  if (raw == nullptr) return Status::error("connection", "PostgreSQL: out of memory connecting");
  Connection conn(raw, server_name(raw), std::move(password));  // PQfinish on every return
  if (PQstatus(raw) != CONNECTION_OK) return conn.error("connect", nullptr);
  PQsetNoticeProcessor(raw, ignore_notice, nullptr);
  // Text parameters and results are UTF-8 whatever the database's default.
  if (PQsetClientEncoding(raw, "UTF8") != 0) return conn.error("set client_encoding", nullptr);
  return conn;
}

Connection::Connection(Connection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)),
      lost_(std::exchange(other.lost_, false)),
      server_(std::move(other.server_)),
      password_(std::move(other.password_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    PQfinish(conn_);
    conn_ = std::exchange(other.conn_, nullptr);
    lost_ = std::exchange(other.lost_, false);
    server_ = std::move(other.server_);
    password_ = std::move(other.password_);
  }
  return *this;
}

Connection::~Connection() {
  PQfinish(conn_);
}

// "<server>: <what>: <PostgreSQL's message> (SQLSTATE xxxxx)".
Status Connection::error(const std::string& what, const PGresult* result) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string reason = primary ? primary : one_line(PQerrorMessage(conn_));
  if (reason.empty() && result) reason = one_line(PQresultErrorMessage(result));
  if (reason.empty()) reason = "unknown error";
  // Without a SQLSTATE the error is libpq's own, and libpq's own errors are about the
  // connection ("server closed the connection unexpectedly"); libpq may not have marked
  // the connection bad yet, so it is remembered until reset().
  std::string code = state ? code_for(state) : "connection";
  if (PQstatus(conn_) == CONNECTION_BAD) code = "connection";
  if (code == "connection") lost_ = true;
  std::string message = server_ + ": " + what + ": " + reason;
  if (state) message += std::string(" (SQLSTATE ") + state + ")";
  return Status::error(std::move(code), scrub(std::move(message), password_));
}

// A result that is neither success nor an error: no statement at all, or COPY, which this
// wrapper does not speak.
Status Connection::unexpected(const pg_result* result, const char* call,
                              std::string_view sql) const {
  if (result == nullptr) return Status::ok();
  ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_EMPTY_QUERY) {
    return Status::error("misuse", server_ + ": " + call + ": no statement in " + snippet(sql));
  }
  if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR ||
      status == PGRES_BAD_RESPONSE) {
    return Status::ok();
  }
  return Status::error("misuse", server_ + ": " + call + " " + snippet(sql) + ": " +
                                     PQresStatus(status) + " results are not supported");
}

Status Connection::exec(std::string_view sql) {
  std::string text(sql);
  ResultPtr result(PQexec(conn_, text.c_str()));
  if (result && succeeded(result.get())) return Status::ok();
  if (Status odd = unexpected(result.get(), "exec", sql); !odd) return odd;
  return error("exec " + snippet(sql), result.get());
}

Result<Rows> Connection::query_params(std::string_view sql, const Params& params) {
  std::string what = "query " + snippet(sql);
  if (params.nul_in_text_ != 0) {
    return Status::error("misuse", server_ + ": " + what + ": text parameter $" +
                                       std::to_string(params.nul_in_text_) +
                                       " holds a NUL byte, which PostgreSQL text cannot; "
                                       "bind bytes as a blob");
  }
  const int count = params.size();
  if (int expected = highest_parameter(sql); expected != count) {
    return Status::error("misuse", server_ + ": " + what + " takes " + std::to_string(expected) +
                                       " parameters, " + std::to_string(count) + " given");
  }
  std::vector<const char*> values(count);
  std::vector<int> lengths(count);
  for (int i = 0; i < count; ++i) {
    const auto& value = params.values_[i];
    values[i] = value ? value->c_str() : nullptr;
    lengths[i] = value ? static_cast<int>(value->size()) : 0;
  }
  std::string text(sql);
  ResultPtr result(PQexecParams(conn_, text.c_str(), count, params.types_.data(), values.data(),
                                lengths.data(), params.formats_.data(), /*resultFormat=*/0));
  if (result && succeeded(result.get())) return Rows(result.release());
  if (Status odd = unexpected(result.get(), "query", sql); !odd) return odd;
  return error(what, result.get());
}

bool Connection::in_transaction() const {
  PGTransactionStatusType state = conn_ ? PQtransactionStatus(conn_) : PQTRANS_UNKNOWN;
  return state == PQTRANS_INTRANS || state == PQTRANS_INERROR;
}

bool Connection::broken() const {
  return conn_ == nullptr || lost_ || PQstatus(conn_) == CONNECTION_BAD;
}

Status Connection::reset() {
  if (conn_ == nullptr) return Status::error("misuse", "reset: connection was moved from");
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) return error("reconnect", nullptr);
  lost_ = false;
  PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
  if (PQsetClientEncoding(conn_, "UTF8") != 0) return error("set client_encoding", nullptr);
  return Status::ok();
}

// ---- Transaction ----

Result<Transaction> Transaction::begin(Connection& conn, Isolation isolation) {
  if (PQtransactionStatus(conn.conn_) != PQTRANS_IDLE && !conn.broken()) {
    return Status::error("misuse", conn.server() + ": begin: a transaction is already open");
  }
  const char* sql = "BEGIN";
  if (isolation == Isolation::kRepeatableRead) sql = "BEGIN ISOLATION LEVEL REPEATABLE READ";
  if (isolation == Isolation::kSerializable) sql = "BEGIN ISOLATION LEVEL SERIALIZABLE";
  REFLEX_RETURN_IF_ERROR(conn.exec(sql));
  return Transaction(&conn);
}

Transaction::Transaction(Transaction&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)) {}

Transaction::~Transaction() {
  if (conn_ == nullptr || conn_->broken()) return;  // the server rolled it back itself
  PGTransactionStatusType state = PQtransactionStatus(conn_->conn_);
  if (state == PQTRANS_INTRANS || state == PQTRANS_INERROR) {
    PQclear(PQexec(conn_->conn_, "ROLLBACK"));
  }
}

Status Transaction::commit() {
  if (conn_ == nullptr) return Status::error("misuse", "commit: transaction already finished");
  if (PQtransactionStatus(conn_->conn_) == PQTRANS_INERROR) {
    return Status::error("misuse", conn_->server() +
                                       ": commit: a statement in this transaction failed, so "
                                       "it can only roll back");
  }
  ResultPtr result(PQexec(conn_->conn_, "COMMIT"));
  if (!result || !succeeded(result.get())) return conn_->error("commit", result.get());
  // PostgreSQL answers COMMIT of a failed transaction with ROLLBACK, not an error.
  if (std::string_view(PQcmdStatus(result.get())) != "COMMIT") {
    return Status::error("postgres", conn_->server() + ": commit: the server rolled back");
  }
  conn_ = nullptr;
  return Status::ok();
}

// ---- Migrations ----

Result<int> schema_version(Connection& conn) {
  auto exists = conn.query("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists) return exists.status();
  if (!(*exists)[0].column_bool(0)) return 0;
  auto newest = conn.query("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!newest) return newest.status();
  return static_cast<int>((*newest)[0].column_int64(0));
}

namespace {

Status apply(Connection& conn, const Migration& m, int newest) {
  std::string context = conn.server() + ": migration " + std::to_string(m.version);
  auto tx = Transaction::begin(conn);
  if (!tx) return tx.status().with_context(context);
  // Held until this transaction ends; other migrators wait here, then see its result.
  auto lock = conn.query("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
  if (!lock) return lock.status().with_context(context);
  REFLEX_RETURN_IF_ERROR(
      conn.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"));
  auto current = schema_version(conn);
  if (!current) return current.status();
  if (*current > newest) return schema_too_new(conn.server(), *current, newest);
  if (*current >= m.version) return Status::ok();  // another process applied it
  REFLEX_RETURN_IF_ERROR(conn.exec(m.sql).with_context(context));
  auto recorded = conn.run("INSERT INTO schema_migrations (version) VALUES ($1)", m.version);
  if (!recorded) return recorded.status().with_context(context);
  return tx->commit().with_context(context);
}

}  // namespace

Status migrate(Connection& conn, std::span<const Migration> migrations) {
  int newest = 0;
  for (const Migration& m : migrations) {
    if (m.version <= newest) {
      return Status::error("misuse", conn.server() +
                                         ": migration versions must be positive and "
                                         "strictly increasing; " +
                                         std::to_string(m.version) + " follows " +
                                         std::to_string(newest));
    }
    newest = m.version;
  }
  auto current = schema_version(conn);
  if (!current) return current.status();
  if (*current > newest) return schema_too_new(conn.server(), *current, newest);
  // Up to date takes no lock and writes nothing, so a read-only role can call migrate too.
  for (const Migration& m : migrations) {
    if (m.version > *current) REFLEX_RETURN_IF_ERROR(apply(conn, m, newest));
  }
  return Status::ok();
}

}  // namespace reflex::pg
