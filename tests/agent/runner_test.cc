// CheckRunner under simulated time: when checks run, what it does with runs that overlap
// or finish after it is gone, and how results become recordings and status.
#include "agent/checks/runner.h"

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <set>
#include <vector>

#include "tests/agent/recorder_spy.h"

using namespace reflex;
using namespace reflex::agent;
using reflex::agent::testing::RecorderSpy;

namespace {

// What a FakeCheck leaves behind, owned by the test so it outlives the check.
struct FakeLog {
  std::vector<int64_t> started_ms;                     // monotonic time of each run()
  std::vector<std::function<void(CheckResult)>> done;  // the callbacks not yet called
  std::function<void()> wake;                          // what the runner handed the check
};

// A periodic check whose runs finish only when the test says so.
class FakeCheck final : public PeriodicCheck {
 public:
  FakeCheck(CheckSpec spec, const Clock& clock, std::shared_ptr<FakeLog> log)
      : spec_(std::move(spec)), clock_(clock), log_(std::move(log)) {}
  const CheckSpec& spec() const override { return spec_; }
  void run(std::function<void(CheckResult)> done) override {
    log_->started_ms.push_back(clock_.monotonic_ms());
    log_->done.push_back(std::move(done));
  }
  void set_wake(std::function<void()> wake) override { log_->wake = std::move(wake); }

 private:
  CheckSpec spec_;
  const Clock& clock_;
  std::shared_ptr<FakeLog> log_;
};

CheckSpec spec_of(const std::string& name, int64_t interval_ms, Labels labels = {}) {
  CheckSpec s;
  s.name = name;
  s.type = "fake";
  s.interval = Millis(interval_ms);
  s.timeout = Millis(interval_ms);
  s.labels = std::move(labels);
  return s;
}

// Finishes the oldest unfinished run of `log` with `result`.
void finish(FakeLog& log, CheckResult result) {
  REQUIRE_FALSE(log.done.empty());
  auto done = std::move(log.done.front());
  log.done.erase(log.done.begin());
  done(std::move(result));
}

CheckResult ok(double latency_ms = 5) {
  CheckResult r;
  r.state = CheckState::kOk;
  r.message = "fine";
  r.latency_ms = latency_ms;
  return r;
}

CheckResult critical() {
  CheckResult r;
  r.state = CheckState::kCritical;
  r.message = "down";
  return r;
}

}  // namespace

TEST_CASE("the runner runs a check on its interval", "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  auto log = std::make_shared<FakeLog>();
  runner.add(std::make_unique<FakeCheck>(spec_of("web", 1000), time, log));

  time.advance(Millis(0));
  REQUIRE(log->started_ms.size() == 1);
  finish(*log, ok());
  time.advance(Millis(999));
  CHECK(log->started_ms.size() == 1);
  time.advance(Millis(1));
  REQUIRE(log->started_ms.size() == 2);
  finish(*log, ok());
  for (int i = 0; i < 3; ++i) {
    time.advance(Millis(1000));
    finish(*log, ok());
  }
  CHECK(log->started_ms == std::vector<int64_t>{0, 1000, 2000, 3000, 4000});
}

TEST_CASE("checks added together start at different times within one interval", "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  std::vector<std::shared_ptr<FakeLog>> logs;
  for (int i = 0; i < 5; ++i) {
    logs.push_back(std::make_shared<FakeLog>());
    runner.add(
        std::make_unique<FakeCheck>(spec_of("c" + std::to_string(i), 1000), time, logs.back()));
  }
  time.advance(Millis(999));
  std::set<int64_t> firsts;
  for (const auto& log : logs) {
    REQUIRE(log->started_ms.size() == 1);  // every check ran once within its interval
    firsts.insert(log->started_ms[0]);
  }
  CHECK(firsts.size() == logs.size());
}

