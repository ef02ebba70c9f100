#include <catch2/catch.hpp>

#include "hub/store.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::hub;

TEST_CASE("the SQLite store keeps agents and their state history across reopening", "[store]") {
  testing::TempDir dir;
  StoreConfig cfg;
  cfg.path = dir.file("hub.db");
  {
    auto store = open_store(cfg);
    REQUIRE(store);
    WriteBatch batch;
    AgentRecord a;
    a.id = "web-1";
    a.hostname = "web-1.example";
    a.version = "0.1.0";
    a.labels = {{"service", "checkout"}, {"env", "prod \"eu\""}};
    a.first_seen_ms = 100;
    a.last_seen_ms = 200;
    a.state_since_ms = 100;
    a.heartbeat_ms = 5000;
    a.spool_depth = 7;
    batch.agents.push_back(a);
    batch.state_changes.push_back({"web-1", AgentState::kAlive, 100, "registered"});
    REQUIRE((*store)->write_batch(batch));

    a.state = AgentState::kLost;
    a.state_since_ms = 300;
    batch = {};
    batch.agents.push_back(a);
    batch.state_changes.push_back({"web-1", AgentState::kLost, 300, "missed 3 heartbeats"});
    REQUIRE((*store)->write_batch(batch));
  }
  auto store = open_store(cfg);
  REQUIRE(store);
  auto agents = (*store)->load_agents();
  REQUIRE(agents);
  REQUIRE(agents->size() == 1);
  const AgentRecord& got = agents->front();
  CHECK(got.hostname == "web-1.example");
  CHECK(got.labels.at("env") == "prod \"eu\"");
  CHECK(got.state == AgentState::kLost);
  CHECK(got.first_seen_ms == 100);
  CHECK(got.spool_depth == 7);
  auto history = (*store)->state_history("web-1");
  REQUIRE(history);
  REQUIRE(history->size() == 2);
  CHECK((*history)[0].reason == "registered");
  CHECK((*history)[1].state == AgentState::kLost);
  CHECK((*history)[1].at_ms == 300);
}

TEST_CASE("a store in a directory that does not exist is an error naming the path", "[store]") {
  StoreConfig cfg;
  cfg.path = "/nonexistent-dir/hub.db";
  auto store = open_store(cfg);
  REQUIRE_FALSE(store);
  CHECK(store.status().message().find("/nonexistent-dir/hub.db") != std::string::npos);
}
