#include "hub/cluster/leadership.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace reflex::hub::cluster {
namespace {

// started_at_ms is rewritten only by the first write of this run ($6), so a hub restarted
// under the same hub_id shows when it started again.
constexpr std::string_view kUpsertMemberSql =
    "WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms)"
    " INSERT INTO cluster_members AS m"
    "  (hub_id, http_url, agent_endpoint, version, started_at_ms, seen_at_ms, role)"
    " SELECT $1, $2, $3, $4, now_ms, now_ms, $5 FROM clock"
    " ON CONFLICT (hub_id) DO UPDATE SET"
    "  http_url = excluded.http_url, agent_endpoint = excluded.agent_endpoint,"
    "  version = excluded.version, seen_at_ms = excluded.seen_at_ms, role = excluded.role,"
    "  started_at_ms = CASE WHEN $6 THEN excluded.started_at_ms ELSE m.started_at_ms END";

constexpr std::string_view kDeleteMemberSql = "DELETE FROM cluster_members WHERE hub_id = $1";

Status misuse(const std::string& what) {
  return Status::error("misuse", "leadership: " + what);
}

}  // namespace

Result<std::unique_ptr<Leadership>> Leadership::start(LeadershipOptions options,
                                                      LeadershipCallbacks callbacks) {
  if (options.conninfo.empty()) return misuse("no conninfo for the shared database");
  if (options.hub_id.empty()) return misuse("no hub_id");
  if (options.lease_name.empty()) return misuse("no lease name");
  if (options.lease < Millis(3)) {
    return misuse("the lease must be at least 3 ms, not " + std::to_string(options.lease.count()));
  }
  auto conn = pg::Connection::open(options.conninfo);
  if (!conn) return conn.status().with_context("leadership of hub " + options.hub_id);
  return std::unique_ptr<Leadership>(
      new Leadership(std::move(options), std::move(callbacks), std::move(conn).value()));
}

Leadership::Leadership(LeadershipOptions options, LeadershipCallbacks callbacks,
                       pg::Connection conn)
    : options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      clock_(options_.clock ? options_.clock : &system_clock_),
      conn_(std::move(conn)),
      keeper_(conn_, options_.lease_name, options_.hub_id),
      thread_([this] { run(); }) {}

Leadership::~Leadership() {
  stop();
}

void Leadership::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Leadership::leading_now() const {
  const int64_t deadline = deadline_ms_.load(std::memory_order_acquire);
  return deadline != kNotLeading && monotonic_ms() < deadline;
}

std::optional<Fence> Leadership::fence() const {
  std::lock_guard lock(mu_);
  if (!term_ || !leading_now()) return std::nullopt;
  return Fence{options_.lease_name, term_->token};
}

Result<ClusterView> Leadership::view() {
  std::lock_guard lock(view_mu_);
  if (!view_conn_) {
    auto conn = pg::Connection::open(options_.conninfo);
    if (!conn) return conn.status().with_context("cluster view");
    view_conn_.emplace(std::move(conn).value());
  }
  // Twice at most: a connection lost since the last call (a restart, a failover) is
  // reopened and the read tried again.
  Result<ClusterView> view = Status::error("connection", "not tried");
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (view_conn_->broken()) {
      REFLEX_RETURN_IF_ERROR(view_conn_->reset().with_context("cluster view"));
    }
    view = read_cluster(*view_conn_, options_.lease_name, 3 * options_.lease.count());
    if (view || !view_conn_->broken()) break;
  }
  return view;
}

void Leadership::run() {
  const auto interval = options_.lease / 3;
  bool member_started = false;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    if (options_.before_renewal) options_.before_renewal();
    const Millis next = renew(member_started, interval);
    lock.lock();
    wake_.wait_for(lock, next, [this] { return stopping_; });
  }
  lock.unlock();
  shutdown();
}

