// Remediation guardrails: whether a remediation may run now, and the state that decides
// it (rules -> heal -> process runner).
//
// decide() is pure over the recorded state and `now_ms` (monotonic milliseconds); the
// caller does the I/O and then records what happened: record_start / record_finish /
// record_verification for a run, record_skip for a refusal (which may open a circuit).
// Loop thread only; nothing here reads a clock.
//
// Keys: a *target* is the thing being healed, chosen by the caller (a unit, a service, the
// alert's `series` label); an *action* is a declared action's name. Budgets and cooldowns
// are per (action, target); in-flight, circuits and pauses are per target; the host budget
// counts every run of every action.
//
// Circuits: a circuit opens when a run is wanted but its budget is spent (not when the
// last allowed run starts: that run may still help, and an escalation would then be
// noise). record_skip of such a refusal opens it and returns the Escalation, once; later
// requests are refused as circuit_open. A circuit closes `window` after it opened (by
// then every run that spent the budget has left the window) or on reset().
//
// Dry run (global, per action or per request): decide() makes every check a real run
// would, and where a real run would go ahead answers skip / dry_run. Nothing of a dry run
// is recorded (no budget, cooldown, in-flight, circuit or episode memory), so a rehearsal
// can never block or change what a real run does later. The price: a rehearsed ladder
// shows its first rung on each firing rather than walking the ladder.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/heal/ladder.h"
#include "common/duration.h"
#include "protocol/messages.h"