TEST_CASE("a run still in flight when the next is due is skipped and counted", "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  auto log = std::make_shared<FakeLog>();
  runner.add(std::make_unique<FakeCheck>(spec_of("slow", 100), time, log));

  time.advance(Millis(350));  // due at 0, 100, 200, 300: the first never finished
  CHECK(log->started_ms.size() == 1);
  auto status = runner.status();
  REQUIRE(status.size() == 1);
  CHECK(status[0].bad_input.at("overlapping_run_skipped") == 3);
  CHECK(status[0].runs == 0);

  finish(*log, ok());
  time.advance(Millis(50));  // due at 400: runs again
  CHECK(log->started_ms.size() == 2);
  finish(*log, ok());
  status = runner.status();
  CHECK(status[0].runs == 2);
  CHECK(status[0].bad_input.at("overlapping_run_skipped") == 3);
}

TEST_CASE("a result becomes an event, the state and a gauge per perf value", "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  auto log = std::make_shared<FakeLog>();
  runner.add(std::make_unique<FakeCheck>(
      spec_of("disk", 1000, {{"service", "db"}, {"mount", "default"}}), time, log));
  time.advance(Millis(0));

  CheckResult r;
  r.state = CheckState::kWarning;
  r.message = "DISK WARNING - 81% used";
  r.latency_ms = 12.5;
  r.perf.push_back({"used", 81, "%", {{"mount", "/var"}}});
  r.perf.push_back({"free", 2048, "B", {}});
  finish(*log, r);

  REQUIRE(recorder.events.size() == 1);
  CHECK(recorder.events[0].series == "disk");
  CHECK(recorder.events[0].labels == Labels{{"service", "db"}, {"mount", "default"}});
  CHECK(recorder.events[0].error);  // anything but OK is a failed event
  CHECK(recorder.events[0].latency_ms == 12.5);
  REQUIRE(recorder.states.size() == 1);
  CHECK(recorder.states[0].series == "disk");
  CHECK(recorder.states[0].state == CheckState::kWarning);
  CHECK(recorder.states[0].message == "DISK WARNING - 81% used");
  REQUIRE(recorder.gauges.size() == 2);
  CHECK(recorder.gauges[0].series == "disk.used");
  CHECK(recorder.gauges[0].value == 81);
  CHECK(recorder.gauges[0].unit == "%");
  // The perf value's labels are merged over the check's.
  CHECK(recorder.gauges[0].labels == Labels{{"service", "db"}, {"mount", "/var"}});
  CHECK(recorder.gauges[1].series == "disk.free");
  CHECK(recorder.gauges[1].labels == Labels{{"service", "db"}, {"mount", "default"}});

  // An OK run is a successful event.
  time.advance(Millis(1000));
  finish(*log, ok());
  REQUIRE(recorder.events.size() == 2);
  CHECK_FALSE(recorder.events[1].error);
  CHECK(recorder.states[1].state == CheckState::kOk);
}

TEST_CASE("the status sums failures, timeouts and bad input over runs", "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  auto log = std::make_shared<FakeLog>();
  runner.add(std::make_unique<FakeCheck>(spec_of("plugin", 1000), time, log));

  time.advance(Millis(0));
  CheckResult timed_out;
  timed_out.state = CheckState::kUnknown;
  timed_out.message = "timed out after 1000ms";
  timed_out.timed_out = true;
  timed_out.bad_input = {{"bad_perfdata", 2}};
  finish(*log, timed_out);

  time.advance(Millis(1000));
  CheckResult garbage;
  garbage.state = CheckState::kCritical;
  garbage.message = "garbage";
  garbage.latency_ms = 3;
  garbage.bad_input = {{"bad_perfdata", 1}, {"no_output", 1}};
  finish(*log, garbage);

  const auto status = runner.status();
  REQUIRE(status.size() == 1);
  const CheckStatus& s = status[0];
  CHECK(s.name == "plugin");
  CHECK(s.type == "fake");
  CHECK(s.runs == 2);
  CHECK(s.failures == 2);
  CHECK(s.timeouts == 1);
  CHECK(s.bad_input.at("bad_perfdata") == 3);
  CHECK(s.bad_input.at("no_output") == 1);
  CHECK(s.last_state == CheckState::kCritical);
  CHECK(s.last_message == "garbage");
  CHECK(s.last_latency_ms == 3);
  CHECK(s.last_run_ms == time.now_ms());

  time.advance(Millis(1000));
  finish(*log, ok());
  const auto after = runner.status();
  CHECK(after[0].failures == 2);
  CHECK(after[0].last_state == CheckState::kOk);
}

