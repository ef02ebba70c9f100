#include "agent/checks/process_check.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>

#include "tests/support/loop_helpers.h"
#include "tests/support/process.h"

using namespace std::chrono_literals;
using reflex::EventLoop;
using reflex::Millis;
using reflex::SystemClock;
using reflex::UvTimers;
using namespace reflex::agent;
using reflex::testing::Child;
using reflex::testing::run_loop_until;
using reflex::testing::TempDir;

namespace {

struct Fixture {
  EventLoop loop;
  UvTimers timers{loop};
  SystemClock clock;
  ProcessRunner runner{loop, timers, clock};

  CheckResult run(ProcessCheckConfig cfg) {
    CheckSpec spec;
    spec.name = "proc";
    spec.type = "process";
    auto check = make_process_check(spec, std::move(cfg), runner, loop);
    std::optional<CheckResult> got;
    check->run([&](CheckResult r) { got = std::move(r); });
    REQUIRE(run_loop_until(
        loop, [&] { return got.has_value(); }, 30s));
    return *got;
  }
};

double count_of(const CheckResult& r) {
  for (const auto& p : r.perf) {
    if (p.name == "count") return p.value;
  }
  FAIL("no count perf value");
  return -1;
}

// A copy of sleep under a name no other process on this machine has.
std::string unique_sleep(const TempDir& dir, const std::string& prefix) {
  const std::string path = dir.file(prefix + std::to_string(::getpid()));
  std::filesystem::copy_file("/bin/sleep", path);
  ::chmod(path.c_str(), 0755);
  return path;
}

// One fake /proc/<pid> directory.
void fake_proc(const TempDir& root, int pid, const std::string& comm, const std::string& cmdline,
               char state) {
  const auto dir = root.path() / std::to_string(pid);
  std::filesystem::create_directories(dir);
  root.write(std::to_string(pid) + "/comm", comm + "\n");
  root.write(std::to_string(pid) + "/cmdline", cmdline);
  root.write(std::to_string(pid) + "/stat",
             std::to_string(pid) + " (" + comm + ") " + state + " 1 1 1 0 -1");
}

std::vector<std::string> config_errors(const std::string& yaml, ProcessCheckConfig& out) {
  reflex::config::Errors errors("agent.yaml");
  {
    reflex::config::MapReader r(YAML::Load(yaml), "checks[2]", errors);
    read_process_check(r, out);
  }
  return errors.list();
}

}  // namespace

TEST_CASE("a pidfile naming a live child is OK and a reaped one is CRITICAL",
          "[agent][process_check]") {
  Fixture f;
  TempDir dir;
  Child child({"/bin/sleep", "60"}, dir.file("log"));
  const std::string pidfile = dir.write("svc.pid", std::to_string(child.pid()) + "\n");
  ProcessCheckConfig cfg;
  cfg.pidfile = pidfile;

  auto r = f.run(cfg);
  REQUIRE(r.state == CheckState::kOk);
  REQUIRE(r.message == "pid " + std::to_string(child.pid()) + " from " + pidfile + " is running");
  REQUIRE(count_of(r) == 1);

  child.signal(SIGKILL);
  child.wait();
  r = f.run(cfg);
  REQUIRE(r.state == CheckState::kCritical);
  REQUIRE(r.message ==
          "pid " + std::to_string(child.pid()) + " from " + pidfile + " is not running");
  REQUIRE(count_of(r) == 0);
}

TEST_CASE("a missing pidfile is CRITICAL and one without a pid is UNKNOWN",
          "[agent][process_check]") {
  Fixture f;
  TempDir dir;
  ProcessCheckConfig cfg;
  cfg.pidfile = dir.file("absent.pid");
  auto r = f.run(cfg);
  REQUIRE(r.state == CheckState::kCritical);
  REQUIRE(r.message.rfind("cannot read pidfile " + cfg.pidfile, 0) == 0);

  cfg.pidfile = dir.write("junk.pid", "not a pid\n");
  r = f.run(cfg);
  REQUIRE(r.state == CheckState::kUnknown);
  REQUIRE(r.message == "pidfile " + cfg.pidfile + " holds no pid");
}

