#include "agent/heal/healer.h"

#include <signal.h>
#include <sys/types.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/http_test_server.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/process.h"

using namespace std::chrono_literals;
using namespace reflex;
using namespace reflex::agent;
using namespace reflex::agent::heal;
using protocol::AlertState;
using protocol::CommandStatus;
using protocol::RemediationOutcome;
using reflex::testing::read_file;
using reflex::testing::run_loop_until;
using reflex::testing::TempDir;

namespace {

std::vector<ActionConfig> actions_from(const std::string& yaml) {
  auto root = config::parse_yaml(yaml, "agent.yaml");
  REQUIRE(root);
  config::Errors errors("agent.yaml");
  std::vector<ActionConfig> out;
  {
    config::MapReader top(*root, "", errors);
    read_actions(top, out);
  }
  INFO(errors.status().message());
  REQUIRE(errors.empty());
  return out;
}

// A healer on a real loop, with real child processes and HTTP; every event it emits is
// kept in order.
struct Heal {
  EventLoop loop;
  UvTimers timers{loop};
  SystemClock clock;
  ProcessRunner processes{loop, timers, clock};
  HttpClient http{loop, timers};
  std::vector<protocol::Body> events;
  std::unique_ptr<Healer> healer;
  uint64_t next_since = 1000;

  Heal(const std::string& actions_yaml, std::vector<std::string> ladder,
       HostGuardrailConfig host = {}) {
    healer = std::make_unique<Healer>(HealServices{clock, timers, processes, http, "/proc", {}},
                                      [this](std::vector<protocol::Body> e) {
                                        for (auto& b : e) events.push_back(std::move(b));
                                      });
    configure(actions_yaml, std::move(ladder), host);
  }
  ~Heal() { healer.reset(); }

  void configure(const std::string& actions_yaml, std::vector<std::string> ladder,
                 HostGuardrailConfig host = {}) {
    HealConfig cfg;
    cfg.host = host;
    cfg.actions = actions_from(actions_yaml);
    cfg.ladders["svc-down"] = std::move(ladder);
    healer->configure(std::move(cfg));
  }

  protocol::Alert alert(AlertState state, protocol::Labels labels = {{"series", "svc"}},
                        std::string fingerprint = "fp1") {
    protocol::Alert a;
    a.rule = "svc-down";
    a.fingerprint = std::move(fingerprint);
    a.state = state;
    a.labels = std::move(labels);
    a.active_since_ms = next_since;
    return a;
  }
  // A new episode of the alert starts firing.
  void fire(protocol::Labels labels = {{"series", "svc"}}, std::string fp = "fp1") {
    ++next_since;
    healer->on_alert(alert(AlertState::kFiring, std::move(labels), std::move(fp)));
  }
  void resolve(std::string fp = "fp1") {
    healer->on_alert(alert(AlertState::kResolved, {{"series", "svc"}}, std::move(fp)));
  }

  std::vector<protocol::Remediation> remediations() const {
    std::vector<protocol::Remediation> out;
    for (const auto& b : events) {
      if (const auto* r = std::get_if<protocol::Remediation>(&b)) out.push_back(*r);
    }
    return out;
  }
  std::vector<protocol::CommandResult> results() const {
    std::vector<protocol::CommandResult> out;
    for (const auto& b : events) {
      if (const auto* r = std::get_if<protocol::CommandResult>(&b)) out.push_back(*r);
    }
    return out;
  }
  size_t count(RemediationOutcome o) const {
    size_t n = 0;
    for (const auto& r : remediations()) n += r.outcome == o;
    return n;
  }
  // Runs the loop until `n` events with outcome `o` were reported.
  void await(RemediationOutcome o, size_t n = 1, std::chrono::milliseconds timeout = 20s) {
    INFO("waiting for " << n << " x " << protocol::remediation_outcome_name(o));
    REQUIRE(run_loop_until(
        loop, [&] { return count(o) >= n; }, timeout));
  }
  // The last event with outcome `o`.
  protocol::Remediation last(RemediationOutcome o) const {
    auto all = remediations();
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (it->outcome == o) return *it;
    }
    FAIL("no " << protocol::remediation_outcome_name(o) << " event");
    return {};
  }
  std::vector<std::string> outcomes() const {
    std::vector<std::string> out;
    for (const auto& r : remediations()) {
      out.push_back(std::string(protocol::remediation_outcome_name(r.outcome)) +
                    (r.action.empty() ? "" : " " + r.action));
    }
    return out;
  }
};

bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a firing alert runs its action with the labels as arguments and reports recovery",
          "[agent][heal]") {
  TempDir dir;
  Heal h(
      "actions: [{name: fix, type: exec, cooldown: 0s, command: [/bin/sh, -c, "
      "'echo fixing $1; echo \"$1 $REFLEX_RULE $REFLEX_ATTEMPT\" > " +
          dir.file("ran") + "', sh, '{{service}}']}]",
      {"fix"});
  h.fire({{"series", "svc"}, {"service", "web-1"}});
  h.await(RemediationOutcome::kSucceeded);
  CHECK(read_file(dir.file("ran")) == "web-1 svc-down 1\n");
  h.resolve();
  CHECK(h.outcomes() == std::vector<std::string>{"started fix", "succeeded fix", "recovered fix"});
  const auto done = h.remediations()[1];
  CHECK(done.rule == "svc-down");
  CHECK(done.alert_fingerprint == "fp1");
  CHECK(done.target == "svc");  // exec's default target: the alert's series
  CHECK(done.attempt == 1);
  CHECK(done.exit_code == 0);
  CHECK(has(done.output, "fixing web-1"));
  CHECK(h.healer->status().running.empty());
}

TEST_CASE("shell metacharacters in alert labels reach the action as inert text", "[agent][heal]") {
  TempDir dir;
  const std::string evil =
      "x; touch " + dir.file("pwned") + " $(touch " + dir.file("pwned2") + ") `id` | & \"q\" 'it'";
  Heal h("actions: [{name: fix, type: exec, command: [/bin/sh, -c, 'printf %s \"$1\" > " +
             dir.file("arg") + "', sh, '{{service}}']}]",
         {"fix"});
  h.fire({{"series", "svc"}, {"service", evil}});
  h.await(RemediationOutcome::kSucceeded);
  CHECK(read_file(dir.file("arg")) == evil);
  CHECK_FALSE(std::filesystem::exists(dir.file("pwned")));
  CHECK_FALSE(std::filesystem::exists(dir.file("pwned2")));
}

TEST_CASE("a label that would become an option is refused and the ladder moves on",
          "[agent][heal]") {
  TempDir dir;
  Heal h(
      "actions:\n"
      "  - {name: first, type: exec, command: [touch, '{{service}}']}\n"
      "  - {name: second, type: exec, command: [touch, " +
          dir.file("second") + "]}\n",
      {"first", "second"});
  h.fire({{"series", "svc"}, {"service", "-rf"}});
  h.await(RemediationOutcome::kSucceeded);
  const auto r = h.remediations();
  REQUIRE(r.size() >= 3);
  CHECK(r[0].outcome == RemediationOutcome::kFailed);
  CHECK(has(r[0].reason, "refused"));
  CHECK(has(r[0].reason, "option"));
  CHECK(r[1].outcome == RemediationOutcome::kStarted);
  CHECK(r[1].action == "second");
  CHECK(std::filesystem::exists(dir.file("second")));
}

TEST_CASE("a hanging action is killed at its timeout together with its children", "[agent][heal]") {
  TempDir dir;
  Heal h(
      "actions: [{name: hang, type: exec, timeout: 300ms, command: [/bin/sh, -c, "
      "'sleep 300 & echo $! > " +
          dir.file("child.pid") + "; wait']}]",
      {"hang"});
  h.fire();
  h.await(RemediationOutcome::kTimedOut);
  const pid_t child = std::stoi(read_file(dir.file("child.pid")));
  CHECK(reflex::testing::wait_until([&] { return !alive(child); }, 5s));
  CHECK(has(h.last(RemediationOutcome::kTimedOut).reason, "timed out after 300ms"));
  // A timed-out rung counts as not helping: the one-rung ladder is exhausted.
  h.await(RemediationOutcome::kExhausted);
}

// Ansible's home and temporary files go into `dir` while it lives.
struct AnsibleHome {
  explicit AnsibleHome(const TempDir& dir) : old_home(getenv("HOME") ? getenv("HOME") : "") {
    setenv("HOME", dir.file("home").c_str(), 1);
  }
  ~AnsibleHome() { setenv("HOME", old_home.c_str(), 1); }
  std::string old_home;
};