TEST_CASE("status lists the checks in the order they were added", "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  for (const char* name : {"zeta", "alpha", "mid"}) {
    runner.add(std::make_unique<FakeCheck>(spec_of(name, 1000), time, std::make_shared<FakeLog>()));
  }
  const auto status = runner.status();
  REQUIRE(status.size() == 3);
  CHECK(status[0].name == "zeta");
  CHECK(status[1].name == "alpha");
  CHECK(status[2].name == "mid");
  CHECK(status[0].runs == 0);
  CHECK(status[0].last_run_ms == 0);
}

TEST_CASE("a run finishing after the runner is gone reports to nobody", "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  auto log = std::make_shared<FakeLog>();
  {
    CheckRunner runner(time, time, recorder);
    runner.add(std::make_unique<FakeCheck>(spec_of("web", 1000), time, log));
    time.advance(Millis(0));
    REQUIRE(log->done.size() == 1);
  }
  CHECK(time.pending() == 0);  // its timers are cancelled
  finish(*log, ok());          // the check's callback arrives late: no crash, no record
  CHECK(recorder.events.empty());
  CHECK(recorder.states.empty());
  time.advance(Millis(5000));
  CHECK(log->started_ms.size() == 1);
}

TEST_CASE("a woken check runs on the next loop turn and keeps its interval", "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  auto log = std::make_shared<FakeLog>();
  runner.add(std::make_unique<FakeCheck>(spec_of("proc", 1000), time, log));
  REQUIRE(log->wake);

  time.advance(Millis(0));
  finish(*log, ok());
  time.advance(Millis(300));
  log->wake();
  CHECK(log->started_ms.size() == 1);  // never from inside the wake
  time.advance(Millis(0));
  REQUIRE(log->started_ms.size() == 2);
  finish(*log, critical());
  CHECK(recorder.states.back().state == CheckState::kCritical);
  time.advance(Millis(700));
  finish(*log, ok());
  time.advance(Millis(1000));
  finish(*log, ok());
  CHECK(log->started_ms == std::vector<int64_t>{0, 300, 1000, 2000});
}

TEST_CASE("a wake during a run in flight reruns the check once, right after it ends",
          "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  auto log = std::make_shared<FakeLog>();
  runner.add(std::make_unique<FakeCheck>(spec_of("proc", 1000), time, log));

  time.advance(Millis(0));
  REQUIRE(log->done.size() == 1);
  for (int i = 0; i < 3; ++i) log->wake();
  time.advance(Millis(50));
  CHECK(log->started_ms.size() == 1);  // still in flight: no second run beside it
  finish(*log, ok());
  time.advance(Millis(0));
  REQUIRE(log->started_ms.size() == 2);
  finish(*log, ok());
  time.advance(Millis(900));  // just before the next periodic run
  CHECK(log->started_ms == std::vector<int64_t>{0, 50});
  CHECK(runner.status()[0].bad_input.count("overlapping_run_skipped") == 0);
}

TEST_CASE("wakes before the woken run starts coalesce into one run", "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  auto log = std::make_shared<FakeLog>();
  runner.add(std::make_unique<FakeCheck>(spec_of("proc", 1000), time, log));
  time.advance(Millis(0));
  finish(*log, ok());

  time.advance(Millis(200));
  log->wake();
  log->wake();
  CHECK(runner.wake("proc"));
  time.advance(Millis(0));
  REQUIRE(log->started_ms.size() == 2);
  finish(*log, ok());
  time.advance(Millis(500));
  CHECK(log->started_ms == std::vector<int64_t>{0, 200});
}

