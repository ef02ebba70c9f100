// The store suite on SQLite: a file in a temp directory per test case. Also the cases
// only SQLite has (a file path).
#include <catch2/catch.hpp>

#include "common/sqlite.h"
#include "hub/sqlite_schema.h"
#include "tests/store/store_suite.h"
#include "tests/support/process.h"

namespace reflex::testing {
namespace {

class SqliteStoreFixture final : public StoreFixture {
 public:
  hub::StoreConfig config() const override {
    hub::StoreConfig cfg;
    cfg.path = dir_.file("hub.db");
    return cfg;
  }

  std::string peek(const std::string& sql) override {
    auto db = sqlite::Database::open(config().path);
    INFO(db.status().to_string());
    REQUIRE(db);
    auto st = db->prepare(sql);
    INFO(st.status().to_string());
    REQUIRE(st);
    auto row = st->step();
    INFO(row.status().to_string());
    REQUIRE(row);
    return *row ? st->column_text(0) : "";
  }

  void record_schema_version(int version) override {
    auto db = sqlite::Database::open(config().path);
    REQUIRE(db);
    REQUIRE(db->exec("PRAGMA user_version = " + std::to_string(version)));
  }

  void migrate_to(int version) override {
    auto db = sqlite::Database::open(config().path);
    REQUIRE(db);
    auto all = hub::sqlite_migrations();
    REQUIRE(static_cast<size_t>(version) <= all.size());
    auto st = sqlite::migrate(*db, all.first(static_cast<size_t>(version)));
    INFO(st.to_string());
    REQUIRE(st);
  }

  void exec(const std::string& sql) override {
    auto db = sqlite::Database::open(config().path);
    REQUIRE(db);
    auto st = db->exec(sql);
    INFO(st.to_string());
    REQUIRE(st);
  }

 private:
  TempDir dir_;
};

}  // namespace

std::unique_ptr<StoreFixture> make_store_fixture() {
  return std::make_unique<SqliteStoreFixture>();
}

}  // namespace reflex::testing

using namespace reflex;
using namespace reflex::hub;

TEST_CASE("a SQLite store in a directory that does not exist is an error naming the path",
          "[store]") {
  StoreConfig cfg;
  cfg.path = "/nonexistent-dir/hub.db";
  auto store = open_store(cfg);
  REQUIRE_FALSE(store);
  CHECK(store.status().message().find("/nonexistent-dir/hub.db") != std::string::npos);
}

TEST_CASE("migration 11 creates nothing on SQLite, whose hubs do not form a cluster", "[store]") {
  testing::TempDir dir;
  StoreConfig cfg;
  cfg.path = dir.file("hub.db");
  {
    auto store = open_store(cfg);
    INFO(store.status().to_string());
    REQUIRE(store);
  }
  auto db = sqlite::Database::open(cfg.path);
  REQUIRE(db);
  auto version = sqlite::schema_version(*db);
  REQUIRE(version);
  CHECK(*version >= 11);
  auto st = db->prepare(
      "SELECT count(*) FROM sqlite_master WHERE name IN ('leader_lease', 'cluster_members')");
  REQUIRE(st);
  auto row = st->step();
  REQUIRE(row);
  REQUIRE(*row);
  CHECK(st->column_int64(0) == 0);
}

TEST_CASE("a SQLite store refuses relayed events: it belongs to one hub", "[store]") {
  testing::TempDir dir;
  StoreConfig cfg;
  cfg.path = dir.file("hub.db");
  auto store = open_store(cfg);
  REQUIRE(store);
  WriteBatch batch;
  batch.events.push_back({"web-1", 1, protocol::MessageType::kMetrics, 1, 1, "frame"});
  batch.relay = true;
  CHECK((*store)->write_batch(batch).code() == "unsupported");
  batch.relay = false;
  batch.relayed = {1};
  CHECK((*store)->write_batch(batch).code() == "unsupported");
  CHECK((*store)->read_relay(10, 0).status().code() == "unsupported");
  batch.relayed.clear();
  CHECK((*store)->write_batch(batch).is_ok());
}
