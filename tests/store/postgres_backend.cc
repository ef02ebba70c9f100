// The store suite on PostgreSQL: one throwaway server per test process (ctest runs each
// case in a process of its own), a fresh database per test case. Also what only the
// PostgreSQL backend has: its config keys, the password, reconnecting.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <limits>

#include "common/pg.h"
#include "hub/cluster/leadership.h"
#include "hub/config.h"
#include "hub/pg_schema.h"
#include "hub/pg_store.h"
#include "hub/store_migrate.h"
#include "tests/postgres/pg_fixture.h"
#include "tests/store/store_suite.h"
#include "tests/support/process.h"

namespace reflex::testing {
namespace {

PgServer& shared_server() {
  static std::unique_ptr<PgServer> server;
  if (!server) server = launch_pg();
  return *server;
}

class PgStoreFixture final : public StoreFixture {
 public:
  PgStoreFixture() {
    static int databases = 0;
    const std::string name = "store_" + std::to_string(++databases);
    require_ok(shared_server().create_database(name));
    dsn_ = shared_server().dsn_for(name);
  }

  hub::StoreConfig config() const override {
    hub::StoreConfig cfg;
    cfg.backend = "postgres";
    cfg.dsn = dsn_;
    return cfg;
  }

  std::string peek(const std::string& sql) override {
    pg::Connection conn = connect_ok(dsn_);
    pg::Rows rows = query_ok(conn, sql);
    return rows.empty() ? "" : rows[0].column_text(0);
  }

  void record_schema_version(int version) override {
    pg::Connection conn = connect_ok(dsn_);
    auto n = conn.run("INSERT INTO schema_migrations (version) VALUES ($1)",
                      static_cast<int64_t>(version));
    INFO(n.status().to_string());
    REQUIRE(n);
  }

  void migrate_to(int version) override {
    pg::Connection conn = connect_ok(dsn_);
    auto all = hub::pg_migrations();
    REQUIRE(static_cast<size_t>(version) <= all.size());
    auto st = pg::migrate(conn, all.first(static_cast<size_t>(version)));
    INFO(st.to_string());
    REQUIRE(st);
  }

  void exec(const std::string& sql) override {
    pg::Connection conn = connect_ok(dsn_);
    auto n = conn.run(sql);
    INFO(n.status().to_string());
    REQUIRE(n);
  }

 private:
  std::string dsn_;
};

}  // namespace

std::unique_ptr<StoreFixture> make_store_fixture() {
  return std::make_unique<PgStoreFixture>();
}

}  // namespace reflex::testing

using namespace reflex;
using namespace reflex::hub;
using reflex::testing::TempDir;

namespace {

// The errors read_hub_config reports for `store_yaml`, one string.
std::string config_errors(const std::string& store_yaml) {
  auto root = config::parse_yaml("store: " + store_yaml + "\n", "hub.yaml");
  REQUIRE(root);
  auto cfg = read_hub_config(*root, "hub.yaml");
  return cfg ? "" : cfg.status().message();
}

constexpr const char* kPassword = "s3cret-Pa55 'quoted' \\back";

}  // namespace

TEST_CASE("hub.yaml's store section reads the postgres keys", "[store][config]") {
  auto root = config::parse_yaml(
      "store:\n"
      "  backend: postgres\n"
      "  dsn: host=db1 dbname=reflex user=reflex\n"
      "  pool: 8\n"
      "  password_file: /run/secrets/reflex-db\n",
      "hub.yaml");
  REQUIRE(root);
  auto cfg = read_hub_config(*root, "hub.yaml");
  INFO(cfg.status().to_string());
  REQUIRE(cfg);
  CHECK(cfg->store.postgres());
  CHECK(cfg->store.dsn == "host=db1 dbname=reflex user=reflex");
  CHECK(cfg->store.pool == 8);
  CHECK(cfg->store.password_file == "/run/secrets/reflex-db");
  CHECK(cfg->store.password_env.empty());
}

