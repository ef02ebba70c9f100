#include "agent/spool.h"

#include <catch2/catch.hpp>

#include "protocol/codec.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::agent;

namespace {

std::vector<protocol::Body> metrics(int n) {
  std::vector<protocol::Body> out;
  for (int i = 0; i < n; ++i) {
    protocol::Metrics m;
    m.samples.push_back({"x", {}, static_cast<double>(i), ""});
    out.push_back(m);
  }
  return out;
}

protocol::Body alert() {
  protocol::Alert a;
  a.rule = "latency";
  a.fingerprint = "f1";
  a.state = protocol::AlertState::kFiring;
  return a;
}

}  // namespace

TEST_CASE("sequence numbers continue across reopening and never reuse acknowledged ones",
          "[spool]") {
  testing::TempDir dir;
  const auto path = dir.file("spool.db");
  {
    auto spool = Spool::open(path, "web-1", {});
    REQUIRE(spool);
    CHECK(*(*spool)->append(metrics(5), 1000) == 5);
    REQUIRE((*spool)->acknowledge(5));
    CHECK((*spool)->depth() == 0);
  }
  auto spool = Spool::open(path, "web-1", {});
  REQUIRE(spool);
  CHECK((*spool)->last_seq() == 5);
  CHECK((*spool)->acked_seq() == 5);
  CHECK(*(*spool)->append(metrics(1), 2000) == 6);
}

TEST_CASE("spooled frames are complete envelopes carrying their sequence", "[spool]") {
  testing::TempDir dir;
  auto spool = Spool::open(dir.file("spool.db"), "web-1", {});
  REQUIRE(spool);
  REQUIRE((*spool)->append(metrics(3), 1234));
  auto events = (*spool)->read_after(1, 10);
  REQUIRE(events);
  REQUIRE(events->size() == 2);
  auto env = protocol::decode(events->at(0).frame);
  REQUIRE(env);
  CHECK(env->seq == 2);
  CHECK(env->agent_id == "web-1");
  CHECK(env->ts_ms == 1234);
}

TEST_CASE("acknowledging trims only what the hub has, and a mark beyond the spool is refused",
          "[spool]") {
  testing::TempDir dir;
  auto spool = Spool::open(dir.file("spool.db"), "web-1", {});
  REQUIRE(spool);
  REQUIRE((*spool)->append(metrics(10), 1));
  REQUIRE((*spool)->acknowledge(4));
  CHECK((*spool)->depth() == 6);
  CHECK((*(*spool)->read_after(0, 100)).front().seq == 5);
  auto bad = (*spool)->acknowledge(11);
  REQUIRE_FALSE(bad);
  CHECK(bad.message().find("11") != std::string::npos);
  CHECK((*spool)->depth() == 6);
}

TEST_CASE("over its limit the spool drops metrics before alerts and records a gap", "[spool]") {
  testing::TempDir dir;
  SpoolLimits limits;
  limits.max_events = 100;
  auto spool = Spool::open(dir.file("spool.db"), "web-1", limits);
  REQUIRE(spool);
  std::vector<protocol::Body> batch = metrics(50);
  batch.push_back(alert());
  auto more = metrics(70);
  batch.insert(batch.end(), more.begin(), more.end());
  REQUIRE((*spool)->append(std::move(batch), 5000));  // 121 events

  CHECK((*spool)->dropped_total() == 21);
  CHECK((*spool)->depth() == 101);  // 100 plus the gap record
  auto events = *(*spool)->read_after(0, 1000);
  bool alert_kept = false;
  const protocol::Gap* gap = nullptr;
  std::vector<protocol::Envelope> decoded;
  for (const auto& e : events) decoded.push_back(*protocol::decode(e.frame));
  for (const auto& env : decoded) {
    if (std::holds_alternative<protocol::Alert>(env.body)) alert_kept = true;
    if (const auto* g = std::get_if<protocol::Gap>(&env.body)) gap = g;
  }
  CHECK(alert_kept);
  REQUIRE(gap != nullptr);
  CHECK(gap->dropped == 21);
  CHECK(gap->dropped_by_type.at("metrics") == 21);
  CHECK(gap->first_seq == 1);
  CHECK(gap->last_seq == 21);  // the 21 oldest metrics
  CHECK(gap->reason == "spool_full");
  CHECK(decoded.back().seq == 122);
}

TEST_CASE("events older than max_age are dropped whatever their class", "[spool]") {
  testing::TempDir dir;
  SpoolLimits limits;
  limits.max_age = Millis(1000);
  auto spool = Spool::open(dir.file("spool.db"), "web-1", limits);
  REQUIRE(spool);
  REQUIRE((*spool)->append({alert()}, 1000));
  REQUIRE((*spool)->append(metrics(1), 5000));  // the alert is now 4 s old
  CHECK((*spool)->dropped_total() == 1);
  auto events = *(*spool)->read_after(0, 10);
  auto gap = std::get<protocol::Gap>(protocol::decode(events.back().frame)->body);
  CHECK(gap.reason == "max_age");
  CHECK(gap.dropped_by_type.at("alert") == 1);
}

TEST_CASE("a spool younger than the hub's record continues after the hub's mark", "[spool]") {
  testing::TempDir dir;
  auto spool = Spool::open(dir.file("spool.db"), "web-1", {});
  REQUIRE(spool);
  REQUIRE((*spool)->skip_to(500));
  CHECK(*(*spool)->append(metrics(1), 1) == 501);
  CHECK((*spool)->acked_seq() == 500);
}