TEST_CASE("a ladder moves from restart to a real playbook when restart does not help",
          "[agent][heal][ansible]") {
  TempDir dir;
  AnsibleHome home(dir);
  const std::string playbook =
      dir.write("fix.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: repair {{ series }}\n"
                "      ansible.builtin.copy: {dest: " +
                    dir.file("played") + ", content: \"{{ series }}\"}\n");
  Heal h(
      "actions:\n"
      "  - {name: restart, type: exec, verify_within: 200ms, command: [touch, " +
          dir.file("restarted") +
          "]}\n"
          "  - {name: playbook, type: ansible, verify_within: 200ms, playbook: " +
          playbook + ", extra_vars: [series]}\n",
      {"restart", "playbook"});
  h.fire();
  h.await(RemediationOutcome::kExhausted, 1, 120s);
  CHECK(h.outcomes() == std::vector<std::string>{"started restart", "succeeded restart",
                                                 "not_recovered restart", "started playbook",
                                                 "succeeded playbook", "not_recovered playbook",
                                                 "exhausted playbook"});
  CHECK(std::filesystem::exists(dir.file("restarted")));
  CHECK(read_file(dir.file("played")) == "svc");
  const auto played = h.remediations()[4];
  CHECK(played.attempt == 2);
  CHECK(played.reason == "localhost: ok=1 changed=1 failed=0 unreachable=0");
  CHECK(has(played.output, "PLAY RECAP"));
  CHECK(has(h.remediations().back().reason, "restart, playbook"));
}

TEST_CASE("a playbook whose task fails is a failed rung naming the task",
          "[agent][heal][ansible]") {
  TempDir dir;
  AnsibleHome home(dir);
  const std::string playbook =
      dir.write("fail.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: give up\n"
                "      ansible.builtin.fail: {msg: nope}\n");
  Heal h("actions: [{name: playbook, type: ansible, playbook: " + playbook + "}]", {"playbook"});
  h.fire();
  h.await(RemediationOutcome::kFailed, 1, 120s);
  const auto failed = h.last(RemediationOutcome::kFailed);
  CHECK(failed.exit_code == 2);
  CHECK(failed.reason ==
        "task \"give up\" failed; localhost: ok=0 changed=0 failed=1 unreachable=0");
  h.await(RemediationOutcome::kExhausted);
}

TEST_CASE("the second rung is not run when the first one recovered", "[agent][heal]") {
  TempDir dir;
  Heal h(
      "actions:\n"
      "  - {name: restart, type: exec, verify_within: 10s, command: ['true']}\n"
      "  - {name: playbook, type: exec, command: [touch, " +
          dir.file("played") + "]}\n",
      {"restart", "playbook"});
  h.fire();
  h.await(RemediationOutcome::kSucceeded);
  CHECK(h.healer->status().running.size() == 1);  // verifying
  h.resolve();
  CHECK(h.outcomes() ==
        std::vector<std::string>{"started restart", "succeeded restart", "recovered restart"});
  CHECK_FALSE(std::filesystem::exists(dir.file("played")));
}

TEST_CASE("a service that keeps failing spends its budget, opens the circuit and escalates",
          "[agent][heal]") {
  Heal h(
      "actions: [{name: restart, type: exec, cooldown: 0s, budget: {max_runs: 2, window: 1h}, "
      "command: ['true']}]",
      {"restart"});
  for (int episode = 1; episode <= 2; ++episode) {
    h.fire();
    h.await(RemediationOutcome::kSucceeded, static_cast<size_t>(episode));
    h.resolve();
  }
  CHECK(h.count(RemediationOutcome::kRecovered) == 2);
  h.fire();  // the third crash within the hour
  auto r = h.remediations();
  REQUIRE(r.size() >= 2);
  CHECK(r[r.size() - 2].outcome == RemediationOutcome::kSkipped);
  CHECK(has(r[r.size() - 2].reason, "budget"));
  CHECK(r.back().outcome == RemediationOutcome::kExhausted);
  CHECK(h.healer->open_circuits() == 1);
  auto status = h.healer->status();
  REQUIRE(status.circuits.size() == 1);
  CHECK(status.circuits[0].target == "svc");
  CHECK(status.circuits[0].action == "restart");

  // While the circuit is open nothing runs; the escalation is not repeated.
  h.resolve();
  h.fire();
  CHECK(h.count(RemediationOutcome::kStarted) == 2);
  CHECK(h.count(RemediationOutcome::kExhausted) == 1);
  CHECK(has(h.remediations().back().reason, "circuit_open"));

  // An operator reset closes the circuit and the firing alert is healed at once.
  h.healer->reset("svc");
  CHECK(h.healer->open_circuits() == 0);
  h.await(RemediationOutcome::kSucceeded, 3);
}

