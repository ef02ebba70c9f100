// The failover benchmark: how long after the leader of two hubs dies does the new leader
// send the notification the dead one had in flight?
//
// Each trial runs on a fresh database of one PostgreSQL server: hub-a leads, hub-b stands
// by, both with the given lease, and a route posts every high incident to Slack (the
// tests' FakeSlack, on 127.0.0.1). One alert makes an incident; hub-a's chat.postMessage
// is stalled by the fake (neither applied nor answered), so the notification is in flight
// when hub-a is SIGKILLed. hub-b takes the lease once it expires, restores the outbox,
// finds the row `sending`, looks in the channel's history (not there), and posts. The
// trial then checks that the message was posted exactly once and the outbox is done.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace reflex::testing {
class PgServer;
}

namespace reflex::bench {

struct FailoverOptions {
  std::string hub_binary;
  std::string work_dir = "/tmp";  // a scratch directory per trial is made in here
  std::chrono::milliseconds lease{2000};
  bool keep_dir = false;  // leave each trial's directory (configs, logs) behind
};

// How long to wait, once the leader's post is stalled, before the kill: a real crash
// lands anywhere in the leader's renewal cycle (a third of the lease), and a trial that
// always killed at the same phase of it would always measure the same wait.
using PauseBeforeKill = std::chrono::milliseconds;

// Milliseconds from just before the SIGKILL to each step; negative when not seen.
struct FailoverTrial {
  double elected_ms = -1;   // hub-b's term began (leader_lease.acquired_at_ms, the server's
                            // clock, same machine)
  double serving_ms = -1;   // hub-b's ready file said leader (polled every 2 ms)
  double lookup_ms = -1;    // hub-b's first conversations.history (the look before resending)
  double posted_ms = -1;    // hub-b's first chat.postMessage reached Slack
  int posted = 0;           // chat.postMessage calls applied for the incident: must be 1
  int undone = 0;           // outbox rows not done at the end: must be 0
  std::string leader;       // who holds the lease at the end: must be hub-b
  double pause_ms = 0;      // between the stalled post and the kill
  std::string scratch_dir;  // when kept

  // A trial whose notification was lost or sent twice measures nothing.
  bool valid() const { return posted_ms >= 0 && posted == 1 && undone == 0 && leader == "hub-b"; }
};

// One trial on a fresh database `database` of `pg`.
Result<FailoverTrial> run_failover_trial(const FailoverOptions& options, testing::PgServer& pg,
                                         const std::string& database, PauseBeforeKill pause);

}  // namespace reflex::bench
