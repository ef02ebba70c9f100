// Silences and maintenance windows as decisions: what they mute, when, why (the reason
// text), expiry, validation, and reminders before a long silence ends.
#include <catch2/catch.hpp>

#include <chrono>

#include "hub/incidents/silences.h"

using namespace reflex;
using namespace reflex::hub::incidents;

namespace {

constexpr int64_t kT0 = 1'780'000'000'000;  // 2026-05-28, an ordinary epoch ms
constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 60 * kMin;

const protocol::Labels kCheckout{{"service", "checkout"}, {"env", "prod"}};
const protocol::Labels kPayments{{"service", "payments"}, {"env", "prod"}};

Matchers matchers(const std::string& text) {
  auto m = parse_matchers(text);
  INFO(m.status().to_string());
  REQUIRE(m);
  return std::move(m).value();
}

SilenceSpec spec(const std::string& m, int64_t starts, int64_t ends,
                 const std::string& who = "alice") {
  return SilenceSpec{matchers(m), starts, ends, who, "deploying the new checkout"};
}

Silence created(SilenceSet& set, SilenceSpec s, int64_t now) {
  auto r = set.create(std::move(s), now);
  INFO(r.status().to_string());
  REQUIRE(r);
  return std::move(r).value();
}

std::string create_error(SilenceSpec s, int64_t now = kT0) {
  SilenceSet set;
  auto r = set.create(std::move(s), now);
  REQUIRE_FALSE(r);
  CHECK(r.status().code() == "invalid_silence");
  return r.status().message();
}

int64_t utc_ms(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  using namespace std::chrono;
  const sys_days date{year(y) / month(mo) / day(d)};
  return (date.time_since_epoch().count() * 86'400 + h * 3600 + mi * 60) * 1000;
}

}  // namespace

TEST_CASE("a silence mutes the alerts it matches from its start until its end", "[hub][silences]") {
  SilenceSet set;
  const Silence s =
      created(set, spec(R"(service="checkout")", kT0 + 10 * kMin, kT0 + 2 * kHour), kT0);
  CHECK(s.id == 1);
  CHECK(s.created_by == "alice");
  CHECK(s.created_ms == kT0);
  CHECK(s.state(kT0) == SilenceState::kPending);

  CHECK_FALSE(set.match(kCheckout, kT0 + 10 * kMin - 1));
  CHECK(set.match(kCheckout, kT0 + 10 * kMin) == "silenced by 1 (alice)");
  CHECK(set.match(kCheckout, kT0 + 2 * kHour - 1) == "silenced by 1 (alice)");
  CHECK_FALSE(set.match(kPayments, kT0 + kHour));
  // It expires at its end by itself.
  CHECK_FALSE(set.match(kCheckout, kT0 + 2 * kHour));
  CHECK(set.find(1)->state(kT0 + 2 * kHour) == SilenceState::kExpired);
  CHECK(set.active(kT0 + kHour).size() == 1);
  CHECK(set.active(kT0 + 2 * kHour).empty());
}

TEST_CASE("a silence expired early stops muting at once and cannot be expired twice",
          "[hub][silences]") {
  SilenceSet set;
  created(set, spec(R"(service="checkout")", kT0, kT0 + 4 * kHour), kT0);
  CHECK(set.match(kCheckout, kT0 + kHour));

  auto expired = set.expire(1, "bob", kT0 + kHour);
  REQUIRE(expired);
  CHECK(expired->ends_at_ms == kT0 + kHour);
  CHECK(expired->expired_by == "bob");
  CHECK(*set.find(1) == *expired);
  CHECK_FALSE(set.match(kCheckout, kT0 + kHour));

  auto again = set.expire(1, "bob", kT0 + kHour + 1);
  REQUIRE_FALSE(again);
  CHECK(again.status().code() == "conflict");
  auto missing = set.expire(99, "bob", kT0);
  REQUIRE_FALSE(missing);
  CHECK(missing.status().code() == "not_found");
  auto nobody = set.expire(1, "", kT0);
  REQUIRE_FALSE(nobody);
  CHECK(nobody.status().code() == "invalid_argument");
}

TEST_CASE("a pending silence expired before its start never mutes", "[hub][silences]") {
  SilenceSet set;
  created(set, spec(R"(service="checkout")", kT0 + kHour, kT0 + 3 * kHour), kT0);
  auto r = set.expire(1, "bob", kT0 + 5 * kMin);
  REQUIRE(r);
  CHECK(r->starts_at_ms == kT0 + 5 * kMin);
  CHECK(r->ends_at_ms == kT0 + 5 * kMin);
  CHECK_FALSE(set.match(kCheckout, kT0 + 2 * kHour));
}

TEST_CASE("a silence starting in the past starts now", "[hub][silences]") {
  SilenceSet set;
  const Silence s = created(set, spec(R"(service="checkout")", kT0 - kHour, kT0 + kHour), kT0);
  CHECK(s.starts_at_ms == kT0);
  const Silence now = created(set, spec(R"(service="checkout")", 0, kT0 + kHour), kT0);
  CHECK(now.starts_at_ms == kT0);
  CHECK(now.id == 2);
}

TEST_CASE("a silence with a bad field is refused naming the field", "[hub][silences]") {
  CHECK_THAT(create_error(SilenceSpec{{}, kT0, kT0 + kHour, "alice", "x"}),
             Catch::StartsWith("matchers: name at least one matcher"));
  CHECK_THAT(create_error(spec(R"({team=~".*", env!="dev"})", kT0, kT0 + kHour)),
             Catch::StartsWith("matchers: at least one matcher must not match an absent label"));
  CHECK_THAT(create_error(spec(R"(service="checkout")", kT0 + 2 * kHour, kT0 + kHour)),
             Catch::StartsWith("ends_at: must be after starts_at"));
  CHECK_THAT(create_error(spec(R"(service="checkout")", kT0 - 2 * kHour, kT0 - kHour)),
             Catch::StartsWith("ends_at: is not in the future"));
  CHECK_THAT(create_error(spec(R"(service="checkout")", kT0, kT0 + kHour, "")),
             Catch::StartsWith("created_by: must not be empty"));
  SilenceSpec no_comment = spec(R"(service="checkout")", kT0, kT0 + kHour);
  no_comment.comment.clear();
  CHECK_THAT(create_error(no_comment), Catch::StartsWith("comment: must not be empty"));
}

TEST_CASE("the lowest-numbered matching silence is the one named", "[hub][silences]") {
  SilenceSet set;
  created(set, spec(R"(service="payments")", kT0, kT0 + kHour, "carol"), kT0);
  created(set, spec(R"(env="prod")", kT0, kT0 + kHour, "dave"), kT0);
  created(set, spec(R"(service="checkout")", kT0, kT0 + kHour, "erin"), kT0);
  CHECK(set.match(kCheckout, kT0) == "silenced by 2 (dave)");
  CHECK(set.match(kPayments, kT0) == "silenced by 1 (carol)");
}

TEST_CASE("a long silence is reminded once, shortly before it ends", "[hub][silences]") {
  SilenceSet set(ReminderPolicy{15 * kMin, kHour});
  created(set, spec(R"(service="checkout")", kT0, kT0 + 2 * kHour), kT0);
  created(set, spec(R"(service="payments")", kT0, kT0 + 30 * kMin), kT0);  // short: never
  CHECK(set.next_reminder_ms(kT0) == kT0 + 2 * kHour - 15 * kMin);

  CHECK(set.reminders(kT0 + 2 * kHour - 15 * kMin - 1).empty());
  const auto due = set.reminders(kT0 + 2 * kHour - 15 * kMin);
  REQUIRE(due.size() == 1);
  CHECK(due[0].id == 1);
  CHECK(due[0].reminded_ms == kT0 + 2 * kHour - 15 * kMin);
  CHECK(set.reminders(kT0 + 2 * kHour - 10 * kMin).empty());
  CHECK_FALSE(set.next_reminder_ms(kT0 + 2 * kHour - 10 * kMin));

  // A set restored from the rows does not remind again.
  SilenceSet restarted(ReminderPolicy{15 * kMin, kHour});
  REQUIRE(restarted.restore(set.snapshot()));
  CHECK(restarted.reminders(kT0 + 2 * kHour - 5 * kMin).empty());
}

TEST_CASE("no reminder for a silence expired early or already over", "[hub][silences]") {
  SilenceSet set(ReminderPolicy{15 * kMin, kHour});
  created(set, spec(R"(service="checkout")", kT0, kT0 + 2 * kHour), kT0);
  created(set, spec(R"(service="payments")", kT0, kT0 + 2 * kHour), kT0);
  REQUIRE(set.expire(1, "bob", kT0 + kHour));
  // The hub was away through silence 2's last quarter hour: it ended unreminded.
  CHECK(set.reminders(kT0 + 3 * kHour).empty());
  CHECK_FALSE(set.next_reminder_ms(kT0 + 3 * kHour));

  SilenceSet off(ReminderPolicy{0, kHour});
  created(off, spec(R"(service="checkout")", kT0, kT0 + 2 * kHour), kT0);
  CHECK(off.reminders(kT0 + 2 * kHour - kMin).empty());
  CHECK_FALSE(off.next_reminder_ms(kT0));
}

TEST_CASE("a maintenance window mutes what it matches while open and names itself",
          "[hub][silences]") {
  auto when = Recurrence::make({{"sun"}, "02:00", "04:00", 0, "Europe/Berlin"});
  REQUIRE(when);
  SilenceSet set;
  set.set_windows(
      {MaintenanceWindow{"nightly-db", matchers(R"(service="postgres")"), *when, "backups"}});
  const protocol::Labels postgres{{"service", "postgres"}};
  // The fall-back Sunday: open from 00:00 to 03:00 UTC (02:00 CEST to 04:00 CET).
  CHECK(set.match(postgres, utc_ms(2026, 10, 25, 1, 30)) ==
        "in maintenance window nightly-db until 2026-10-25 04:00 Europe/Berlin");
  CHECK_FALSE(set.match(postgres, utc_ms(2026, 10, 25, 3, 0)));
  CHECK_FALSE(set.match(kCheckout, utc_ms(2026, 10, 25, 1, 30)));
  CHECK(set.open_windows(utc_ms(2026, 10, 25, 1, 30)).size() == 1);
  CHECK(set.open_windows(utc_ms(2026, 10, 25, 3, 0)).empty());

  // A silence that also applies is named first.
  created(set, spec(R"(service="postgres")", 0, utc_ms(2026, 10, 26)), utc_ms(2026, 10, 25));
  CHECK(set.match(postgres, utc_ms(2026, 10, 25, 1, 30)) == "silenced by 1 (alice)");
}

TEST_CASE("ended silences can be let go from memory, and restore refuses bad rows",
          "[hub][silences]") {
  SilenceSet set;
  created(set, spec(R"(service="checkout")", kT0, kT0 + kHour), kT0);
  created(set, spec(R"(service="payments")", kT0, kT0 + 3 * kHour), kT0);
  set.forget_ended_before(kT0 + 2 * kHour);
  REQUIRE(set.list().size() == 1);
  CHECK(set.list()[0].id == 2);
  // Ids keep counting after a forget.
  CHECK(created(set, spec(R"(service="x")", kT0, kT0 + kHour), kT0).id == 3);

  SilenceSet busy;
  created(busy, spec(R"(service="x")", kT0, kT0 + kHour), kT0);
  CHECK_FALSE(busy.restore(set.snapshot()));

  SilenceSnapshot dup = set.snapshot();
  dup.silences.push_back(dup.silences[0]);
  SilenceSet fresh;
  auto st = fresh.restore(dup);
  REQUIRE_FALSE(st);
  CHECK_THAT(st.message(), Catch::Contains("appears twice"));
  SilenceSnapshot low = set.snapshot();
  low.next_id = 2;
  CHECK_FALSE(SilenceSet().restore(low));
}