TEST_CASE("the host budget caps runs across every action and target", "[agent][heal]") {
  HostGuardrailConfig host;
  host.budget = {2, Millis(3'600'000)};
  Heal h("actions: [{name: restart, type: exec, cooldown: 0s, command: ['true']}]", {"restart"},
         host);
  for (int i = 1; i <= 2; ++i) {
    h.fire({{"series", "svc" + std::to_string(i)}}, "fp" + std::to_string(i));
    h.await(RemediationOutcome::kSucceeded, static_cast<size_t>(i));
  }
  h.fire({{"series", "svc3"}}, "fp3");
  CHECK(has(h.remediations().back().reason, "host_budget"));
  auto status = h.healer->status();
  REQUIRE(status.circuits.size() == 1);
  CHECK(status.circuits[0].host);
  CHECK(status.host_runs_in_window == 2);
}

TEST_CASE("a refusal by cooldown is retried when the cooldown ends", "[agent][heal]") {
  TempDir dir;
  Heal h(
      "actions: [{name: restart, type: exec, cooldown: 400ms, verify_within: 50ms, "
      "command: [/bin/sh, -c, 'echo x >> " +
          dir.file("runs") + "']}]",
      {"restart"});
  h.fire();
  h.await(RemediationOutcome::kSucceeded);
  h.resolve();
  h.fire();  // a new episode inside the cooldown
  CHECK(has(h.remediations().back().reason, "cooldown"));
  h.await(RemediationOutcome::kSucceeded, 2);
  CHECK(read_file(dir.file("runs")) == "x\nx\n");
}