Millis Leadership::renew(bool& member_started, Millis interval) {
  // Whatever happens next, a term whose lease ran out while this thread did not run (the
  // process was stopped, a query hung) is over.
  step_down_if_expired("the lease ran out on this hub's clock before it could renew");

  Result<LeaseState> state = Status::error("connection", "not tried");
  int64_t sent_ms = 0;
  // Twice at most: a connection that was lost (a server restart, a failover) is reopened
  // and the renewal tried again at once, so a short outage costs no term.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (conn_.broken()) {
      Status reset = conn_.reset();
      if (!reset) {
        state = reset;
        break;
      }
    }
    sent_ms = monotonic_ms();
    state = keeper_.try_acquire_or_renew(options_.lease.count());
    if (state || !conn_.broken()) break;
  }
  if (!state) {
    const std::string failure = state.status().to_string();
    if (last_failure_.empty()) {
      spdlog::warn("hub {}: cannot renew the leadership lease: {}", options_.hub_id, failure);
    }
    last_failure_ = failure;
    step_down_if_expired("the lease ran out on this hub's clock while renewals failed: " + failure);
    return interval;
  }
  if (!last_failure_.empty()) {
    spdlog::info("hub {}: the leadership lease can be renewed again", options_.hub_id);
    last_failure_.clear();
  }
  apply(*state, sent_ms);
  Status written = write_member(!member_started);
  if (written) {
    member_started = true;
  } else {
    spdlog::warn("hub {}: cannot write its cluster_members row: {}", options_.hub_id,
                 written.to_string());
  }
  if (state->leader) return interval;
  // Another hub leads: try again just after its lease would run out (by the server's
  // clock), so a dead leader is replaced within the lease, not a renewal interval later.
  const int64_t until_expiry = state->expires_at_ms - state->server_now_ms + kAfterExpiry;
  return std::clamp(Millis(until_expiry), Millis(1), interval);
}

void Leadership::apply(const LeaseState& state, int64_t sent_ms) {
  // A renewal that came back after the lease ran out locally does not revive the term:
  // leading_now() has been false, so the hub has stepped down, and leads again only as a
  // new election.
  step_down_if_expired("the lease ran out on this hub's clock while a renewal was under way");
  const std::optional<Term> current = term_;  // only this thread writes term_
  if (!state.leader) {
    if (current) {
      step_down("the lease is held by " + state.holder + " (term " + std::to_string(state.token) +
                ")");
    }
    return;
  }
  if (current && current->token != state.token) {
    step_down("term " + std::to_string(current->token) +
              " ended: the lease was taken anew as term " + std::to_string(state.token));
  }
  deadline_ms_.store(sent_ms + options_.lease.count(), std::memory_order_release);
  if (current && current->token == state.token) return;  // renewed
  const Term term{state.token, state.acquired_at_ms};
  {
    std::lock_guard lock(mu_);
    term_ = term;
  }
  spdlog::info("hub {}: leads, term {} of lease \"{}\"", options_.hub_id, term.token,
               options_.lease_name);
  if (callbacks_.on_elected) callbacks_.on_elected(term);
}

void Leadership::step_down_if_expired(const std::string& cause) {
  if (term_ && !leading_now()) step_down(cause);
}

void Leadership::step_down(const std::string& why) {
  // The gate first: nothing may act as leader once the term is being given up.
  deadline_ms_.store(kNotLeading, std::memory_order_release);
  Term ended;
  {
    std::lock_guard lock(mu_);
    ended = *term_;
    term_.reset();
  }
  spdlog::warn("hub {}: no longer leads (term {}): {}", options_.hub_id, ended.token, why);
  if (callbacks_.on_lost) callbacks_.on_lost(why);
}

Status Leadership::write_member(bool first) {
  const char* role = leading_now() ? "leader" : "standby";
  auto written = conn_.run(kUpsertMemberSql, options_.hub_id, options_.http_url,
                           options_.agent_endpoint, options_.version, role, first);
  return written.status();
}

void Leadership::shutdown() {
  if (term_) {
    const int64_t token = term_->token;
    step_down("this hub is stopping");
    if (!conn_.broken()) {
      Status released = keeper_.release(token);
      if (!released) {
        spdlog::warn("hub {}: cannot release the leadership lease: {}", options_.hub_id,
                     released.to_string());
      }
    }
  }
  if (!conn_.broken()) {
    auto deleted = conn_.run(kDeleteMemberSql, options_.hub_id);
    if (!deleted) {
      spdlog::warn("hub {}: cannot delete its cluster_members row: {}", options_.hub_id,
                   deleted.status().to_string());
    }
  }
}

}  // namespace reflex::hub::cluster
