#include "hub/incidents/external_expiry.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <tuple>

#include "hub/incidents/engine.h"
#include "hub/incidents/labels_json.h"

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

std::vector<std::string> fingerprints(const std::vector<ExpiryEnd>& ended) {
  std::vector<std::string> out;
  for (const auto& e : ended) out.push_back(e.fingerprint);
  return out;
}

// What the store keeps: each alert's latest send (the row the engine writes) and, beside
// it, the end observe() asks for.
struct Rows {
  // As the hub does: the engine writes the alert's row, then observe() its end.
  void send(ExternalExpiry& x, const ExternalAlert& a) {
    sends[a.signal.fingerprint] = a.signal;
    apply(x.observe(a));
  }
  void apply(const ExpiryWrite& w) {
    if (w.ends_at_ms) {
      ends[w.fingerprint] = {w.fingerprint, *w.ends_at_ms, w.timeout};
    } else {
      ends.erase(w.fingerprint);
    }
  }
  // Ordered by (end, fingerprint), as the store loads them.
  std::vector<ExpiryEnd> all() const {
    std::vector<ExpiryEnd> out;
    for (const auto& [fp, end] : ends) out.push_back(end);
    std::sort(out.begin(), out.end(), [](const ExpiryEnd& a, const ExpiryEnd& b) {
      return std::tie(a.ends_at_ms, a.fingerprint) < std::tie(b.ends_at_ms, b.fingerprint);
    });
    return out;
  }
  // What the store reads back for an expiring alert.
  ExpiryRow row(const std::string& fp) const {
    const AlertSignal& s = sends.at(fp);
    const ExpiryEnd& end = ends.at(fp);
    return {fp,
            s.source,
            s.rule,
            s.severity,
            s.host,
            labels_json(s.labels),
            labels_json(s.annotations),
            end.ends_at_ms,
            end.timeout};
  }
  // What the hub does with expired alerts: each resolves as its row says, and its end goes.
  std::vector<AlertSignal> resolve(const std::vector<ExpiryEnd>& ended) {
    std::vector<AlertSignal> out;
    for (const auto& e : ended) {
      auto s = expired_signal(row(e.fingerprint));
      REQUIRE(s);
      out.push_back(std::move(s).value());
      ends.erase(e.fingerprint);
    }
    return out;
  }
  std::map<std::string, AlertSignal> sends;
  std::map<std::string, ExpiryEnd> ends;
};

}  // namespace

TEST_CASE("Alerts expire in order of their ends, as resolved signals dated at their end",
          "[hub][external]") {
  ExternalExpiry x;
  Rows store;
  store.send(x, firing("c", kT0 + 3 * kMin));
  store.send(x, firing("a", kT0 + 1 * kMin));
  store.send(x, firing("b", kT0 + 3 * kMin));
  CHECK(x.size() == 3);
  CHECK(x.next_due_ms() == kT0 + kMin);

  CHECK(x.expire(kT0 + kMin - 1).empty());
  std::vector<ExpiryEnd> ended = x.expire(kT0 + kMin);
  CHECK(ended == std::vector<ExpiryEnd>{{"a", kT0 + kMin, false}});
  std::vector<AlertSignal> first = store.resolve(ended);
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
  CHECK(w.ends_at_ms == kT0 + 5 * kMin + 1);
  CHECK(x.next_due_ms() == kT0 + 5 * kMin);
  CHECK(fingerprints(x.expire(kT0 + 5 * kMin)) == std::vector<std::string>{"b"});
  CHECK(fingerprints(x.expire(kT0 + 5 * kMin + 1)) == std::vector<std::string>{"a"});
}