namespace reflex::agent::heal {

// At most `max_runs` runs within any `window`.
struct Budget {
  int64_t max_runs = 3;
  Millis window = Millis(3'600'000);
};

// Per action. Defaults, and why:
// - timeout 60s: a systemd restart or a small local playbook finishes well within it; a
//   hung action must not hold its target (single in-flight) for long.
// - budget 3 runs per target per hour: a service that needs a fourth restart within the
//   hour is not being fixed by restarts; like Monit's usual "3 restarts within N cycles
//   then give up", but measured in time, not poll cycles.
// - cooldown 30s: lets a restarted service come up (and its checks see it) before the
//   same action may run on the same target again, so one outage is not hit twice.
// - verify_within 60s: time for the rule's window to see recovery after a restart; a
//   rule with `for:` or long windows should raise it.
struct GuardrailConfig {
  Millis timeout = Millis(60'000);
  Budget budget;
  Millis cooldown = Millis(30'000);
  Millis verify_within = Millis(60'000);
  bool dry_run = false;
};

// Per host. Default budget 10 runs per hour across every action: above the per-action
// budget of any one service, well below what a host in a crash loop across many services
// would produce, where a human should look instead.
struct HostGuardrailConfig {
  Budget budget{10, Millis(3'600'000)};
  bool dry_run = false;  // global rehearsal: nothing runs
};

// One alert episode: a fingerprint and the active_since_ms of its firing. A repeated
// firing transition of the same episode carries the same key; a new episode a new one.
struct EpisodeKey {
  std::string fingerprint;
  uint64_t active_since_ms = 0;
  auto operator<=>(const EpisodeKey&) const = default;
};

struct RemediationRequest {
  std::string action;
  std::string target;
  std::optional<EpisodeKey> episode;  // absent for hub commands: no already-fired memory
  size_t rung = 0;                    // 0-based rung of the rule's ladder
  bool dry_run = false;               // asked for by this request (e.g. a hub command)
};

enum class Verdict : uint8_t { kRun, kSkip };

// The order decide() checks them in, which is also the order of precedence.
enum class SkipReason : uint8_t {
  kNone,
  kUnknownAction,  // the action has no guardrail config (not declared)
  kPaused,         // the host or the target is paused (maintenance)
  kAlreadyFired,   // this rung already ran in this episode
  kInFlight,       // another run on this target has not finished
  kCircuitOpen,    // the host's or the target's circuit is open
  kHostBudget,     // the host budget is spent: record_skip opens the host circuit
  kBudget,         // the action's budget on this target is spent: opens its circuit
  kCooldown,       // the action ran on this target less than `cooldown` ago
  kDryRun,         // everything allowed the run, but it is a dry run
};
// "unknown_action", "paused", "already_fired", "in_flight", "circuit_open",
// "host_budget", "budget", "cooldown", "dry_run"; "" for kNone.
const char* skip_reason_name(SkipReason r);

struct Decision {
  Verdict verdict = Verdict::kRun;
  SkipReason reason = SkipReason::kNone;
  std::string detail;          // for operators: "3 runs of restart on nginx within 1h (max 3)"
  int64_t retry_at_ms = 0;     // when the refusal lifts by itself (cooldown, circuit); 0: not
  bool dry_run = false;        // the request was decided in dry-run mode
  bool opens_circuit = false;  // kBudget / kHostBudget outside dry run

  bool run() const { return verdict == Verdict::kRun; }
};

// A circuit that just opened; the caller sends a Remediation with outcome kExhausted.
struct Escalation {
  bool host = false;   // the host circuit: every target is blocked
  std::string action;  // the action whose budget was spent (the request's, for host)
  std::string target;  // the request's target
  SkipReason reason = SkipReason::kBudget;
  int64_t opened_at_ms = 0;
  int64_t closes_at_ms = 0;
};

struct CircuitStatus {
  bool host = false;
  std::string target;  // empty for the host circuit
  std::string action;
  SkipReason reason = SkipReason::kBudget;
  int64_t opened_at_ms = 0;
  int64_t closes_at_ms = 0;
};

class Guardrails {
 public:
  // `actions`: guardrails by action name; a request for any other action is refused.
  Guardrails(HostGuardrailConfig host, std::map<std::string, GuardrailConfig> actions);

  // A reload: new limits, the same memory. Runs, cooldowns, circuits, pauses and episodes
  // carry on, so a reload can never hand a crash-looping service a fresh budget.
  void reconfigure(HostGuardrailConfig host, std::map<std::string, GuardrailConfig> actions) {
    host_ = std::move(host);
    actions_ = std::move(actions);
  }

  Decision decide(const RemediationRequest& req, int64_t now_ms) const;

  // A run of `req` started (decide said kRun). Counts against both budgets, marks the
  // target in flight and, with an episode, marks the rung as started.
  void record_start(const RemediationRequest& req, int64_t now_ms);
  // The run ended: kSucceeded, kFailed or kTimedOut. Clears in-flight and starts the
  // cooldown; a failure or timeout marks the episode's rung failed (no verification).
  void record_finish(const RemediationRequest& req, protocol::RemediationOutcome outcome,
                     int64_t now_ms);
  // The run could not even start (its arguments were refused, e.g. an unsafe label value):
  // the episode's rung counts as failed, so the ladder moves on; no budget is spent.
  void record_refused(const RemediationRequest& req);
  // What verification found for the episode's rung (no-op without an episode).
  void record_verification(const RemediationRequest& req, bool recovered);
  // A refusal: opens the circuit when `d.opens_circuit` and returns its escalation once.
  std::optional<Escalation> record_skip(const RemediationRequest& req, const Decision& d,
                                        int64_t now_ms);

  // Operator: closes `target`'s circuit and forgets its runs and cooldowns (every action),
  // so its budget is whole again. Episode memory is kept.
  void reset(const std::string& target);
  // Operator: the same for every target, and the host circuit and budget.
  void reset_all();

  void pause(const std::string& target) { paused_targets_.insert(target); }
  void resume(const std::string& target) { paused_targets_.erase(target); }
  void pause_all() { paused_all_ = true; }
  void resume_all() { paused_all_ = false; }
  bool paused_all() const { return paused_all_; }
  const std::set<std::string>& paused_targets() const { return paused_targets_; }
  bool paused(const std::string& target) const {
    return paused_all_ || paused_targets_.count(target) > 0;
  }

  // The outcomes of the rungs started in `episode`, in rung order (empty: none yet).
  std::vector<RungOutcome> episode_history(const EpisodeKey& episode) const;
  // Forgets an episode (its alert resolved). Memory is also capped at kMaxEpisodes,
  // dropping the oldest-started episodes first.
  void end_episode(const EpisodeKey& episode) { episodes_.erase(episode); }
  static constexpr size_t kMaxEpisodes = 4096;

  // For /status and metrics.
  std::vector<CircuitStatus> open_circuits(int64_t now_ms) const;
  // Runs of `action` on `target` inside the current window.
  int64_t runs_in_window(const std::string& action, const std::string& target,
                         int64_t now_ms) const;
  int64_t host_runs_in_window(int64_t now_ms) const;
  size_t in_flight() const { return in_flight_.size(); }

 private:
  using Key = std::pair<std::string, std::string>;  // (action, target)
  struct Circuit {
    std::string action;
    SkipReason reason = SkipReason::kBudget;
    int64_t opened_at_ms = 0;
    int64_t closes_at_ms = 0;
  };
  struct Episode {
    std::vector<RungOutcome> rungs;
    uint64_t started_order = 0;
  };

  static int64_t count_in_window(const std::deque<int64_t>& starts, Millis window, int64_t now_ms);
  static void prune(std::deque<int64_t>& starts, Millis window, int64_t now_ms);
  // mark_rung changes a started rung; set_rung also starts the episode and the rung.
  void mark_rung(const RemediationRequest& req, RungOutcome outcome);
  void set_rung(const RemediationRequest& req, RungOutcome outcome);

  HostGuardrailConfig host_;
  std::map<std::string, GuardrailConfig> actions_;
  std::map<Key, std::deque<int64_t>> starts_;  // run start times inside the window
  std::deque<int64_t> host_starts_;
  std::map<Key, int64_t> last_finish_ms_;
  std::map<std::string, std::string> in_flight_;  // target -> action
  std::map<std::string, Circuit> circuits_;       // by target
  std::optional<Circuit> host_circuit_;
  bool paused_all_ = false;
  std::set<std::string> paused_targets_;
  std::map<EpisodeKey, Episode> episodes_;
  uint64_t episode_order_ = 0;
};

// The kExhausted Remediation event for an escalation (rule and fingerprint from the
// alert that wanted the run; empty for a hub command).
protocol::Remediation escalation_event(const Escalation& e, const std::string& rule,
                                       const std::string& fingerprint);

}  // namespace reflex::agent::heal