TEST_CASE("a name counts live processes by comm and holds them to min and max",
          "[agent][process_check]") {
  Fixture f;
  TempDir dir;
  const std::string program = unique_sleep(dir, "rfx");
  const std::string name = std::filesystem::path(program).filename();
  ProcessCheckConfig cfg;
  cfg.name = name;

  auto r = f.run(cfg);
  REQUIRE(r.state == CheckState::kCritical);
  REQUIRE(r.message == "no process matches \"" + name + "\"");
  REQUIRE(count_of(r) == 0);

  Child a({program, "60"}, dir.file("log"));
  Child b({program, "60"}, dir.file("log"));
  REQUIRE(a.wait_started());
  REQUIRE(b.wait_started());
  r = f.run(cfg);
  REQUIRE(r.state == CheckState::kOk);
  REQUIRE(r.message == "2 processes match \"" + name + "\"");
  REQUIRE(count_of(r) == 2);

  cfg.max = 1;
  r = f.run(cfg);
  REQUIRE(r.state == CheckState::kCritical);
  REQUIRE(r.message == "2 processes match \"" + name + "\" (expected at most 1)");

  cfg.max.reset();
  cfg.min = 3;
  r = f.run(cfg);
  REQUIRE(r.state == CheckState::kCritical);
  REQUIRE(r.message == "2 processes match \"" + name + "\" (expected at least 3)");

  b.signal(SIGKILL);
  b.wait();
  cfg.min = 1;
  r = f.run(cfg);
  REQUIRE(r.state == CheckState::kOk);
  REQUIRE(r.message == "1 process matches \"" + name + "\"");
}

TEST_CASE("a name longer than comm's 15 characters matches argv[0]'s basename",
          "[agent][process_check]") {
  Fixture f;
  TempDir dir;
  const std::string program = unique_sleep(dir, "reflex-long-sleeper-");
  Child child({program, "60"}, dir.file("log"));
  REQUIRE(child.wait_started());
  ProcessCheckConfig cfg;
  cfg.name = std::filesystem::path(program).filename();
  REQUIRE(f.run(cfg).state == CheckState::kOk);
}

TEST_CASE("a cmdline regex is searched in the arguments joined with spaces",
          "[agent][process_check]") {
  Fixture f;
  TempDir dir;
  const std::string unique = "3600." + std::to_string(::getpid());
  Child child({"/bin/sleep", unique}, dir.file("log"));
  REQUIRE(child.wait_started());
  ProcessCheckConfig cfg;
  cfg.cmdline = "sleep " + unique + "$";
  auto r = f.run(cfg);
  REQUIRE(r.state == CheckState::kOk);
  REQUIRE(count_of(r) == 1);
}

TEST_CASE("in a proc tree zombies never count and odd comm values still parse",
          "[agent][process_check]") {
  Fixture f;
  TempDir root;
  fake_proc(root, 100, "nginx", std::string("nginx: master process\0", 22), 'S');
  fake_proc(root, 101, "nginx", "", 'Z');
  fake_proc(root, 102, "bash", std::string("/usr/sbin/nginx\0-g\0daemon off;\0", 32), 'R');
  fake_proc(root, 103, "a) b", std::string("/bin/worker\0", 12), 'D');
  std::filesystem::create_directories(root.path() / "self");
  root.write("uptime", "1 1\n");

  auto info = read_proc_info(root.path().string(), 103);
  REQUIRE(info);
  REQUIRE(info->state == 'D');
  REQUIRE(info->argv == std::vector<std::string>{"/bin/worker"});
  REQUIRE(list_processes(root.path().string()).size() == 4);
  REQUIRE_FALSE(read_proc_info(root.path().string(), 999));

  ProcessCheckConfig cfg;
  cfg.proc_root = root.path().string();
  cfg.name = "nginx";
  auto r = f.run(cfg);
  REQUIRE(r.message == "2 processes match \"nginx\"");

  cfg.name.clear();
  cfg.cmdline = "daemon off";
  REQUIRE(count_of(f.run(cfg)) == 1);

  cfg.cmdline.clear();
  cfg.pidfile = root.write("zombie.pid", "101");
  r = f.run(cfg);
  REQUIRE(r.state == CheckState::kCritical);
  REQUIRE(r.message == "pid 101 from " + cfg.pidfile + " is not running");
}

