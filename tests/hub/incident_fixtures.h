// Shared helpers for the incident engine tests: signals in one line, a simulated clock
// in plain milliseconds, and accessors that fail the test on an error Status.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "hub/incidents/engine.h"

namespace reflex::hub::incidents::testing {

inline constexpr int64_t kT0 = 1'700'000'000'000;  // a plausible epoch ms
inline constexpr int64_t kSec = 1000;
inline constexpr int64_t kMin = 60 * kSec;

// A signal from the agent on `host` for `service` in prod.
inline AlertSignal alert(const std::string& fingerprint, const std::string& host,
                         const std::string& service, protocol::AlertState state,
                         protocol::Severity severity = protocol::Severity::kHigh,
                         const std::string& rule = "HighErrorRate") {
  AlertSignal s;
  s.source = "agent:" + host;
  s.fingerprint = fingerprint;
  s.rule = rule;
  s.state = state;
  s.severity = severity;
  s.labels = {{"service", service}, {"env", "prod"}};
  s.host = host;
  return s;
}

inline AlertSignal firing(const std::string& fp, const std::string& host, const std::string& svc,
                          protocol::Severity sev = protocol::Severity::kHigh) {
  return alert(fp, host, svc, protocol::AlertState::kFiring, sev);
}

inline AlertSignal resolved(const std::string& fp, const std::string& host, const std::string& svc,
                            protocol::Severity sev = protocol::Severity::kHigh) {
  return alert(fp, host, svc, protocol::AlertState::kResolved, sev);
}

inline Changes ok(Result<Changes> r) {
  INFO(r.status().to_string());
  REQUIRE(r);
  return std::move(r).value();
}

// Feeds `s` at `now` (the signal's own time is `now` too).
inline Changes feed(IncidentEngine& engine, AlertSignal s, int64_t now) {
  s.at_ms = now;
  return ok(engine.on_signal(s, now));
}

inline bool has_entry(const Changes& ch, TimelineKind kind) {
  return std::any_of(ch.timeline.begin(), ch.timeline.end(),
                     [&](const TimelineEntry& e) { return e.kind == kind; });
}

inline bool has_event(const Changes& ch, IncidentEventKind kind) {
  return std::any_of(ch.events.begin(), ch.events.end(),
                     [&](const IncidentEvent& e) { return e.kind == kind; });
}

inline const TimelineEntry& entry(const Changes& ch, TimelineKind kind) {
  auto it = std::find_if(ch.timeline.begin(), ch.timeline.end(),
                         [&](const TimelineEntry& e) { return e.kind == kind; });
  REQUIRE(it != ch.timeline.end());
  return *it;
}

inline IncidentPolicy quick_policy() {
  IncidentPolicy p;
  p.resolve_after_ms = 5 * kMin;
  p.reopen_window_ms = 60 * kMin;
  p.flap_threshold = 2;
  p.flap_window_ms = 30 * kMin;
  return p;
}

}  // namespace reflex::hub::incidents::testing
