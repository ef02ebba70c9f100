#include "bench/heal_latency_trials.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace reflex::bench::heal {
namespace {

using Clock = std::chrono::steady_clock;
// How often a stamp file, and a supervisor's view, is looked at. Latencies come from the
// stamps' own clock readings, so this only sets how long a trial takes, not what it
// measures; the supervisors are asked less often, to leave them (and the CPUs) alone.
constexpr auto kPoll = std::chrono::milliseconds(5);
constexpr auto kAsk = std::chrono::milliseconds(25);

// Waits until `done()` or the limit, looking every `every`; an error saying what was
// awaited otherwise.
template <class Done>
Status await(const TrialLimits& limits, const std::string& what, Done done,
             std::chrono::milliseconds every = kPoll) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(limits.wait_ms);
  for (;;) {
    if (done()) return Status::ok();
    if (limits.interrupted && limits.interrupted->load()) {
      return Status::error("interrupted", "interrupted while waiting for " + what);
    }
    if (Clock::now() > deadline) {
      return Status::error("timeout",
                           "waited " + std::to_string(limits.wait_ms / 1000) + " s for " + what);
    }
    std::this_thread::sleep_for(every);
  }
}

// Sleeps a random time in [0, limits.pause_ms), in steps that notice an interruption.
Status random_pause(const TrialLimits& limits) {
  if (limits.pause_ms <= 0 || !limits.random) return Status::ok();
  std::uniform_int_distribution<int> pick(0, limits.pause_ms - 1);
  const auto until = Clock::now() + std::chrono::milliseconds(pick(*limits.random));
  while (Clock::now() < until) {
    if (limits.interrupted && limits.interrupted->load()) {
      return Status::error("interrupted", "interrupted before a trial");
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), kPoll));
  }
  return Status::ok();
}

// The newest stamp (the latest restart), or 0 before any.
int64_t last_stamp(const StampFile& f) {
  const size_t n = f.count();
  return n == 0 ? 0 : f.at(n - 1).value_or(0);
}

Status with_seen(const Subject& s, Status st) {
  if (st.code() != "timeout") return st;
  return Status::error("timeout",
                       s.key + ": " + st.message() + "; it last saw: " + s.observer->last_seen());
}

}  // namespace

Status await_service(Subject& s, const TrialLimits& limits) {
  const StampFile stamps(s.supervised.service_stamps);
  auto watched = [&] {
    const pid_t pid = read_pid(s.supervised.pidfile);
    return pid > 0 && s.observer->service_watched(pid, last_stamp(stamps));
  };
  return with_seen(s, await(limits, s.key + " to watch its restarted service", watched, kAsk));
}

Status process_trial(Subject& s, const TrialLimits& limits) {
  REFLEX_RETURN_IF_ERROR(await_service(s, limits));
  REFLEX_RETURN_IF_ERROR(random_pause(limits));
  const StampFile stamps(s.supervised.service_stamps);
  const size_t before = stamps.count();
  const pid_t pid = read_pid(s.supervised.pidfile);

  const int64_t kill_ns = realtime_ns();
  REFLEX_RETURN_IF_ERROR(kill_service(pid, limits.wait_ms));
  std::optional<int64_t> stamp;
  auto stamped = [&] {
    stamp = stamps.at(before);
    return stamp.has_value();
  };
  REFLEX_RETURN_IF_ERROR(with_seen(s, await(limits, s.key + " to restart its service", stamped)));
  s.process_ms.push_back(static_cast<double>(*stamp - kill_ns) / 1e6);
  if (s.status_port > 0) {
    if (auto phases = reflex_phases(s.status_port, kill_ns, *stamp)) s.phases.push_back(*phases);
  }
  return Status::ok();
}

Status await_http(std::vector<Subject*>& subjects, int64_t since_ns, const TrialLimits& limits) {
  for (Subject* s : subjects) {
    auto healthy = [&] { return s->observer->http_healthy(since_ns); };
    REFLEX_RETURN_IF_ERROR(
        with_seen(*s, await(limits, s->key + " to see the HTTP target healthy", healthy, kAsk)));
  }
  return Status::ok();
}

Result<int64_t> http_trial(std::vector<Subject*>& subjects, FlipServer& server,
                           const TrialLimits& limits) {
  REFLEX_RETURN_IF_ERROR(random_pause(limits));
  std::vector<size_t> before;
  for (Subject* s : subjects) before.push_back(StampFile(s->supervised.http_stamps).count());

  const int64_t flip_ns = realtime_ns();
  server.set_failing(true);
  Status waited = Status::ok();
  for (size_t i = 0; i < subjects.size() && waited.is_ok(); ++i) {
    Subject& s = *subjects[i];
    const StampFile stamps(s.supervised.http_stamps);
    std::optional<int64_t> stamp;
    auto stamped = [&] {
      stamp = stamps.at(before[i]);
      return stamp.has_value();
    };
    waited = with_seen(s, await(limits, s.key + " to act on the failing HTTP target", stamped));
    if (waited.is_ok()) s.http_ms.push_back(static_cast<double>(*stamp - flip_ns) / 1e6);
  }
  server.set_failing(false);
  const int64_t healthy_ns = realtime_ns();
  if (!waited.is_ok()) return waited;
  return healthy_ns;
}

Result<double> spawn_floor_trial(const std::string& stamp_program, const std::string& stamps) {
  const StampFile file(stamps);
  const size_t before = file.count();
  std::string program = stamp_program, path = stamps;
  char* argv[] = {program.data(), path.data(), nullptr};
  const int64_t start_ns = realtime_ns();
  const pid_t pid = ::fork();
  if (pid < 0) return Status::error("io", "fork failed");
  if (pid == 0) {
    ::execv(argv[0], argv);
    ::_exit(127);
  }
  int raw = 0;
  ::waitpid(pid, &raw, 0);
  const auto stamp = file.at(before);
  if (!WIFEXITED(raw) || WEXITSTATUS(raw) != 0 || !stamp) {
    return Status::error("spawn", stamp_program + " " + stamps + " failed");
  }
  return static_cast<double>(*stamp - start_ns) / 1e6;
}

}  // namespace reflex::bench::heal
