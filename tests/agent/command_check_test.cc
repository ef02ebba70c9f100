#include "agent/checks/command_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <optional>

#include "agent/checks/process_check.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/process.h"

using namespace std::chrono_literals;
using reflex::EventLoop;
using reflex::Millis;
using reflex::SystemClock;
using reflex::UvTimers;
using namespace reflex::agent;
using reflex::testing::read_file;
using reflex::testing::reserve_port;
using reflex::testing::run_loop_until;
using reflex::testing::TempDir;
using reflex::testing::wait_until;

namespace {

const std::string kPlugins = "/usr/lib/nagios/plugins/";

struct Fixture {
  EventLoop loop;
  UvTimers timers{loop};
  SystemClock clock;
  ProcessRunner runner{loop, timers, clock, ProcessRunnerLimits{16, 256, Millis(200)}};

  std::unique_ptr<CommandCheck> check(std::vector<std::string> argv,
                                      Millis timeout = Millis(20'000)) {
    CheckSpec spec;
    spec.name = "plugin";
    spec.type = "command";
    spec.timeout = timeout;
    CommandCheckConfig cfg;
    cfg.argv = std::move(argv);
    return make_command_check(spec, cfg, runner);
  }

  CheckResult run(CommandCheck& c) {
    std::optional<CheckResult> got;
    c.run([&](CheckResult r) { got = std::move(r); });
    REQUIRE(run_loop_until(
        loop, [&] { return got.has_value(); }, 30s));
    return *got;
  }
};

// An executable shell script in `dir`.
std::string script(const TempDir& dir, const std::string& name, const std::string& body) {
  const std::string path = dir.write(name, "#!/bin/sh\n" + body + "\n");
  ::chmod(path.c_str(), 0755);
  return path;
}

// A listening TCP socket on 127.0.0.1 (connections wait in its backlog); closed at exit.
struct Listener {
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd); }
  int fd = -1;
  int port = 0;
};

const PerfValue* find_perf(const std::vector<PerfValue>& perf, const std::string& name) {
  for (const auto& p : perf) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<std::string> config_errors(const std::string& yaml, CommandCheckConfig& out) {
  reflex::config::Errors errors("agent.yaml");
  {
    reflex::config::MapReader r(YAML::Load(yaml), "checks[0]", errors);
    read_command_check(r, out);
  }
  return errors.list();
}

}  // namespace

TEST_CASE("check_dummy's exit code and first line become the state and message",
          "[agent][command_check]") {
  Fixture f;
  auto ok = f.check({kPlugins + "check_dummy", "0", "all good"});
  auto r = f.run(*ok);
  REQUIRE(r.state == CheckState::kOk);
  REQUIRE(r.message == "OK: all good");
  REQUIRE(r.latency_ms.has_value());

  auto down = f.check({kPlugins + "check_dummy", "2", "down"});
  r = f.run(*down);
  REQUIRE(r.state == CheckState::kCritical);
  REQUIRE(r.message == "CRITICAL: down");

  auto warn = f.check({kPlugins + "check_dummy", "1", "slow"});
  REQUIRE(f.run(*warn).state == CheckState::kWarning);
  auto unknown = f.check({kPlugins + "check_dummy", "3", "who knows"});
  REQUIRE(f.run(*unknown).state == CheckState::kUnknown);
}

TEST_CASE("check_tcp against a listening socket is OK with its time in milliseconds",
          "[agent][command_check]") {
  Fixture f;
  Listener listener;
  auto c =
      f.check({kPlugins + "check_tcp", "-H", "127.0.0.1", "-p", std::to_string(listener.port)});
  auto r = f.run(*c);
  INFO(r.message);
  REQUIRE(r.state == CheckState::kOk);
  REQUIRE(r.message.rfind("TCP OK", 0) == 0);
  REQUIRE(r.bad_input.empty());
  const PerfValue* time = find_perf(r.perf, "time");
  REQUIRE(time != nullptr);
  REQUIRE(time->unit == "ms");
  REQUIRE(time->value >= 0);
}

TEST_CASE("check_tcp against a port where nothing listens is CRITICAL", "[agent][command_check]") {
  Fixture f;
  const int port = reserve_port();  // ours, and nothing listens on it
  auto c = f.check({kPlugins + "check_tcp", "-H", "127.0.0.1", "-p", std::to_string(port)});
  auto r = f.run(*c);
  REQUIRE(r.state == CheckState::kCritical);
  REQUIRE(r.message.find("Connection refused") != std::string::npos);
}

TEST_CASE("a plugin printing binary garbage still gets its state, with (no output)",
          "[agent][command_check]") {
  Fixture f;
  TempDir dir;
  auto c = f.check({script(dir, "garbage", "printf '\\001\\002\\377\\000junk|x=1'; exit 1")});
  auto r = f.run(*c);
  REQUIRE(r.state == CheckState::kWarning);
  REQUIRE(r.message == "(no output)");
  REQUIRE(r.perf.empty());
  REQUIRE(r.bad_input.at("bad_output") == 1);

  auto silent = f.check({script(dir, "silent", "exit 2")});
  r = f.run(*silent);
  REQUIRE(r.state == CheckState::kCritical);
  REQUIRE(r.message == "(no output)");
}