TEST_CASE("A later explicit end is kept against an earlier re-send, a timeout end is not",
          "[hub][external]") {
  ExternalExpiry x;
  (void)x.observe(firing("explicit", kT0 + 10 * kMin));
  (void)x.observe(firing("explicit", kT0 + 6 * kMin));
  CHECK(x.tracked("explicit")->ends_at_ms == kT0 + 10 * kMin);
  ExpiryWrite w = x.observe(firing("explicit", kT0 + 6 * kMin, /*timeout=*/true));
  CHECK(x.tracked("explicit")->ends_at_ms == kT0 + 10 * kMin);
  CHECK_FALSE(x.tracked("explicit")->timeout);
  // The stored end says the same, so a restart keeps the explicit end.
  CHECK(w.ends_at_ms == kT0 + 10 * kMin);
  CHECK_FALSE(w.timeout);

  (void)x.observe(firing("timeout", kT0 + 10 * kMin, /*timeout=*/true));
  (void)x.observe(firing("timeout", kT0 + 6 * kMin));
  CHECK(x.tracked("timeout")->ends_at_ms == kT0 + 6 * kMin);
  CHECK_FALSE(x.tracked("timeout")->timeout);
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
  Rows store;
  for (int i = 0; i < 50; ++i) {
    store.send(a, firing("fp" + std::to_string(i), kT0 + (i % 7) * kMin, i % 3 == 0));
  }
  store.send(a, resolved("fp4", kT0));
  (void)store.resolve(a.expire(kT0));  // the i % 7 == 0 ones

  ExternalExpiry b;
  REQUIRE(b.restore(store.all()));
  CHECK(b.snapshot() == a.snapshot());
  CHECK(b.size() == a.size());
  CHECK(b.next_due_ms() == a.next_due_ms());
  CHECK(b.expire(kT0 + 4 * kMin) == a.expire(kT0 + 4 * kMin));
  CHECK(b.expire(kT0 + 60 * kMin) == a.expire(kT0 + 60 * kMin));
}

