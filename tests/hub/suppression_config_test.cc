// hub.yaml's services, dependency_inhibition, inhibit_rules, maintenance and
// silence_reminders keys: what they read to, and errors that name file, line and key path.
#include <catch2/catch.hpp>

#include "tests/hub/config_section.h"

#include "hub/incidents/suppression_config.h"

using namespace reflex;
using namespace reflex::hub::incidents;

namespace {

using Read = reflex::testing::SectionRead<SuppressionConfig>;

Read read(const std::string& yaml) {
  return reflex::testing::read_section<SuppressionConfig>(
      yaml,
      [](config::MapReader& top, SuppressionConfig& out) { read_suppression_config(top, out); });
}

SuppressionConfig good(const std::string& yaml) {
  Read r = read(yaml);
  INFO(r.status.to_string());
  REQUIRE(r.status);
  return std::move(r.config);
}

std::string errors_of(const std::string& yaml) {
  Read r = read(yaml);
  REQUIRE_FALSE(r.status);
  CHECK(r.status.code() == "config");
  return r.status.message();
}

}  // namespace

TEST_CASE("with none of the keys every default applies", "[hub][inhibition]") {
  const SuppressionConfig c = good("");
  CHECK(c.services.empty());
  CHECK(c.dependencies.enabled);
  CHECK(c.dependencies.equal == std::vector<std::string>{"env"});
  CHECK(c.inhibit_rules.empty());
  CHECK(c.maintenance.empty());
  CHECK(c.silence_reminders.lead_ms == 15 * 60'000);
  CHECK(c.silence_reminders.min_length_ms == 60 * 60'000);
}

TEST_CASE("a full configuration reads into topology, rules, windows and reminders",
          "[hub][inhibition]") {
  const SuppressionConfig c = good(R"(
services:
  checkout:
    depends_on: [payments, postgres]
  payments:
    depends_on: [postgres]
  postgres: {}
dependency_inhibition:
  enabled: false
  equal: [env, region]
inhibit_rules:
  - name: critical-mutes-warning
    source_matchers: ['severity="critical"']
    target_matchers: ['severity=~"warning|info"']
    equal: [cluster]
  - source_matchers: ['alertname="SiteDown"']
    target_matchers: ['alertname!="SiteDown"']
maintenance:
  - name: nightly-db
    matchers: ['service="postgres"', 'env="prod"']
    weekdays: [sun]
    start: "02:00"
    end: "04:00"
    time_zone: Europe/Berlin
    comment: backups
  - name: weekend-batch
    matchers: ['service="batch"']
    weekdays: [Saturday]
    start: "00:00"
    duration: 2d
    time_zone: America/New_York
silence_reminders:
  before: 30m
  min_length: 4h
)");
  CHECK(c.services.dependencies("checkout") == std::vector<std::string>{"payments", "postgres"});
  CHECK_FALSE(c.dependencies.enabled);
  CHECK(c.dependencies.equal == std::vector<std::string>{"env", "region"});
  REQUIRE(c.inhibit_rules.size() == 2);
  CHECK(c.inhibit_rules[0].name == "critical-mutes-warning");
  CHECK(matchers_to_string(c.inhibit_rules[0].target) == R"({severity=~"warning|info"})");
  CHECK(c.inhibit_rules[0].equal == std::vector<std::string>{"cluster"});
  CHECK(c.inhibit_rules[1].name == "inhibit_rules[1]");
  CHECK(c.inhibit_rules[1].equal.empty());
  REQUIRE(c.maintenance.size() == 2);
  CHECK(c.maintenance[0].name == "nightly-db");
  CHECK(c.maintenance[0].matchers.size() == 2);
  CHECK(c.maintenance[0].when.describe() == "Sun 02:00-04:00 Europe/Berlin");
  CHECK(c.maintenance[0].comment == "backups");
  CHECK(c.maintenance[1].when.describe() == "Sat 00:00 for 2d America/New_York");
  CHECK(c.silence_reminders.lead_ms == 30 * 60'000);
  CHECK(c.silence_reminders.min_length_ms == 4 * 60 * 60'000);
}

TEST_CASE("a dependency cycle in services is refused with the cycle named", "[hub][inhibition]") {
  const std::string m = errors_of(R"(
services:
  a:
    depends_on: [b]
  b:
    depends_on: [a]
)");
  CHECK_THAT(m, Catch::Contains("hub.yaml:3: services: dependency cycle a -> b -> a"));
}

TEST_CASE("bad services entries name their key paths", "[hub][inhibition]") {
  const std::string m = errors_of(R"(
services:
  checkout:
    depends_on: [payments, payments, ""]
    depend_on: [x]
  search:
    depends_on: postgres
)");
  CHECK_THAT(m, Catch::Contains(
                    "hub.yaml:4: services.checkout.depends_on[1]: 'payments' is listed twice"));
  CHECK_THAT(m, Catch::Contains("services.checkout.depends_on[2]: must not be empty"));
  CHECK_THAT(m, Catch::Contains("hub.yaml:5: services.checkout.depend_on: unknown key"));
  CHECK_THAT(m, Catch::Contains("hub.yaml:7: services.search.depends_on: expected a list"));
  CHECK_THAT(errors_of("services: [a, b]"),
             Catch::Contains("hub.yaml:1: services: expected a mapping"));
}

TEST_CASE("bad inhibit rules name their key paths", "[hub][inhibition]") {
  const std::string m = errors_of(R"(
inhibit_rules:
  - name: r
    source_matchers: ['severity="critical"']
    target_matchers: ['severity=~"("']
    equal: [cluster, "not a label"]
  - name: r
    source_matchers: []
    target_matchers: ['a="b"']
    sorce: x
)");
  CHECK_THAT(m, Catch::Contains("hub.yaml:5: inhibit_rules[0].target_matchers[0]: matcher "
                                "'severity=~\"(\"': bad regex"));
  CHECK_THAT(m, Catch::Contains(
                    "hub.yaml:6: inhibit_rules[0].equal[1]: 'not a label' is not a label name"));
  CHECK_THAT(m, Catch::Contains("hub.yaml:7: inhibit_rules[1].name: 'r' names another rule too"));
  CHECK_THAT(m, Catch::Contains(
                    "hub.yaml:8: inhibit_rules[1].source_matchers: name at least one matcher"));
  CHECK_THAT(m, Catch::Contains("hub.yaml:10: inhibit_rules[1].sorce: unknown key"));
  CHECK_THAT(errors_of("inhibit_rules:\n  - target_matchers: ['a=\"b\"']\n"),
             Catch::Contains("inhibit_rules[0].source_matchers: missing required key"));
}

TEST_CASE("bad maintenance windows name their key paths", "[hub][silences]") {
  const std::string m = errors_of(R"(
maintenance:
  - name: nightly-db
    matchers: ['service="postgres"']
    weekdays: [sun, sundae]
    start: "02:00"
    end: "04:00"
    time_zone: Europe/Berlin
  - name: nightly-db
    matchers: ['team=~".*"']
    weekdays: [mon]
    start: "2am"
    end: "04:00"
    time_zone: Europe/Berlin
  - name: zone
    matchers: ['service="x"']
    weekdays: [mon]
    start: "01:00"
    duration: 2h
    time_zone: Europe/Berln
  - name: both
    matchers: ['service="x"']
    weekdays: [mon]
    start: "01:00"
    end: "02:00"
    duration: 1h
    time_zone: UTC
  - matchers: ['service="x"']
)");
  CHECK_THAT(m, Catch::Contains("hub.yaml:5: maintenance[0].weekdays[1]: unknown day 'sundae'"));
  CHECK_THAT(
      m, Catch::Contains("hub.yaml:9: maintenance[1].name: 'nightly-db' names another window too"));
  CHECK_THAT(m, Catch::Contains("hub.yaml:10: maintenance[1].matchers: at least one matcher must "
                                "not match an absent label"));
  CHECK_THAT(m, Catch::Contains(
                    "hub.yaml:20: maintenance[2].time_zone: unknown time zone 'Europe/Berln'"));
  CHECK_THAT(
      m, Catch::Contains("hub.yaml:25: maintenance[3].end: give either end or duration, not both"));
  CHECK_THAT(m, Catch::Contains("maintenance[4].name: missing required key"));
  CHECK_THAT(m, Catch::Contains("maintenance[4].weekdays: missing required key"));
  CHECK_THAT(m, Catch::Contains("maintenance[4].time_zone: missing required key"));
}

TEST_CASE("a window start that is not HH:MM is refused at its line", "[hub][silences]") {
  const std::string m = errors_of(R"(
maintenance:
  - name: w
    matchers: ['service="x"']
    weekdays: [mon]
    start: "2am"
    end: "04:00"
    time_zone: UTC
)");
  CHECK_THAT(m, Catch::Contains(
                    "hub.yaml:6: maintenance[0].start: expected a local time HH:MM, got '2am'"));
}

TEST_CASE("bad dependency_inhibition and silence_reminders values name their keys",
          "[hub][silences]") {
  const std::string m = errors_of(R"(
dependency_inhibition:
  enabled: maybe
  equal: [env, env]
  extra: 1
silence_reminders:
  before: 15
  min_length: 1h
)");
  CHECK_THAT(m,
             Catch::Contains("hub.yaml:3: dependency_inhibition.enabled: expected true or false"));
  CHECK_THAT(m,
             Catch::Contains("hub.yaml:4: dependency_inhibition.equal[1]: 'env' is listed twice"));
  CHECK_THAT(m, Catch::Contains("hub.yaml:5: dependency_inhibition.extra: unknown key"));
  CHECK_THAT(m, Catch::Contains("hub.yaml:7: silence_reminders.before:"));
}
