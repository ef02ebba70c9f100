// hub.yaml's people, schedules and escalation_policies: the example reads as documented,
// and every mistake is refused naming its file, line and key path.
#include <catch2/catch.hpp>

#include "hub/config.h"
#include "hub/oncall/oncall_config.h"
#include "tests/hub/oncall_fixtures.h"

using namespace reflex;
using namespace reflex::hub::oncall;
using reflex::testing::at;

namespace {

using Read = reflex::testing::SectionRead<OncallConfig>;

Read read(const std::string& yaml) {
  return reflex::testing::read_section<OncallConfig>(
      yaml, [](config::MapReader& top, OncallConfig& out) { read_oncall_config(top, out); });
}

const char* kExample = R"(people:
  alice: {name: Alice Doe, slack: U012ABC, email: alice@example.com, phone_webhook: https://sms.example/alice}
  bob:   {slack: U034DEF, email: bob@example.com}
  carol: {email: carol@example.com}
schedules:
  checkout-primary:
    time_zone: Europe/Berlin
    layers:
      - name: weekly
        rotation: weekly
        handoff: "mon 09:00"
        start: 2026-01-05
        members: [alice, bob]
      - name: weekend-cover
        rotation: daily
        handoff: "09:00"
        start: 2026-01-03
        members: [carol]
        restrict: {days: [sat, sun]}
    overrides:
      - {user: bob, start: 2026-12-24T09:00:00+01:00, end: 2026-12-27T09:00:00+01:00}
escalation_policies:
  checkout-oncall:
    repeat: 2
    levels:
      - {delay: 0s, targets: [{schedule: checkout-primary}]}
      - {delay: 10m, targets: [{user: alice}, {channel: "#checkout-leads"}]}
)";

// kExample with `from` replaced by `to` (which must be there).
std::string with(const std::string& from, const std::string& to) {
  std::string yaml = kExample;
  const size_t pos = yaml.find(from);
  REQUIRE(pos != std::string::npos);
  return yaml.replace(pos, from.size(), to);
}

// The single error of reading `yaml`.
std::string error_of(const std::string& yaml) {
  Read r = read(yaml);
  REQUIRE_FALSE(r.status);
  return r.status.message();
}

}  // namespace

