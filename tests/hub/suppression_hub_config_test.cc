// hub.yaml's suppression keys read through the hub's own config reader (read_hub_config),
// as start-up, reload and `reflexctl check-config` read them.
#include <catch2/catch.hpp>
#include <chrono>

#include "hub/config.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::incidents;

namespace {

Result<HubConfig> parse(const std::string& yaml) {
  auto root = config::parse_yaml(yaml, "hub.yaml");
  if (!root) return root.status();
  return read_hub_config(*root, "hub.yaml");
}

std::string errors_of(const std::string& yaml) {
  auto cfg = parse(yaml);
  REQUIRE_FALSE(cfg);
  return cfg.status().message();
}

// Unix ms of a UTC date and time.
int64_t utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  using namespace std::chrono;
  const sys_days date{year(y) / month(mo) / day(d)};
  return (date.time_since_epoch().count() * 86'400 + h * 3600 + mi * 60) * 1000;
}

const char* kShop = R"(
services:
  checkout:
    depends_on: [payments, postgres]
  payments:
    depends_on: [postgres]
dependency_inhibition:
  enabled: true
  equal: [env, region]
inhibit_rules:
  - name: critical-mutes-warning
    source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [cluster]
maintenance:
  - name: nightly-db
    matchers: ['service="postgres"', 'env="prod"']
    weekdays: [sun]
    start: "02:00"
    end: "04:00"
    time_zone: Europe/Berlin
    comment: backups
silence_reminders:
  before: 30m
  min_length: 2h
)";

}  // namespace

TEST_CASE("a hub without suppression keys has no topology, rules or windows and default reminders",
          "[hub-config][suppression]") {
  auto cfg = load_hub_config("");
  REQUIRE(cfg);
  CHECK(cfg->suppression.services.empty());
  CHECK(cfg->suppression.dependencies.enabled);
  CHECK(cfg->suppression.inhibit_rules.empty());
  CHECK(cfg->suppression.maintenance.empty());
  CHECK(cfg->suppression.silence_reminders.lead_ms == 15 * 60'000);
}

TEST_CASE("hub.yaml's services, inhibition, maintenance and reminders read into the hub config",
          "[hub-config][suppression]") {
  auto cfg = parse(kShop);
  INFO(cfg.status().to_string());
  REQUIRE(cfg);
  const SuppressionConfig& s = cfg->suppression;
  CHECK(s.services.dependencies("checkout") == std::vector<std::string>{"payments", "postgres"});
  CHECK(s.dependencies.equal == std::vector<std::string>{"env", "region"});
  REQUIRE(s.inhibit_rules.size() == 1);
  CHECK(s.inhibit_rules[0].name == "critical-mutes-warning");
  CHECK(s.inhibit_rules[0].equal == std::vector<std::string>{"cluster"});
  REQUIRE(s.maintenance.size() == 1);
  CHECK(s.maintenance[0].name == "nightly-db");
  CHECK(s.maintenance[0].comment == "backups");
  CHECK(s.maintenance[0].when.describe() == "Sun 02:00-04:00 Europe/Berlin");
  CHECK(s.silence_reminders.lead_ms == 30 * 60'000);
  CHECK(s.silence_reminders.min_length_ms == 2 * 3'600'000);
}

TEST_CASE("a Berlin maintenance window from hub.yaml opens at local 02:00 across both DST changes",
          "[hub-config][suppression]") {
  auto cfg = parse(kShop);
  REQUIRE(cfg);
  SilenceSet set;
  set.set_windows(cfg->suppression.maintenance);
  const protocol::Labels pg = {{"service", "postgres"}, {"env", "prod"}};
  auto muted = [&](int64_t at) { return set.match(pg, at).has_value(); };

  // 2026-03-29: clocks jump 02:00 CET -> 03:00 CEST (01:00 UTC). The window opens at the
  // jump and closes at 04:00 CEST (02:00 UTC): one real hour.
  CHECK_FALSE(muted(utc(2026, 3, 29, 0, 59)));
  CHECK(muted(utc(2026, 3, 29, 1, 0)));
  CHECK(muted(utc(2026, 3, 29, 1, 59)));
  CHECK_FALSE(muted(utc(2026, 3, 29, 2, 0)));

  // 2026-10-25: clocks fall back 03:00 CEST -> 02:00 CET (01:00 UTC). 02:00 CEST is
  // 00:00 UTC and 04:00 CET is 03:00 UTC: three real hours, the repeated hour inside.
  CHECK_FALSE(muted(utc(2026, 10, 24, 23, 59)));
  CHECK(muted(utc(2026, 10, 25, 0, 0)));
  CHECK(muted(utc(2026, 10, 25, 2, 30)));
  CHECK_FALSE(muted(utc(2026, 10, 25, 3, 0)));

  // An ordinary winter Sunday: 01:00-03:00 UTC; never on a Monday; only prod postgres.
  CHECK(muted(utc(2026, 11, 1, 1, 0)));
  CHECK_FALSE(muted(utc(2026, 11, 1, 3, 0)));
  CHECK_FALSE(muted(utc(2026, 11, 2, 1, 30)));
  CHECK_FALSE(set.match({{"service", "postgres"}, {"env", "dev"}}, utc(2026, 11, 1, 1, 30)));
  CHECK_THAT(*set.match(pg, utc(2026, 11, 1, 1, 30)),
             Catch::StartsWith("in maintenance window nightly-db until "));
}

TEST_CASE("bad suppression keys in hub.yaml are refused naming their key paths",
          "[hub-config][suppression]") {
  const std::string m = errors_of(R"(
services:
  checkout:
    depends_on: [payments, payments]
    needs: [x]
dependency_inhibition:
  enabled: maybe
inhibit_rules:
  - source_matchers: ['severity="critical"']
maintenance:
  - name: w
    matchers: ['service="x"']
    weekdays: [sun]
    start: "02:00"
    end: "04:00"
    time_zone: Mars/Olympus
silence_reminders:
  before: soon
)");
  CHECK_THAT(m, Catch::Contains("services.checkout.depends_on[1]: 'payments' is listed twice"));
  CHECK_THAT(m, Catch::Contains("services.checkout.needs: unknown key"));
  CHECK_THAT(m, Catch::Contains("dependency_inhibition.enabled"));
  CHECK_THAT(m, Catch::Contains("inhibit_rules[0].target_matchers: missing required key"));
  CHECK_THAT(m, Catch::Contains("maintenance[0].time_zone: unknown time zone 'Mars/Olympus'"));
  CHECK_THAT(m, Catch::Contains("silence_reminders.before"));
}

TEST_CASE("a dependency cycle in hub.yaml refuses the whole config", "[hub-config][suppression]") {
  CHECK_THAT(errors_of("services:\n  a: {depends_on: [b]}\n  b: {depends_on: [a]}\n"),
             Catch::Contains("a -> b -> a"));
}
