#include "hub/cluster/lease.h"

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/postgres/pg_fixture.h"

using namespace reflex;
using namespace reflex::hub::cluster;
using namespace reflex::testing;

namespace {

constexpr int64_t kLong = 60'000;  // a lease that does not expire during a test
constexpr int64_t kShort = 200;    // one that a test waits out

// Two hubs, each with its own connection, on a migrated database.
struct TwoHubs {
  TwoHubs()
      : server(launch_pg()), conn_a(connect_ok(server->dsn())), conn_b(connect_ok(server->dsn())) {
    const std::array<pg::Migration, 2> migrations = {{
        {1, kLeaseMigration},
        {2, "CREATE TABLE notified (incident bigint PRIMARY KEY, by_hub text NOT NULL)"},
    }};
    require_ok(pg::migrate(conn_a, migrations));
  }

  std::unique_ptr<PgServer> server;
  pg::Connection conn_a;
  pg::Connection conn_b;
  LeaseKeeper a{conn_a, "hub", "hub-a"};
  LeaseKeeper b{conn_b, "hub", "hub-b"};
};

LeaseState acquire(LeaseKeeper& keeper, int64_t lease_ms) {
  auto state = keeper.try_acquire_or_renew(lease_ms);
  INFO(state.status().to_string());
  REQUIRE(state.is_ok());
  return *state;
}

int64_t server_now_ms(pg::Connection& conn) {
  return query_int(conn, "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint");
}

// Waits, by the server's clock, until `expires_at_ms` has passed.
void wait_past(pg::Connection& conn, int64_t expires_at_ms) {
  REQUIRE(wait_until([&] { return server_now_ms(conn) > expires_at_ms; }, std::chrono::seconds(5)));
}

// A singleton write: records that `hub` sent incident `id`'s notification.
Status notify(pg::Connection& conn, const Fence& fence, int64_t id, const std::string& hub) {
  return fenced_write(conn, fence, [&](pg::Connection& c) {
    auto done = c.run("INSERT INTO notified VALUES ($1, $2)", id, hub);
    return done.status();
  });
}

}  // namespace

TEST_CASE("lease: the first hub to ask leads with token 1, another cannot while it is live") {
  TwoHubs hubs;
  LeaseState a = acquire(hubs.a, kLong);
  CHECK(a.leader);
  CHECK(a.holder == "hub-a");
  CHECK(a.token == 1);
  CHECK(a.expires_at_ms == a.server_now_ms + kLong);
  CHECK(a.acquired_at_ms == a.server_now_ms);

  LeaseState b = acquire(hubs.b, kLong);
  CHECK(!b.leader);
  CHECK(b.holder == "hub-a");
  CHECK(b.token == 1);
  CHECK(b.expires_at_ms == a.expires_at_ms);  // b's attempt changed nothing
}

TEST_CASE("lease: renewing keeps the token and the term's start, and moves the expiry") {
  TwoHubs hubs;
  LeaseState first = acquire(hubs.a, kLong);
  LeaseState renewed = acquire(hubs.a, 2 * kLong);
  CHECK(renewed.leader);
  CHECK(renewed.token == first.token);
  CHECK(renewed.acquired_at_ms == first.acquired_at_ms);
  CHECK(renewed.expires_at_ms >= first.expires_at_ms + kLong);
  CHECK(!acquire(hubs.b, kLong).leader);
}

TEST_CASE("lease: after the lease expires another hub takes over with the next token") {
  TwoHubs hubs;
  LeaseState a = acquire(hubs.a, kShort);
  REQUIRE(a.token == 1);
  LeaseState b;
  REQUIRE(wait_until(
      [&] {
        b = acquire(hubs.b, kLong);
        return b.leader;
      },
      std::chrono::seconds(5)));
  CHECK(b.holder == "hub-b");
  CHECK(b.token == 2);
  CHECK(b.server_now_ms >= a.expires_at_ms);  // not a moment before, by the server's clock
  CHECK(b.acquired_at_ms == b.server_now_ms);

  LeaseState a_again = acquire(hubs.a, kLong);
  CHECK(!a_again.leader);
  CHECK(a_again.holder == "hub-b");
  CHECK(a_again.token == 2);
}

TEST_CASE("lease: an old leader's fenced write changes nothing and reports fenced") {
  TwoHubs hubs;
  LeaseState a = acquire(hubs.a, kShort);
  require_ok(notify(hubs.conn_a, {"hub", a.token}, 1, "hub-a"));  // while it leads

  // hub-a "pauses" past its lease; hub-b takes over.
  wait_past(hubs.conn_b, a.expires_at_ms);
  LeaseState b = acquire(hubs.b, kLong);
  REQUIRE(b.leader);
  REQUIRE(b.token == a.token + 1);

  // hub-a wakes up and sends what it had decided under its old term.
  Status late = notify(hubs.conn_a, {"hub", a.token}, 2, "hub-a");
  CHECK(late.code() == "fenced");
  CHECK_THAT(late.message(), Catch::Contains("hub-b"));
  CHECK(!hubs.conn_a.in_transaction());
  require_ok(notify(hubs.conn_b, {"hub", b.token}, 2, "hub-b"));

  pg::Rows rows = query_ok(hubs.conn_a, "SELECT incident, by_hub FROM notified ORDER BY incident");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].column_text(1) == "hub-a");
  CHECK(rows[1].column_text(1) == "hub-b");
}