TEST_CASE("store config errors name the key", "[store][config]") {
  CHECK_THAT(config_errors("{backend: postgres}"), Catch::Contains("store.dsn"));
  CHECK_THAT(config_errors("{backend: postgres, dsn: ''}"), Catch::Contains("store.dsn"));
  CHECK_THAT(config_errors("{backend: postgres, dsn: 'host=db1', path: hub.db}"),
             Catch::Contains("store.path"));
  CHECK_THAT(config_errors("{backend: sqlite, dsn: 'host=db1'}"), Catch::Contains("store.dsn"));
  CHECK_THAT(config_errors("{password_env: PGPASSWORD}"), Catch::Contains("store.password_env"));
  CHECK_THAT(config_errors("{backend: postgres, dsn: 'host=db1', pool: 65}"),
             Catch::Contains("store.pool"));
  CHECK_THAT(config_errors("{backend: postgres, dsn: 'host=db1', pool: 0}"),
             Catch::Contains("store.pool"));
  CHECK_THAT(config_errors("{backend: postgres, dsn: 'host=db1', password_file: /a, "
                           "password_env: B}"),
             Catch::Contains("store.password_env"));
  CHECK_THAT(config_errors("{backend: mysql}"), Catch::Contains("store.backend"));
  CHECK(config_errors("{backend: sqlite, path: /var/lib/reflex/hub.db}").empty());
}

TEST_CASE("a password that cannot be read is an error naming its key", "[store]") {
  StoreConfig cfg;
  cfg.backend = "postgres";
  cfg.dsn = "host=/nonexistent dbname=reflex";
  cfg.password_file = "/nonexistent/reflex-db-password";
  auto store = open_store(cfg);
  REQUIRE_FALSE(store);
  CHECK(store.status().code() == "config");
  CHECK_THAT(store.status().message(), Catch::Contains("store.password_file"));
  CHECK_THAT(store.status().message(), Catch::Contains("/nonexistent/reflex-db-password"));

  cfg.password_file.clear();
  cfg.password_env = "REFLEX_TEST_UNSET_PASSWORD_VARIABLE";
  ::unsetenv(cfg.password_env.c_str());
  store = open_store(cfg);
  REQUIRE_FALSE(store);
  CHECK_THAT(store.status().message(), Catch::Contains("store.password_env"));

  cfg.password_env.clear();
  cfg.dsn.clear();
  store = open_store(cfg);
  REQUIRE_FALSE(store);
  CHECK_THAT(store.status().message(), Catch::Contains("store.dsn"));
}

TEST_CASE("the password reaches libpq quoted for keyword and URI dsns", "[store]") {
  TempDir dir;
  StoreConfig cfg;
  cfg.backend = "postgres";
  cfg.password_file = dir.write("password", std::string(kPassword) + "\n");
  cfg.dsn = "host=db1 dbname=reflex";
  auto conninfo = pg_conninfo(cfg);
  REQUIRE(conninfo);
  CHECK(*conninfo == R"(host=db1 dbname=reflex password='s3cret-Pa55 \'quoted\' \\back')");
  cfg.dsn = "postgresql://reflex@db1/reflex";
  conninfo = pg_conninfo(cfg);
  REQUIRE(conninfo);
  CHECK(*conninfo ==
        "postgresql://reflex@db1/reflex?password=s3cret-Pa55%20%27quoted%27%20%5Cback");
  cfg.dsn = "postgresql://reflex@db1/reflex?sslmode=require";
  conninfo = pg_conninfo(cfg);
  REQUIRE(conninfo);
  CHECK_THAT(*conninfo,
             Catch::EndsWith("?sslmode=require&password=s3cret-Pa55%20%27quoted%27%20%5Cback"));

  // The test server trusts its user whatever the password, so opening succeeds exactly
  // when libpq could read the conninfo with the password in it.
  auto& server = testing::shared_server();
  testing::require_ok(server.create_database("with_password"));
  cfg.dsn = server.dsn_for("with_password");
  auto store = open_store(cfg);
  INFO(store.status().to_string());
  CHECK(store);
  cfg.dsn = "postgresql://reflex@/with_password?host=" + server.socket_dir() +
            "&port=" + std::to_string(server.port());
  cfg.password_file.clear();
  cfg.password_env = "REFLEX_TEST_STORE_PASSWORD";
  ::setenv(cfg.password_env.c_str(), kPassword, 1);
  store = open_store(cfg);
  INFO(store.status().to_string());
  CHECK(store);
}