TEST_CASE("woken runs start at once up to a burst, then one per refill", "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  auto log = std::make_shared<FakeLog>();
  runner.add(std::make_unique<FakeCheck>(spec_of("proc", 1000), time, log));
  time.advance(Millis(0));
  finish(*log, ok());

  // A burst of deaths right after a periodic run: none is delayed by it or by the others.
  for (int i = 0; i < CheckRunner::kWakeBurst; ++i) {
    log->wake();
    time.advance(Millis(0));
    finish(*log, ok());
  }
  CHECK(log->started_ms == std::vector<int64_t>{0, 0, 0, 0, 0, 0});
  // The bucket is empty: the next wake waits for one refill, and the one after for another.
  log->wake();
  time.advance(Millis(99));
  CHECK(log->started_ms.size() == 6);
  time.advance(Millis(1));
  REQUIRE(log->started_ms.size() == 7);
  finish(*log, ok());
  log->wake();
  time.advance(Millis(100));
  REQUIRE(log->started_ms.size() == 8);
  finish(*log, ok());
  CHECK(log->started_ms.back() == 200);
  // After a quiet spell the bucket is full again: an isolated death runs at once.
  time.advance(Millis(600));
  log->wake();
  time.advance(Millis(0));
  CHECK(log->started_ms.back() == 800);
}

TEST_CASE("a periodic run that starts while a woken run waits answers the wake too",
          "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  auto log = std::make_shared<FakeLog>();
  runner.add(std::make_unique<FakeCheck>(spec_of("proc", 1000), time, log));
  time.advance(Millis(0));
  finish(*log, ok());

  time.advance(Millis(950));
  for (int i = 0; i < CheckRunner::kWakeBurst; ++i) {  // the bucket emptied at 950
    log->wake();
    time.advance(Millis(0));
    finish(*log, ok());
  }
  time.advance(Millis(10));
  log->wake();  // due at 1050, when a token has come back
  time.advance(Millis(40));
  REQUIRE(log->started_ms.size() == 7);  // the periodic run at 1000
  finish(*log, ok());
  time.advance(Millis(500));
  CHECK(log->started_ms == std::vector<int64_t>{0, 950, 950, 950, 950, 950, 1000});
}

TEST_CASE("waking a check by name finds it, and an unknown name is refused", "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  auto log = std::make_shared<FakeLog>();
  runner.add(std::make_unique<FakeCheck>(spec_of("proc", 1000), time, log));
  time.advance(Millis(0));
  finish(*log, ok());

  CHECK_FALSE(runner.wake("nginx"));
  time.advance(Millis(10));
  CHECK(log->started_ms.size() == 1);
  CHECK(runner.wake("proc"));
  time.advance(Millis(0));
  CHECK(log->started_ms.size() == 2);
}

TEST_CASE("the state-change hook fires on the first result and on each change, not on repeats",
          "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  CheckRunner runner(time, time, recorder);
  std::vector<std::pair<std::string, CheckState>> changes;
  std::vector<size_t> recorded_before;  // states recorded when the hook ran
  runner.set_on_state_change([&](const CheckSpec& spec, CheckState state) {
    changes.emplace_back(spec.name, state);
    recorded_before.push_back(recorder.states.size());
  });
  auto log = std::make_shared<FakeLog>();
  runner.add(std::make_unique<FakeCheck>(spec_of("proc", 1000), time, log));

  time.advance(Millis(0));
  const CheckResult results[] = {ok(), ok(), critical(), critical(), ok(), ok()};
  for (const auto& r : results) {
    finish(*log, r);
    time.advance(Millis(1000));
  }
  using P = std::pair<std::string, CheckState>;
  CHECK(changes == std::vector<P>{{"proc", CheckState::kOk},
                                  {"proc", CheckState::kCritical},
                                  {"proc", CheckState::kOk}});
  CHECK(recorded_before == std::vector<size_t>{1, 3, 5});  // after the result is recorded
}

TEST_CASE("a wake after the runner is gone does nothing", "[agent][runner]") {
  SimulatedTime time;
  RecorderSpy recorder;
  auto log = std::make_shared<FakeLog>();
  std::function<void()> wake;
  {
    CheckRunner runner(time, time, recorder);
    runner.add(std::make_unique<FakeCheck>(spec_of("proc", 1000), time, log));
    wake = log->wake;  // a copy outliving the runner and its check
    time.advance(Millis(0));
    finish(*log, ok());
    wake();  // a woken run is due, then the runner goes
  }
  CHECK(time.pending() == 0);
  wake();
  time.advance(Millis(5000));
  CHECK(log->started_ms.size() == 1);
}