TEST_CASE("malformed perfdata items are skipped and counted, the good ones kept",
          "[agent][command_check]") {
  Fixture f;
  TempDir dir;
  auto c = f.check({script(dir, "plugin", "echo 'OK - fine | good=1.5s bad=abc =3 odd=4parsecs'")});
  auto r = f.run(*c);
  REQUIRE(r.state == CheckState::kOk);
  REQUIRE(r.message == "OK - fine");
  REQUIRE(r.perf.size() == 1);
  REQUIRE(r.perf[0].name == "good");
  REQUIRE(r.perf[0].value == 1500);
  REQUIRE(r.bad_input.at("bad_perfdata") == 3);
}

TEST_CASE("perfdata in the long output is read after its first bar, across lines",
          "[agent][command_check]") {
  Fixture f;
  TempDir dir;
  auto c = f.check({script(dir, "long",
                           "printf 'DISK WARNING - /var is full | var=2KB\\n"
                           "/var 95%%\\n/home 10%% | home=1MB;;;0\\nload=5%%\\n'; exit 1")});
  auto r = f.run(*c);
  REQUIRE(r.state == CheckState::kWarning);
  REQUIRE(r.message == "DISK WARNING - /var is full");
  REQUIRE(r.perf.size() == 3);
  REQUIRE(find_perf(r.perf, "var")->value == 2048);
  REQUIRE(find_perf(r.perf, "home")->value == 1024 * 1024);
  REQUIRE(find_perf(r.perf, "load")->unit == "%");
}

TEST_CASE("exit codes beyond 3, signals and missing programs are UNKNOWN",
          "[agent][command_check]") {
  Fixture f;
  TempDir dir;
  auto odd = f.check({script(dir, "odd", "echo 'weird'; exit 7")});
  auto r = f.run(*odd);
  REQUIRE(r.state == CheckState::kUnknown);
  REQUIRE(r.message == "weird (exit code 7 is out of bounds)");

  auto killed = f.check({script(dir, "killed", "echo 'dying'; kill -SEGV $$")});
  r = f.run(*killed);
  REQUIRE(r.state == CheckState::kUnknown);
  REQUIRE(r.message == "dying (killed by signal 11)");

  auto missing = f.check({"/nonexistent/check_x"});
  r = f.run(*missing);
  REQUIRE(r.state == CheckState::kUnknown);
  REQUIRE(r.message == "no such file: /nonexistent/check_x");
}

TEST_CASE("a plugin that outlives its timeout is UNKNOWN and its process group is killed",
          "[agent][command_check]") {
  Fixture f;
  TempDir dir;
  const std::string pidfile = dir.file("child.pid");
  auto c =
      f.check({script(dir, "hang", "sleep 60 & echo $! > " + pidfile + "; sleep 60")}, Millis(300));
  auto r = f.run(*c);
  REQUIRE(r.state == CheckState::kUnknown);
  REQUIRE(r.message == "timed out after 300 ms");
  pid_t grandchild = 0;
  REQUIRE(wait_until([&] {
    const std::string text = read_file(pidfile);
    return !text.empty() && text.back() == '\n' && (grandchild = std::stoi(text)) > 0;
  }));
  REQUIRE(wait_until([&] {
    auto info = read_proc_info("/proc", grandchild);
    return !info || info->state == 'Z';
  }));
}

TEST_CASE("destroying a command check cancels its run without calling back",
          "[agent][command_check]") {
  Fixture f;
  auto c = f.check({"/bin/sleep", "60"});
  bool called = false;
  c->run([&](CheckResult) { called = true; });
  REQUIRE(f.runner.running() == 1);
  c.reset();
  REQUIRE(f.runner.running() == 0);
  run_loop_until(
      f.loop, [] { return false; }, 100ms);
  REQUIRE_FALSE(called);
}