TEST_CASE("the password never appears in the error of a failed connection", "[store]") {
  TempDir dir;
  StoreConfig cfg;
  cfg.backend = "postgres";
  cfg.dsn = "host=" + dir.path().string() + " port=1 dbname=reflex user=reflex connect_timeout=5";
  cfg.password_file = dir.write("password", std::string(kPassword) + "\n");
  auto store = open_store(cfg);
  REQUIRE_FALSE(store);
  CHECK(store.status().code() == "connection");
  CHECK_THAT(store.status().to_string(), !Catch::Contains("s3cret"));

  cfg.password_file.clear();
  cfg.password_env = "REFLEX_TEST_STORE_PASSWORD";
  ::setenv(cfg.password_env.c_str(), kPassword, 1);
  cfg.dsn = "postgresql://reflex@/reflex?host=" + dir.path().string() + "&port=1";
  store = open_store(cfg);
  REQUIRE_FALSE(store);
  CHECK_THAT(store.status().to_string(), !Catch::Contains("s3cret"));

  // A password written into the dsn itself is hidden wherever the store is named.
  cfg.dsn = "host=db1 password=s3cret dbname=reflex";
  CHECK_THAT(cfg.where(), !Catch::Contains("s3cret"));
}

TEST_CASE("the store and the API reader carry on after PostgreSQL restarts", "[store]") {
  auto server = testing::launch_pg();
  StoreConfig cfg;
  cfg.backend = "postgres";
  cfg.dsn = server->dsn();
  cfg.pool = 1;  // so the reader's one connection is the one that was lost
  auto store = open_store(cfg);
  INFO(store.status().to_string());
  REQUIRE(store);
  auto reader = open_reader(cfg);
  INFO(reader.status().to_string());
  REQUIRE(reader);
  WriteBatch batch;
  AgentRecord a;
  a.id = "web-1";
  batch.agents.push_back(a);
  REQUIRE((*store)->write_batch(batch));
  REQUIRE((*reader)->changes({}));

  // The first call after a restart finds its connection lost, reconnects and goes through.
  testing::require_ok(server->restart());
  a.id = "web-2";
  batch.agents = {a};
  const Status st = (*store)->write_batch(batch);
  INFO(st.to_string());
  REQUIRE(st.is_ok());
  testing::require_ok(server->restart());
  auto agents = (*store)->load_agents();
  INFO(agents.status().to_string());
  REQUIRE(agents);
  CHECK(agents->size() == 2);
  auto changes = (*reader)->changes({});
  INFO(changes.status().to_string());
  CHECK(changes);
}

TEST_CASE("migration 11 creates the cluster's tables, on which a hub leads and is listed",
          "[store]") {
  auto server = testing::launch_pg();
  StoreConfig cfg;
  cfg.backend = "postgres";
  cfg.dsn = server->dsn();
  auto migrated = migrate_store(cfg, true);
  INFO(migrated.status().to_string());
  REQUIRE(migrated);
  CHECK(migrated->after >= 11);
  pg::Connection conn = testing::connect_ok(server->dsn());
  CHECK(testing::query_int(conn, "SELECT max(version) FROM schema_migrations") >= 11);

  cluster::LeadershipOptions options;
  options.conninfo = server->dsn();
  options.hub_id = "hub-1";
  options.lease = std::chrono::seconds(3);
  options.version = "0.1.0";
  auto leadership = cluster::Leadership::start(options, {});
  INFO(leadership.status().to_string());
  REQUIRE(leadership);
  REQUIRE(testing::wait_until([&] { return (*leadership)->leading_now(); }));
  REQUIRE(testing::wait_until([&] {
    auto view = (*leadership)->view();
    return view && view->members.size() == 1 && view->members[0].role == "leader";
  }));
  auto view = (*leadership)->view();
  REQUIRE(view);
  CHECK(view->leader() == "hub-1");
  CHECK(view->members[0].version == "0.1.0");
  CHECK(view->members[0].http_url.empty());
}

namespace {

// Odd numbers are alerts, even ones metrics.
StoredEvent event_of(const std::string& agent_id, uint64_t seq) {
  return {agent_id,
          seq,
          seq % 2 ? protocol::MessageType::kAlert : protocol::MessageType::kMetrics,
          static_cast<int64_t>(seq),
          1000,
          "frame-" + std::to_string(seq)};
}

// A batch of `agent_id`'s events from..to, its row saying it committed up to `to`.
WriteBatch events_batch(const std::string& agent_id, uint64_t from, uint64_t to) {
  WriteBatch batch;
  AgentRecord a;
  a.id = agent_id;
  a.hostname = agent_id + ".example";
  a.last_seen_ms = static_cast<int64_t>(to);
  a.acked_seq = to;
  batch.agents.push_back(a);
  for (uint64_t seq = from; seq <= to; ++seq) batch.events.push_back(event_of(agent_id, seq));
  return batch;
}

void require_ok_write(HubStore& store, const WriteBatch& batch) {
  const Status st = store.write_batch(batch);
  INFO(st.to_string());
  REQUIRE(st.is_ok());
}

}  // namespace

