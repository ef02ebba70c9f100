// Routes and workflows (hub/policy/): hub.yaml's `routes` and `workflows` read strictly,
// route selection (first match, continue), step selection by event and condition, and
// Mustache templates over the incident.
#include <catch2/catch.hpp>

#include <random>

#include "tests/hub/config_section.h"

#include "hub/policy/policy.h"
#include "hub/policy/policy_config.h"
#include "hub/policy/templates.h"

using namespace reflex;
using namespace reflex::hub::policy;
namespace incidents = reflex::hub::incidents;
using reflex::protocol::Severity;

namespace {

using Read = reflex::testing::SectionRead<PolicyConfig>;

Read read(const std::string& yaml) {
  return reflex::testing::read_section<PolicyConfig>(
      yaml, [](config::MapReader& top, PolicyConfig& out) { read_policy_config(top, out); });
}

PolicyConfig good(const std::string& yaml) {
  Read r = read(yaml);
  INFO(r.status.to_string());
  REQUIRE(r.status);
  return std::move(r.config);
}

std::string errors_of(const std::string& yaml) {
  Read r = read(yaml);
  REQUIRE_FALSE(r.status);
  return r.status.message();
}

// The scenarios' shape: low severity gets a ticket, high pages and posts, a suspect
// canary deploy rolls back (and continues to the paging route).
const char* kScenarios = R"(
routes:
  - name: canary-rollback
    match: {has_suspect: true, labels: ['deploy_strategy=~"canary|blue-green"']}
    workflow: rollback
    continue: true
  - name: urgent
    match: {severity: [high, critical]}
    workflow: page-and-chat
  - name: checkout-prod-low
    match: {service: [checkout], env: [prod]}
    workflow: ticket
  - name: everything-else
    workflow: ticket
workflows:
  rollback:
    steps:
      - {name: roll-back, on: [opened], kind: rollback, with: {action: "rollback-{{service}}"}}
  page-and-chat:
    steps:
      - name: page
        on: [opened, reopened]
        kind: page
        with: {policy: "{{service}}-oncall"}
      - name: post
        on: [opened]
        kind: chat.post
        with:
          channel: "#{{service}}-{{env}}"
          text: "{{severity}}: {{title}} on {{affected_hosts}} hosts{{#has_suspect}} (suspect change){{/has_suspect}}"
      - name: critical-only
        on: [opened]
        if: ['severity="critical"']
        kind: status.create
        with: {name: "{{title}}", status: investigating}
      - name: close
        on: [resolved]
        kind: chat.update
        with: {text: "resolved: {{title}}"}
  ticket:
    steps:
      - name: ticket
        on: [opened]
        kind: ticket.create
        with: {project: OPS, summary: "{{title}}", duedate: "{{business_day}}"}
)";

IncidentFacts facts(Severity severity, protocol::Labels labels, bool suspect = false) {
  IncidentFacts f;
  f.id = 42;
  f.title = "HighErrorRate on checkout";
  f.severity = severity;
  f.labels = std::move(labels);
  f.has_suspect = suspect;
  f.affected_hosts = 3;
  return f;
}

std::vector<std::string> route_names(const PolicyConfig& c, const IncidentFacts& f) {
  std::vector<std::string> names;
  for (const Route* r : select_routes(c, f)) names.push_back(r->name);
  return names;
}

std::vector<std::string> step_names(const PolicyConfig& c, const std::string& workflow,
                                    const std::string& event, const IncidentFacts& f) {
  std::vector<std::string> names;
  for (const Step* s : steps_for(c.workflows.at(workflow), event, f)) names.push_back(s->name);
  return names;
}

}  // namespace

TEST_CASE("the first matching route applies, and continue lets later matches apply too",
          "[hub][policy]") {
  const PolicyConfig c = good(kScenarios);
  REQUIRE(c.routes.size() == 4);
  using V = std::vector<std::string>;
  CHECK(route_names(c, facts(Severity::kHigh, {{"service", "search"}, {"env", "prod"}})) ==
        V{"urgent"});
  CHECK(route_names(c, facts(Severity::kWarning, {{"service", "checkout"}, {"env", "prod"}})) ==
        V{"checkout-prod-low"});
  CHECK(route_names(c, facts(Severity::kWarning, {{"service", "checkout"}, {"env", "dev"}})) ==
        V{"everything-else"});
  // A suspect canary deploy rolls back, and (continue) a high one also pages.
  const protocol::Labels canary{{"service", "checkout"}, {"deploy_strategy", "canary"}};
  CHECK(route_names(c, facts(Severity::kHigh, canary, true)) == V{"canary-rollback", "urgent"});
  CHECK(route_names(c, facts(Severity::kInfo, canary, true)) ==
        V{"canary-rollback", "everything-else"});
  // Without the suspect, the canary label alone does not roll back.
  CHECK(route_names(c, facts(Severity::kHigh, canary, false)) == V{"urgent"});
}

