#include "hub/incidents/external_expiry.h"

#include <catch2/catch.hpp>

#include "hub/incidents/engine.h"

using namespace reflex::hub::incidents;
using reflex::protocol::AlertState;
using reflex::protocol::Severity;

namespace {

constexpr int64_t kT0 = 1'767'261'600'000;
constexpr int64_t kMin = 60'000;

ExternalAlert firing(const std::string& fp, int64_t ends_at, bool timeout = false) {
  ExternalAlert a;
  a.signal.source = "external:alertmanager";
  a.signal.fingerprint = fp;
  a.signal.rule = "HighErrorRate";
  a.signal.state = AlertState::kFiring;
  a.signal.severity = Severity::kHigh;
  a.signal.labels = {{"alertname", "HighErrorRate"}, {"service", "checkout"}, {"env", "prod"}};
  a.signal.annotations = {{"summary", "errors on " + fp}};
  a.signal.host = "host-" + fp;
  a.signal.at_ms = kT0;
  a.starts_at_ms = kT0;
  a.ends_at_ms = ends_at;
  a.timeout = timeout;
  return a;
}

ExternalAlert resolved(const std::string& fp, int64_t at) {
  ExternalAlert a = firing(fp, at);
  a.signal.state = AlertState::kResolved;
  a.signal.at_ms = at;
  return a;
}

std::vector<std::string> fingerprints(const std::vector<AlertSignal>& signals) {
  std::vector<std::string> out;
  for (const auto& s : signals) out.push_back(s.fingerprint);
  return out;
}

}  // namespace

TEST_CASE("Alerts expire in order of their ends, as resolved signals dated at their end",
          "[hub][external]") {
  ExternalExpiry x;
  (void)x.observe(firing("c", kT0 + 3 * kMin));
  (void)x.observe(firing("a", kT0 + 1 * kMin));
  (void)x.observe(firing("b", kT0 + 3 * kMin));
  CHECK(x.size() == 3);
  CHECK(x.next_due_ms() == kT0 + kMin);

  CHECK(x.expire(kT0 + kMin - 1).empty());
  std::vector<AlertSignal> first = x.expire(kT0 + kMin);
  REQUIRE(first.size() == 1);
  const AlertSignal& s = first[0];
  CHECK(s.fingerprint == "a");
  CHECK(s.state == AlertState::kResolved);
  CHECK(s.at_ms == kT0 + kMin);
  CHECK(s.source == "external:alertmanager");
  CHECK(s.rule == "HighErrorRate");
  CHECK(s.severity == Severity::kHigh);
  CHECK(s.host == "host-a");
  // The resolved signal keeps what the alert was sent with, so the record keeps it too.
  CHECK(s.labels.at("service") == "checkout");
  CHECK(s.annotations.at("summary") == "errors on a");
  CHECK(validate_signal(s));

  CHECK(x.next_due_ms() == kT0 + 3 * kMin);
  CHECK(fingerprints(x.expire(kT0 + 10 * kMin)) == std::vector<std::string>{"b", "c"});
  CHECK(x.size() == 0);
  CHECK_FALSE(x.next_due_ms());
}

TEST_CASE("A re-sent alert moves its end and does not expire at the old one", "[hub][external]") {
  ExternalExpiry x;
  (void)x.observe(firing("a", kT0 + 4 * kMin));
  (void)x.observe(firing("b", kT0 + 5 * kMin));
  // Prometheus re-sends a minute later with an end four minutes ahead of then.
  ExpiryWrite w = x.observe(firing("a", kT0 + 5 * kMin + 1));
  REQUIRE(w.row);
  CHECK(w.row->ends_at_ms == kT0 + 5 * kMin + 1);
  CHECK(x.next_due_ms() == kT0 + 5 * kMin);
  CHECK(fingerprints(x.expire(kT0 + 5 * kMin)) == std::vector<std::string>{"b"});
  CHECK(fingerprints(x.expire(kT0 + 5 * kMin + 1)) == std::vector<std::string>{"a"});
}

TEST_CASE("A later explicit end is kept against an earlier re-send, a timeout end is not",
          "[hub][external]") {
  ExternalExpiry x;
  (void)x.observe(firing("explicit", kT0 + 10 * kMin));
  (void)x.observe(firing("explicit", kT0 + 6 * kMin));
  CHECK(x.row("explicit")->ends_at_ms == kT0 + 10 * kMin);
  (void)x.observe(firing("explicit", kT0 + 6 * kMin, /*timeout=*/true));
  CHECK(x.row("explicit")->ends_at_ms == kT0 + 10 * kMin);
  CHECK_FALSE(x.row("explicit")->timeout);

  (void)x.observe(firing("timeout", kT0 + 10 * kMin, /*timeout=*/true));
  (void)x.observe(firing("timeout", kT0 + 6 * kMin));
  CHECK(x.row("timeout")->ends_at_ms == kT0 + 6 * kMin);
  CHECK_FALSE(x.row("timeout")->timeout);
}

