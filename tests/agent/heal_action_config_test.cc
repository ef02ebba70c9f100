#include "agent/heal/action_config.h"

#include <catch2/catch.hpp>
#include <csignal>

using namespace reflex;
using namespace reflex::agent::heal;

namespace {

struct Read {
  std::vector<ActionConfig> actions;
  std::vector<HealLadder> ladders;
  std::string errors;  // every error, one per line; empty when none
};

// Reads `actions:` and the `heal:` of each entry of `rules:` the way agent config will.
Read read(const std::string& yaml) {
  Read out;
  auto root = config::parse_yaml(yaml, "agent.yaml");
  REQUIRE(root);
  config::Errors errors("agent.yaml");
  {
    config::MapReader top(*root, "", errors);
    read_actions(top, out.actions);
    YAML::Node rules = top.take("rules");
    for (size_t i = 0; rules && i < rules.size(); ++i) {
      config::MapReader r(rules[i], "rules[" + std::to_string(i) + "]", errors);
      std::string name;
      r.get("name", name);
      HealLadder ladder;
      read_heal_ladder(r, ladder);
      out.ladders.push_back(ladder);
    }
  }
  check_ladders(out.ladders, out.actions, errors);
  for (const auto& e : errors.list()) out.errors += e + "\n";
  return out;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

ActionConfig one(const std::string& yaml) {
  auto r = read(yaml);
  INFO(r.errors);
  REQUIRE(r.errors.empty());
  REQUIRE(r.actions.size() == 1);
  return r.actions[0];
}

}  // namespace

TEST_CASE("actions of every type are read with their guardrails", "[agent][heal-config]") {
  auto r = read(R"(
actions:
  - {name: restart, type: systemd, unit: nginx.service, timeout: 20s,
     budget: {max_runs: 2, window: 30m}, cooldown: 1m, verify_within: 45s}
  - {name: fix, type: ansible, playbook: /etc/reflex/fix.yml, extra_vars: [service]}
  - {name: drain, type: http, url: 'http://127.0.0.1:8080/drain', method: PUT,
     headers: {X-Token: t}, body: '{}', expect_status: [200, 204]}
  - {name: reopen, type: signal, pidfile: /run/nginx.pid, signal: USR1}
  - {name: script, type: exec, command: [/usr/local/bin/heal, '--unit', '{{service}}'],
     env: {MODE: fast}, cwd: /tmp, user: nobody, dry_run: true}
  - {name: sh, type: exec, shell: true, command: 'systemctl restart a && systemctl restart b'}
)");
  INFO(r.errors);
  REQUIRE(r.errors.empty());
  REQUIRE(r.actions.size() == 6);
  const auto& restart = r.actions[0];
  CHECK(restart.guardrails.timeout == Millis(20'000));
  CHECK(restart.guardrails.budget.max_runs == 2);
  CHECK(restart.guardrails.budget.window == Millis(1'800'000));
  CHECK(restart.guardrails.cooldown == Millis(60'000));
  CHECK(restart.guardrails.verify_within == Millis(45'000));
  CHECK(std::get<SystemdAction>(restart.kind).operation == "restart");
  CHECK(std::get<AnsibleAction>(r.actions[1].kind).extra_vars ==
        std::vector<std::string>{"service"});
  const auto& drain = std::get<HttpAction>(r.actions[2].kind);
  CHECK(drain.method == "PUT");
  CHECK(drain.expect_status == std::vector<int>{200, 204});
  CHECK(std::get<SignalAction>(r.actions[3].kind).signal_number == SIGUSR1);
  CHECK(r.actions[4].guardrails.dry_run);
  CHECK(std::get<ExecAction>(r.actions[4].kind).user == "nobody");
  CHECK(std::get<ExecAction>(r.actions[5].kind).shell);
  auto defaults = guardrails_by_action(r.actions).at("fix");
  CHECK(defaults.budget.max_runs == 3);
  CHECK(defaults.timeout == Millis(60'000));
}

TEST_CASE("action config errors name their key paths", "[agent][heal-config]") {
  auto r = read(R"(
actions:
  - {name: a, type: telnet}
  - {name: b, type: systemd}
  - {name: c, type: ansible, playbook: playbooks/fix.yml}
  - {name: a, type: exec, command: [/bin/true]}
  - {name: e, type: exec, command: 'rm -rf /tmp/x'}
  - {name: f, type: signal, signal: HUP}
  - {name: g, type: systemd, unit: x, operation: bounce, budget: {max_runs: 0}}
  - {name: h, type: exec, command: [/bin/true], playbook: /x.yml}
  - {name: i, type: exec, shell: true, command: 'echo {{host}}'}
  - {name: j, type: http, url: 'ftp://x', expect_status: 42}
)");
  const auto& e = r.errors;
  INFO(e);
  CHECK(has(
      e, "actions[0].type: must be one of ansible, exec, http, signal, systemd, got \"telnet\""));
  CHECK(has(e, "actions[1].unit: missing required key"));
  CHECK(has(e, "actions[2].playbook: must be an absolute path, got \"playbooks/fix.yml\""));
  CHECK(has(e, "actions[3].name: another action is already named \"a\""));
  CHECK(has(e, "actions[4].command: a command string runs through a shell"));
  CHECK(has(e, "actions[5]: needs exactly one of pidfile or process_name"));
  CHECK(has(e, "actions[6].operation: must be one of reload, restart, start, stop"));
  CHECK(has(e, "actions[6].budget.max_runs: must be between 1 and 1000"));
  CHECK(has(e, "actions[7].playbook: unknown key"));
  CHECK(has(e, "actions[8].command: a shell command may not hold {{label}} placeholders"));
  CHECK(has(e, "actions[9].url: expected an http:// or https:// URL"));
  CHECK(has(e, "actions[9].expect_status: expected HTTP status codes 100..599"));
}

TEST_CASE("a ladder naming an undeclared action is reported at its key path",
          "[agent][heal-config]") {
  auto r = read(R"(
actions:
  - {name: restart, type: systemd, unit: nginx.service}
rules:
  - {name: up, heal: [restart]}
  - {name: down, heal: [restart, restrat]}
  - {name: none, heal: []}
  - {name: plain}
)");
  INFO(r.errors);
  CHECK(has(r.errors, "rules[1].heal[1]: no action is named \"restrat\" (declared: restart)"));
  CHECK(has(r.errors, "rules[2].heal: must name at least one action"));
  CHECK_FALSE(has(r.errors, "rules[0]"));
  CHECK_FALSE(has(r.errors, "rules[3]"));
  REQUIRE(r.ladders.size() == 4);
  CHECK(r.ladders[1].actions == std::vector<std::string>{"restart", "restrat"});
  CHECK(r.ladders[3].actions.empty());
}

TEST_CASE("an exec argv takes safe label values as whole entries or parts of one",
          "[agent][heal-config]") {
  auto a =
      one("actions: [{name: s, type: exec, command: [heal, '{{service}}', "
          "'--host={{host}}']}]");
  auto argv = build_argv(a, {{"service", "nginx"}, {"host", "web-1.example:8080"}});
  REQUIRE(argv);
  CHECK(*argv == std::vector<std::string>{"heal", "nginx", "--host=web-1.example:8080"});
}

TEST_CASE("a label value with shell metacharacters is one inert argv entry",
          "[agent][heal-config]") {
  auto a =
      one("actions: [{name: s, type: exec, command: [heal, '{{service}}', '--x={{service}}']}]");
  for (const std::string odd : {"nginx; rm -rf /", "a b", "$(reboot)", "`id`", "x|y", "a&b", "a\nb",
                                "\"q\"", "it's", "a>b", "", "x-rf"}) {
    INFO(odd);
    auto argv = build_argv(a, {{"service", odd}});
    REQUIRE(argv);
    CHECK(*argv == std::vector<std::string>{"heal", odd, "--x=" + odd});
  }
}

TEST_CASE("an argv value that would read as an option or holds NUL is refused",
          "[agent][heal-config]") {
  auto a = one("actions: [{name: s, type: exec, command: [heal, '{{service}}']}]");
  for (const std::string& bad :
       {std::string("-rf"), std::string("--force"), std::string("a\0b", 3)}) {
    auto argv = build_argv(a, {{"service", bad}});
    REQUIRE_FALSE(argv);
    CHECK(argv.status().code() == "refused");
    CHECK(has(argv.status().message(), "label \"service\""));
  }
  auto missing = build_argv(a, {});
  REQUIRE_FALSE(missing);
  CHECK(has(missing.status().message(), "the alert has no label \"service\""));
}

TEST_CASE("values outside argv entries must be safe label values", "[agent][heal-config]") {
  for (const std::string bad : {"nginx; rm -rf /", "a b", "$(reboot)", "{{x}}", "-rf", ""}) {
    INFO(bad);
    auto v = expand_labels("unit-{{service}}", {{"service", bad}});
    REQUIRE_FALSE(v);
    CHECK(v.status().code() == "refused");
  }
  CHECK(*expand_labels("unit-{{service}}", {{"service", "web-1.example:80"}}) ==
        "unit-web-1.example:80");
}

TEST_CASE("systemd and ansible actions build their argv", "[agent][heal-config]") {
  auto unit =
      one("actions: [{name: r, type: systemd, unit: 'app@{{instance}}.service', "
          "operation: reload}]");
  auto argv = build_argv(unit, {{"instance", "blue"}});
  REQUIRE(argv);
  CHECK(*argv == std::vector<std::string>{"systemctl", "reload", "app@blue.service"});
  CHECK_FALSE(build_argv(unit, {{"instance", "blue;reboot"}}));

  auto play =
      one("actions: [{name: p, type: ansible, playbook: /srv/fix.yml, "
          "extra_vars: [service, env]}]");
  argv = build_argv(play, {{"service", "nginx"}, {"env", "prod"}, {"other", "x y"}});
  REQUIRE(argv);
  CHECK(*argv == std::vector<std::string>{"ansible-playbook", "-i", "localhost,", "-c", "local",
                                          "/srv/fix.yml", "--extra-vars",
                                          R"({"service":"nginx","env":"prod"})"});
  CHECK_FALSE(build_argv(play, {{"service", "nginx"}, {"env", "a b"}}));
}

TEST_CASE("a shell command runs through /bin/sh with nothing spliced in", "[agent][heal-config]") {
  auto a = one("actions: [{name: s, type: exec, shell: true, command: 'a && b'}]");
  auto argv = build_argv(a, {{"service", "x; reboot"}});
  REQUIRE(argv);
  CHECK(*argv == std::vector<std::string>{"/bin/sh", "-c", "a && b"});
}

TEST_CASE("http and signal actions run no program", "[agent][heal-config]") {
  auto a = one("actions: [{name: s, type: signal, process_name: nginx, signal: HUP}]");
  auto argv = build_argv(a, {});
  REQUIRE_FALSE(argv);
  CHECK(argv.status().code() == "invalid_argument");
}

TEST_CASE("the host guardrails are read strictly", "[agent][heal-config]") {
  auto root =
      config::parse_yaml("budget: {max_runs: 5, window: 10m}\ndry_run: true\nx: 1\n", "agent.yaml");
  REQUIRE(root);
  config::Errors errors("agent.yaml");
  HostGuardrailConfig h;
  {
    config::MapReader r(*root, "remediation", errors);
    read_host_guardrails(r, h);
  }
  CHECK(h.budget.max_runs == 5);
  CHECK(h.budget.window == Millis(600'000));
  CHECK(h.dry_run);
  REQUIRE(errors.list().size() == 1);
  CHECK(has(errors.list()[0], "remediation.x: unknown key"));
}
