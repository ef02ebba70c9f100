// Silences in SQLite: a set restored from the file after a restart holds the same
// silences, mutes the same alerts and does not remind twice.
#include <catch2/catch.hpp>

#include "common/sqlite.h"
#include "hub/incidents/silence_store.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::hub::incidents;

namespace {

constexpr int64_t kT0 = 1'780'000'000'000;
constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 60 * kMin;

const sqlite::Migration kSchema[] = {{1, kSilenceSchemaSql}};

sqlite::Database open_db(const std::string& path) {
  auto db = sqlite::Database::open(path);
  INFO(db.status().to_string());
  REQUIRE(db);
  REQUIRE(sqlite::migrate(*db, kSchema));
  return std::move(db).value();
}

// Writes rows in one transaction, as the hub does.
void write(sqlite::Database& db, const std::vector<Silence>& rows) {
  auto tables = SilenceTables::prepare(db);
  REQUIRE(tables);
  auto tx = sqlite::Transaction::begin(db);
  REQUIRE(tx);
  REQUIRE(tables->append(rows));
  REQUIRE(tx->commit());
}

Silence created(SilenceSet& set, const std::string& m, int64_t ends, int64_t now) {
  auto matchers = parse_matchers(m);
  REQUIRE(matchers);
  auto s = set.create(SilenceSpec{*matchers, now, ends, "alice", "maintenance"}, now);
  REQUIRE(s);
  return std::move(s).value();
}

}  // namespace

TEST_CASE("silences survive a restart: same rows, same decisions, no second reminder",
          "[hub][silences]") {
  reflex::testing::TempDir dir;
  const std::string path = dir.file("hub.db");
  SilenceSet before(ReminderPolicy{15 * kMin, kHour});
  {
    sqlite::Database db = open_db(path);
    write(db,
          {created(before, R"({service="checkout", env=~"prod|staging"})", kT0 + 2 * kHour, kT0),
           created(before, R"(msg="a \"quoted\", value")", kT0 + 3 * kHour, kT0),
           created(before, R"(service="old")", kT0 + kHour, kT0)});
    auto expired = before.expire(2, "bob", kT0 + 30 * kMin);
    REQUIRE(expired);
    write(db, {*expired});
    const auto reminded = before.reminders(kT0 + 2 * kHour - 10 * kMin);
    REQUIRE(reminded.size() == 1);
    write(db, reminded);
  }

  sqlite::Database db = open_db(path);  // a new connection, as after a restart
  auto tables = SilenceTables::prepare(db);
  REQUIRE(tables);
  auto all = tables->load(0);
  REQUIRE(all);
  CHECK(*all == before.snapshot());

  // Loading only what has not ended leaves out the expired and the finished silences
  // but keeps the id counter above all of them.
  const int64_t now = kT0 + 2 * kHour - 5 * kMin;
  auto current = tables->load(now);
  REQUIRE(current);
  REQUIRE(current->silences.size() == 1);
  CHECK(current->silences[0].id == 1);
  CHECK(current->next_id == 4);

  SilenceSet after(ReminderPolicy{15 * kMin, kHour});
  REQUIRE(after.restore(*current));
  CHECK(after.match({{"service", "checkout"}, {"env", "staging"}}, now) == "silenced by 1 (alice)");
  CHECK_FALSE(after.match({{"service", "checkout"}, {"env", "dev"}}, now));
  CHECK(after.reminders(now).empty());
  auto next =
      after.create(SilenceSpec{*parse_matchers(R"(a="b")"), now, now + kHour, "x", "y"}, now);
  REQUIRE(next);
  CHECK(next->id == 4);

  auto one = tables->silence(2);
  REQUIRE(one);
  REQUIRE(*one);
  CHECK((*one)->expired_by == "bob");
  CHECK((*one)->matchers[0].value() == R"(a "quoted", value)");
  auto none = tables->silence(42);
  REQUIRE(none);
  CHECK_FALSE(*none);
}

TEST_CASE("a stored silence whose matchers no longer parse is reported as corrupt",
          "[hub][silences]") {
  reflex::testing::TempDir dir;
  sqlite::Database db = open_db(dir.file("hub.db"));
  REQUIRE(
      db.exec("INSERT INTO silences VALUES (7, '[\"env=~\\\"(\\\"\"]', 0, 9, 'a', 'b', 0, '', 0)"));
  auto tables = SilenceTables::prepare(db);
  REQUIRE(tables);
  auto loaded = tables->load(0);
  REQUIRE_FALSE(loaded);
  CHECK(loaded.status().code() == "corrupt");
  CHECK_THAT(loaded.status().message(),
             Catch::Contains("silences row 7 matchers") && Catch::Contains("bad regex"));
  REQUIRE(db.exec("UPDATE silences SET matchers = '{}' WHERE id = 7"));
  auto object = tables->load(0);
  REQUIRE_FALSE(object);
  CHECK_THAT(object.status().message(), Catch::Contains("not a JSON array"));
}
