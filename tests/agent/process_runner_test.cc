#include "agent/process_runner.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "agent/checks/process_check.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/process.h"

using namespace std::chrono_literals;
using reflex::EventLoop;
using reflex::Millis;
using reflex::SystemClock;
using reflex::UvTimers;
using reflex::agent::ProcessOutcome;
using reflex::agent::ProcessRunner;
using reflex::agent::ProcessRunnerLimits;
using reflex::agent::ProcessSpec;
using reflex::agent::split_command_line;
using reflex::testing::read_file;
using reflex::testing::run_loop_until;
using reflex::testing::TempDir;
using reflex::testing::wait_until;

namespace {

struct Fixture {
  explicit Fixture(ProcessRunnerLimits limits = {})
      : runner(std::make_unique<ProcessRunner>(loop, timers, clock, limits)) {}
  EventLoop loop;
  UvTimers timers{loop};
  SystemClock clock;
  std::unique_ptr<ProcessRunner> runner;

  ProcessOutcome run(ProcessSpec spec) {
    std::optional<ProcessOutcome> got;
    runner->run(std::move(spec), [&](ProcessOutcome o) { got = std::move(o); });
    REQUIRE(run_loop_until(
        loop, [&] { return got.has_value(); }, 30s));
    return *got;
  }
};

ProcessSpec sh(const std::string& script, Millis timeout = Millis(20'000)) {
  ProcessSpec s;
  s.argv = {"/bin/sh", "-c", script};
  s.timeout = timeout;
  return s;
}

// Alive means present and not a zombie: a killed grandchild reparented to a PID 1 that
// does not reap would otherwise still answer kill(pid, 0).
bool alive(pid_t pid) {
  auto info = reflex::agent::read_proc_info("/proc", pid);
  return info && info->state != 'Z';
}

// The pid a shell wrote to `path`, once it has written a whole line (0 until then).
pid_t pid_from(const std::string& path) {
  const std::string text = read_file(path);
  return text.empty() || text.back() != '\n' ? 0 : static_cast<pid_t>(std::stol(text));
}

pid_t await_pid(const std::string& path) {
  pid_t pid = 0;
  wait_until([&] { return (pid = pid_from(path)) > 0; }, 10s);
  return pid;
}

}  // namespace

TEST_CASE("a child's exit code, stdout and stderr are captured separately",
          "[agent][process_runner]") {
  Fixture f;
  auto o = f.run(sh("echo out; echo err >&2; exit 3"));
  REQUIRE(o.spawn_error.empty());
  REQUIRE(o.exit_code == 3);
  REQUIRE(o.term_signal == 0);
  REQUIRE_FALSE(o.timed_out);
  REQUIRE(o.out == "out\n");
  REQUIRE(o.err == "err\n");
  REQUIRE_FALSE(o.out_truncated);
  REQUIRE(o.duration_ms >= 0);
}

TEST_CASE("a child killed by a signal reports the signal and no exit code",
          "[agent][process_runner]") {
  Fixture f;
  auto o = f.run(sh("kill -KILL $$"));
  REQUIRE_FALSE(o.exit_code.has_value());
  REQUIRE(o.term_signal == SIGKILL);
  REQUIRE_FALSE(o.timed_out);
}

TEST_CASE("stdout keeps its first bytes and stderr its last bytes beyond max_output",
          "[agent][process_runner]") {
  Fixture f;
  auto spec =
      sh("printf 'status line\\n'; head -c 300000 /dev/zero | tr '\\0' x; "
         "head -c 300000 /dev/zero | tr '\\0' y >&2; printf '\\nlast words' >&2");
  spec.max_output = 1024;
  auto o = f.run(spec);
  REQUIRE(o.exit_code == 0);
  REQUIRE(o.out.size() == 1024);
  REQUIRE(o.out.rfind("status line\nxxx", 0) == 0);
  REQUIRE(o.out_truncated);
  REQUIRE(o.err.size() == 1024);
  REQUIRE(o.err.substr(o.err.size() - 11) == "\nlast words");
  REQUIRE(o.err_truncated);
}

TEST_CASE("arguments reach the child verbatim, with no shell expansion",
          "[agent][process_runner]") {
  Fixture f;
  TempDir dir;
  const std::string marker = dir.file("touched");
  ProcessSpec spec;
  spec.argv = {"/bin/echo", "$(touch " + marker + ")", "*", "$HOME", "a;b", "`id`"};
  auto o = f.run(spec);
  REQUIRE(o.exit_code == 0);
  REQUIRE(o.out == "$(touch " + marker + ") * $HOME a;b `id`\n");
  REQUIRE_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("the child gets a minimal environment plus the spec's env, or only the spec's env",
          "[agent][process_runner]") {
  Fixture f;
  ::setenv("REFLEX_TEST_NOT_INHERITED", "secret", 1);
  ProcessSpec spec;
  spec.argv = {"env"};  // found through PATH
  spec.env = {{"FOO", "bar baz"}, {"HOME", "/elsewhere"}};
  auto o = f.run(spec);
  ::unsetenv("REFLEX_TEST_NOT_INHERITED");
  REQUIRE(o.exit_code == 0);
  REQUIRE(o.out.find("FOO=bar baz\n") != std::string::npos);
  REQUIRE(o.out.find("HOME=/elsewhere\n") != std::string::npos);
  REQUIRE(o.out.find("PATH=") != std::string::npos);
  REQUIRE(o.out.find("REFLEX_TEST_NOT_INHERITED") == std::string::npos);

  spec.argv = {"/usr/bin/env"};
  spec.env = {{"ONLY", "this"}};
  spec.clear_env = true;
  REQUIRE(f.run(spec).out == "ONLY=this\n");
}

TEST_CASE("the child runs in the spec's working directory", "[agent][process_runner]") {
  Fixture f;
  TempDir dir;
  ProcessSpec spec;
  spec.argv = {"/bin/pwd"};
  spec.cwd = dir.path().string();
  auto o = f.run(spec);
  REQUIRE(o.out == std::filesystem::canonical(dir.path()).string() + "\n");
}

TEST_CASE("a missing program or directory is a spawn error that names it, reported later",
          "[agent][process_runner]") {
  Fixture f;
  ProcessSpec spec;
  spec.argv = {"/nonexistent/reflex-plugin", "x"};
  bool called = false;
  std::optional<ProcessOutcome> got;
  f.runner->run(spec, [&](ProcessOutcome o) {
    called = true;
    got = std::move(o);
  });
  REQUIRE_FALSE(called);  // never from inside run()
  REQUIRE(run_loop_until(
      f.loop, [&] { return called; }, 10s));
  REQUIRE(got->spawn_error == "no such file: /nonexistent/reflex-plugin");
  REQUIRE_FALSE(got->exit_code.has_value());

  spec.argv = {"reflex-no-such-program-anywhere"};
  REQUIRE(f.run(spec).spawn_error == "no such file: reflex-no-such-program-anywhere");

  spec.argv = {"/bin/true"};
  spec.cwd = "/nonexistent/dir";
  REQUIRE(f.run(spec).spawn_error == "no such directory: /nonexistent/dir");

  spec.cwd.clear();
  spec.argv.clear();
  REQUIRE(f.run(spec).spawn_error == "no program to run");
  REQUIRE(f.runner->running() == 0);
}

TEST_CASE("on timeout a child ignoring SIGTERM is killed with its whole process group",
          "[agent][process_runner]") {
  Fixture f(ProcessRunnerLimits{16, 256, Millis(200)});
  TempDir dir;
  const std::string pidfile = dir.file("grandchild.pid");
  auto o = f.run(sh("trap '' TERM; sleep 60 & echo $! > " + pidfile + "; sleep 60", Millis(300)));
  REQUIRE(o.timed_out);
  REQUIRE(o.term_signal == SIGKILL);
  REQUIRE_FALSE(o.exit_code.has_value());
  const pid_t grandchild = await_pid(pidfile);
  REQUIRE(grandchild > 0);
  REQUIRE(wait_until([&] { return !alive(grandchild); }, 10s));
}

TEST_CASE("a grandchild that leaves the group holding the pipes does not hang the run",
          "[agent][process_runner]") {
  Fixture f(ProcessRunnerLimits{16, 256, Millis(100)});
  TempDir dir;
  const std::string pidfile = dir.file("escaped.pid");
  // setsid puts the grandchild in a session of its own, out of reach of the group kill;
  // it keeps the inherited stdout and stderr open.
  auto o = f.run(
      sh("setsid sh -c 'echo $$ > " + pidfile + "; exec sleep 60' & echo started", Millis(300)));
  const pid_t escaped = await_pid(pidfile);
  REQUIRE(escaped > 0);
  ::kill(escaped, SIGKILL);
  REQUIRE(o.timed_out);
  REQUIRE(o.exit_code == 0);  // the leader itself exited in time
  REQUIRE(o.out == "started\n");
}

TEST_CASE("runs beyond max_concurrent wait in FIFO order and beyond the queue are refused",
          "[agent][process_runner]") {
  Fixture f(ProcessRunnerLimits{2, 1, Millis(500)});
  std::vector<std::string> order;
  std::optional<ProcessOutcome> queued, refused;
  bool sleeper_called = false;

  ProcessSpec quick;
  quick.argv = {"/bin/true"};
  f.runner->run(quick, [&](ProcessOutcome) { order.push_back("quick"); });
  ProcessSpec sleeper;
  sleeper.argv = {"/bin/sleep", "60"};
  const auto sleeper_id = f.runner->run(sleeper, [&](ProcessOutcome) { sleeper_called = true; });
  ProcessSpec echo;
  echo.argv = {"/bin/echo", "queued"};
  f.runner->run(echo, [&](ProcessOutcome o) {
    order.push_back("queued");
    queued = std::move(o);
  });
  f.runner->run(echo, [&](ProcessOutcome o) { refused = std::move(o); });

  REQUIRE(f.runner->running() == 2);
  REQUIRE(f.runner->queued() == 1);
  REQUIRE(run_loop_until(
      f.loop, [&] { return queued && refused; }, 20s));
  REQUIRE(refused->spawn_error == "too many processes");
  REQUIRE(queued->out == "queued\n");
  REQUIRE(order == std::vector<std::string>{"quick", "queued"});
  REQUIRE(f.runner->running() == 1);
  REQUIRE(f.runner->queued() == 0);

  f.runner->cancel(sleeper_id);
  REQUIRE(f.runner->running() == 0);
  run_loop_until(
      f.loop, [] { return false; }, 100ms);
  REQUIRE_FALSE(sleeper_called);
}

TEST_CASE("destroying the runner kills every child group and calls no callback",
          "[agent][process_runner]") {
  Fixture f;
  TempDir dir;
  bool called = false;
  std::vector<std::string> pidfiles;
  for (int i = 0; i < 3; ++i) {
    pidfiles.push_back(dir.file("child" + std::to_string(i)));
    f.runner->run(sh("sleep 60 & echo $! > " + pidfiles.back() + "; sleep 60"),
                  [&](ProcessOutcome) { called = true; });
  }
  REQUIRE(run_loop_until(
      f.loop,
      [&] {
        for (const auto& p : pidfiles) {
          if (pid_from(p) == 0) return false;
        }
        return true;
      },
      10s));
  REQUIRE(f.runner->running() == 3);
  f.runner.reset();
  for (const auto& p : pidfiles) {
    const pid_t grandchild = pid_from(p);
    REQUIRE(wait_until([&] { return !alive(grandchild); }, 10s));
  }
  run_loop_until(
      f.loop, [] { return false; }, 100ms);  // reaps the children
  REQUIRE_FALSE(called);
}

TEST_CASE("split_command_line splits words with shell quoting but expands nothing",
          "[agent][process_runner]") {
  using V = std::vector<std::string>;
  const std::vector<std::pair<std::string, V>> cases = {
      {"check_tcp -H 127.0.0.1 -p 80", {"check_tcp", "-H", "127.0.0.1", "-p", "80"}},
      {"  a\t b  ", {"a", "b"}},
      {"a 'b c' \"d e\"", {"a", "b c", "d e"}},
      {"'it'\\''s' x'y'\"z\"", {"it's", "xyz"}},
      {"'' \"\"", {"", ""}},
      {"a\\ b \\'c", {"a b", "'c"}},
      {R"("say \"hi\" \$HOME \n \\")", {R"(say "hi" $HOME \n \)"}},
      {"'single \\ keeps \" all'", {"single \\ keeps \" all"}},
      {"$(touch /tmp/x) $HOME * ~ a;b `id`",
       {"$(touch", "/tmp/x)", "$HOME", "*", "~", "a;b", "`id`"}},
      {"", {}},
      {"   ", {}},
  };
  for (const auto& [line, words] : cases) {
    INFO(line);
    auto got = split_command_line(line);
    REQUIRE(got.is_ok());
    REQUIRE(*got == words);
  }
}

TEST_CASE("split_command_line refuses unterminated quotes and a trailing backslash",
          "[agent][process_runner]") {
  auto single = split_command_line("check 'abc");
  REQUIRE_FALSE(single.is_ok());
  REQUIRE(single.status().message() == "unterminated single quote at column 7");
  auto dbl = split_command_line("check \"abc \\\"");
  REQUIRE_FALSE(dbl.is_ok());
  REQUIRE(dbl.status().message() == "unterminated double quote at column 7");
  auto backslash = split_command_line("check abc\\");
  REQUIRE_FALSE(backslash.is_ok());
  REQUIRE(backslash.status().message() == "ends with a lone backslash");
}

TEST_CASE("a child started beside libuv's own children keeps its exit status",
          "[agent][process_runner]") {
  Fixture f;
  // A uv_spawn child makes libuv install its SIGCHLD handler on this loop; that handler
  // must reap only its own children, never one the runner watches through a pidfd.
  struct UvChild {
    uv_process_t handle{};
    bool closed = false;
  } uv_child;
  uv_child.handle.data = &uv_child;
  // It outlives the runner's child, so libuv's handler runs on that child's SIGCHLD while
  // it still waits for one of its own.
  char program[] = "/bin/sleep";
  char duration[] = "0.5";
  char* args[] = {program, duration, nullptr};
  uv_process_options_t options{};
  options.file = program;
  options.args = args;
  options.exit_cb = [](uv_process_t* p, int64_t, int) {
    uv_close(reinterpret_cast<uv_handle_t*>(p),
             [](uv_handle_t* h) { static_cast<UvChild*>(h->data)->closed = true; });
  };
  REQUIRE(uv_spawn(f.loop.raw(), &uv_child.handle, &options) == 0);

  auto o = f.run(sh("sleep 0.2; exit 7"));
  REQUIRE(o.exit_code == 7);
  REQUIRE(o.term_signal == 0);
  REQUIRE(run_loop_until(
      f.loop, [&] { return uv_child.closed; }, 10s));
}

TEST_CASE("a run as the agent's own user and group starts through uv_spawn and reports alike",
          "[agent][process_runner]") {
  Fixture f;
  TempDir dir;
  auto spec = sh("pwd; echo err >&2; exit 4");
  spec.uid = ::getuid();
  spec.gid = ::getgid();
  spec.cwd = dir.path().string();
  auto o = f.run(spec);
  REQUIRE(o.spawn_error.empty());
  REQUIRE(o.exit_code == 4);
  REQUIRE(o.out == std::filesystem::canonical(dir.path()).string() + "\n");
  REQUIRE(o.err == "err\n");

  spec = sh("kill -KILL $$");
  spec.uid = ::getuid();
  auto killed = f.run(spec);
  REQUIRE(killed.term_signal == SIGKILL);
  REQUIRE_FALSE(killed.exit_code.has_value());

  spec.argv = {"/nonexistent/reflex-plugin"};
  REQUIRE(f.run(spec).spawn_error == "no such file: /nonexistent/reflex-plugin");
}

TEST_CASE("a script without a #! line runs through /bin/sh, as execvp would run it",
          "[agent][process_runner]") {
  Fixture f;
  TempDir dir;
  const std::string script = dir.write("plugin", "echo \"plain script got $1\"\nexit 2\n");
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  ProcessSpec spec;
  spec.argv = {script, "arg"};
  auto o = f.run(spec);
  REQUIRE(o.exit_code == 2);
  REQUIRE(o.out == "plain script got arg\n");
}

TEST_CASE("finished, refused, timed-out and cancelled runs leave no descriptor open",
          "[agent][process_runner]") {
  auto open_descriptors = [] {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
  };
  Fixture f(ProcessRunnerLimits{16, 256, Millis(100)});
  f.run(sh("true"));  // libuv's own descriptors for children, opened once
  const size_t before = open_descriptors();

  f.run(sh("echo out; echo err >&2"));
  ProcessSpec missing;
  missing.argv = {"/nonexistent/reflex-plugin"};
  f.run(missing);
  f.run(sh("trap '' TERM; sleep 60", Millis(100)));
  const auto id = f.runner->run(sh("sleep 60"), [](ProcessOutcome) {});
  f.runner->cancel(id);
  run_loop_until(
      f.loop, [&] { return open_descriptors() == before; }, 10s);
  REQUIRE(open_descriptors() == before);
}