TEST_CASE("dry run decides and reports exactly what would run, and runs nothing", "[agent][heal]") {
  TempDir dir;
  const std::string marker = dir.file("ran");
  SECTION("host-wide") {
    HostGuardrailConfig host;
    host.dry_run = true;
    Heal h("actions: [{name: fix, type: exec, command: [touch, " + marker + ", '{{service}}']}]",
           {"fix"}, host);
    h.fire({{"series", "svc"}, {"service", "web"}});
    const auto r = h.remediations();
    REQUIRE(r.size() == 1);
    CHECK(r[0].outcome == RemediationOutcome::kSkipped);
    CHECK(r[0].dry_run);
    CHECK(r[0].reason == "dry_run: would run: touch " + marker + " web");
  }
  SECTION("per action") {
    Heal h("actions: [{name: fix, type: exec, dry_run: true, command: [touch, " + marker + "]}]",
           {"fix"});
    h.fire();
    REQUIRE(h.remediations().size() == 1);
    CHECK(h.remediations()[0].dry_run);
  }
  CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("paused remediation skips, and resuming heals what still fires", "[agent][heal]") {
  Heal h("actions: [{name: fix, type: exec, command: ['true']}]", {"fix"});
  h.healer->pause("svc");
  h.fire();
  REQUIRE(h.remediations().size() == 1);
  CHECK(h.remediations()[0].outcome == RemediationOutcome::kSkipped);
  CHECK(has(h.remediations()[0].reason, "paused"));
  CHECK(h.healer->status().paused_targets == std::vector<std::string>{"svc"});
  h.healer->resume("svc");
  h.await(RemediationOutcome::kSucceeded);

  h.healer->pause("");
  CHECK(h.healer->status().paused_all);
  h.fire({{"series", "other"}}, "fp2");
  CHECK(has(h.remediations().back().reason, "paused on this host"));
}

TEST_CASE("a reload keeps the spent budget", "[agent][heal]") {
  const std::string yaml =
      "actions: [{name: fix, type: exec, cooldown: 0s, budget: {max_runs: 1, window: 1h}, "
      "command: ['true']}]";
  Heal h(yaml, {"fix"});
  h.fire();
  h.await(RemediationOutcome::kSucceeded);
  h.resolve();
  h.configure(yaml, {"fix"});
  h.fire();
  CHECK(has(h.remediations().back().reason, "budget"));
}

TEST_CASE("http and signal actions", "[agent][heal]") {
  SECTION("http calls the URL and checks the status") {
    std::atomic<int> calls{0};
    reflex::testing::HttpTestServer server([&](httplib::Server& s) {
      s.Post("/drain", [&](const httplib::Request& req, httplib::Response& res) {
        ++calls;
        res.status = req.get_header_value("X-Token") == "t" ? 202 : 403;
        res.set_content("drained " + req.body, "text/plain");
      });
    });
    Heal h("actions: [{name: drain, type: http, url: '" + server.url("/drain") +
               "', headers: {X-Token: t}, body: now, expect_status: [202]}]",
           {"drain"});
    h.fire();
    h.await(RemediationOutcome::kSucceeded);
    CHECK(calls == 1);
    CHECK(h.remediations().back().output == "drained now");
    CHECK(h.remediations().back().exit_code == 202);
  }
  SECTION("signal finds the process by pidfile and signals it") {
    TempDir dir;
    reflex::testing::Child child({"/bin/sleep", "300"}, dir.file("sleep.log"));
    const std::string pidfile = dir.write("svc.pid", std::to_string(child.pid()) + "\n");
    Heal h("actions: [{name: stop, type: signal, pidfile: " + pidfile + ", signal: TERM}]",
           {"stop"});
    h.fire();
    h.await(RemediationOutcome::kSucceeded);
    CHECK(reflex::testing::wait_until([&] { return !child.running(); }, 5s));
    CHECK(has(h.remediations().back().reason, "sent SIGTERM to pid"));
  }
  SECTION("a signal without its process fails and says why") {
    Heal h("actions: [{name: stop, type: signal, pidfile: /nonexistent/x.pid, signal: TERM}]",
           {"stop"});
    h.fire();
    h.await(RemediationOutcome::kFailed);
    CHECK(
        has(h.last(RemediationOutcome::kFailed).reason, "cannot read pidfile /nonexistent/x.pid"));
  }
}

TEST_CASE("hub commands run only declared actions with declared parameters", "[agent][heal]") {
  TempDir dir;
  Heal h(
      "actions: [{name: fix, type: exec, cooldown: 0s, command: [/bin/sh, -c, 'echo done $1', "
      "sh, '{{service}}']}]",
      {"fix"});
  auto command = [](std::string id, std::string action, protocol::Labels params) {
    protocol::Command c;
    c.id = std::move(id);
    c.action = std::move(action);
    c.params = std::move(params);
    return c;
  };
  h.healer->on_command(command("c1", "reboot", {}));
  h.healer->on_command(command("c2", "fix", {{"service", "web"}, {"cmd", "id"}}));
  h.healer->on_command(command("c3", "fix", {}));
  auto res = h.results();
  REQUIRE(res.size() == 3);
  CHECK(res[0].status == CommandStatus::kRejected);
  CHECK(res[0].message == "this agent declares no action \"reboot\" (declared: fix)");
  CHECK(res[1].status == CommandStatus::kRejected);
  CHECK(res[1].message == "action \"fix\" declares no parameter \"cmd\" (declared: service)");
  CHECK(res[2].status == CommandStatus::kRejected);
  CHECK(has(res[2].message, "no label \"service\""));
  CHECK(h.count(RemediationOutcome::kStarted) == 0);

  h.healer->on_command(command("c4", "fix", {{"service", "web"}}));
  REQUIRE(run_loop_until(h.loop, [&] { return h.results().size() == 4; }));
  CHECK(h.results()[3].id == "c4");
  CHECK(h.results()[3].status == CommandStatus::kOk);
  CHECK(h.results()[3].output == "done web\n");
  CHECK(h.remediations().back().command_id == "c4");

  // A resent command does not run twice.
  h.healer->on_command(command("c4", "fix", {{"service", "web"}}));
  CHECK(h.count(RemediationOutcome::kStarted) == 1);

  // A dry-run command says what would run.
  auto dry = command("c5", "fix", {{"service", "api"}});
  dry.dry_run = true;
  h.healer->on_command(dry);
  CHECK(h.results().back().status == CommandStatus::kOk);
  CHECK(h.results().back().message == "dry_run: would run: /bin/sh -c echo done $1 sh api");
}

TEST_CASE("an action run as a user this host does not have is refused before it starts",
          "[agent][heal]") {
  Heal h("actions: [{name: fix, type: exec, user: nosuchuser, command: ['true']}]", {"fix"});
  h.fire();
  REQUIRE(h.remediations().size() >= 1);
  CHECK(h.remediations()[0].outcome == RemediationOutcome::kFailed);
  CHECK(h.remediations()[0].reason == "refused: no user \"nosuchuser\" on this host");
  CHECK(h.count(RemediationOutcome::kStarted) == 0);
}
