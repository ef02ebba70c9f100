#include "hub/cluster/lease.h"

#include <algorithm>
#include <utility>

namespace reflex::hub::cluster {
namespace {

// The server's clock in ms since the epoch. clock_timestamp(), not now(): now() is the
// start of the enclosing transaction, which may be long past.
#define REFLEX_SERVER_NOW_MS "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

// One statement, so two hubs racing for a free lease cannot both win: the insert of one
// conflicts with the other's, and ON CONFLICT re-reads the row the winner committed. The
// clock is read once (a CTE with a volatile function is evaluated once).
constexpr std::string_view kAcquireSql =
    "WITH clock AS (SELECT " REFLEX_SERVER_NOW_MS
    " AS now_ms)"
    " INSERT INTO leader_lease AS l (name, holder, token, expires_at_ms, acquired_at_ms)"
    " SELECT $1, $2, 1, now_ms + $3, now_ms FROM clock"
    " ON CONFLICT (name) DO UPDATE SET"
    "  token = CASE WHEN l.holder = excluded.holder AND l.expires_at_ms > excluded.acquired_at_ms"
    "          THEN l.token ELSE l.token + 1 END,"
    "  acquired_at_ms = CASE WHEN l.holder = excluded.holder"
    "                        AND l.expires_at_ms > excluded.acquired_at_ms"
    "                   THEN l.acquired_at_ms ELSE excluded.acquired_at_ms END,"
    "  holder = excluded.holder,"
    "  expires_at_ms = excluded.expires_at_ms"
    " WHERE l.holder = excluded.holder OR l.expires_at_ms <= excluded.acquired_at_ms"
    " RETURNING holder, token, expires_at_ms, acquired_at_ms, (SELECT now_ms FROM clock)";

constexpr std::string_view kCurrentSql =
    "SELECT holder, token, expires_at_ms, acquired_at_ms, " REFLEX_SERVER_NOW_MS
    " FROM leader_lease WHERE name = $1";

constexpr std::string_view kReleaseSql =
    "UPDATE leader_lease SET expires_at_ms = " REFLEX_SERVER_NOW_MS
    " WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at_ms > " REFLEX_SERVER_NOW_MS;

// FOR SHARE: a takeover (an UPDATE of this row) waits until the fenced transaction ends.
// The last column is what is left of the lease, in ms.
constexpr std::string_view kFenceSql =
    "SELECT holder, token, expires_at_ms > " REFLEX_SERVER_NOW_MS
    ", expires_at_ms - " REFLEX_SERVER_NOW_MS " FROM leader_lease WHERE name = $1 FOR SHARE";

// For the rest of the transaction: the server ends the session if the transaction sits
// idle (the client sends nothing) for $1 ms.
constexpr std::string_view kIdleLimitSql =
    "SELECT set_config('idle_in_transaction_session_timeout', $1, true)";

LeaseState state_from(const pg::Row& row, const std::string& hub_id) {
  LeaseState state;
  state.holder = row.column_text(0);
  state.token = row.column_int64(1);
  state.expires_at_ms = row.column_int64(2);
  state.acquired_at_ms = row.column_int64(3);
  state.server_now_ms = row.column_int64(4);
  state.leader = state.holder == hub_id && state.expires_at_ms > state.server_now_ms;
  return state;
}

}  // namespace

const std::string_view kLeaseMigration =
    "CREATE TABLE leader_lease ("
    " name text PRIMARY KEY,"
    " holder text NOT NULL,"
    " token bigint NOT NULL,"
    " expires_at_ms bigint NOT NULL,"
    " acquired_at_ms bigint NOT NULL)";

LeaseKeeper::LeaseKeeper(pg::Connection& conn, std::string lease_name, std::string hub_id)
    : conn_(conn), lease_name_(std::move(lease_name)), hub_id_(std::move(hub_id)) {}

Result<LeaseState> LeaseKeeper::try_acquire_or_renew(int64_t lease_ms) {
  if (lease_ms <= 0) {
    return Status::error("misuse", "lease \"" + lease_name_ +
                                       "\": lease_ms must be positive, not " +
                                       std::to_string(lease_ms));
  }
  auto rows = conn_.query(kAcquireSql, lease_name_, hub_id_, lease_ms);
  if (!rows) return rows.status().with_context("lease \"" + lease_name_ + "\"");
  if (!rows->empty()) {
    LeaseState state = state_from((*rows)[0], hub_id_);
    state.leader = true;  // the row was written by this statement
    return state;
  }
  return read_current();  // another hub holds a live lease
}

Result<LeaseState> LeaseKeeper::read_current() {
  auto rows = conn_.query(kCurrentSql, lease_name_);
  if (!rows) return rows.status().with_context("lease \"" + lease_name_ + "\"");
  if (rows->empty()) return LeaseState{};
  return state_from((*rows)[0], hub_id_);
}

Status LeaseKeeper::release(int64_t token) {
  auto changed = conn_.run(kReleaseSql, lease_name_, hub_id_, token);
  if (!changed) return changed.status().with_context("lease \"" + lease_name_ + "\"");
  return Status::ok();
}

Status fenced_check(pg::Connection& conn, const Fence& fence) {
  std::string context = "lease \"" + fence.lease_name + "\"";
  if (!conn.in_transaction()) {
    return Status::error("misuse", conn.server() + ": " + context +
                                       ": fenced_check outside a transaction guards nothing");
  }
  auto rows = conn.query(kFenceSql, fence.lease_name);
  if (!rows) return rows.status().with_context(context);
  std::string term = "term " + std::to_string(fence.token);
  if (rows->empty()) {
    return Status::error("fenced", conn.server() + ": " + context + ": " + term +
                                       " is not current: nobody holds the lease");
  }
  pg::Row row = (*rows)[0];
  if (row.column_int64(1) != fence.token) {
    return Status::error("fenced", conn.server() + ": " + context + ": " + term +
                                       " is over; term " + std::to_string(row.column_int64(1)) +
                                       " is held by " + row.column_text(0));
  }
  if (!row.column_bool(2)) {
    return Status::error(
        "fenced", conn.server() + ": " + context + ": " + term + " has expired or was released");
  }
  // The row lock makes a takeover wait for this transaction. A leader paused in the middle
  // of it (SIGSTOP, a stalled VM) would make it wait for ever: so the transaction may not
  // sit idle beyond the lease. The server then ends the session, releasing the lock, and
  // the write is rolled back: it can neither block the next term nor commit in it.
  auto limited =
      conn.query(kIdleLimitSql, std::to_string(std::max<int64_t>(1, row.column_int64(3))));
  if (!limited) return limited.status().with_context(context);
  return Status::ok();
}

Status fenced_write(pg::Connection& conn, const Fence& fence,
                    const std::function<Status(pg::Connection&)>& write) {
  auto tx = pg::Transaction::begin(conn);
  if (!tx) return tx.status();
  REFLEX_RETURN_IF_ERROR(fenced_check(conn, fence));
  REFLEX_RETURN_IF_ERROR(write(conn));
  return tx->commit();
}

}  // namespace reflex::hub::cluster