TEST_CASE("no route matching engages nobody", "[hub][policy]") {
  const PolicyConfig c = good(R"(
routes:
  - {name: only-critical, match: {severity: [critical]}, workflow: w}
workflows:
  w: {steps: [{on: [opened], kind: page, with: {policy: p}}]}
)");
  CHECK(select_routes(c, facts(Severity::kHigh, {})).empty());
  CHECK(select_routes(c, facts(Severity::kCritical, {})).size() == 1);
  CHECK(c.workflows.at("w").steps[0].name == "steps[0]");
}

TEST_CASE("steps run on their events when their condition holds", "[hub][policy]") {
  const PolicyConfig c = good(kScenarios);
  using V = std::vector<std::string>;
  const protocol::Labels labels{{"service", "checkout"}, {"env", "prod"}};
  CHECK(step_names(c, "page-and-chat", "opened", facts(Severity::kHigh, labels)) ==
        V{"page", "post"});
  CHECK(step_names(c, "page-and-chat", "opened", facts(Severity::kCritical, labels)) ==
        V{"page", "post", "critical-only"});
  CHECK(step_names(c, "page-and-chat", "reopened", facts(Severity::kCritical, labels)) ==
        V{"page"});
  CHECK(step_names(c, "page-and-chat", "resolved", facts(Severity::kHigh, labels)) == V{"close"});
  CHECK(
      step_names(c, "page-and-chat", "response:start_mim", facts(Severity::kHigh, labels)).empty());
}

TEST_CASE("templates render the incident's fields and labels without HTML escaping",
          "[hub][policy]") {
  const PolicyConfig c = good(kScenarios);
  const Step& post = c.workflows.at("page-and-chat").steps[1];
  IncidentFacts f = facts(Severity::kHigh, {{"service", "checkout"}, {"env", "prod"}}, true);
  CHECK(render_template(post.with.at("channel"), f) == "#checkout-prod");
  CHECK(render_template(post.with.at("text"), f) ==
        "high: HighErrorRate on checkout on 3 hosts (suspect change)");
  f.has_suspect = false;
  CHECK(render_template(post.with.at("text"), f) == "high: HighErrorRate on checkout on 3 hosts");
  f.title = "5xx > 1% & p99 <2s";
  f.labels["team"] = "pay\"ments";
  CHECK(render_template("{{title}} / {{labels.team}} / #{{id}} {{status}}", f) ==
        "5xx > 1% & p99 <2s / pay\"ments / #42 triggered");
  CHECK(render_template("{{labels.missing}}|{{nothing}}", f) == "|");
}

TEST_CASE("templates name the suspect change and who is on call now", "[hub][policy]") {
  IncidentFacts f = facts(Severity::kHigh, {{"service", "checkout"}, {"env", "prod"}}, true);
  f.refs["suspect"] = {{"version", "4.3.0"}, {"hosts", "web-1,web-2"}, {"author", "alice"}};
  f.oncall["checkout-primary"] = {{"slack", "U012ABC"}, {"name", "Alice Doe"}};
  CHECK(render_template("roll back {{suspect.version}} on {{suspect.hosts}} by {{suspect.author}}",
                        f) == "roll back 4.3.0 on web-1,web-2 by alice");
  CHECK(render_template("{{oncall.checkout-primary.slack}}, U0COMMANDER", f) ==
        "U012ABC, U0COMMANDER");
  CHECK(render_template("{{#oncall.checkout-primary}}{{name}}{{/oncall.checkout-primary}}", f) ==
        "Alice Doe");
  // Nobody on call, no suspect: empty, never an error.
  CHECK(render_template("[{{oncall.night.slack}}][{{suspect.version}}]",
                        facts(Severity::kHigh, {})) == "[][]");
}

