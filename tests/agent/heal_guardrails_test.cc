#include "agent/heal/guardrails.h"

#include <catch2/catch.hpp>

using namespace reflex;
using namespace reflex::agent::heal;
using protocol::RemediationOutcome;

namespace {

constexpr int64_t kSec = 1000;
constexpr int64_t kHour = 3600 * kSec;

GuardrailConfig action(int64_t max_runs, Millis window, Millis cooldown = Millis(0)) {
  GuardrailConfig g;
  g.budget = {max_runs, window};
  g.cooldown = cooldown;
  return g;
}

HostGuardrailConfig host(int64_t max_runs, Millis window = Millis(kHour)) {
  HostGuardrailConfig h;
  h.budget = {max_runs, window};
  return h;
}

RemediationRequest req(std::string action, std::string target) {
  RemediationRequest r;
  r.action = std::move(action);
  r.target = std::move(target);
  return r;
}

// Decides, and when allowed runs to completion (started and finished at `now`).
Decision run(Guardrails& g, const RemediationRequest& r, int64_t now) {
  Decision d = g.decide(r, now);
  if (d.run()) {
    g.record_start(r, now);
    g.record_finish(r, RemediationOutcome::kSucceeded, now);
  }
  return d;
}

}  // namespace

TEST_CASE("an action within its budget runs", "[agent][heal-guardrails]") {
  Guardrails g(host(100), {{"restart", action(3, Millis(kHour))}});
  auto d = g.decide(req("restart", "nginx"), 0);
  CHECK(d.run());
  CHECK(d.reason == SkipReason::kNone);
}

TEST_CASE("a spent budget opens the target's circuit once, with an escalation",
          "[agent][heal-guardrails]") {
  Guardrails g(host(100), {{"restart", action(3, Millis(kHour))}});
  auto r = req("restart", "nginx");
  for (int i = 0; i < 3; ++i) REQUIRE(run(g, r, i * 60 * kSec).run());
  CHECK(g.runs_in_window("restart", "nginx", 180 * kSec) == 3);

  auto d = g.decide(r, 200 * kSec);
  CHECK(d.verdict == Verdict::kSkip);
  CHECK(d.reason == SkipReason::kBudget);
  CHECK(std::string(skip_reason_name(d.reason)) == "budget");
  CHECK(d.opens_circuit);
  auto esc = g.record_skip(r, d, 200 * kSec);
  REQUIRE(esc);
  CHECK_FALSE(esc->host);
  CHECK(esc->target == "nginx");
  CHECK(esc->action == "restart");
  CHECK(esc->closes_at_ms == 200 * kSec + kHour);
  auto ev = escalation_event(*esc, "nginx_down", "abc");
  CHECK(ev.outcome == RemediationOutcome::kExhausted);
  CHECK(ev.reason == "budget");

  auto again = g.decide(r, 201 * kSec);
  CHECK(again.reason == SkipReason::kCircuitOpen);
  CHECK(again.retry_at_ms == 200 * kSec + kHour);
  CHECK_FALSE(g.record_skip(r, again, 201 * kSec));
  REQUIRE(g.open_circuits(201 * kSec).size() == 1);
  CHECK(g.open_circuits(201 * kSec)[0].target == "nginx");
}

TEST_CASE("an open circuit blocks every action on its target but not other targets",
          "[agent][heal-guardrails]") {
  Guardrails g(host(100),
               {{"restart", action(1, Millis(kHour))}, {"playbook", action(1, Millis(kHour))}});
  REQUIRE(run(g, req("restart", "nginx"), 0).run());
  auto d = g.decide(req("restart", "nginx"), kSec);
  REQUIRE(g.record_skip(req("restart", "nginx"), d, kSec));
  CHECK(g.decide(req("playbook", "nginx"), 2 * kSec).reason == SkipReason::kCircuitOpen);
  CHECK(g.decide(req("restart", "redis"), 2 * kSec).run());
}

TEST_CASE("a circuit closes by itself once its window has passed", "[agent][heal-guardrails]") {
  Guardrails g(host(100), {{"restart", action(2, Millis(10 * kSec))}});
  auto r = req("restart", "nginx");
  REQUIRE(run(g, r, 0).run());
  REQUIRE(run(g, r, 1 * kSec).run());
  auto d = g.decide(r, 2 * kSec);
  REQUIRE(g.record_skip(r, d, 2 * kSec));
  CHECK(g.decide(r, 11 * kSec).reason == SkipReason::kCircuitOpen);
  CHECK(g.decide(r, 12 * kSec).run());
  CHECK(g.open_circuits(12 * kSec).empty());
}

