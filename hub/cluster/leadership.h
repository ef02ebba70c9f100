// Which of the hubs sharing one PostgreSQL runs the singleton work (timers, escalations,
// the outbox sender) right now, kept up to date by a thread of its own.
//
// Leadership renews the lease (LeaseKeeper, lease.h) every lease/3 on a connection of its
// own, and writes this hub's cluster_members row (cluster_schema.h) at the same pace; a
// hub that does not lead tries again just after the leader's lease would expire (by the
// server's clock), so a dead leader is replaced within the lease plus a few ms. It
// tells the hub when it becomes leader and when it stops being leader, and answers
// leading_now(), the gate the singleton work checks before every external effect.
//
// Why a hub stops leading, whichever comes first:
//   - a renewal finds another holder, or the lease taken anew as a later term;
//   - the lease ran out on this hub's monotonic clock (lease after the last successful
//     renewal was sent) while renewals failed or this process did not run at all
//     (SIGSTOP, a VM paused). leading_now() turns false at that instant by itself; the
//     thread calls on_lost when it next runs.
//   - stop().
// A renewal that fails (the server restarting, a failover) is retried on a fresh
// connection (pg::Connection::reset()) at once and every lease/3 after, so an outage
// shorter than the lease costs nothing. A write that must not happen twice still carries
// fence() and goes through fenced_write(): leading_now() only makes a stale write
// unlikely, the fence makes it harmless.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/duration.h"
#include "common/pg.h"
#include "common/status.h"
#include "hub/cluster/cluster_view.h"
#include "hub/cluster/lease.h"

namespace reflex::hub::cluster {

// One term of this hub's leadership.
struct Term {
  int64_t token = 0;           // the lease's fencing token for this term
  int64_t acquired_at_ms = 0;  // server clock, ms since the epoch
};

struct LeadershipOptions {
  // libpq conninfo of the shared database (pg::Connection). Over TCP, bound what an
  // unreachable server can cost a renewal (connect_timeout, keepalives,
  // tcp_user_timeout): leading_now() turns false on time regardless, but on_lost waits
  // for the thread.
  std::string conninfo;
  std::string lease_name = "hub";
  std::string hub_id;          // unique among running hubs; names this hub everywhere
  Millis lease{10'000};        // renewed every lease/3
  std::string http_url;        // how to reach this hub's HTTP API; may be ""
  std::string agent_endpoint;  // where agents connect to this hub; may be ""
  std::string version;         // this hub's build, for the cluster view
  // The monotonic clock behind leading_now(); null for the system's (SystemClock, whose
  // steady clock keeps counting while the process is stopped). Read from any thread, so
  // it must be thread-safe, and it must outlive the Leadership.
  const Clock* clock = nullptr;
  // Called on the Leadership thread before each renewal. For tests, which block it to
  // stand for a process whose threads do not run (it cannot SIGSTOP itself). Must return
  // before stop() can finish.
  std::function<void()> before_renewal;
};

// Called on the Leadership thread, one at a time, in the order things happened: every
// on_elected is followed by one on_lost before the next on_elected. They must not call
// stop() (the thread would wait for itself) and should return promptly: renewals wait
// for them.
struct LeadershipCallbacks {
  std::function<void(const Term&)> on_elected;
  std::function<void(const std::string& why)> on_lost;
};

class Leadership {
 public:
  // Opens the connection and starts the thread, whose first renewal is immediate. Fails
  // ("misuse") on options that cannot work (no conninfo or hub_id, a lease under 3 ms),
  // or when the first connection cannot be opened (the Status names the server). The
  // tables (cluster_schema.h) must exist: the store's migrate creates them.
  static Result<std::unique_ptr<Leadership>> start(LeadershipOptions options,
                                                   LeadershipCallbacks callbacks);

  // stop().
  ~Leadership();
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  // Ends the thread. When leading: leading_now() turns false, on_lost("this hub is
  // stopping") is called, and the lease is released so another hub takes over at once.
  // Then this hub's cluster_members row is deleted: a stopped hub is no member, and no
  // reader has to wait for its row to age out. Both writes are attempted once; if the
  // database is unreachable the lease expires and the row ages out instead. Idempotent;
  // not from a callback.
  void stop();

  // True while this hub holds a term and its monotonic clock is before the moment the
  // last successful renewal was sent plus the lease. Any thread, lock-free: one atomic
  // load and one clock read.
  bool leading_now() const;

  // The current term's fence (lease name and token) while leading_now(); empty
  // otherwise. Any thread.
  std::optional<Fence> fence() const;

  // The cluster as the database holds it (read_cluster), members seen within 3 leases.
  // Uses a connection of its own, opened on first use and reopened when lost, so API
  // reads never hold up renewals. Any thread; concurrent calls take turns.
  Result<ClusterView> view();

  const std::string& hub_id() const { return options_.hub_id; }

 private:
  Leadership(LeadershipOptions options, LeadershipCallbacks callbacks, pg::Connection conn);

  void run();
  // One renewal and one member write; returns how long to wait before the next: the
  // renewal `interval` while leading, until just after the holder's lease expires if not.
  Millis renew(bool& member_started, Millis interval);
  // How long after another hub's lease expires a standby tries to take it.
  static constexpr int64_t kAfterExpiry = 20;
  // Keeps or begins a term as one successful renewal, sent at `sent_ms`, found it.
  void apply(const LeaseState& state, int64_t sent_ms);
  void step_down_if_expired(const std::string& cause);
  void step_down(const std::string& why);
  Status write_member(bool first);
  void shutdown();
  int64_t monotonic_ms() const { return clock_->monotonic_ms(); }

  const LeadershipOptions options_;
  const LeadershipCallbacks callbacks_;
  const SystemClock system_clock_;
  const Clock* clock_;

  // The Leadership thread's alone.
  pg::Connection conn_;
  LeaseKeeper keeper_;
  std::string last_failure_;  // the latest renewal error, "" after a success

  // leading_now(): the monotonic ms until which this hub leads; kNotLeading when it
  // holds no term.
  static constexpr int64_t kNotLeading = INT64_MIN;
  std::atomic<int64_t> deadline_ms_{kNotLeading};

  mutable std::mutex mu_;
  std::optional<Term> term_;  // written by the thread only, read by fence()
  bool stopping_ = false;
  std::condition_variable wake_;

  std::mutex view_mu_;
  std::optional<pg::Connection> view_conn_;

  std::thread thread_;  // last: starts after everything it uses
};

}  // namespace reflex::hub::cluster