TEST_CASE("a route's hold_while_healing is a duration, off by default", "[hub][policy]") {
  const PolicyConfig c = good(R"(
routes:
  - {name: urgent, workflow: w, hold_while_healing: 5m}
  - {name: rest, workflow: w}
workflows:
  w: {steps: [{on: [opened], kind: page, with: {policy: p}}]}
)");
  CHECK(c.routes[0].hold_while_healing == Millis(300'000));
  CHECK(c.routes[1].hold_while_healing == Millis(0));
  CHECK_THAT(errors_of(R"(
routes: [{name: urgent, workflow: w, hold_while_healing: soon}]
workflows:
  w: {steps: [{on: [opened], kind: page, with: {policy: p}}]}
)"),
             Catch::Contains("routes[0].hold_while_healing: invalid duration \"soon\""));
}

TEST_CASE("a template that does not parse is refused at its key path", "[hub][policy]") {
  CHECK_FALSE(check_template("{{#open}} never closed"));
  const std::string m = errors_of(R"(
routes: [{name: r, workflow: w}]
workflows:
  w:
    steps:
      - on: [opened]
        kind: chat.post
        with: {channel: "#ops", text: "{{#open}} never closed"}
)");
  CHECK_THAT(m, Catch::Contains("hub.yaml:8: workflows.w.steps[0].with.text: invalid template"));
}

TEST_CASE("bad routes name their key paths and change nothing", "[hub][policy]") {
  const std::string m = errors_of(R"(
routes:
  - name: a
    match: {severity: [urgent], service: checkout, has_suspect: maybe, labels: ['x~y']}
    workflow: missing
    contine: true
  - name: a
    workflow: w
  - match: {}
workflows:
  w: {steps: [{on: [opened], kind: page, with: {policy: p}}]}
)");
  CHECK_THAT(m, Catch::Contains("routes[0].match.severity[0]"));
  CHECK_THAT(m, Catch::Contains("urgent"));
  CHECK_THAT(m, Catch::Contains("routes[0].match.service: expected a list"));
  CHECK_THAT(m, Catch::Contains("routes[0].match.has_suspect"));
  CHECK_THAT(m, Catch::Contains("routes[0].match.labels[0]"));
  CHECK_THAT(m, Catch::Contains("routes[0].workflow: no workflow 'missing' (declared: w)"));
  CHECK_THAT(m, Catch::Contains("hub.yaml:6: routes[0].contine: unknown key"));
  CHECK_THAT(m, Catch::Contains("routes[1].name: 'a' names another route too"));
  CHECK_THAT(m, Catch::Contains("routes[2].name: missing required key"));
  CHECK_THAT(m, Catch::Contains("routes[2].workflow: missing required key"));

  PolicyConfig kept = good(kScenarios);
  auto root = config::parse_yaml("routes: [{name: x, workflow: nope}]", "hub.yaml");
  config::Errors errors("hub.yaml");
  {
    config::MapReader top(*root, "", errors);
    read_policy_config(top, kept);
  }
  CHECK_FALSE(errors.empty());
  CHECK(kept.routes.size() == 4);  // the earlier value stays
}

TEST_CASE("bad steps name kind, event and parameter problems at their paths", "[hub][policy]") {
  const std::string m = errors_of(R"(
workflows:
  w:
    steps:
      - {name: s, on: [opened, paged, "response:Start"], kind: chat.post, with: {channel: "#x"}}
      - {name: s, on: [opened], kind: chat.shout}
      - {on: [], kind: ticket.create, with: {project: OPS, summary: x, assignee: bob}}
      - {on: [resolved], kind: rollback, with: {action: a, job: j}}
      - {kind: page, with: {policy: [a, b]}}
)");
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[0].on[1]: 'paged' is not an event"));
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[0].on[2]: 'response:Start' is not an event"));
  CHECK_THAT(m, Catch::Contains(
                    "workflows.w.steps[0].with.text: missing required parameter of chat.post"));
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[1].name: 's' names another step"));
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[1].kind: 'chat.shout' is not a step kind"));
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[2].on: name at least one event"));
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[2].with.assignee: unknown parameter of "
                                "ticket.create (known: project, summary,"));
  CHECK_THAT(m,
             Catch::Contains(
                 "workflows.w.steps[3].with: rollback takes exactly one of action, job, 2 given"));
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[4].on: missing required key"));
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[4].with.policy: expected a single value"));
}

