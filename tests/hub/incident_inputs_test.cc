// Bad input is refused with a Status naming the field and changes nothing; the pure
// helpers (grouping, host counts, agent signals, policy) say what they promise.
#include <catch2/catch.hpp>

#include "hub/incidents/engine.h"
#include "tests/hub/incident_fixtures.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::incidents;
using namespace reflex::hub::incidents::testing;
using protocol::AlertState;
using protocol::Severity;

namespace {

// An engine with an open incident, an acknowledged one and a pending timer.
IncidentEngine busy_engine() {
  IncidentEngine engine(quick_policy());
  feed(engine, firing("a", "web-1", "checkout"), kT0);
  feed(engine, firing("b", "db-1", "postgres"), kT0);
  feed(engine, resolved("b", "db-1", "postgres"), kT0 + kSec);
  return engine;
}

void check_refused(IncidentEngine& engine, const AlertSignal& bad, const std::string& field) {
  const EngineSnapshot before = engine.snapshot();
  auto r = engine.on_signal(bad, kT0 + kMin);
  REQUIRE_FALSE(r);
  CHECK(r.status().code() == "invalid_signal");
  CHECK(r.status().message().rfind(field + ": ", 0) == 0);
  CHECK(engine.snapshot() == before);
  CHECK(engine.tick(kT0 + 2 * kSec).empty());  // nothing pending from the refused call either
}

}  // namespace

TEST_CASE("a signal with an empty fingerprint is refused naming the field and changes nothing",
          "[hub][incidents]") {
  IncidentEngine engine = busy_engine();
  AlertSignal bad = firing("", "web-2", "checkout");
  check_refused(engine, bad, "fingerprint");
}

TEST_CASE("a signal with an unknown state or severity is refused naming the field",
          "[hub][incidents]") {
  IncidentEngine engine = busy_engine();
  AlertSignal bad_state = firing("c", "web-2", "checkout");
  bad_state.state = static_cast<AlertState>(7);
  check_refused(engine, bad_state, "state");
  AlertSignal bad_severity = firing("c", "web-2", "checkout");
  bad_severity.severity = static_cast<Severity>(9);
  check_refused(engine, bad_severity, "severity");
  AlertSignal bad_source = firing("c", "web-2", "checkout");
  bad_source.source = "web-2";
  check_refused(engine, bad_source, "source");
  AlertSignal no_rule = firing("c", "web-2", "checkout");
  no_rule.rule.clear();
  check_refused(engine, no_rule, "rule");
  AlertSignal bad_time = firing("c", "web-2", "checkout");
  bad_time.at_ms = -1;
  REQUIRE_FALSE(engine.on_signal(bad_time, kT0));
}

TEST_CASE("text states and severities from external payloads parse strictly", "[hub][incidents]") {
  CHECK(parse_alert_state("firing").value() == AlertState::kFiring);
  CHECK(parse_severity("critical").value() == Severity::kCritical);
  auto state = parse_alert_state("flapping");
  REQUIRE_FALSE(state);
  CHECK(state.status().message() ==
        "state: unknown alert state 'flapping' (expected pending, firing or resolved)");
  auto sev = parse_severity("Critical", "labels.severity");
  REQUIRE_FALSE(sev);
  CHECK(sev.status().message().rfind("labels.severity: unknown severity 'Critical'", 0) == 0);
}

TEST_CASE("actions on incidents refuse an empty actor or an unknown incident and change nothing",
          "[hub][incidents]") {
  IncidentEngine engine = busy_engine();
  const EngineSnapshot before = engine.snapshot();
  auto no_actor = engine.acknowledge(1, "", kT0 + kMin);
  REQUIRE_FALSE(no_actor);
  CHECK(no_actor.status().message() == "actor: must not be empty");
  auto unknown = engine.resolve(99, "alice", kT0 + 2 * kSec);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.status().code() == "not_found");
  CHECK(unknown.status().message().find("incident 99") != std::string::npos);
  auto empty_note = engine.add_note(1, "", "alice", kT0 + 2 * kSec);
  REQUIRE_FALSE(empty_note);
  CHECK(empty_note.status().message() == "text: must not be empty");
  auto no_such = engine.add_note(99, "hello", "alice", kT0 + 2 * kSec);
  REQUIRE_FALSE(no_such);
  CHECK(no_such.status().message() == "incident 99 does not exist");
  RemediationReport report;
  report.remediation.outcome = protocol::RemediationOutcome::kExhausted;
  auto anonymous = engine.on_remediation(report, kT0 + 2 * kSec);
  REQUIRE_FALSE(anonymous);
  CHECK(anonymous.status().message() == "agent_id: must not be empty");
  CHECK(engine.snapshot() == before);
}

