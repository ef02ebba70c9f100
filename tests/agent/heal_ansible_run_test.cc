// An ansible action end to end: its config, build_argv(), a real ansible-playbook run
// through ProcessRunner, and the recap read from what it printed.
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "agent/heal/action_config.h"
#include "agent/heal/ansible_recap.h"
#include "agent/process_runner.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/process.h"

using namespace std::chrono_literals;
using namespace reflex;
using namespace reflex::agent::heal;
using reflex::agent::ProcessOutcome;
using reflex::agent::ProcessRunner;
using reflex::agent::ProcessSpec;
using reflex::testing::read_file;
using reflex::testing::run_loop_until;
using reflex::testing::TempDir;

namespace {

ActionConfig ansible_action(const std::string& playbook, const std::string& extra_vars) {
  auto root = config::parse_yaml("actions: [{name: fix, type: ansible, playbook: '" + playbook +
                                     "', extra_vars: " + extra_vars + "}]",
                                 "agent.yaml");
  REQUIRE(root);
  config::Errors errors("agent.yaml");
  std::vector<ActionConfig> actions;
  {
    config::MapReader top(*root, "", errors);
    read_actions(top, actions);
  }
  for (const auto& e : errors.list()) FAIL(e);
  REQUIRE(actions.size() == 1);
  return actions[0];
}

// Runs `argv` in `dir` with ansible's home and temp dirs inside it, on a real loop.
ProcessOutcome run_ansible(const std::vector<std::string>& argv, const TempDir& dir,
                           std::map<std::string, std::string> env = {}) {
  EventLoop loop;
  UvTimers timers{loop};
  SystemClock clock;
  ProcessRunner runner(loop, timers, clock);
  ProcessSpec spec;
  spec.argv = argv;
  spec.cwd = dir.path().string();
  spec.env = std::move(env);
  spec.env["HOME"] = dir.file("home");
  spec.env["ANSIBLE_LOCAL_TEMP"] = dir.file("home/local-tmp");
  spec.env["ANSIBLE_REMOTE_TEMP"] = dir.file("home/remote-tmp");
  spec.timeout = Millis(60'000);
  std::optional<ProcessOutcome> got;
  runner.run(std::move(spec), [&](ProcessOutcome o) { got = std::move(o); });
  REQUIRE(run_loop_until(
      loop, [&] { return got.has_value(); }, 90s));
  INFO("stdout:\n" << got->out << "\nstderr:\n" << got->err);
  REQUIRE(got->spawn_error.empty());
  REQUIRE_FALSE(got->timed_out);
  REQUIRE(got->exit_code);
  return *got;
}

// A playbook writing `content` (a Jinja expression over the extra vars) to `out`.
std::string write_playbook(const TempDir& dir, const std::string& out, const std::string& content) {
  std::string yaml =
      "- hosts: all\n"
      "  gather_facts: false\n"
      "  tasks:\n"
      "    - name: write what the alert said\n"
      "      ansible.builtin.copy:\n";
  yaml += "        dest: " + out + "\n";
  yaml += "        content: \"" + content + "\"\n";
  return dir.write("fix.yml", yaml);
}

}  // namespace

TEST_CASE("an ansible action runs its playbook with an alert label as an extra var",
          "[agent][heal][ansible]") {
  TempDir dir;
  const std::string out = dir.file("service.txt");
  auto action = ansible_action(write_playbook(dir, out, "{{ service }}"), "[service]");
  auto argv = build_argv(action, {{"service", "web-1"}, {"other", "not passed on"}});
  REQUIRE(argv);

  auto run = run_ansible(*argv, dir);
  CHECK(*run.exit_code == 0);
  CHECK(read_file(out) == "web-1");
  auto recap = parse_ansible_recap(run.out);
  REQUIRE(recap);
  CHECK(recap->ok());
  CHECK(summarize(*recap) == "localhost: ok=1 changed=1 failed=0 unreachable=0");
  CHECK_FALSE(failed_task(run.out));
}

TEST_CASE("a playbook whose task fails exits non-zero and its recap names the task, in colour",
          "[agent][heal][ansible]") {
  TempDir dir;
  const std::string playbook = dir.write("fix.yml",
                                         "- hosts: all\n"
                                         "  gather_facts: false\n"
                                         "  tasks:\n"
                                         "    - name: check {{ service }}\n"
                                         "      ansible.builtin.command: /bin/true\n"
                                         "    - name: restart {{ service }}\n"
                                         "      ansible.builtin.command: /bin/false\n"
                                         "    - name: never reached\n"
                                         "      ansible.builtin.command: /bin/true\n");
  auto argv = build_argv(ansible_action(playbook, "[service]"), {{"service", "web-1"}});
  REQUIRE(argv);

  auto run = run_ansible(*argv, dir, {{"ANSIBLE_FORCE_COLOR", "1"}});
  CHECK(*run.exit_code == 2);                        // ansible-playbook: a host failed
  CHECK(run.out.find('\x1b') != std::string::npos);  // the parser really met colour
  auto recap = parse_ansible_recap(run.out);
  REQUIRE(recap);
  CHECK_FALSE(recap->ok());
  CHECK(summarize(*recap) == "localhost: ok=1 changed=1 failed=1 unreachable=0");
  CHECK(failed_task(run.out) == "restart web-1");
}

TEST_CASE(
    "label values reach the playbook verbatim, and values that could escape the JSON "
    "or be templated are refused",
    "[agent][heal][ansible]") {
  TempDir dir;
  const std::string out = dir.file("vars.txt");
  auto action = ansible_action(write_playbook(dir, out, "{{ service }}|{{ port }}|{{ host }}"),
                               "[service, port, host]");
  // Every character class kSafeLabelValue allows: "007" stays a string, and a leading '@'
  // inside the JSON names no file to load vars from (only a whole "@file" argument does).
  auto argv = build_argv(
      action, {{"service", "web_1.prod"}, {"port", "007"}, {"host", "@a-b.example:8080/x"}});
  REQUIRE(argv);
  auto run = run_ansible(*argv, dir);
  CHECK(*run.exit_code == 0);
  CHECK(read_file(out) == "web_1.prod|007|@a-b.example:8080/x");

  for (const std::string bad :
       {"web\",\"x\":\"1", "a\\", "{{ lookup('pipe','id') }}", "{{x}}", "{%x%}"}) {
    INFO(bad);
    auto refused = build_argv(action, {{"service", bad}, {"port", "80"}, {"host", "h"}});
    REQUIRE_FALSE(refused);
    CHECK(refused.status().code() == "refused");
  }
}