TEST_CASE("parse_perfdata converts real plugin perfdata to base units", "[agent][command_check]") {
  struct Case {
    std::string text;
    std::vector<PerfValue> values;
    uint64_t bad;
  };
  const double MiB = 1024.0 * 1024;
  const std::vector<Case> cases = {
      // check_tcp
      {"time=0.000138s;;;0.000000;10.000000", {{"time", 0.138, "ms", {}}}, 0},
      // check_disk (bytes) and an older check_disk (MB, powers of 1024)
      {"/=21031288832B;243497277849;257024904396;0;270552530944",
       {{"/", 21031288832.0, "B", {}}},
       0},
      {"/=2643MB;5948;6230;0;6231 /boot=68MB;88;93;0;98",
       {{"/", 2643 * MiB, "B", {}}, {"/boot", 68 * MiB, "B", {}}},
       0},
      // check_load: trailing ';' and no unit
      {"load1=0.160;15.000;30.000;0; load5=0.090;10.000;25.000;0; load15=0.050;5.000;20.000;0;",
       {{"load1", 0.16, "", {}}, {"load5", 0.09, "", {}}, {"load15", 0.05, "", {}}},
       0},
      // check_ping
      {"rta=0.052000ms;100.000000;500.000000;0.000000 pl=0%;20;60;0",
       {{"rta", 0.052, "ms", {}}, {"pl", 0, "%", {}}},
       0},
      // check_users, check_swap
      {"users=0;5;10;0", {{"users", 0, "", {}}}, 0},
      {"swap=0B;0;0;0;0", {{"swap", 0, "B", {}}}, 0},
      // quoted labels with spaces and an escaped quote; counters; us; KB; TB; GB
      {"'C:\\ Used Space'=10.5GB;;;0 'it''s'=1c",
       {{"C:\\ Used Space", 10.5 * 1024 * MiB, "B", {}}, {"it's", 1, "c", {}}},
       0},
      {"latency=250us mem=2KB big=1TB",
       {{"latency", 0.25, "ms", {}}, {"mem", 2048, "B", {}}, {"big", 1024 * 1024 * MiB, "B", {}}},
       0},
      {"temp=-3.5 sci=1e3 plus=+2",
       {{"temp", -3.5, "", {}}, {"sci", 1000, "", {}}, {"plus", 2, "", {}}},
       0},
      // U (undetermined) is skipped but not bad
      {"value=U;1;2 other=3", {{"other", 3, "", {}}}, 0},
      // garbage
      {"novalue =5 x= y=abc z=5parsecs 'open=5 w=1,5", {}, 6},
      {"", {}, 0},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const Perfdata got = parse_perfdata(c.text);
    REQUIRE(got.bad_items == c.bad);
    REQUIRE(got.values.size() == c.values.size());
    for (size_t i = 0; i < c.values.size(); ++i) {
      REQUIRE(got.values[i].name == c.values[i].name);
      REQUIRE(got.values[i].unit == c.values[i].unit);
      REQUIRE(got.values[i].value == Approx(c.values[i].value));
    }
  }
}

TEST_CASE("split_plugin_output takes the message before the bar and all perfdata parts",
          "[agent][command_check]") {
  auto o = split_plugin_output("  OK - fine  | a=1\n");
  REQUIRE(o.message == "OK - fine");
  REQUIRE(o.perfdata == "a=1");
  o = split_plugin_output("CRIT\nno bars here\n");
  REQUIRE(o.message == "CRIT");
  REQUIRE(o.perfdata.empty());
  o = split_plugin_output("| a=1\r\n");
  REQUIRE(o.message == "(no output)");
  REQUIRE_FALSE(o.unreadable);
  REQUIRE(o.perfdata == "a=1");
  o = split_plugin_output("OK\nlong | b=2\nc=3\n");
  REQUIRE(o.perfdata == "b=2\nc=3");
  REQUIRE(split_plugin_output("\n\n").unreadable);
}

TEST_CASE("the command key takes an argv list or a string split without a shell",
          "[agent][command_check]") {
  CommandCheckConfig cfg;
  REQUIRE(
      config_errors("command: [/bin/echo, 'a b', '$HOME']\nenv: {A: '1'}\ncwd: /tmp", cfg).empty());
  REQUIRE(cfg.argv == std::vector<std::string>{"/bin/echo", "a b", "$HOME"});
  REQUIRE(cfg.env.at("A") == "1");
  REQUIRE(cfg.cwd == "/tmp");

  cfg = {};
  REQUIRE(config_errors("command: check_tcp -H 'my host' -p 80", cfg).empty());
  REQUIRE(cfg.argv == std::vector<std::string>{"check_tcp", "-H", "my host", "-p", "80"});
}

TEST_CASE("a bad command is a config error naming its key path", "[agent][command_check]") {
  TempDir dir;
  const std::string plain = dir.write("not-executable", "#!/bin/sh\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"env: {}", "agent.yaml:1: checks[0].command: missing required key"},
      {"command: ''", "agent.yaml:1: checks[0].command: must name a program to run"},
      {"command: []", "agent.yaml:1: checks[0].command: must name a program to run"},
      {"command: \"check 'oops\"",
       "agent.yaml:1: checks[0].command: unterminated single quote at column 7"},
      {"command: {a: b}",
       "agent.yaml:1: checks[0].command: expected a command string or a list of arguments"},
      {"command: [a, [b]]", "agent.yaml:1: checks[0].command[1]: expected a single value"},
      {"command: /nonexistent/check_x -w 1",
       "agent.yaml:1: checks[0].command: no such program: /nonexistent/check_x"},
      {"command: [" + plain + "]",
       "agent.yaml:1: checks[0].command: not an executable file: " + plain},
      {"command: /tmp", "agent.yaml:1: checks[0].command: not an executable file: /tmp"},
  };
  for (const auto& [yaml, error] : cases) {
    INFO(yaml);
    CommandCheckConfig cfg;
    auto errors = config_errors(yaml, cfg);
    REQUIRE(errors.size() == 1);
    REQUIRE(errors[0] == error);
  }
  CommandCheckConfig cfg;
  REQUIRE(config_errors("command: some-plugin-found-later-in-path", cfg).empty());
}
