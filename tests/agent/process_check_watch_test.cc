// The process check with real processes under a real loop and runner: a watched
// process's death is recorded at once, long before the check's 60 s interval, and the
// watches come and go with the processes and the check.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "agent/checks/process_check.h"
#include "agent/checks/runner.h"
#include "tests/agent/recorder_spy.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/process.h"

using namespace std::chrono_literals;
using namespace reflex;
using namespace reflex::agent;
using reflex::agent::testing::RecorderSpy;
using reflex::testing::Child;
using reflex::testing::run_loop_until;
using reflex::testing::TempDir;

namespace {

// A check on a 60 s interval in a runner on a real loop, with the state changes the
// runner reported.
struct Watched {
  TempDir dir;
  EventLoop loop;
  UvTimers timers{loop};
  SystemClock clock;
  ProcessRunner processes{loop, timers, clock};
  RecorderSpy recorder;
  CheckRunner runner{clock, timers, recorder};
  std::vector<CheckState> changes;
  ProcessCheck* check = nullptr;  // owned by the runner

  Watched() {
    runner.set_on_state_change([this](const CheckSpec&, CheckState s) { changes.push_back(s); });
  }

  void add(ProcessCheckConfig cfg) {
    CheckSpec spec;
    spec.name = "proc";
    spec.type = "process";
    spec.interval = Millis(60'000);
    auto made = make_process_check(spec, std::move(cfg), processes, loop);
    check = made.get();
    runner.add(std::move(made));
  }

  // Runs the loop until the runner has reported `n` state changes. The first run is due
  // at once and the next only after 60 s, so within 5 s only a woken run can report.
  bool await_changes(size_t n) {
    return run_loop_until(
        loop, [&] { return changes.size() >= n; }, 5s);
  }

  // A copy of sleep under a name no other process on this machine has.
  std::string unique_sleep(const std::string& prefix) const {
    const std::string path = dir.file(prefix + std::to_string(::getpid()));
    std::filesystem::copy_file("/bin/sleep", path);
    ::chmod(path.c_str(), 0755);
    return path;
  }

  std::string log() const { return dir.file("children.log"); }
};

size_t open_fds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace

TEST_CASE("a pidfile check records its process's death at once, not at its next interval",
          "[agent][process][process_check]") {
  Watched w;
  Child service({"/bin/sleep", "300"}, w.log());
  ProcessCheckConfig cfg;
  cfg.pidfile = w.dir.write("service.pid", std::to_string(service.pid()) + "\n");
  w.add(cfg);

  REQUIRE(w.await_changes(1));
  CHECK(w.changes[0] == CheckState::kOk);
  CHECK(w.check->watched() == 1);

  service.signal(SIGKILL);
  REQUIRE(w.await_changes(2));
  CHECK(w.changes[1] == CheckState::kCritical);
  REQUIRE(w.recorder.states.size() == 2);
  CHECK(w.recorder.states[1].state == CheckState::kCritical);
  CHECK(w.check->watched() == 0);
  CHECK(w.runner.status()[0].runs == 2);
}

TEST_CASE("a name check wakes when one of its processes dies and keeps watching the others",
          "[agent][process][process_check]") {
  Watched w;
  const std::string bin = w.unique_sleep("rxdie");
  Child a({bin, "300"}, w.log());
  Child b({bin, "300"}, w.log());
  REQUIRE(a.wait_started());
  REQUIRE(b.wait_started());
  ProcessCheckConfig cfg;
  cfg.name = std::filesystem::path(bin).filename();
  cfg.min = 2;
  w.add(cfg);

  REQUIRE(w.await_changes(1));
  CHECK(w.changes[0] == CheckState::kOk);
  CHECK(w.check->watched() == 2);

  a.signal(SIGKILL);
  REQUIRE(w.await_changes(2));
  CHECK(w.changes[1] == CheckState::kCritical);
  CHECK(w.recorder.states.back().message.find("1 process matches") == 0);
  CHECK(w.check->watched() == 1);  // the survivor, re-resolved by the woken run
}

TEST_CASE("a process restarted under a new pid is watched again from the next run",
          "[agent][process][process_check]") {
  Watched w;
  const std::string bin = w.unique_sleep("rxre");
  ProcessCheckConfig cfg;
  cfg.name = std::filesystem::path(bin).filename();
  auto first = std::make_unique<Child>(std::vector<std::string>{bin, "300"}, w.log());
  REQUIRE(first->wait_started());
  w.add(cfg);
  REQUIRE(w.await_changes(1));

  first->signal(SIGKILL);
  REQUIRE(w.await_changes(2));
  CHECK(w.changes[1] == CheckState::kCritical);
  first.reset();  // reaped

  Child second({bin, "300"}, w.log());
  REQUIRE(second.wait_started());
  REQUIRE(w.runner.wake("proc"));  // as after a restart action; the interval is 60 s away
  REQUIRE(w.await_changes(3));
  CHECK(w.changes[2] == CheckState::kOk);
  CHECK(w.check->watched() == 1);

  second.signal(SIGKILL);
  REQUIRE(w.await_changes(4));
  CHECK(w.changes[3] == CheckState::kCritical);
}

TEST_CASE("a process check's pidfds are all closed when the check is destroyed",
          "[agent][process][process_check]") {
  TempDir dir;
  const std::string bin = dir.file("rxfd" + std::to_string(::getpid()));
  std::filesystem::copy_file("/bin/sleep", bin);
  ::chmod(bin.c_str(), 0755);
  Child a({bin, "300"}, dir.file("log"));
  Child b({bin, "300"}, dir.file("log"));
  REQUIRE(a.wait_started());
  REQUIRE(b.wait_started());
  EventLoop loop;
  UvTimers timers(loop);
  SystemClock clock;
  ProcessRunner processes(loop, timers, clock);
  RecorderSpy recorder;
  const size_t before = open_fds();
  {
    CheckRunner runner(clock, timers, recorder);
    CheckSpec spec;
    spec.name = "proc";
    spec.type = "process";
    spec.interval = Millis(60'000);
    ProcessCheckConfig cfg;
    cfg.name = std::filesystem::path(bin).filename();
    auto check = make_process_check(spec, cfg, processes, loop);
    ProcessCheck* raw = check.get();
    runner.add(std::move(check));
    REQUIRE(run_loop_until(
        loop, [&] { return recorder.states.size() == 1; }, 5s));
    REQUIRE(raw->watched() == 2);
    CHECK(open_fds() == before + 2);
  }
  CHECK(open_fds() == before);
  REQUIRE(run_loop_until(
      loop, [] { return true; }, 1s));  // lets the handles go
}

TEST_CASE("a check on a fake proc tree watches nothing", "[agent][process][process_check]") {
  Watched w;
  TempDir root;
  const int pid = static_cast<int>(::getpid());  // a real pid, so a pidfd would open
  std::filesystem::create_directories(root.path() / std::to_string(pid));
  root.write(std::to_string(pid) + "/stat", std::to_string(pid) + " (x) S 1");
  ProcessCheckConfig cfg;
  cfg.pidfile = w.dir.write("x.pid", std::to_string(pid));
  cfg.proc_root = root.path().string();
  w.add(cfg);
  REQUIRE(w.await_changes(1));
  CHECK(w.changes[0] == CheckState::kOk);
  CHECK(w.check->watched() == 0);
}