TEST_CASE("lease: a lapsed term is fenced before anyone takes over, re-taking it is a new term") {
  TwoHubs hubs;
  LeaseState a = acquire(hubs.a, kShort);
  wait_past(hubs.conn_a, a.expires_at_ms);
  CHECK(notify(hubs.conn_a, {"hub", a.token}, 1, "hub-a").code() == "fenced");
  CHECK(query_int(hubs.conn_a, "SELECT count(*) FROM notified") == 0);

  LeaseState again = acquire(hubs.a, kLong);
  CHECK(again.leader);
  CHECK(again.token == a.token + 1);
  CHECK(notify(hubs.conn_a, {"hub", a.token}, 1, "hub-a").code() == "fenced");
  require_ok(notify(hubs.conn_a, {"hub", again.token}, 1, "hub-a"));
}

TEST_CASE("lease: release lets another hub take over at once") {
  TwoHubs hubs;
  LeaseState a = acquire(hubs.a, kLong);
  require_ok(hubs.b.release(a.token));  // not b's to release: changes nothing
  CHECK(!acquire(hubs.b, kLong).leader);

  require_ok(hubs.a.release(a.token));
  LeaseState b = acquire(hubs.b, kLong);
  CHECK(b.leader);
  CHECK(b.token == a.token + 1);
  CHECK(notify(hubs.conn_a, {"hub", a.token}, 1, "hub-a").code() == "fenced");
  require_ok(hubs.a.release(a.token));  // already over: fine
  CHECK(acquire(hubs.a, kLong).holder == "hub-b");
}

TEST_CASE("lease: a takeover waits for the old leader's fenced transaction to end") {
  TwoHubs hubs;
  LeaseState a = acquire(hubs.a, kLong);
  {
    auto tx = pg::Transaction::begin(hubs.conn_a);
    REQUIRE(tx.is_ok());
    require_ok(fenced_check(hubs.conn_a, {"hub", a.token}));
    // The lease row is held by a's transaction: b's attempt waits for it to end.
    require_ok(hubs.conn_b.exec("SET lock_timeout = '100ms'"));
    auto blocked = hubs.b.try_acquire_or_renew(kLong);
    REQUIRE(!blocked.is_ok());
    CHECK_THAT(blocked.status().message(), Catch::Contains("55P03"));  // lock_not_available
    REQUIRE(hubs.conn_a.run("INSERT INTO notified VALUES ($1, $2)", 1, "hub-a").is_ok());
    require_ok(tx->commit());
  }
  require_ok(hubs.a.release(a.token));
  LeaseState b = acquire(hubs.b, kLong);
  CHECK(b.leader);
  CHECK(b.token == 2);
  CHECK(query_int(hubs.conn_b, "SELECT count(*) FROM notified") == 1);
}

TEST_CASE(
    "lease: a fenced transaction left idle past the lease is ended by the server, so a paused "
    "leader blocks no takeover and its write is lost") {
  TwoHubs hubs;
  LeaseState a = acquire(hubs.a, kShort);
  {
    auto tx = pg::Transaction::begin(hubs.conn_a);
    REQUIRE(tx.is_ok());
    require_ok(fenced_check(hubs.conn_a, {"hub", a.token}));
    REQUIRE(hubs.conn_a.run("INSERT INTO notified VALUES ($1, $2)", 1, "hub-a").is_ok());
    // a is paused here, past its lease: b takes over once the server ended a's session.
    wait_past(hubs.conn_b, a.expires_at_ms);
    require_ok(hubs.conn_b.exec("SET lock_timeout = '5s'"));
    LeaseState b = acquire(hubs.b, kLong);
    CHECK(b.leader);
    CHECK(b.token == 2);
    CHECK_FALSE(tx->commit().is_ok());  // a wakes: its session is gone, and the write
  }
  CHECK(query_int(hubs.conn_b, "SELECT count(*) FROM notified") == 0);
}

TEST_CASE("lease: of hubs racing for a free lease exactly one wins") {
  auto server = launch_pg();
  {
    pg::Connection setup = connect_ok(server->dsn());
    const std::array<pg::Migration, 1> migrations = {{{1, kLeaseMigration}}};
    require_ok(pg::migrate(setup, migrations));
  }
  constexpr int kHubs = 4;
  std::vector<pg::Connection> conns;
  for (int i = 0; i < kHubs; ++i) conns.push_back(connect_ok(server->dsn()));
  std::vector<Result<LeaseState>> results(kHubs, Status::error("unset", ""));
  std::latch start(kHubs);
  std::vector<std::thread> threads;
  for (int i = 0; i < kHubs; ++i) {
    threads.emplace_back([&, i] {
      LeaseKeeper keeper(conns[i], "hub", "hub-" + std::to_string(i));
      start.arrive_and_wait();
      results[i] = keeper.try_acquire_or_renew(kLong);
    });
  }
  for (auto& t : threads) t.join();
  int leaders = 0;
  for (const auto& result : results) {
    INFO(result.status().to_string());
    REQUIRE(result.is_ok());
    leaders += result->leader ? 1 : 0;
    CHECK(result->token == 1);
  }
  CHECK(leaders == 1);
}

TEST_CASE("lease: fenced_check outside a transaction is a misuse, not a silent pass") {
  TwoHubs hubs;
  LeaseState a = acquire(hubs.a, kLong);
  CHECK(fenced_check(hubs.conn_a, {"hub", a.token}).code() == "misuse");
  CHECK(hubs.a.try_acquire_or_renew(0).status().code() == "misuse");
}