TEST_CASE("an operator reset closes a circuit and restores the target's budget",
          "[agent][heal-guardrails]") {
  Guardrails g(host(100), {{"restart", action(1, Millis(kHour))}});
  auto r = req("restart", "nginx");
  REQUIRE(run(g, r, 0).run());
  REQUIRE(g.record_skip(r, g.decide(r, kSec), kSec));
  g.reset("redis");
  CHECK(g.decide(r, 2 * kSec).reason == SkipReason::kCircuitOpen);
  g.reset("nginx");
  CHECK(g.decide(r, 2 * kSec).run());
  CHECK(g.runs_in_window("restart", "nginx", 2 * kSec) == 0);
}

TEST_CASE("the host budget counts runs of every action on every target",
          "[agent][heal-guardrails]") {
  Guardrails g(host(3),
               {{"restart", action(10, Millis(kHour))}, {"playbook", action(10, Millis(kHour))}});
  REQUIRE(run(g, req("restart", "nginx"), 0).run());
  REQUIRE(run(g, req("playbook", "redis"), kSec).run());
  REQUIRE(run(g, req("restart", "postgres"), 2 * kSec).run());
  CHECK(g.host_runs_in_window(2 * kSec) == 3);

  auto r = req("playbook", "memcached");
  auto d = g.decide(r, 3 * kSec);
  CHECK(d.reason == SkipReason::kHostBudget);
  auto esc = g.record_skip(r, d, 3 * kSec);
  REQUIRE(esc);
  CHECK(esc->host);
  CHECK(g.decide(req("restart", "other"), 4 * kSec).reason == SkipReason::kCircuitOpen);
  g.reset_all();
  CHECK(g.decide(req("restart", "other"), 4 * kSec).run());
}

TEST_CASE("an action does not run again on a target within its cooldown",
          "[agent][heal-guardrails]") {
  Guardrails g(host(100), {{"restart", action(10, Millis(kHour), Millis(30 * kSec))}});
  auto r = req("restart", "nginx");
  REQUIRE(run(g, r, 0).run());
  auto d = g.decide(r, 10 * kSec);
  CHECK(d.reason == SkipReason::kCooldown);
  CHECK(d.retry_at_ms == 30 * kSec);
  CHECK_FALSE(g.record_skip(r, d, 10 * kSec));  // cooldown opens no circuit
  CHECK(g.decide(req("restart", "redis"), 10 * kSec).run());
  CHECK(g.decide(r, 30 * kSec).run());
}

TEST_CASE("only one run is in flight per target", "[agent][heal-guardrails]") {
  Guardrails g(host(100),
               {{"restart", action(10, Millis(kHour))}, {"playbook", action(10, Millis(kHour))}});
  auto r = req("restart", "nginx");
  g.record_start(r, 0);
  CHECK(g.decide(req("playbook", "nginx"), kSec).reason == SkipReason::kInFlight);
  CHECK(g.decide(req("playbook", "redis"), kSec).run());
  CHECK(g.in_flight() == 1);
  g.record_finish(r, RemediationOutcome::kTimedOut, 2 * kSec);
  CHECK(g.in_flight() == 0);
  CHECK(g.decide(req("playbook", "nginx"), 2 * kSec).run());
}

