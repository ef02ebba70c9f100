#include "agent/heal/ladder.h"

#include <catch2/catch.hpp>

using namespace reflex::agent::heal;

namespace {
const std::vector<std::string> kLadder = {"restart", "playbook"};
}

TEST_CASE("a fresh episode runs the first rung of its ladder", "[agent][heal-ladder]") {
  auto s = next_step(kLadder, {});
  CHECK(s.kind == LadderStepKind::kRun);
  CHECK(s.rung == 0);
  CHECK(s.action == "restart");
}

TEST_CASE("a running or unverified rung makes the ladder wait", "[agent][heal-ladder]") {
  auto s = next_step(kLadder, {RungOutcome::kRunning});
  CHECK(s.kind == LadderStepKind::kAwait);
  CHECK(s.rung == 0);
}

TEST_CASE("a rung that did not recover the rule lets the next rung run", "[agent][heal-ladder]") {
  auto s = next_step(kLadder, {RungOutcome::kNotRecovered});
  CHECK(s.kind == LadderStepKind::kRun);
  CHECK(s.rung == 1);
  CHECK(s.action == "playbook");
}

TEST_CASE("a rung whose action failed counts as not recovered", "[agent][heal-ladder]") {
  auto s = next_step(kLadder, {RungOutcome::kFailed});
  CHECK(s.kind == LadderStepKind::kRun);
  CHECK(s.action == "playbook");
}

TEST_CASE("a rung that recovered the rule ends the ladder", "[agent][heal-ladder]") {
  auto s = next_step(kLadder, {RungOutcome::kNotRecovered, RungOutcome::kRecovered});
  CHECK(s.kind == LadderStepKind::kRecovered);
  CHECK(s.rung == 1);
  CHECK(next_step(kLadder, {RungOutcome::kRecovered}).kind == LadderStepKind::kRecovered);
}

TEST_CASE("a ladder whose last rung did not help is exhausted", "[agent][heal-ladder]") {
  auto s = next_step(kLadder, {RungOutcome::kNotRecovered, RungOutcome::kFailed});
  CHECK(s.kind == LadderStepKind::kExhausted);
  CHECK(s.rung == 1);
  CHECK(s.action == "playbook");
}

TEST_CASE("an empty ladder or one shorter than its history is exhausted", "[agent][heal-ladder]") {
  CHECK(next_step({}, {}).kind == LadderStepKind::kExhausted);
  CHECK(next_step({"restart"}, {RungOutcome::kNotRecovered, RungOutcome::kNotRecovered}).kind ==
        LadderStepKind::kExhausted);
}
