#include "hub/agents.h"
#include "hub/ingest.h"

#include <catch2/catch.hpp>

using namespace reflex;
using namespace reflex::hub;

namespace {

protocol::Hello hello(uint32_t heartbeat_ms) {
  protocol::Hello h;
  h.hostname = "host-a";
  h.agent_version = "1.2.3";
  h.labels = {{"service", "checkout"}};
  h.heartbeat_ms = heartbeat_ms;
  return h;
}

}  // namespace

TEST_CASE("an agent is overdue after the configured number of missed heartbeats", "[agents]") {
  LivenessPolicy policy{3, 5000};
  AgentRecord a;
  a.last_seen_ms = 10'000;
  a.heartbeat_ms = 1000;
  CHECK_FALSE(is_overdue(a, 13'000, policy));  // exactly 3 intervals: not yet
  CHECK(is_overdue(a, 13'001, policy));
  a.heartbeat_ms = 0;  // unknown: the hub's default interval applies
  CHECK_FALSE(is_overdue(a, 25'000, policy));
  CHECK(is_overdue(a, 25'001, policy));
}

TEST_CASE("registration, loss and return are each recorded once with their time", "[agents]") {
  AgentRegistry reg(LivenessPolicy{3, 5000});
  reg.on_hello("web-1", hello(1000), 1'000);
  auto batch = reg.take_batch();
  REQUIRE(batch.agents.size() == 1);
  CHECK(batch.agents[0].first_seen_ms == 1'000);
  CHECK(batch.agents[0].labels.at("service") == "checkout");
  REQUIRE(batch.state_changes.size() == 1);
  CHECK(batch.state_changes[0].state == AgentState::kAlive);
  CHECK(batch.state_changes[0].reason == "registered");

  CHECK(reg.on_heartbeat("web-1", protocol::Heartbeat{1, 42, 1}, 2'000));
  CHECK(reg.find("web-1")->spool_depth == 42);
  CHECK(reg.check_liveness(5'000) == 0);
  CHECK(reg.check_liveness(5'001) == 1);
  CHECK(reg.check_liveness(9'000) == 0);  // already lost: not recorded again
  CHECK(reg.find("web-1")->state == AgentState::kLost);
  CHECK(reg.count(AgentState::kLost) == 1);
  batch = reg.take_batch();
  REQUIRE(batch.state_changes.size() == 1);
  CHECK(batch.state_changes[0].state == AgentState::kLost);
  CHECK(batch.state_changes[0].at_ms == 5'001);

  CHECK(reg.on_heartbeat("web-1", protocol::Heartbeat{}, 9'500));
  CHECK(reg.find("web-1")->state == AgentState::kAlive);
  CHECK(reg.find("web-1")->state_since_ms == 9'500);
  batch = reg.take_batch();
  REQUIRE(batch.state_changes.size() == 1);
  CHECK(batch.state_changes[0].reason == "heartbeat");
}

TEST_CASE("a heartbeat from an agent that never said hello is refused", "[agents]") {
  AgentRegistry reg(LivenessPolicy{});
  CHECK_FALSE(reg.on_heartbeat("ghost", protocol::Heartbeat{}, 1));
  CHECK(reg.snapshot().empty());
  CHECK(reg.take_batch().empty());
}

TEST_CASE("a second hello keeps first_seen and updates what the agent says of itself", "[agents]") {
  AgentRegistry reg(LivenessPolicy{});
  reg.on_hello("web-1", hello(1000), 1'000);
  auto h = hello(2000);
  h.agent_version = "1.2.4";
  reg.on_hello("web-1", h, 5'000);
  const AgentRecord* a = reg.find("web-1");
  CHECK(a->first_seen_ms == 1'000);
  CHECK(a->last_seen_ms == 5'000);
  CHECK(a->version == "1.2.4");
  CHECK(a->heartbeat_ms == 2000);
}

TEST_CASE("a batch put back after a failed commit is written again before newer changes",
          "[agents]") {
  AgentRegistry reg(LivenessPolicy{3, 1000});
  reg.on_hello("web-1", hello(100), 0);
  auto failed = reg.take_batch();
  reg.check_liveness(1'000);
  reg.restore_batch(std::move(failed));
  auto batch = reg.take_batch();
  REQUIRE(batch.state_changes.size() == 2);
  CHECK(batch.state_changes[0].reason == "registered");
  CHECK(batch.state_changes[1].state == AgentState::kLost);
  REQUIRE(batch.agents.size() == 1);
  CHECK(batch.agents[0].state == AgentState::kLost);  // rows are rewritten from memory
}

TEST_CASE("a slow store makes the hub grant a quarter of the window until commits are fast",
          "[flow]") {
  CHECK(granted_window(1000, 5.0, 250) == 1000);
  CHECK(granted_window(1000, 250.0, 250) == 1000);
  CHECK(granted_window(1000, 251.0, 250) == 250);
  CHECK(granted_window(20, 900.0, 250) == 10);  // never below 10
}

TEST_CASE("a row another hub wrote keeps the agent alive here, and brings a lost one back",
          "[agents]") {
  AgentRegistry reg(LivenessPolicy{3, 5000});
  reg.on_hello("web-1", hello(1000), 1'000);
  reg.take_batch();
  AgentRecord row = *reg.find("web-1");
  row.hostname = "host-b";
  row.last_seen_ms = 3'900;
  row.spool_depth = 9;
  row.acked_seq = 70;
  row.state = AgentState::kLost;  // the other hub's view is not taken
  CHECK_FALSE(reg.seen_elsewhere(row));
  CHECK(reg.find("web-1")->hostname == "host-b");
  CHECK(reg.find("web-1")->acked_seq == 70);
  CHECK(reg.find("web-1")->state == AgentState::kAlive);
  CHECK(reg.check_liveness(5'001) == 0);  // 1,101 ms after the other hub heard it
  CHECK(reg.take_batch().empty());        // its row is stored already

  // An older row changes nothing; the committed mark never goes back.
  row.last_seen_ms = 2'000;
  row.acked_seq = 10;
  row.hostname = "host-old";
  CHECK_FALSE(reg.seen_elsewhere(row));
  CHECK(reg.find("web-1")->hostname == "host-b");
  CHECK(reg.find("web-1")->acked_seq == 70);

  CHECK(reg.check_liveness(7'000) == 1);
  reg.take_batch();
  row.last_seen_ms = 8'000;
  row.acked_seq = 5;
  CHECK(reg.seen_elsewhere(row));
  CHECK(reg.find("web-1")->state == AgentState::kAlive);
  CHECK(reg.find("web-1")->acked_seq == 70);
  auto batch = reg.take_batch();
  REQUIRE(batch.state_changes.size() == 1);
  CHECK(batch.state_changes[0].state == AgentState::kAlive);
  CHECK(batch.state_changes[0].at_ms == 8'000);
  CHECK(batch.state_changes[0].reason == "heard by another hub");

  // An agent that registered through another hub is added as its row says.
  AgentRecord other = row;
  other.id = "web-2";
  CHECK_FALSE(reg.seen_elsewhere(other));
  REQUIRE(reg.find("web-2"));
  CHECK(reg.find("web-2")->last_seen_ms == 8'000);
}