TEST_CASE("Restoring refuses duplicate or nameless ends and a non-empty structure",
          "[hub][external]") {
  const ExpiryEnd end{"fp", kT0, false};
  ExternalExpiry x;
  auto dup = x.restore({end, {"other", kT0, true}, end});
  CHECK(dup.code() == "corrupt");
  CHECK_THAT(dup.message(), Catch::Contains("duplicate fingerprint"));
  CHECK(x.size() == 0);
  CHECK_FALSE(x.next_due_ms());
  CHECK_THAT(x.restore({{"", kT0, false}}).message(), Catch::Contains("no fingerprint"));
  REQUIRE(x.restore({end}));
  CHECK(x.restore({end}).code() == "invalid_argument");
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
    for (const auto& e : batch) {
      REQUIRE(e.ends_at_ms == *due);
      REQUIRE(e.ends_at_ms >= last);
      last = e.ends_at_ms;
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
  Rows store;
  REQUIRE(engine.on_signal(a.signal, kT0));
  store.send(expiry, a);
  REQUIRE(engine.incident_count() == 1);

  const int64_t due = *expiry.next_due_ms();
  for (const AlertSignal& s : store.resolve(expiry.expire(due))) REQUIRE(engine.on_signal(s, due));
  (void)engine.tick(due);
  REQUIRE(engine.alert("0123456789abcdef"));
  CHECK(engine.alert("0123456789abcdef")->state == AlertState::kResolved);
  CHECK(engine.alert("0123456789abcdef")->since_ms == kT0 + 4 * kMin);
  REQUIRE(engine.incident(1));
  CHECK(engine.incident(1)->status == IncidentStatus::kResolved);
}

TEST_CASE("An expired alert resolves with the labels and annotations of its latest re-send",
          "[hub][external]") {
  ExternalExpiry x;
  Rows store;
  ExternalAlert first = firing("a", kT0 + 4 * kMin);
  store.send(x, first);
  ExternalAlert again = firing("a", kT0 + 5 * kMin);
  again.signal.severity = Severity::kCritical;
  again.signal.labels["team"] = "payments";
  again.signal.annotations = {{"summary", "errors on a, worse"}, {"runbook_url", "http://rb"}};
  again.signal.host = "host-a2";
  store.send(x, again);

  auto signals = store.resolve(x.expire(kT0 + 5 * kMin));
  REQUIRE(signals.size() == 1);
  const AlertSignal& s = signals[0];
  CHECK(s.state == AlertState::kResolved);
  CHECK(s.at_ms == kT0 + 5 * kMin);
  CHECK(s.severity == Severity::kCritical);
  CHECK(s.labels == again.signal.labels);
  CHECK(s.annotations == again.signal.annotations);
  CHECK(s.host == "host-a2");
  CHECK(s.source == again.signal.source);
  CHECK(s.rule == again.signal.rule);
}

TEST_CASE("The resolved signal of a stored row with malformed labels is refused as corrupt",
          "[hub][external]") {
  ExpiryRow row{"fp", "external:x", "R", Severity::kInfo, "", "{}", "{}", kT0, false};
  REQUIRE(expired_signal(row));
  row.annotations_json = "{\"summary\": 1}";
  auto bad = expired_signal(row);
  CHECK(bad.status().code() == "corrupt");
  CHECK_THAT(bad.status().message(), Catch::Contains("annotations"));
  row.annotations_json = "{}";
  row.labels_json = "not json";
  CHECK_THAT(expired_signal(row).status().message(), Catch::Contains("labels"));
}

TEST_CASE("Random sends, re-sends, resolutions and expiries agree with a sorted model",
          "[hub][external]") {
  const uint32_t seed = Catch::rngSeed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  ExternalExpiry x;
  std::map<std::string, std::pair<int64_t, bool>> model;  // fingerprint -> (end, timeout)
  int64_t now = kT0;
  for (int step = 0; step < 20'000; ++step) {
    const std::string fp = "fp" + std::to_string(rng() % 500);
    switch (rng() % 4) {
      case 0:
      case 1: {
        const int64_t end = now + static_cast<int64_t>(rng() % 100) * 1000;
        const bool timeout = rng() % 2 == 0;
        (void)x.observe(firing(fp, end, timeout));
        auto it = model.find(fp);
        if (it != model.end() && !it->second.second && it->second.first > end) {
          it->second.second = false;  // a later explicit end rules
        } else {
          model[fp] = {end, timeout};
        }
        break;
      }
      case 2:
        CHECK(x.forget(fp) == (model.erase(fp) == 1));
        break;
      default: {
        now += static_cast<int64_t>(rng() % 5) * 1000;
        std::vector<std::pair<int64_t, std::string>> due;
        for (auto it = model.begin(); it != model.end();) {
          if (it->second.first <= now) {
            due.emplace_back(it->second.first, it->first);
            it = model.erase(it);
          } else {
            ++it;
          }
        }
        std::sort(due.begin(), due.end());
        std::vector<std::pair<int64_t, std::string>> got;
        for (const auto& e : x.expire(now)) got.emplace_back(e.ends_at_ms, e.fingerprint);
        REQUIRE(got == due);
      }
    }
    REQUIRE(x.size() == model.size());
  }
  std::vector<ExpiryEnd> expected;
  for (const auto& [fp, end] : model) expected.push_back({fp, end.first, end.second});
  std::sort(expected.begin(), expected.end(), [](const ExpiryEnd& a, const ExpiryEnd& b) {
    return std::tie(a.ends_at_ms, a.fingerprint) < std::tie(b.ends_at_ms, b.fingerprint);
  });
  CHECK(x.snapshot() == expected);
}

TEST_CASE("plan_ends gives each alert's last end to its last row, or leaves it alone",
          "[hub][external]") {
  const uint32_t seed = Catch::rngSeed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  size_t carried = 0, alone = 0;
  for (int round = 0; round < 2000; ++round) {
    std::vector<AlertRow> rows(rng() % 8);
    for (auto& r : rows) r.fingerprint = "fp" + std::to_string(rng() % 6);
    std::vector<ExpiryWrite> writes(rng() % 8);
    for (auto& w : writes) {
      w.fingerprint = "fp" + std::to_string(rng() % 6);
      if (rng() % 3 != 0) w.ends_at_ms = kT0 + static_cast<int64_t>(rng() % 100);
      w.timeout = rng() % 2 == 0;
    }
    // What the store holds after the rows, then every write in order.
    std::map<std::string, ExpiryWrite> expected;
    for (const auto& w : writes) expected[w.fingerprint] = w;

    const EndPlan plan = plan_ends(rows, writes);
    std::map<std::string, ExpiryWrite> got;
    if (writes.empty()) {
      CHECK(plan.with_row.empty());
    } else {
      REQUIRE(plan.with_row.size() == rows.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        const ExpiryWrite* w = plan.with_row[i];
        if (!w) continue;
        ++carried;
        CHECK(w->fingerprint == rows[i].fingerprint);
        for (size_t j = i + 1; j < rows.size(); ++j) {
          CHECK(rows[j].fingerprint != rows[i].fingerprint);  // the alert's last row
        }
        CHECK(got.emplace(w->fingerprint, *w).second);
      }
    }
    for (const ExpiryWrite* w : plan.alone) {
      ++alone;
      CHECK(std::none_of(rows.begin(), rows.end(),
                         [&](const AlertRow& r) { return r.fingerprint == w->fingerprint; }));
      CHECK(got.emplace(w->fingerprint, *w).second);  // one write per alert
    }
    REQUIRE(got == expected);
  }
  CHECK(carried > 1000);
  CHECK(alone > 1000);
}
