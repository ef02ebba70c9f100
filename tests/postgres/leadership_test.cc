#include "hub/cluster/leadership.h"

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hub/cluster/cluster_schema.h"
#include "tests/postgres/pg_fixture.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::hub::cluster;
using namespace reflex::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// What a hub's callbacks were told, in order. Shared with the Leadership thread.
struct Events {
  mutable std::mutex mu;
  std::vector<Term> elected;
  std::vector<std::string> lost;

  size_t elected_count() const {
    std::lock_guard lock(mu);
    return elected.size();
  }
  size_t lost_count() const {
    std::lock_guard lock(mu);
    return lost.size();
  }
  Term last_term() const {
    std::lock_guard lock(mu);
    return elected.empty() ? Term{} : elected.back();
  }
  std::string last_lost() const {
    std::lock_guard lock(mu);
    return lost.empty() ? "" : lost.back();
  }
};

// The system's clocks, with a monotonic clock a test can move forward: what a process
// stopped for a while finds when it runs again.
class SteppedClock final : public Clock {
 public:
  int64_t now_ms() const override { return system_.now_ms(); }
  int64_t monotonic_ms() const override { return system_.monotonic_ms() + offset_ms_.load(); }
  void jump(milliseconds by) { offset_ms_ += by.count(); }

 private:
  SystemClock system_;
  std::atomic<int64_t> offset_ms_{0};
};