TEST_CASE("a rung runs once per alert episode and a new episode starts fresh",
          "[agent][heal-guardrails]") {
  Guardrails g(host(100), {{"restart", action(10, Millis(kHour))}});
  auto r = req("restart", "nginx");
  r.episode = EpisodeKey{"fp1", 1000};
  REQUIRE(run(g, r, 0).run());
  g.record_verification(r, true);
  CHECK(g.episode_history(*r.episode) == std::vector<RungOutcome>{RungOutcome::kRecovered});

  auto again = g.decide(r, 60 * kSec);  // the same episode fires again
  CHECK(again.reason == SkipReason::kAlreadyFired);
  CHECK(again.detail.find("recovered") != std::string::npos);

  auto next_rung = r;
  next_rung.rung = 1;
  CHECK(g.decide(next_rung, 60 * kSec).run());

  auto fresh = r;
  fresh.episode = EpisodeKey{"fp1", 90'000};
  CHECK(g.decide(fresh, 60 * kSec).run());
  g.end_episode(*r.episode);
  CHECK(g.decide(r, 60 * kSec).run());
}

TEST_CASE("the episode history drives the ladder to its next rung", "[agent][heal-guardrails]") {
  Guardrails g(host(100),
               {{"restart", action(10, Millis(kHour))}, {"playbook", action(10, Millis(kHour))}});
  const std::vector<std::string> ladder = {"restart", "playbook"};
  const EpisodeKey ep{"fp", 5};
  auto step = next_step(ladder, g.episode_history(ep));
  REQUIRE(step.kind == LadderStepKind::kRun);
  RemediationRequest r{step.action, "nginx", ep, step.rung, false};
  REQUIRE(g.decide(r, 0).run());
  g.record_start(r, 0);
  CHECK(next_step(ladder, g.episode_history(ep)).kind == LadderStepKind::kAwait);
  g.record_finish(r, RemediationOutcome::kSucceeded, kSec);
  g.record_verification(r, false);
  step = next_step(ladder, g.episode_history(ep));
  REQUIRE(step.kind == LadderStepKind::kRun);
  CHECK(step.action == "playbook");
  RemediationRequest r2{step.action, "nginx", ep, step.rung, false};
  REQUIRE(g.decide(r2, 2 * kSec).run());
  g.record_start(r2, 2 * kSec);
  g.record_finish(r2, RemediationOutcome::kFailed, 3 * kSec);
  CHECK(next_step(ladder, g.episode_history(ep)).kind == LadderStepKind::kExhausted);
}

TEST_CASE("pausing the host or a target skips runs until resumed", "[agent][heal-guardrails]") {
  Guardrails g(host(100), {{"restart", action(10, Millis(kHour))}});
  auto r = req("restart", "nginx");
  g.pause("nginx");
  CHECK(g.decide(r, 0).reason == SkipReason::kPaused);
  CHECK(g.decide(req("restart", "redis"), 0).run());
  g.resume("nginx");
  g.pause_all();
  CHECK(g.decide(req("restart", "redis"), 0).reason == SkipReason::kPaused);
  g.resume_all();
  CHECK(g.decide(r, 0).run());
}

TEST_CASE("a dry run is decided like a real one but counts against nothing",
          "[agent][heal-guardrails]") {
  auto cfg = action(1, Millis(kHour), Millis(30 * kSec));
  cfg.dry_run = true;
  Guardrails g(host(1), {{"restart", cfg}, {"playbook", action(1, Millis(kHour))}});
  auto r = req("restart", "nginx");
  r.episode = EpisodeKey{"fp", 1};
  for (int i = 0; i < 5; ++i) {
    auto d = g.decide(r, i * kSec);
    CHECK(d.verdict == Verdict::kSkip);
    CHECK(d.reason == SkipReason::kDryRun);
    CHECK(d.dry_run);
    CHECK_FALSE(g.record_skip(r, d, i * kSec));
  }
  CHECK(g.host_runs_in_window(5 * kSec) == 0);
  CHECK(g.episode_history(*r.episode).empty());
  CHECK(g.decide(req("playbook", "nginx"), 5 * kSec).run());

  auto asked = req("playbook", "nginx");
  asked.dry_run = true;
  CHECK(g.decide(asked, 5 * kSec).reason == SkipReason::kDryRun);
}

TEST_CASE("a dry run still reports the refusal a real run would get", "[agent][heal-guardrails]") {
  HostGuardrailConfig h = host(100);
  h.dry_run = true;
  Guardrails g(h, {{"restart", action(10, Millis(kHour))}});
  g.pause("nginx");
  auto d = g.decide(req("restart", "nginx"), 0);
  CHECK(d.reason == SkipReason::kPaused);
  CHECK(d.dry_run);
}

TEST_CASE("a request for an undeclared action is refused", "[agent][heal-guardrails]") {
  Guardrails g(host(100), {{"restart", action(10, Millis(kHour))}});
  auto d = g.decide(req("rm-rf", "nginx"), 0);
  CHECK(d.reason == SkipReason::kUnknownAction);
}