TEST_CASE("A resolved alert is no longer tracked and its row is deleted", "[hub][external]") {
  ExternalExpiry x;
  (void)x.observe(firing("a", kT0 + kMin));
  ExpiryWrite w = x.observe(resolved("a", kT0));
  CHECK(w == ExpiryWrite{"a", std::nullopt});
  CHECK(x.size() == 0);
  CHECK(x.expire(kT0 + kMin).empty());
  CHECK(x.observe(resolved("never-seen", kT0)) == ExpiryWrite{"never-seen", std::nullopt});
  (void)x.observe(firing("b", kT0 + kMin));
  CHECK(x.forget("b"));
  CHECK_FALSE(x.forget("b"));
  CHECK_FALSE(x.next_due_ms());
}

TEST_CASE("A restored expiry holds the same alerts and expires them the same way",
          "[hub][external]") {
  ExternalExpiry a;
  for (int i = 0; i < 50; ++i) {
    (void)a.observe(firing("fp" + std::to_string(i), kT0 + (i % 7) * kMin, i % 3 == 0));
  }
  (void)a.observe(resolved("fp4", kT0));
  (void)a.expire(kT0);  // the i % 7 == 0 ones

  ExternalExpiry b;
  REQUIRE(b.restore(a.snapshot()));
  CHECK(b.snapshot() == a.snapshot());
  CHECK(b.size() == a.size());
  CHECK(b.next_due_ms() == a.next_due_ms());
  CHECK(b.expire(kT0 + 4 * kMin) == a.expire(kT0 + 4 * kMin));
  CHECK(b.expire(kT0 + 60 * kMin) == a.expire(kT0 + 60 * kMin));
}

TEST_CASE("Restoring refuses duplicate or malformed rows and a non-empty structure",
          "[hub][external]") {
  ExpiryRow row{"fp", "external:x", "R", Severity::kInfo, "", "{}", "{}", kT0, false};
  ExternalExpiry x;
  auto dup = x.restore({row, row});
  CHECK(dup.code() == "corrupt");
  CHECK_THAT(dup.message(), Catch::Contains("duplicate fingerprint"));
  CHECK(x.size() == 0);
  ExpiryRow bad = row;
  bad.labels_json = "[1]";
  CHECK_THAT(x.restore({bad}).message(), Catch::Contains("labels are not a JSON object"));
  REQUIRE(x.restore({row}));
  CHECK(x.restore({row}).code() == "invalid_argument");
}

TEST_CASE("100,000 open alerts expire exactly at their ends, each once", "[hub][external]") {
  ExternalExpiry x;
  constexpr int kN = 100'000;
  for (int i = 0; i < kN; ++i) {
    // Ends spread over 1,000 distinct seconds in a scrambled order.
    (void)x.observe(firing(std::to_string(i), kT0 + (i * 7919 % 1000) * 1000));
  }
  for (int i = 0; i < kN; i += 10) (void)x.observe(firing(std::to_string(i), kT0 + 2'000'000));
  CHECK(x.size() == kN);
  size_t total = 0;
  int64_t last = 0;
  while (auto due = x.next_due_ms()) {
    auto batch = x.expire(*due);
    REQUIRE_FALSE(batch.empty());
    for (const auto& s : batch) {
      REQUIRE(s.at_ms == *due);
      REQUIRE(s.at_ms >= last);
      last = s.at_ms;
    }
    total += batch.size();
  }
  CHECK(total == kN);
  CHECK(last == kT0 + 2'000'000);
}

TEST_CASE("An external alert nobody re-sends resolves its incident through the engine",
          "[hub][external]") {
  IncidentPolicy policy;
  policy.resolve_after_ms = 0;
  IncidentEngine engine(policy);
  ExternalExpiry expiry;
  ExternalAlert a = firing("0123456789abcdef", kT0 + 4 * kMin);
  REQUIRE(engine.on_signal(a.signal, kT0));
  (void)expiry.observe(a);
  REQUIRE(engine.incident_count() == 1);

  const int64_t due = *expiry.next_due_ms();
  for (const AlertSignal& s : expiry.expire(due)) REQUIRE(engine.on_signal(s, due));
  (void)engine.tick(due);
  REQUIRE(engine.alert("0123456789abcdef"));
  CHECK(engine.alert("0123456789abcdef")->state == AlertState::kResolved);
  CHECK(engine.alert("0123456789abcdef")->since_ms == kT0 + 4 * kMin);
  REQUIRE(engine.incident(1));
  CHECK(engine.incident(1)->status == IncidentStatus::kResolved);
}
