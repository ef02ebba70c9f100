// Leadership among hubs that share one PostgreSQL: a lease row with a fencing token.
//
// Exactly one hub at a time should run the singleton work (timers, escalations, the
// outbox sender). A hub leads while it holds the lease row `leader_lease` named, say,
// "hub": it must renew it before it expires, and another hub may take it over only after
// it has expired. Expiry is judged by the database server's clock alone, so hubs whose
// clocks disagree still agree on who leads.
//
// A lease alone cannot stop a leader that was paused (GC, SIGSTOP, a VM migration) past
// its expiry and then wakes up believing it still leads. So every term carries a token
// that grows by one whenever the lease is newly acquired (never on a renewal), and every
// singleton write carries the token it was decided under: fenced_check() refuses
// ("fenced") a write whose token is no longer the current term's, and holds the lease row
// so a takeover waits for the write's transaction to end; a transaction left idle past
// the lease (its leader paused) is ended by the server. A write is therefore either
// committed before the next term starts or not at all.
//
// The table is created by kLeaseMigration, to be listed among the store's migrations.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/pg.h"
#include "common/status.h"

namespace reflex::hub::cluster {

// leader_lease(name, holder, token, expires_at_ms, acquired_at_ms); times are the
// server's clock in ms since the epoch.
extern const std::string_view kLeaseMigration;

// What one try_acquire_or_renew() found.
struct LeaseState {
  bool leader = false;         // this hub holds the lease until expires_at_ms
  std::string holder;          // who holds it (this hub when leader; "" when no row)
  int64_t token = 0;           // the holder's term
  int64_t expires_at_ms = 0;   // server clock
  int64_t acquired_at_ms = 0;  // server clock: when the holder's term began
  int64_t server_now_ms = 0;   // the server clock when this was decided
};

// What a singleton write carries: the lease and the term it was decided under.
struct Fence {
  std::string lease_name;
  int64_t token = 0;
};

// One hub's side of one lease. Uses `conn` (which must outlive it) for every call, one
// thread at a time, like the Connection itself.
//
// The hub should renew well inside the lease (every lease_ms / 3, say) and stop acting as
// leader once lease_ms has passed on its own monotonic clock since it sent the last
// successful renewal, whether or not it could reach the database: fencing makes a late
// write harmless, but stepping down in time avoids making it.
class LeaseKeeper {
 public:
  // `hub_id` names this hub in the lease row and in GET /api/v1/cluster; unique per
  // running hub.
  LeaseKeeper(pg::Connection& conn, std::string lease_name, std::string hub_id);

  // In one statement: takes the lease if nobody holds a live one, or extends this hub's
  // live lease, to the server's now + lease_ms. A new term (a new token) begins whenever
  // the lease was free or expired, even if this hub held the expired one: writes made
  // under the lapsed term are fenced. Not leader: the state names the current holder.
  Result<LeaseState> try_acquire_or_renew(int64_t lease_ms);

  // Ends this hub's term `token` now, so another hub can take over at once. Ok when the
  // term had already ended.
  Status release(int64_t token);

  const std::string& hub_id() const { return hub_id_; }

 private:
  Result<LeaseState> read_current();

  pg::Connection& conn_;
  std::string lease_name_;
  std::string hub_id_;
};

// Inside an open transaction on `conn`: succeeds when `fence.token` is the current,
// unexpired term of the lease, and share-locks the lease row until the transaction ends
// (a takeover waits for it). Fails with "fenced" otherwise; the caller rolls back.
// The transaction may not then sit idle for longer than the lease has left: the server
// ends such a session (idle_in_transaction_session_timeout), so a leader paused in the
// middle of a write neither blocks the takeover nor commits after it.
// Keep fenced transactions short: the leader's own renewals wait for them too.
Status fenced_check(pg::Connection& conn, const Fence& fence);

// One transaction: fenced_check(), then `write`, then commit. A fenced or failed write
// changes nothing.
Status fenced_write(pg::Connection& conn, const Fence& fence,
                    const std::function<Status(pg::Connection&)>& write);

}  // namespace reflex::hub::cluster