TEST_CASE(
    "a standby stores its events once and queues all but metrics for the leader, which takes "
    "each off the queue once, events another hub already stored are left out",
    "[store]") {
  auto db = testing::make_store_fixture();
  auto standby = db->open();
  auto leader = db->open();
  WriteBatch relayed = events_batch("web-1", 1, 10);
  relayed.relay = true;
  require_ok_write(*standby, relayed);
  CHECK(db->peek("SELECT COUNT(*) FROM events") == "10");
  CHECK(db->peek("SELECT COUNT(*) FROM event_relay") == "5");  // the alerts: 1, 3, .. 9

  // The agent moved to a second standby, which did not know 5..10 were committed.
  WriteBatch resent = events_batch("web-1", 5, 12);
  resent.relay = true;
  require_ok_write(*standby, resent);
  CHECK(db->peek("SELECT COUNT(*) FROM events") == "12");
  CHECK(db->peek("SELECT COUNT(*) FROM event_relay") == "6");
  CHECK(db->peek("SELECT acked_seq FROM agents WHERE id = 'web-1'") == "12");

  auto read = leader->read_relay(100, std::numeric_limits<int64_t>::max());
  INFO(read.status().to_string());
  REQUIRE(read);
  REQUIRE(read->events.size() == 6);
  REQUIRE(read->ids.size() == 6);
  for (uint64_t i = 0; i < 6; ++i) {
    CHECK(read->events[i].seq == 2 * i + 1);
    CHECK(read->events[i].type == protocol::MessageType::kAlert);
    CHECK(read->events[i].frame == "frame-" + std::to_string(2 * i + 1));
  }
  REQUIRE(read->agents.size() == 1);  // the row of the agent the events came from
  CHECK(read->agents[0].acked_seq == 12);

  // The leader's batch: the relayed events, then what it took itself, which includes a
  // resend of 11 and 12 (the agent came to it before their ack reached it).
  WriteBatch taken = events_batch("web-1", 11, 14);
  taken.relayed = read->ids;
  taken.events.insert(taken.events.begin(), read->events.begin(), read->events.end());
  require_ok_write(*leader, taken);
  CHECK(db->peek("SELECT COUNT(*) FROM event_relay") == "0");
  CHECK(db->peek("SELECT COUNT(*) FROM events") == "14");
  CHECK(db->peek("SELECT COUNT(DISTINCT seq) FROM events") == "14");
  CHECK(db->peek("SELECT string_agg(seq::text, ',' ORDER BY ctid) FROM events") ==
        "1,2,3,4,5,6,7,8,9,10,11,12,13,14");
  CHECK(db->peek("SELECT type FROM events WHERE seq = 3") == "alert");

  // Taking them again means another leader took them: refused whole, as fenced.
  WriteBatch again = events_batch("web-1", 15, 15);
  again.relayed = read->ids;
  again.events.insert(again.events.begin(), read->events.begin(), read->events.end());
  const Status st = leader->write_batch(again);
  CHECK(st.code() == "fenced");
  CHECK(db->peek("SELECT COUNT(*) FROM events") == "14");
  CHECK(db->peek("SELECT acked_seq FROM agents WHERE id = 'web-1'") == "14");
}

TEST_CASE("an agent's committed mark and last sighting never go back when a hub writes a stale row",
          "[store]") {
  auto db = testing::make_store_fixture();
  auto store = db->open();
  require_ok_write(*store, events_batch("web-1", 1, 20));
  WriteBatch stale;
  AgentRecord a;
  a.id = "web-1";
  a.hostname = "web-1.example";
  a.last_seen_ms = 5;
  a.acked_seq = 5;
  stale.agents.push_back(a);
  require_ok_write(*store, stale);
  CHECK(db->peek("SELECT acked_seq FROM agents WHERE id = 'web-1'") == "20");
  CHECK(db->peek("SELECT last_seen_ms FROM agents WHERE id = 'web-1'") == "20");

  // Agents seen since a time, with nothing relayed.
  auto read = store->read_relay(100, 10);
  REQUIRE(read);
  CHECK(read->events.empty());
  REQUIRE(read->agents.size() == 1);
  auto none = store->read_relay(100, 21);
  REQUIRE(none);
  CHECK(none->agents.empty());
}
