// The trials of the heal latency benchmark. A process trial kills a supervisor's service
// and times the kill to the restart command's stamp; an HTTP trial turns the HTTP target
// to 500 for every supervisor at once and times the flip to each one's action stamp.
// Before each trial every supervisor must be watching a healthy target again (observers.h),
// so no trial begins while a remediation is still in flight. Every wait is bounded.
#pragma once

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/heal_latency_config.h"
#include "bench/heal_latency_observers.h"
#include "bench/heal_latency_targets.h"
#include "common/status.h"

namespace reflex::bench::heal {

// One supervisor under measurement, and what its trials measured (milliseconds).
struct Subject {
  std::string key;  // "reflex", "monit"
  Supervised supervised;
  std::unique_ptr<Observer> observer;
  int status_port = 0;  // reflex-agent's, for its phases; 0 for Monit
  std::vector<double> process_ms;
  std::vector<double> http_ms;
  std::vector<Phases> phases;  // Reflex's, where its /status still showed the episode
};

struct TrialLimits {
  int wait_ms = 30'000;  // for any one condition
  const std::atomic<bool>* interrupted = nullptr;
  // Before each break the trial pauses a random 0 to pause_ms after the supervisors
  // settled, so that the break lands anywhere in their polling cycles (as a real failure
  // would), not just after a poll.
  int pause_ms = 1000;
  std::mt19937_64* random = nullptr;
};

// Waits until the subject watches its (re)started service; fails naming what it last saw.
Status await_service(Subject& s, const TrialLimits& limits);
// One process trial; appends to s.process_ms (and s.phases).
Status process_trial(Subject& s, const TrialLimits& limits);

// Waits until every subject sees the HTTP target healthy after `since_ns`.
Status await_http(std::vector<Subject*>& subjects, int64_t since_ns, const TrialLimits& limits);
// One HTTP trial for all subjects at once; appends to each one's http_ms. Leaves the
// target healthy; returns when it was turned back (for the next await_http).
Result<int64_t> http_trial(std::vector<Subject*>& subjects, FlipServer& server,
                           const TrialLimits& limits);

// The floor under both supervisors on this machine at this moment: the benchmark itself
// forks and execs `stamp_program` (its HTTP form, stamping into `stamps`) and times the
// fork to the stamp, as a process trial times the kill to it. Returns milliseconds.
Result<double> spawn_floor_trial(const std::string& stamp_program, const std::string& stamps);

}  // namespace reflex::bench::heal