TEST_CASE("the documented example reads into people, layers, overrides and levels",
          "[hub][oncall][config]") {
  Read r = read(kExample);
  INFO(r.status.to_string());
  REQUIRE(r.status);
  const OncallConfig& cfg = r.config;
  REQUIRE(cfg.people.size() == 3);
  CHECK(cfg.people.at("alice").name == "Alice Doe");
  CHECK(cfg.people.at("alice").phone_webhook == "https://sms.example/alice");
  CHECK(cfg.people.at("bob").slack == "U034DEF");

  const Schedule& s = cfg.schedules.at("checkout-primary");
  CHECK(s.zone.name() == "Europe/Berlin");
  REQUIRE(s.layers.size() == 2);
  CHECK(s.layers[0].rotation == Rotation::kWeekly);
  CHECK(s.layers[0].period_s == 7 * 86'400);
  CHECK(s.layers[0].members == std::vector<std::string>{"alice", "bob"});
  CHECK(s.layers[1].days == ((1u << 0) | (1u << 6)));
  REQUIRE(s.overrides.size() == 1);
  CHECK(s.overrides[0].start_ms == at("2026-12-24T08:00:00Z"));
  CHECK(s.overrides[0].end_ms == at("2026-12-27T08:00:00Z"));

  const EscalationPolicy& p = cfg.policies.at("checkout-oncall");
  CHECK(p.repeat == 2);
  REQUIRE(p.levels.size() == 2);
  CHECK(p.levels[1].delay_ms == 600'000);
  CHECK(p.repeat_after_ms == 600'000);  // the last level's delay
  CHECK(p.levels[1].targets[1].kind == Target::Kind::kChannel);
  CHECK(p.levels[1].targets[1].name == "#checkout-leads");
}

TEST_CASE("every on-call mistake is refused naming its file, line and key path",
          "[hub][oncall][config]") {
  struct Case {
    std::string from, to, expected;
  };
  const std::vector<Case> cases = {
      {"members: [alice, bob]", "members: [alice, zed]",
       "hub.yaml:13: schedules.checkout-primary.layers[0].members[1]: no person 'zed' "
       "(declared: alice, bob, carol)"},
      {"members: [carol]", "members: []",
       "hub.yaml:18: schedules.checkout-primary.layers[1].members: name at least one person"},
      {"{schedule: checkout-primary}", "{schedule: checkout-secondary}",
       "hub.yaml:26: escalation_policies.checkout-oncall.levels[0].targets[0].schedule: no "
       "schedule 'checkout-secondary' (declared: checkout-primary)"},
      {"{user: alice}", "{user: mallory}",
       "escalation_policies.checkout-oncall.levels[1].targets[0].user: no person 'mallory'"},
      {"{user: alice}", "{user: alice, channel: \"#x\"}",
       "hub.yaml:27: escalation_policies.checkout-oncall.levels[1].targets[0]: give exactly one of "
       "schedule, "
       "user or channel, 2 given"},
      {"time_zone: Europe/Berlin", "time_zone: Europe/Atlantis",
       "hub.yaml:7: schedules.checkout-primary.time_zone: "},
      {"handoff: \"mon 09:00\"", "handoff: \"monday 9am\"",
       "hub.yaml:11: schedules.checkout-primary.layers[0].handoff: expected \"DAY HH:MM\""},
      {"handoff: \"09:00\"", "handoff: \"25:00\"",
       "schedules.checkout-primary.layers[1].handoff: expected a local time \"HH:MM\""},
      {"start: 2026-01-05", "start: 2026-02-30",
       "schedules.checkout-primary.layers[0].start: expected a date YYYY-MM-DD"},
      {"start: 2026-01-05", "start: 2026-01-06",
       "schedules.checkout-primary.layers[0].start: 2026-01-06 is a tuesday; a weekly layer "
       "starts on its handoff day (monday)"},
      {"rotation: daily", "rotation: fortnightly",
       "schedules.checkout-primary.layers[1].rotation: must be one of"},
      {"rotation: daily", "rotation: hours",
       "schedules.checkout-primary.layers[1].shift: required with rotation: hours"},
      {"rotation: daily", "rotation: daily\n        shift: 12h",
       "schedules.checkout-primary.layers[1].shift: only with rotation: hours"},
      {"days: [sat, sun]", "days: [sat, caturday]",
       "schedules.checkout-primary.layers[1].restrict.days[1]: unknown day 'caturday'"},
      {"end: 2026-12-27T09:00:00+01:00", "end: 2026-12-24T09:00:00+01:00",
       "hub.yaml:21: schedules.checkout-primary.overrides[0].end: must be after start"},
      {"end: 2026-12-27T09:00:00+01:00}",
       "end: 2026-12-27T09:00:00+01:00}\n      - {user: alice, start: 2026-12-26T00:00:00Z, "
       "end: 2026-12-28T00:00:00Z}",
       "hub.yaml:22: schedules.checkout-primary.overrides[1]: overlaps overrides[0]"},
      {"start: 2026-12-24T09:00:00+01:00", "start: Christmas Eve",
       "schedules.checkout-primary.overrides[0].start: \"Christmas Eve\" is not an RFC 3339"},
      {"{user: bob, start", "{user: eve, start",
       "schedules.checkout-primary.overrides[0].user: no person 'eve'"},
      {"delay: 10m", "delay: -10m",
       "hub.yaml:27: escalation_policies.checkout-oncall.levels[1].delay: must not be negative"},
      {"repeat: 2", "repeat: -1",
       "hub.yaml:24: escalation_policies.checkout-oncall.repeat: must be between 0 and 100"},
      {"delay: 10m", "delay: 0s",
       "escalation_policies.checkout-oncall.repeat: every round would fall due at once"},
      {"levels:\n      - {delay: 0s, targets: [{schedule: checkout-primary}]}\n      - {delay: "
       "10m, "
       "targets: [{user: alice}, {channel: \"#checkout-leads\"}]}",
       "levels: []", "escalation_policies.checkout-oncall.levels: expected a list of at least one"},
      {"bob:   {slack: U034DEF, email: bob@example.com}", "bob:   {name: Bob}",
       "hub.yaml:3: people.bob: give at least one way to reach them"},
      {"email: bob@example.com", "email: bob.example.com",
       "people.bob.email: expected an address like alice@example.com"},
      {"email: bob@example.com", "email: bob@example.com, pager: 555",
       "hub.yaml:3: people.bob.pager: unknown key"},
      {"phone_webhook: https://sms.example/alice", "phone_webhook: sms.example/alice",
       "people.alice.phone_webhook: expected an http:// or https:// URL"},
  };
  for (const auto& c : cases) {
    INFO(c.to);
    CHECK_THAT(error_of(with(c.from, c.to)), Catch::Contains(c.expected));
  }
}

TEST_CASE("a schedule needs a time zone and at least one layer", "[hub][oncall][config]") {
  const std::string msg =
      error_of("people: {bob: {slack: U1}}\nschedules:\n  s: {overrides: []}\n");
  CHECK_THAT(msg, Catch::Contains("schedules.s.time_zone: missing required key"));
  CHECK_THAT(msg, Catch::Contains("schedules.s.layers: missing required key"));
}

TEST_CASE("a mistake keeps the on-call configuration read before, as a reload does",
          "[hub][oncall][config]") {
  auto root = config::parse_yaml(with("members: [carol]", "members: [nobody-here]"), "hub.yaml");
  REQUIRE(root);
  OncallConfig running = reflex::testing::oncall_from_yaml(kExample);
  config::Errors errors("hub.yaml");
  {
    config::MapReader top(*root, "", errors);
    read_oncall_config(top, running);
  }
  CHECK_FALSE(errors.empty());
  REQUIRE(running.schedules.count("checkout-primary"));
  CHECK(running.schedules.at("checkout-primary").layers[1].members ==
        std::vector<std::string>{"carol"});
}

TEST_CASE("read_hub_config reads the on-call sections, so check-config and reload see them",
          "[hub][oncall][config]") {
  auto root = config::parse_yaml(kExample, "hub.yaml");
  REQUIRE(root);
  auto cfg = hub::read_hub_config(*root, "hub.yaml");
  INFO(cfg.status().to_string());
  REQUIRE(cfg);
  CHECK(cfg->oncall.policies.count("checkout-oncall") == 1);

  auto bad = config::parse_yaml(with("repeat: 2", "repeat: -1"), "hub.yaml");
  REQUIRE(bad);
  auto refused = hub::read_hub_config(*bad, "hub.yaml");
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.status().message(),
             Catch::Contains("escalation_policies.checkout-oncall.repeat"));
}
