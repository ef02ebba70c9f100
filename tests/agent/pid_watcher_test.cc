// PidWatcher with real child processes: exits arrive as events, once, and the set of
// watches follows what watch() is given.
#include "agent/checks/pid_watcher.h"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "tests/support/loop_helpers.h"
#include "tests/support/process.h"

using namespace std::chrono_literals;
using reflex::EventLoop;
using reflex::agent::PidWatcher;
using reflex::testing::Child;
using reflex::testing::run_loop_until;
using reflex::testing::TempDir;

TEST_CASE("a watched process's exit is reported once, and it is no longer watched",
          "[agent][process][pid_watcher]") {
  TempDir dir;
  EventLoop loop;
  Child a({"/bin/sleep", "300"}, dir.file("log"));
  Child b({"/bin/sleep", "300"}, dir.file("log"));
  std::vector<pid_t> exited;
  PidWatcher watcher(loop, [&](pid_t pid) { exited.push_back(pid); });
  CHECK(watcher.watch({a.pid(), b.pid()}) == 0);
  CHECK(watcher.watched() == 2);

  b.signal(SIGKILL);
  REQUIRE(run_loop_until(
      loop, [&] { return !exited.empty(); }, 5s));
  CHECK(exited == std::vector<pid_t>{b.pid()});
  CHECK(watcher.watched() == 1);
  b.wait();
  a.signal(SIGTERM);
  REQUIRE(run_loop_until(
      loop, [&] { return exited.size() == 2; }, 5s));
  CHECK(exited[1] == a.pid());
  CHECK(watcher.watched() == 0);
}

TEST_CASE("watch keeps the listed pids, drops the others and counts those already gone",
          "[agent][process][pid_watcher]") {
  TempDir dir;
  EventLoop loop;
  Child a({"/bin/sleep", "300"}, dir.file("log"));
  Child b({"/bin/sleep", "300"}, dir.file("log"));
  Child gone({"/bin/true"}, dir.file("log"));
  gone.wait();  // reaped: no process has this pid now
  size_t exits = 0;
  PidWatcher watcher(loop, [&](pid_t) { ++exits; });
  CHECK(watcher.watch({a.pid(), b.pid()}) == 0);
  CHECK(watcher.watch({b.pid(), gone.pid()}) == 1);
  CHECK(watcher.watched() == 1);

  a.signal(SIGKILL);  // no longer watched: no report
  b.signal(SIGKILL);
  REQUIRE(run_loop_until(
      loop, [&] { return exits == 1; }, 5s));
  a.wait();
  CHECK(run_loop_until(
      loop, [] { return true; }, 1s));
  CHECK(exits == 1);
}

TEST_CASE("at most 16 processes are watched", "[agent][process][pid_watcher]") {
  TempDir dir;
  EventLoop loop;
  std::vector<std::unique_ptr<Child>> children;
  std::vector<pid_t> pids;
  for (size_t i = 0; i < PidWatcher::kMaxWatched + 2; ++i) {
    children.push_back(
        std::make_unique<Child>(std::vector<std::string>{"/bin/sleep", "300"}, dir.file("log")));
    pids.push_back(children.back()->pid());
  }
  PidWatcher watcher(loop, [](pid_t) {});
  watcher.watch(pids);
  CHECK(watcher.watched() == PidWatcher::kMaxWatched);
}
