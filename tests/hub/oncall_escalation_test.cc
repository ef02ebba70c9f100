// Escalation plans: which levels fall due when, to whom, from the persisted state and a
// simulated now; repeats, acknowledgement and resuming after a crash.
#include <catch2/catch.hpp>

#include "hub/oncall/escalation.h"
#include "tests/hub/oncall_fixtures.h"

using namespace reflex;
using namespace reflex::hub::oncall;
using reflex::testing::at;
using reflex::testing::iso;

namespace {

constexpr int64_t kMin = 60'000;

const char* kPolicies = R"(
schedules:
  checkout-primary:
    time_zone: Europe/Berlin
    layers:
      - {name: weekly, rotation: weekly, handoff: "mon 09:00", start: 2026-01-05, members: [bob, dave]}
  not-yet:
    time_zone: UTC
    layers: [{rotation: daily, handoff: "00:00", start: 2030-01-01, members: [carol]}]
escalation_policies:
  checkout-oncall:
    repeat: 2
    levels:
      - {delay: 0s, targets: [{schedule: checkout-primary}]}
      - {delay: 10m, targets: [{user: alice}, {channel: "#checkout-leads"}]}
  spaced:
    repeat: 1
    repeat_after: 1h
    levels:
      - {delay: 5m, targets: [{user: alice}]}
      - {delay: 15m, targets: [{user: bob}]}
  twice:
    levels:
      - {targets: [{user: bob}, {schedule: checkout-primary}, {schedule: not-yet}]}
)";

OncallConfig policies_config() {
  return reflex::testing::oncall_from_yaml(std::string(reflex::testing::kPeople) + kPolicies);
}

// "level/round at +minutes: targets"
std::string show(const Page& p, int64_t started) {
  std::string out = std::to_string(p.level) + "/" + std::to_string(p.round) + " at +" +
                    std::to_string((p.at_ms - started) / kMin) + "m:";
  for (const auto& t : p.targets) {
    switch (t.kind) {
      case PageTarget::Kind::kPerson:
        out += " " + t.person.id + (t.schedule.empty() ? "" : "@" + t.schedule);
        break;
      case PageTarget::Kind::kChannel:
        out += " " + t.channel;
        break;
      case PageTarget::Kind::kNobody:
        out += " nobody@" + t.schedule;
        break;
    }
  }
  return out;
}

std::vector<std::string> show(const std::vector<Page>& pages, int64_t started) {
  std::vector<std::string> out;
  for (const auto& p : pages) out.push_back(show(p, started));
  return out;
}

// 2026-01-07T12:00:00Z, in bob's week in checkout-primary (checked in the first test).
constexpr int64_t kStarted = 1'767'787'200'000;

}  // namespace

TEST_CASE("the levels fall due after their delays, then repeat rounds, then stop",
          "[hub][oncall][escalation]") {
  const OncallConfig cfg = policies_config();
  REQUIRE(iso(kStarted) == "2026-01-07T12:00:00Z");
  const EscalationPolicy& p = cfg.policies.at("checkout-oncall");
  CHECK(step_count(p) == 6);
  auto pages = due_pages(cfg, "checkout-oncall", kStarted, kStarted, kStarted + 24 * 60 * kMin);
  REQUIRE(pages);
  CHECK(show(*pages, kStarted) ==
        std::vector<std::string>{
            "0/0 at +0m: bob@checkout-primary", "1/0 at +10m: alice #checkout-leads",
            "0/1 at +20m: bob@checkout-primary", "1/1 at +30m: alice #checkout-leads",
            "0/2 at +40m: bob@checkout-primary", "1/2 at +50m: alice #checkout-leads"});
}

TEST_CASE("repeat_after sets the gap between a round's last level and the next round",
          "[hub][oncall][escalation]") {
  const OncallConfig cfg = policies_config();
  auto pages = due_pages(cfg, "spaced", kStarted, kStarted, kStarted + 24 * 60 * kMin);
  REQUIRE(pages);
  CHECK(show(*pages, kStarted) == std::vector<std::string>{"0/0 at +5m: alice", "1/0 at +20m: bob",
                                                           "0/1 at +80m: alice",
                                                           "1/1 at +95m: bob"});
}