// Parks a Leadership thread at its next renewal while held (LeadershipOptions::
// before_renewal): the thread does not run, as if the process were stopped.
class Freezer {
 public:
  std::function<void()> hook() {
    return [state = state_] {
      std::unique_lock lock(state->mu);
      if (!state->held) return;
      state->parked = true;
      state->changed.notify_all();
      state->changed.wait(lock, [&] { return !state->held; });
      state->parked = false;
    };
  }
  void hold() {
    std::lock_guard lock(state_->mu);
    state_->held = true;
  }
  // Whether the thread is parked within `timeout`.
  bool wait_parked(milliseconds timeout) {
    std::unique_lock lock(state_->mu);
    return state_->changed.wait_for(lock, timeout, [&] { return state_->parked; });
  }
  void thaw() {
    std::lock_guard lock(state_->mu);
    state_->held = false;
    state_->changed.notify_all();
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable changed;
    bool held = false;
    bool parked = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Thaws a Freezer when it goes. Declared after the Leadership whose thread it parks, so a
// test that ends early still lets that thread go before the Leadership waits for it.
struct ThawOnExit {
  Freezer& freezer;
  ~ThawOnExit() { freezer.thaw(); }
};

// A throwaway server with the cluster tables, and a connection for the test's own reads.
struct Cluster {
  Cluster() : server(launch_pg()), conn(connect_ok(server->dsn())) {
    const std::array<pg::Migration, 1> migrations = {{{1, cluster_migration()}}};
    require_ok(pg::migrate(conn, migrations));
  }

  LeadershipOptions options(const std::string& hub_id, milliseconds lease) const {
    LeadershipOptions o;
    o.conninfo = server->dsn();
    o.hub_id = hub_id;
    o.lease = lease;
    o.http_url = "http://" + hub_id + ":8080";
    o.agent_endpoint = "tcp://" + hub_id + ":7070";
    o.version = "0.1.0-test";
    return o;
  }

  std::unique_ptr<Leadership> start(LeadershipOptions o, const std::shared_ptr<Events>& events) {
    LeadershipCallbacks callbacks;
    callbacks.on_elected = [events](const Term& term) {
      std::lock_guard lock(events->mu);
      events->elected.push_back(term);
    };
    callbacks.on_lost = [events](const std::string& why) {
      std::lock_guard lock(events->mu);
      events->lost.push_back(why);
    };
    auto leadership = Leadership::start(std::move(o), std::move(callbacks));
    INFO(leadership.status().to_string());
    REQUIRE(leadership.is_ok());
    return std::move(leadership).value();
  }

  // The lease row's expiry (server clock), 0 without a row. Reconnects after a restart.
  int64_t lease_expires_at_ms() {
    constexpr std::string_view kSql = "SELECT expires_at_ms FROM leader_lease WHERE name = 'hub'";
    auto rows = conn.query(kSql);
    if (!rows && conn.broken()) {
      require_ok(conn.reset());
      rows = conn.query(kSql);
    }
    INFO(rows.status().to_string());
    REQUIRE(rows.is_ok());
    return rows->empty() ? 0 : (*rows)[0].column_int64(0);
  }

  ClusterView view(int64_t seen_within_ms = 60'000) {
    auto view = read_cluster(conn, "hub", seen_within_ms);
    INFO(view.status().to_string());
    REQUIRE(view.is_ok());
    return std::move(view).value();
  }

  std::unique_ptr<PgServer> server;
  pg::Connection conn;
};

const Member* find_member(const ClusterView& view, const std::string& hub_id) {
  for (const Member& m : view.members) {
    if (m.hub_id == hub_id) return &m;
  }
  return nullptr;
}
// The result points into the view: not into one that is about to go.
const Member* find_member(ClusterView&& view, const std::string& hub_id) = delete;

}  // namespace

TEST_CASE("leadership: of two hubs exactly one leads, and the cluster view shows both") {
  Cluster cluster;
  auto a_events = std::make_shared<Events>();
  auto b_events = std::make_shared<Events>();
  auto a = cluster.start(cluster.options("hub-a", seconds(3)), a_events);
  auto b = cluster.start(cluster.options("hub-b", seconds(3)), b_events);

  // Both have renewed at least twice: each member row has been rewritten since it began.
  REQUIRE(wait_until(
      [&] {
        ClusterView view = cluster.view();
        const Member* ma = find_member(view, "hub-a");
        const Member* mb = find_member(view, "hub-b");
        return ma && mb && ma->seen_at_ms > ma->started_at_ms && mb->seen_at_ms > mb->started_at_ms;
      },
      seconds(10)));

  CHECK(a->leading_now() != b->leading_now());
  CHECK(a_events->elected_count() + b_events->elected_count() == 1);
  CHECK(a_events->lost_count() + b_events->lost_count() == 0);
  Leadership& leader = a->leading_now() ? *a : *b;
  Leadership& standby = a->leading_now() ? *b : *a;
  const Term term = (a->leading_now() ? a_events : b_events)->last_term();
  CHECK(term.token == 1);

  std::optional<Fence> fence = leader.fence();
  REQUIRE(fence);
  CHECK(fence->lease_name == "hub");
  CHECK(fence->token == 1);
  CHECK_FALSE(standby.fence());

  ClusterView view = cluster.view();
  CHECK(view.leader() == leader.hub_id());
  REQUIRE(view.lease);
  CHECK(view.lease->holder == leader.hub_id());
  CHECK(view.lease->token == 1);
  CHECK(view.lease->acquired_at_ms == term.acquired_at_ms);
  CHECK(view.lease->expires_at_ms > view.server_now_ms);
  CHECK_FALSE(view.in_recovery);
  CHECK_FALSE(view.replay_delay_ms);
  CHECK(view.replicas.empty());
  REQUIRE(view.members.size() == 2);
  CHECK(view.members[0].hub_id == "hub-a");  // ordered by hub_id
  const Member* lm = find_member(view, leader.hub_id());
  const Member* sm = find_member(view, standby.hub_id());
  REQUIRE(lm);
  REQUIRE(sm);
  CHECK(lm->role == "leader");
  CHECK(sm->role == "standby");
  CHECK(lm->http_url == "http://" + leader.hub_id() + ":8080");
  CHECK(lm->agent_endpoint == "tcp://" + leader.hub_id() + ":7070");
  CHECK(lm->version == "0.1.0-test");
  CHECK(lm->started_at_ms <= lm->seen_at_ms);
  CHECK(lm->seen_at_ms <= view.server_now_ms);

  // Leadership's own view reads the same, on a connection of its own.
  auto own = standby.view();
  INFO(own.status().to_string());
  REQUIRE(own.is_ok());
  CHECK(own->leader() == leader.hub_id());
  CHECK(own->members.size() == 2);

  nlohmann::json json = cluster_json(view);
  CHECK(json["leader"] == leader.hub_id());
  CHECK(json["lease"]["token"] == 1);
  CHECK(json["lease"]["live"] == true);
  CHECK(json["members"].size() == 2);
  CHECK(json["database"]["in_recovery"] == false);
  CHECK(json["database"]["replicas"].empty());
}

TEST_CASE(
    "leadership: a stopped leader releases the lease, so another takes over before it "
    "would have expired") {
  Cluster cluster;
  auto a_events = std::make_shared<Events>();
  auto b_events = std::make_shared<Events>();
  // A long lease: a takeover before its expiry can only come from the release.
  auto a = cluster.start(cluster.options("hub-a", seconds(15)), a_events);
  REQUIRE(wait_until([&] { return a->leading_now(); }, seconds(10)));
  auto b = cluster.start(cluster.options("hub-b", seconds(15)), b_events);
  REQUIRE(wait_until([&] { return cluster.view().members.size() == 2; }, seconds(10)));
  CHECK_FALSE(b->leading_now());

  const int64_t a_expiry = cluster.lease_expires_at_ms();  // a's renewals only move it later
  a->stop();
  CHECK_FALSE(a->leading_now());
  CHECK_FALSE(a->fence());
  REQUIRE(a_events->lost_count() == 1);
  CHECK_THAT(a_events->last_lost(), Catch::Contains("stopping"));

  REQUIRE(wait_until([&] { return b->leading_now(); }, seconds(10)));
  const Term b_term = b_events->last_term();
  CHECK(b_term.token == 2);
  CHECK(b_term.acquired_at_ms < a_expiry);

  // The stopped hub's row is gone; the new leader's says so once it has written again.
  REQUIRE(wait_until(
      [&] {
        ClusterView view = cluster.view();
        return view.members.size() == 1 && view.members[0].role == "leader";
      },
      seconds(10)));
  ClusterView view = cluster.view();
  CHECK(view.members[0].hub_id == "hub-b");
  CHECK(view.leader() == "hub-b");
}

TEST_CASE(
    "leadership: a leader that cannot reach the database steps down when the lease has "
    "passed on its own clock") {
  Cluster cluster;
  auto events = std::make_shared<Events>();
  auto a = cluster.start(cluster.options("hub-a", milliseconds(600)), events);
  REQUIRE(wait_until([&] { return a->leading_now(); }, seconds(10)));
  const Term first = events->last_term();

  require_ok(cluster.server->stop());
  REQUIRE(wait_until([&] { return events->lost_count() == 1; }, seconds(10)));
  CHECK_FALSE(a->leading_now());
  CHECK_FALSE(a->fence());
  CHECK_THAT(events->last_lost(), Catch::Contains("ran out"));
  CHECK(events->elected_count() == 1);

  // Back, with the lease long expired: a new term, with a new token.
  require_ok(cluster.server->start());
  REQUIRE(wait_until([&] { return events->elected_count() == 2; }, seconds(10)));
  CHECK(a->leading_now());
  CHECK(events->last_term().token == first.token + 1);
  REQUIRE(a->fence());
  CHECK(a->fence()->token == first.token + 1);
}

TEST_CASE(
    "leadership: a hub frozen past its lease stops leading on its own clock, and another "
    "takes over only after the lease expired on the server") {
  Cluster cluster;
  auto a_events = std::make_shared<Events>();
  auto b_events = std::make_shared<Events>();
  LeadershipOptions a_options = cluster.options("hub-a", milliseconds(900));
  Freezer freezer;
  a_options.before_renewal = freezer.hook();
  auto a = cluster.start(std::move(a_options), a_events);
  ThawOnExit thaw{freezer};
  REQUIRE(wait_until([&] { return a->leading_now(); }, seconds(10)));
  auto b = cluster.start(cluster.options("hub-b", milliseconds(900)), b_events);
  REQUIRE(wait_until([&] { return cluster.view().members.size() == 2; }, seconds(10)));
  CHECK_FALSE(b->leading_now());

  freezer.hold();
  REQUIRE(freezer.wait_parked(seconds(10)));
  // a's thread renews no more; the row holds the last expiry it will ever get.
  const int64_t a_expiry = cluster.lease_expires_at_ms();
  REQUIRE(wait_until([&] { return !a->leading_now(); }, seconds(10)));
  CHECK_FALSE(a->fence());
  CHECK(a_events->lost_count() == 0);  // its thread has not run since

  REQUIRE(wait_until([&] { return b->leading_now(); }, seconds(10)));
  const Term b_term = b_events->last_term();
  CHECK(b_term.token == a_events->last_term().token + 1);
  CHECK(b_term.acquired_at_ms >= a_expiry);  // not a moment before, by the server's clock

  // a runs again: it has lost, and stays a standby.
  freezer.thaw();
  REQUIRE(wait_until([&] { return a_events->lost_count() == 1; }, seconds(10)));
  CHECK_THAT(a_events->last_lost(), Catch::Contains("ran out"));
  REQUIRE(wait_until(
      [&] {
        const ClusterView view = cluster.view();  // find_member points into it
        const Member* m = find_member(view, "hub-a");
        return m && m->role == "standby";
      },
      seconds(10)));
  CHECK_FALSE(a->leading_now());
  CHECK(a_events->elected_count() == 1);
  CHECK(b->leading_now());
  CHECK(b_events->lost_count() == 0);
}

TEST_CASE(
    "leadership: leading_now() is false the moment a hub resumes from a freeze longer "
    "than the lease, before its thread runs again") {
  Cluster cluster;
  SteppedClock clock;  // before `a`, which reads it
  auto events = std::make_shared<Events>();
  LeadershipOptions options = cluster.options("hub-a", seconds(6));
  options.clock = &clock;
  Freezer freezer;
  options.before_renewal = freezer.hook();
  auto a = cluster.start(std::move(options), events);
  ThawOnExit thaw{freezer};
  REQUIRE(wait_until([&] { return a->leading_now(); }, seconds(10)));

  // The thread is parked between renewals, with most of the lease to go (6 s, renewed
  // every 2 s); then the monotonic clock shows a freeze longer than the lease.
  freezer.hold();
  REQUIRE(freezer.wait_parked(seconds(10)));
  CHECK(a->leading_now());
  clock.jump(seconds(7));
  CHECK_FALSE(a->leading_now());
  CHECK_FALSE(a->fence());
  CHECK(events->lost_count() == 0);  // nothing but the clock has told it

  // Its thread runs: it reports the loss first, then, the server's lease being still
  // live, leads again as a new election.
  freezer.thaw();
  REQUIRE(wait_until([&] { return events->elected_count() == 2; }, seconds(10)));
  REQUIRE(events->lost_count() == 1);
  CHECK_THAT(events->last_lost(), Catch::Contains("ran out"));
  CHECK(a->leading_now());
}

TEST_CASE("leadership: a PostgreSQL restart shorter than the lease costs no term") {
  Cluster cluster;
  auto events = std::make_shared<Events>();
  auto a = cluster.start(cluster.options("hub-a", seconds(15)), events);
  REQUIRE(wait_until([&] { return a->leading_now(); }, seconds(10)));
  const int64_t before = cluster.lease_expires_at_ms();

  require_ok(cluster.server->restart());
  // Renewed after the restart (every 5 s), on a connection opened again.
  REQUIRE(wait_until([&] { return cluster.lease_expires_at_ms() > before; }, seconds(15)));
  CHECK(a->leading_now());
  CHECK(events->lost_count() == 0);
  CHECK(events->elected_count() == 1);
  REQUIRE(a->fence());
  CHECK(a->fence()->token == 1);
}

TEST_CASE("leadership: options that cannot work are refused, naming what is wrong") {
  Cluster cluster;
  auto events = std::make_shared<Events>();
  auto refused = [&](LeadershipOptions o) {
    auto leadership = Leadership::start(std::move(o), {});
    REQUIRE_FALSE(leadership.is_ok());
    return leadership.status();
  };
  LeadershipOptions no_id = cluster.options("", seconds(1));
  CHECK_THAT(refused(no_id).message(), Catch::Contains("hub_id"));
  LeadershipOptions no_lease = cluster.options("hub-a", milliseconds(0));
  CHECK_THAT(refused(no_lease).message(), Catch::Contains("lease"));
  LeadershipOptions no_server = cluster.options("hub-a", seconds(1));
  no_server.conninfo = "host=" + cluster.server->socket_dir() + "/nowhere dbname=reflex_test";
  CHECK(refused(no_server).code() == "connection");
}

TEST_CASE("cluster_json: times in RFC 3339 and ms, absent values as null") {
  ClusterView view;
  view.lease_name = "hub";
  view.server_now_ms = 1'767'261'600'500;  // 2026-01-01T10:00:00.500Z
  view.lease = LeaseRow{"hub-a", 4, 1'767'261'590'000, 1'767'261'610'000};
  view.members.push_back(Member{"hub-a", "http://a:8080", "tcp://a:7070", "0.1.0", "leader",
                                1'767'261'000'000, 1'767'261'600'000});
  view.replicas.push_back(Replica{"db2", "10.0.0.2", "streaming", 3, std::nullopt, 5});
  view.replicas.push_back(
      Replica{"db3", std::nullopt, "catchup", std::nullopt, std::nullopt, std::nullopt});

  nlohmann::json json = cluster_json(view);
  CHECK(json["lease_name"] == "hub");
  CHECK(json["leader"] == "hub-a");
  CHECK(json["server_now"] == "2026-01-01T10:00:00.500Z");
  CHECK(json["server_now_ms"] == 1'767'261'600'500);
  CHECK(json["lease"]["holder"] == "hub-a");
  CHECK(json["lease"]["token"] == 4);
  CHECK(json["lease"]["live"] == true);
  CHECK(json["lease"]["acquired_at"] == "2026-01-01T09:59:50Z");
  CHECK(json["lease"]["expires_at_ms"] == 1'767'261'610'000);
  const nlohmann::json& m = json["members"][0];
  CHECK(m["hub_id"] == "hub-a");
  CHECK(m["role"] == "leader");
  CHECK(m["http_url"] == "http://a:8080");
  CHECK(m["agent_endpoint"] == "tcp://a:7070");
  CHECK(m["version"] == "0.1.0");
  CHECK(m["started_at"] == "2026-01-01T09:50:00Z");
  CHECK(m["seen_at_ms"] == 1'767'261'600'000);
  CHECK(json["database"]["in_recovery"] == false);
  CHECK(json["database"]["replay_delay_ms"].is_null());
  const nlohmann::json& replicas = json["database"]["replicas"];
  REQUIRE(replicas.size() == 2);
  CHECK(replicas[0]["client_addr"] == "10.0.0.2");
  CHECK(replicas[0]["write_lag_ms"] == 3);
  CHECK(replicas[0]["flush_lag_ms"].is_null());
  CHECK(replicas[0]["replay_lag_ms"] == 5);
  CHECK(replicas[1]["client_addr"].is_null());
  CHECK(replicas[1]["state"] == "catchup");

  // An expired lease names no leader; no lease at all is null.
  view.server_now_ms = 1'767'261'610'000;
  CHECK(cluster_json(view)["leader"].is_null());
  CHECK(cluster_json(view)["lease"]["live"] == false);
  view.lease.reset();
  CHECK(cluster_json(view)["lease"].is_null());
  CHECK(cluster_json(view)["leader"].is_null());
}
