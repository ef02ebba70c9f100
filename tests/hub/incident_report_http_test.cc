// GET /api/v1/incidents/{id}/report on a real hub (in this process, on loopback): the
// Markdown report of what the record holds.
#include <catch2/catch.hpp>

#include "tests/hub/hub_harness.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::testing;
using nlohmann::json;
using protocol::AlertState;

TEST_CASE(
    "the report route answers Markdown with the incident's timeline, remediation and "
    "responders",
    "[hub][incident-report]") {
  RunningHub hub;
  Api api(hub.http_port());
  StandInAgent agent(hub.endpoint(), "web-1", "host-1");
  agent.hello();
  agent.alert(1, "fp-1", AlertState::kFiring);
  agent.remediation(2, "fp-1", "restart-checkout");
  REQUIRE(agent.wait_ack(2));
  REQUIRE(api.post("/api/v1/incidents/1/ack", R"({"actor": "alice"})").status == 200);
  REQUIRE(
      api.post("/api/v1/incidents/1/notes", R"({"actor": "bob", "text": "rolled back"})").status ==
      200);

  httplib::Client c("127.0.0.1", hub.http_port());
  auto res = c.Get("/api/v1/incidents/1/report");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "text/markdown; charset=utf-8");
  const std::string& md = res->body;
  INFO(md);
  CHECK(md.rfind("# Incident 1: HighErrorRate on checkout\n", 0) == 0);
  CHECK(md.find("| Service | checkout |") != std::string::npos);
  CHECK(md.find("| Environment | prod |") != std::string::npos);
  CHECK(md.find("| Status | acknowledged |") != std::string::npos);
  CHECK(md.find("| Hosts | 1 of 1 host affected now |") != std::string::npos);
  CHECK(md.find("| opened | agent:web-1 | host-1 |") != std::string::npos);
  CHECK(md.find("| note | bob | - | rolled back |") != std::string::npos);
  CHECK(md.find("1 attempt: 1 succeeded") != std::string::npos);
  CHECK(md.find("| alice | ") != std::string::npos);
  CHECK(md.find("| bob | ") != std::string::npos);
  CHECK(md.find("## Suspect change\n\nnone recorded") != std::string::npos);

  auto missing = api.get("/api/v1/incidents/99/report");
  CHECK(missing.status == 404);
  CHECK(missing.body["error"]["code"] == "not_found");
}