TEST_CASE("a policy with a bad value is refused naming the field", "[hub][incidents]") {
  CHECK(validate_policy(IncidentPolicy{}));
  IncidentPolicy p;
  p.group_by = {"service", ""};
  CHECK(validate_policy(p).message() == "group_by[1]: must not be empty");
  p = {};
  p.flap_window_ms = 0;
  CHECK(validate_policy(p).message() == "flap_window: must be positive");
  p = {};
  p.resolve_after_ms = -1;
  CHECK(validate_policy(p).message() == "resolve_after: must not be negative");
}

TEST_CASE("group keys escape label values so no value can forge another group",
          "[hub][incidents]") {
  const std::vector<std::string> keys{"service", "env"};
  Group g = group_of({{"service", "a\",env=\"b"}, {"env", "prod"}, {"host", "x"}}, keys, "fp");
  CHECK(g.key == R"({service="a\",env=\"b",env="prod"})");
  CHECK(g.labels == protocol::Labels{{"service", "a\",env=\"b"}, {"env", "prod"}});
  CHECK_FALSE(g.by_fingerprint);
  Group other = group_of({{"service", "a"}, {"env", "b\",env=\"prod"}}, keys, "fp");
  CHECK(other.key != g.key);
  Group empty_value = group_of({{"service", ""}, {"env", "prod"}}, keys, "fp-9");
  CHECK(empty_value.by_fingerprint);
  CHECK(empty_value.key == R"({fingerprint="fp-9"})");
}

TEST_CASE("known hosts count each host of a service once, lost agents included",
          "[hub][incidents]") {
  std::vector<AgentRecord> agents(4);
  agents[0].id = "a1";
  agents[0].hostname = "web-1";
  agents[0].labels = {{"service", "checkout"}};
  agents[1].id = "a2";
  agents[1].hostname = "web-1";  // a second agent on the same host
  agents[1].labels = {{"service", "checkout"}};
  agents[2].id = "a3";
  agents[2].hostname = "web-2";
  agents[2].labels = {{"service", "checkout"}};
  agents[2].state = AgentState::kLost;
  agents[3].id = "a4";
  agents[3].hostname = "db-1";
  agents[3].labels = {{"service", "postgres"}};
  auto known = known_hosts_by_service(agents);
  CHECK(known.at("checkout") == 2);
  CHECK(known.at("postgres") == 1);
  CHECK(known.count("payments") == 0);
}

TEST_CASE("hosts read as k of n, or just k when n is unknown or smaller", "[hub][incidents]") {
  CHECK(describe_hosts(3, 12) == "3 of 12 hosts");
  CHECK(describe_hosts(3, 3) == "3 of 3 hosts");
  CHECK(describe_hosts(1, 1) == "1 of 1 host");
  CHECK(describe_hosts(0, 4) == "0 of 4 hosts");
  CHECK(describe_hosts(1, 0) == "1 host");
  CHECK(describe_hosts(5, 2) == "5 hosts");
}

TEST_CASE("an agent's alert groups by the agent's labels unless the alert has its own",
          "[hub][incidents]") {
  protocol::Alert a;
  a.rule = "HighLatency";
  a.fingerprint = "f1";
  a.state = AlertState::kFiring;
  a.labels = {{"series", "http.latency"}, {"env", "staging"}};
  AlertSignal s =
      signal_from_agent("agent-1", "web-1", {{"service", "checkout"}, {"env", "prod"}}, a, kT0);
  CHECK(s.source == "agent:agent-1");
  CHECK(s.host == "web-1");
  CHECK(s.labels ==
        protocol::Labels{{"series", "http.latency"}, {"env", "staging"}, {"service", "checkout"}});
  CHECK(validate_signal(s));
}

TEST_CASE(
    "an agent's alert carries its value and threshold as annotations, unless the rule "
    "names them itself",
    "[hub][incidents]") {
  protocol::Alert a;
  a.rule = "HighLatency";
  a.fingerprint = "f1";
  a.state = AlertState::kFiring;
  a.value = 812.5;
  a.threshold = 0.05;
  a.annotations = {{"summary", "slow"}};
  AlertSignal s = signal_from_agent("agent-1", "web-1", {}, a, kT0);
  CHECK(s.annotations ==
        protocol::Labels{{"summary", "slow"}, {"value", "812.5"}, {"threshold", "0.05"}});

  a.annotations = {{"value", "812ms at p99"}};
  s = signal_from_agent("agent-1", "web-1", {}, a, kT0);
  CHECK(s.annotations.at("value") == "812ms at p99");
  CHECK(s.annotations.at("threshold") == "0.05");
}