TEST_CASE("every step kind has a name that parses back", "[hub][policy]") {
  for (const auto& name : step_kind_names()) {
    auto kind = parse_step_kind(name);
    REQUIRE(kind);
    CHECK(step_kind_name(*kind) == name);
  }
  CHECK(step_kind_names().size() == 18);
  CHECK(valid_event("response:start_mim"));
  CHECK_FALSE(valid_event("response:"));
  CHECK_FALSE(valid_event("Opened"));
}

TEST_CASE(
    "a rollback job and step parameters without templates are checked at their key paths, "
    "and templated ones are left for their run",
    "[hub][policy][ci]") {
  const std::string m = errors_of(R"(
workflows:
  w:
    steps:
      - {on: [opened], kind: rollback, with: {job: "deploy/rollback"}}
      - {on: [opened], kind: rollback, with: {job: "github:acme/rollback.yml"}}
      - {on: [opened], kind: rollback, with: {job: "jenkins:rollback", parameters: "SERVICE"}}
      - {on: [opened], kind: rollback, with: {job: "jenkins:a//b"}}
      - {on: [opened], kind: remediate, with: {action: restart, parameters: "the unit"}}
)");
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[0].with.job: job \"deploy/rollback\": names "
                                "no CI system (expected jenkins:<job path> or "
                                "github:<owner>/<repo>/<workflow file>[@<ref>])"));
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[1].with.job: job \"github:acme/rollback.yml\""));
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[2].with.parameters: parameters: \"SERVICE\" is "
                                "not NAME=value"));
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[3].with.job: job \"jenkins:a//b\""));
  CHECK_THAT(m, Catch::Contains("workflows.w.steps[4].with.parameters: parameters: \"the unit\" "
                                "is not NAME=value"));

  const PolicyConfig c = good(R"(
workflows:
  w:
    steps:
      - {on: [opened], kind: rollback, with: {job: "jenkins:deploy/{{service}}", parameters: "A={{env}}"}}
      - {on: [opened], kind: rollback, with: {job: "github:acme/shop/rollback.yml@v2", parameters: "A=1, B=2"}}
      - {on: [opened], kind: rollback, with: {job: "{{labels.ci_job}}"}}
      - {on: [opened], kind: rollback, with: {action: rollback, parameters: "unit=checkout, why=errors, then more"}}
)");
  CHECK(c.workflows.at("w").steps.size() == 4);
}

TEST_CASE("facts_current says exactly when set_facts would change an incident's facts",
          "[hub][policy]") {
  // Small label vocabularies, so group labels, the alert's labels and the kept ones
  // (deploy_strategy, problem_id) often name the same label, with equal or other values.
  const std::vector<std::string> names = {"service", "env", "deploy_strategy", "problem_id",
                                          "team"};
  const std::vector<std::string> values = {"", "a", "b"};
  std::mt19937 random(7);
  auto pick = [&](const std::vector<std::string>& from) { return from[random() % from.size()]; };
  auto some_labels = [&] {
    protocol::Labels out;
    for (size_t n = random() % 4; n > 0; --n) out[pick(names)] = pick(values);
    return out;
  };
  size_t current = 0, changed = 0;
  for (int round = 0; round < 20'000; ++round) {
    IncidentFacts facts;
    facts.alert_labels = some_labels();
    incidents::IncidentRow row;
    row.id = 1 + random() % 2;
    row.title = pick(values);
    row.status =
        random() % 2 ? incidents::IncidentStatus::kTriggered : incidents::IncidentStatus::kResolved;
    row.severity = random() % 2 ? Severity::kWarning : Severity::kCritical;
    row.affected_hosts = random() % 2;
    row.peak_hosts = random() % 2;
    row.group_labels = some_labels();
    // Facts as set_facts left them for this row or another, then maybe changed by hand
    // as the runner does (deploy_strategy, problem_id).
    incidents::IncidentRow earlier = row;
    if (random() % 2) {
      earlier.group_labels = some_labels();
      earlier.affected_hosts = random() % 2;
      earlier.title = pick(values);
    }
    set_facts(facts, earlier);
    if (random() % 2) facts.labels[pick(names)] = pick(values);
    if (random() % 4 == 0) facts.alert_labels = some_labels();

    IncidentFacts next = facts;
    set_facts(next, row);
    INFO("round " << round);
    REQUIRE(facts_current(facts, row) == (next == facts));
    (next == facts ? current : changed) += 1;
  }
  // Both answers were asked often enough to mean something.
  CHECK(current > 1'000);
  CHECK(changed > 1'000);
}