TEST_CASE("a unit check is UNKNOWN when systemctl is missing or cannot answer",
          "[agent][process_check]") {
  Fixture f;
  TempDir dir;
  ProcessCheckConfig cfg;
  cfg.unit = "nginx.service";
  cfg.systemctl = "/nonexistent/systemctl";
  auto r = f.run(cfg);
  REQUIRE(r.state == CheckState::kUnknown);
  REQUIRE(r.message == "cannot run systemctl: no such file: /nonexistent/systemctl");

  // Like systemctl in a container whose init is not systemd.
  cfg.systemctl = dir.write("systemctl",
                            "#!/bin/sh\necho 'System has not been booted with systemd.' >&2\n"
                            "echo 'Failed to connect to bus' >&2\nexit 1\n");
  ::chmod(cfg.systemctl.c_str(), 0755);
  r = f.run(cfg);
  REQUIRE(r.state == CheckState::kUnknown);
  REQUIRE(r.message == "systemctl failed: System has not been booted with systemd.");
}

TEST_CASE("a unit's ActiveState from systemctl maps to the check state", "[agent][process_check]") {
  Fixture f;
  TempDir dir;
  const std::string state_file = dir.file("state");
  // Answers only the exact question the check must ask.
  ProcessCheckConfig cfg;
  cfg.unit = "web app.service";  // one argument, spaces and all
  cfg.systemctl = dir.write("systemctl",
                            "#!/bin/sh\n"
                            "[ \"$#\" = 5 ] && [ \"$1|$2|$3|$4|$5\" = "
                            "'show|--property=ActiveState|--value|--|web app.service' ] || exit 9\n"
                            "cat " +
                                state_file + "\n");
  ::chmod(cfg.systemctl.c_str(), 0755);

  const std::vector<std::pair<std::string, CheckState>> cases = {
      {"active", CheckState::kOk},           {"failed", CheckState::kCritical},
      {"inactive", CheckState::kCritical},   {"activating", CheckState::kWarning},
      {"reloading", CheckState::kWarning},   {"deactivating", CheckState::kWarning},
      {"maintenance", CheckState::kUnknown},
  };
  for (const auto& [state, expected] : cases) {
    INFO(state);
    dir.write("state", state + "\n");
    auto r = f.run(cfg);
    REQUIRE(r.state == expected);
    if (expected != CheckState::kUnknown) {
      REQUIRE(r.message == "unit web app.service is " + state);
    }
  }
}

TEST_CASE("the real systemctl yields a state or UNKNOWN, never a hang", "[agent][process_check]") {
  Fixture f;
  ProcessCheckConfig cfg;
  cfg.unit = "reflex-surely-absent.service";
  auto r = f.run(cfg);
  // With systemd: the absent unit is inactive. Without (containers): UNKNOWN, with why.
  REQUIRE((r.state == CheckState::kCritical || r.state == CheckState::kUnknown));
  REQUIRE_FALSE(r.message.empty());
}

TEST_CASE("process check config needs exactly one selector and sane counts",
          "[agent][process_check]") {
  ProcessCheckConfig cfg;
  REQUIRE(config_errors("process_name: nginx\nmin: 2\nmax: 4", cfg).empty());
  REQUIRE(cfg.name == "nginx");
  REQUIRE(cfg.min == 2);
  REQUIRE(cfg.max == 4);

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"proc_root: /proc",
       "agent.yaml: checks[2]: needs exactly one of pidfile, process_name, cmdline, unit"},
      {"process_name: a\nunit: b.service",
       "agent.yaml: checks[2]: needs exactly one of pidfile, process_name, cmdline, unit (got "
       "process_name, "
       "unit)"},
      {"process_name: ''", "agent.yaml:1: checks[2].process_name: must not be empty"},
      {"cmdline: 'foo(['", "agent.yaml:1: checks[2].cmdline: invalid regular expression: "},
      {"unit: --now",
       "agent.yaml:1: checks[2].unit: expected a unit name like nginx.service, "
       "got \"--now\""},
      {"pidfile: /run/x.pid\nmin: 2",
       "agent.yaml:2: checks[2].min: applies only to process_name and "
       "cmdline"},
      {"process_name: x\nmin: 3\nmax: 2", "agent.yaml:3: checks[2].max: must be at least min (3)"},
      {"process_name: x\nmin: -1",
       "agent.yaml:2: checks[2].min: must be between 0 and 1000000, got -1"},
      {"process_name: x\nmax: nope",
       "agent.yaml:2: checks[2].max: expected a whole number, got \"nope\""},
      {"process_name: x\ncolour: red", "agent.yaml:2: checks[2].colour: unknown key"},
  };
  for (const auto& [yaml, error] : cases) {
    INFO(yaml);
    ProcessCheckConfig c;
    auto errors = config_errors(yaml, c);
    REQUIRE(errors.size() == 1);
    REQUIRE(errors[0].rfind(error, 0) == 0);
  }
}