TEST_CASE(
    "each call of escalate returns what fell due since the stored step, once, and when "
    "to call again",
    "[hub][oncall][escalation]") {
  const OncallConfig cfg = policies_config();
  EscalationState state{
      .policy = "checkout-oncall", .started_ms = kStarted, .next_step = 0, .acknowledged = false};

  auto first = escalate(cfg, state, kStarted);
  REQUIRE(first);
  CHECK(show(first->due, kStarted) == std::vector<std::string>{"0/0 at +0m: bob@checkout-primary"});
  REQUIRE(first->next_at_ms);
  CHECK(*first->next_at_ms == kStarted + 10 * kMin);
  state.next_step = first->next_step;

  auto early = escalate(cfg, state, kStarted + 9 * kMin);  // a timer that fired early
  REQUIRE(early);
  CHECK(early->due.empty());
  CHECK(early->next_step == 1);
  CHECK(*early->next_at_ms == kStarted + 10 * kMin);

  auto second = escalate(cfg, state, kStarted + 10 * kMin);
  REQUIRE(second);
  REQUIRE(second->due.size() == 1);
  const Page& page = second->due[0];
  CHECK(page.level == 1);
  CHECK(page.round == 0);
  REQUIRE(page.targets.size() == 2);
  // People come with their contact methods.
  CHECK(page.targets[0].person.slack == "U012ABC");
  CHECK(page.targets[0].person.email == "alice@example.com");
  CHECK(page.targets[0].person.phone_webhook == "https://sms.example/alice");
  CHECK(page.targets[1].kind == PageTarget::Kind::kChannel);
  CHECK(page.targets[1].channel == "#checkout-leads");
}

TEST_CASE("resuming from the stored step after a crash neither repeats nor skips a level",
          "[hub][oncall][escalation]") {
  const OncallConfig cfg = policies_config();
  // Levels 0/0 notified and committed; the hub was down from +5m to +35m.
  const EscalationState state{
      .policy = "checkout-oncall", .started_ms = kStarted, .next_step = 1, .acknowledged = false};
  auto d = escalate(cfg, state, kStarted + 35 * kMin);
  REQUIRE(d);
  CHECK(show(d->due, kStarted) == std::vector<std::string>{"1/0 at +10m: alice #checkout-leads",
                                                           "0/1 at +20m: bob@checkout-primary",
                                                           "1/1 at +30m: alice #checkout-leads"});
  CHECK(d->next_step == 4);
  CHECK(*d->next_at_ms == kStarted + 40 * kMin);

  // Called again at once with the stored result: nothing is sent twice.
  auto again = escalate(cfg,
                        {.policy = "checkout-oncall",
                         .started_ms = kStarted,
                         .next_step = d->next_step,
                         .acknowledged = false},
                        kStarted + 35 * kMin);
  REQUIRE(again);
  CHECK(again->due.empty());
}

TEST_CASE("after the last round nothing more falls due", "[hub][oncall][escalation]") {
  const OncallConfig cfg = policies_config();
  auto d = escalate(
      cfg,
      {.policy = "checkout-oncall", .started_ms = kStarted, .next_step = 0, .acknowledged = false},
      kStarted + 24 * 60 * kMin);
  REQUIRE(d);
  CHECK(d->due.size() == 6);
  CHECK(d->next_step == 6);
  CHECK_FALSE(d->next_at_ms);
}

TEST_CASE("nothing falls due once the paging is acknowledged", "[hub][oncall][escalation]") {
  const OncallConfig cfg = policies_config();
  auto d = escalate(
      cfg,
      {.policy = "checkout-oncall", .started_ms = kStarted, .next_step = 1, .acknowledged = true},
      kStarted + 35 * kMin);
  REQUIRE(d);
  CHECK(d->due.empty());
  CHECK(d->next_step == 1);
  CHECK_FALSE(d->next_at_ms);
}

TEST_CASE("targets resolve to who is on call when escalate is called",
          "[hub][oncall][escalation]") {
  const OncallConfig cfg = policies_config();
  // Started in bob's week; the hub comes back in dave's.
  const EscalationState state{
      .policy = "checkout-oncall", .started_ms = kStarted, .next_step = 0, .acknowledged = false};
  auto d = escalate(cfg, state, at("2026-01-12T08:00:00Z") + 0);
  REQUIRE(d);
  REQUIRE_FALSE(d->due.empty());
  CHECK(d->due[0].targets[0].person.id == "dave");
}

TEST_CASE(
    "a person named twice in a level is paged once, and a schedule with nobody on call "
    "says so",
    "[hub][oncall][escalation]") {
  const OncallConfig cfg = policies_config();
  auto d = escalate(
      cfg, {.policy = "twice", .started_ms = kStarted, .next_step = 0, .acknowledged = false},
      kStarted);
  REQUIRE(d);
  CHECK(show(d->due, kStarted) == std::vector<std::string>{"0/0 at +0m: bob nobody@not-yet"});
}

TEST_CASE("a policy that is no longer configured is an error naming it",
          "[hub][oncall][escalation]") {
  auto d = escalate(
      policies_config(),
      {.policy = "gone", .started_ms = kStarted, .next_step = 0, .acknowledged = false}, kStarted);
  REQUIRE_FALSE(d);
  CHECK(d.status().code() == "unknown_policy");
  CHECK_THAT(d.status().message(), Catch::Contains("'gone'"));
}
