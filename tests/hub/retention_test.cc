// store.events_retention: a running hub deletes the events it stored longer ago than the
// retention, and nothing else: acknowledgements, agents' marks and new events stay.
#include <catch2/catch.hpp>

#include "common/sqlite.h"
#include "tests/hub/hub_harness.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using namespace std::chrono_literals;

namespace {

std::string count_events(const std::string& db_path) {
  auto db = sqlite::Database::open(db_path);
  if (!db) return "";
  auto st = db->prepare("SELECT COUNT(*) || '/' || COALESCE(MIN(seq), 0) FROM events");
  if (!st) return "";
  auto row = st->step();
  return row && *row ? st->column_text(0) : "";
}

}  // namespace

TEST_CASE("events older than store.events_retention are deleted, marks and new events stay",
          "[hub][retention]") {
  RunningHub hub([](HubConfig& cfg) { cfg.store.events_retention = Millis(1000); });
  Api api(hub.http_port());
  StandInAgent agent(hub.endpoint(), "web-1", "host-1");
  REQUIRE(agent.hello() == 0);
  for (uint64_t seq = 1; seq <= 50; ++seq) agent.metrics(seq, {});
  REQUIRE(agent.wait_ack(50));
  CHECK(count_events(hub.store_path()) == "50/1");

  // Past the retention (1 s), within one pruning period (half of it) more.
  REQUIRE(
      reflex::testing::wait_until([&] { return count_events(hub.store_path()) == "0/0"; }, 10s));
  CHECK(api.metric("reflex_hub_events_pruned_total") == 50);

  // The agent's mark is its row's, not its events': a hello still resumes after 50, and
  // what it sends next is stored.
  REQUIRE(agent.hello() == 50);
  for (uint64_t seq = 51; seq <= 60; ++seq) agent.metrics(seq, {});
  REQUIRE(agent.wait_ack(60));
  CHECK(count_events(hub.store_path()) == "10/51");
  CHECK(api.metric("reflex_hub_events_committed_total") == 60);
}
