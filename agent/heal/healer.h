// Healer: the agent's self-healing stage (rules -> heal -> spool).
//
// Alert transitions from the rule engine and commands from the hub come in; remediation
// runs and `remediation` events go out. What may run is decided by Guardrails (budgets,
// cooldown, circuits, in-flight, pause, dry run) and which rung by the rule's ladder
// (ladder.h); this class does the I/O: it builds the invocation, runs it (a child process
// for exec, systemd and ansible; an HTTP call; a signal), waits for verification and
// reports every decision.
//
// One alert episode (a firing alert, from firing to resolved):
//   firing -> rung 1 runs -> it finishes -> the rule resolves within verify_within?
//     yes: `recovered`, the ladder is done;
//     no:  `not_recovered`, rung 2 runs ... -> after the last rung, `exhausted`.
//   A rung whose action failed, timed out or was refused moves on at once.
// A refusal (cooldown, in-flight, circuit, budget) is reported as `skipped` with its
// reason and retried while the alert still fires: when the refusal lifts by itself
// (cooldown, circuit) or when the target's running action finishes (in-flight). A spent
// budget opens a circuit and reports `exhausted` once (guardrails.h).
//
// Reported outcomes: started, succeeded, failed, timed_out, skipped (reason),
// recovered, not_recovered, exhausted; each with the rule, the alert fingerprint, the
// action, the target, the 1-based rung, the duration and the last 4 KiB of output.
//
// Loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/heal/action_config.h"
#include "agent/heal/guardrails.h"
#include "agent/process_runner.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "protocol/messages.h"

namespace reflex::agent::heal {

// What the healer acts on; the agent's own config sections.
struct HealConfig {
  HostGuardrailConfig host;                                 // `remediation:`
  std::vector<ActionConfig> actions;                        // `actions:`
  std::map<std::string, std::vector<std::string>> ladders;  // rule name -> `heal:` ladder
};

// The services the healer uses; all outlive it.
struct HealServices {
  const Clock& clock;
  Timers& timers;
  ProcessRunner& processes;
  HttpClient& http;
  std::string proc_root = "/proc";  // where signal actions look for processes
  // Called after an action succeeded, with the labels it ran for, so the agent can check
  // again at once (verification need not wait for the check's next interval). Optional.
  std::function<void(const protocol::Labels&)> after_action;
};

// One run in progress, for /status.
struct RunningRemediation {
  std::string action;
  std::string target;
  std::string rule;  // empty for a hub command
  std::string command_id;
  int64_t started_ms = 0;  // wall clock
  bool verifying = false;  // finished; waiting for the rule to resolve
};

struct HealStatus {
  bool dry_run = false;
  bool paused_all = false;
  std::vector<std::string> paused_targets;
  std::vector<CircuitStatus> circuits;  // open ones; wall-clock times
  std::vector<RunningRemediation> running;
  int64_t host_runs_in_window = 0;
  int64_t host_max_runs = 0;
  struct Action {
    std::string name;
    std::string type;
    bool dry_run = false;
    int64_t max_runs = 0;
    Millis window{0};
    std::map<std::string, uint64_t> outcomes;  // "succeeded" -> 3, "skipped:cooldown" -> 1
  };
  std::vector<Action> actions;
  std::vector<protocol::Remediation> recent;  // the last kRecentEvents decisions, oldest first
};

class Healer {
 public:
  // Receives every event the healer produces (Remediation, CommandResult), in order.
  using Emit = std::function<void(std::vector<protocol::Body>)>;
  static constexpr size_t kOutputTail = 4096;
  static constexpr size_t kRecentEvents = 20;
  static constexpr size_t kRememberedCommands = 1024;  // ids, to ignore a resent command

  Healer(HealServices services, Emit emit);
  // Cancels runs and timers: nothing more is reported.
  ~Healer();
  Healer(const Healer&) = delete;
  Healer& operator=(const Healer&) = delete;

  // Start or reload. Guardrail memory (runs, circuits, pauses, episodes) carries over; an
  // alert whose rule lost its ladder stops being healed; runs in flight finish.
  void configure(HealConfig cfg);

  // Rule transitions: firing starts or continues an episode, resolved ends it.
  void on_alert(const protocol::Alert& alert);
  // A hub command: refused with a CommandResult naming why unless it names a declared
  // action with declared parameters; else it runs under the same guardrails as a local
  // trigger and ends with one CommandResult.
  void on_command(const protocol::Command& command);

  // Operator controls (the local API; later the hub during maintenance). An empty target
  // means the whole host.
  void pause(const std::string& target);
  void resume(const std::string& target);
  void reset(const std::string& target);  // closes circuits, restores budgets

  HealStatus status() const;
  // The ladder healing a firing alert here now ("restart-nginx, reboot"): its rule has
  // one, not yet spent, and this is no dry run; nullopt when the alert is not being
  // healed. The agent puts it on the alert (annotation `healing`) so the hub can hold
  // pages while the host heals itself.
  std::optional<std::string> healing(const std::string& fingerprint) const;
  uint32_t open_circuits() const;

 private:
  struct Run;
  struct Firing;

  // Decides and starts the next rung for a firing alert.
  void advance(const std::string& fingerprint);
  // Runs `req` for `firing` (null for a command) after building its invocation.
  void attempt(const ActionConfig& action, const RemediationRequest& req, Firing* firing,
               const protocol::Command* command);
  void execute(std::shared_ptr<Run> run);
  void finished(const std::shared_ptr<Run>& run, protocol::RemediationOutcome outcome,
                std::optional<int32_t> exit_code, std::string reason, std::string output);
  void verified(const std::string& fingerprint, bool recovered);
  void schedule_retry(Firing& firing, int64_t at_ms);
  void retry_waiting();
  // Advances every firing alert (or only those waiting for a run to end).
  void advance_all(bool waiting_only = false);
  void report(protocol::Remediation r);
  void reply(const protocol::Command& c, protocol::CommandStatus status, std::string message,
             std::optional<int32_t> exit_code = std::nullopt, uint64_t duration_ms = 0,
             std::string output = {});
  const ActionConfig* find_action(const std::string& name) const;
  int64_t wall(int64_t mono_ms) const;

  HealServices services_;
  Emit emit_;
  HealConfig cfg_;
  Guardrails guardrails_;
  std::map<std::string, std::unique_ptr<Firing>> firing_;  // by fingerprint
  std::map<uint64_t, std::shared_ptr<Run>> runs_;          // in flight, by run number
  uint64_t next_run_ = 1;
  std::map<std::string, std::map<std::string, uint64_t>> outcomes_;  // action -> outcome -> n
  std::vector<protocol::Remediation> recent_;
  std::deque<std::string> command_ids_;
  std::shared_ptr<bool> alive_;
};

}  // namespace reflex::agent::heal
