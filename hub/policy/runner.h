// WorkflowRunner: runs the routes' workflows (policy.h) for the incidents' events and
// keeps what they created (workflow_state.h). Loop thread only.
//
// In the hub's batch cycle it runs after correlation, over what the batch carries:
//  - events: notify intents (opened, reopened, escalated = severity raised or local
//    remediation exhausted, resolved; none for a silenced, inhibited or flapping
//    incident) and lifecycle events (acknowledged, response:<option>, released);
//  - each event selects routes and their steps over the incident's facts; each step
//    becomes a call of the incident, kept in order. Calls of one incident to one
//    integration go one at a time, in order, so a message exists before it is updated
//    and a channel before anyone is invited to it; a call whose templates name an object
//    another integration is still creating ({{ticket.url}}) waits for it;
//  - a call that may go becomes an outbox row (key wf:<incident>:<seq>) staged into the
//    same batch as the incident change that caused it, and the incident's workflow
//    document is written there too: both commit or neither does;
//  - a chat message follows its incident: when the status, severity, hosts or title
//    change, the message is updated in place ("refresh"), at most one refresh waiting
//    per message;
//  - a `page` step whose policy is one of hub.yaml's escalation_policies starts that
//    policy for the incident (the "escalation" object): the levels' people are notified
//    (Slack direct message with an Acknowledge button, their phone webhook; a channel
//    target gets a post) as each level falls due, until the incident is acknowledged or
//    resolved or every round is done. When the next level falls due is kept on the
//    object, so a restart neither repeats a level nor forgets one (levels missed while
//    the hub was down are all notified at once); next_escalation_ms() tells the hub
//    when to run a batch for it. Any other policy goes to PagerDuty;
//  - a route with hold_while_healing holds its opened/reopened steps while an agent
//    heals every alert of the incident (the agent marks an alert it heals with the
//    annotation `healing`; one that resolved meanwhile was healed): "held" on the
//    timeline. The steps run when the incident escalates (the agent's remediation
//    exhausted, severity raised), when an alert no agent heals joins, or when the hold
//    ends with an alert still firing; they are dropped when the incident resolves
//    (healed: nobody was woken) or is acknowledged;
//  - `remediate` and `rollback` with an `action` become one call per host (`hosts`, or
//    the incident's affected hosts), each a `command` to that host's agent (AgentLink)
//    sent once the batch that records it has committed, with a deadline (`timeout`,
//    default 5m). The agent's command_result, arriving as an event like any other,
//    finishes the call (ok: done; failed, rejected, timed out: failed, with its
//    message); none by the deadline fails it. Commands to different hosts run side by
//    side. A rollback with `verify_within` then watches the incident: not resolved by
//    then, the incident's `escalated` steps run ("the rollback did not resolve it").
// When the outbox finishes a row (done or dead) the runner records the result on the
// incident (ticket key, channel id, message ts, status page id) in the next batch and
// starts the calls that were waiting for it. Every call and its outcome is also a
// "step" entry on the incident's timeline.
//
// After a crash: the documents of active incidents are loaded; a call recorded as sent
// whose outbox row finished meanwhile is completed from the row; the outbox resends
// its own unfinished rows. Nothing is enqueued twice: calls and rows commit together.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "hub/incidents/incident.h"
#include "hub/oncall/oncall.h"
#include "hub/outbox/outbox.h"
#include "hub/policy/policy.h"
#include "hub/policy/workflow_state.h"
#include "hub/store.h"

namespace reflex::hub::policy {

// How the runner reaches agents (the hub's registry and ingest). Loop thread only.
struct AgentLink {
  // The hosts of an incident's firing members (else of all its members), sorted.
  std::function<std::vector<std::string>(uint64_t incident_id)> hosts;
  // The agent registered for a host name (or with that agent id); nullopt: none.
  std::function<std::optional<std::string>(const std::string& host)> agent_for;
  // Sends a command frame; false when the agent is not connected to this hub.
  std::function<bool(const std::string& agent_id, const protocol::Command& command)> send;
};

struct RunnerSettings {
  PolicyConfig policy;
  std::set<std::string> integrations;        // configured ones ("slack", "jira", ...)
  std::map<std::string, std::string> links;  // base URLs for people: "jira" -> .../
  oncall::OncallConfig oncall;               // people, schedules, escalation policies
};

class WorkflowRunner {
 public:
  // `outbox` outlives the runner. `incident` looks up an incident the engine holds (for
  // events whose batch carries no row of it).
  WorkflowRunner(Outbox& outbox, std::function<const incidents::IncidentRow*(uint64_t)> incident);

  // Replaces the settings; events from the next batch use them.
  void configure(RunnerSettings settings);
  // Without one, remediate and rollback-by-action calls are skipped, saying so.
  void set_agent_link(AgentLink link) { agents_ = std::move(link); }
  // Resumes the active documents (WorkflowTables::load_active()). Calls sent whose row
  // `find_row` says is finished (done or dead before a crash let the runner record it)
  // are completed by the next stage(). Before the first stage().
  Status start(std::vector<IncidentWorkflow> active,
               const std::function<Result<std::optional<OutboxRow>>(uint64_t)>& find_row);

  // The batch cycle, after the correlator's correlate() and before the outbox's stage().
  void stage(WriteBatch& batch, int64_t now_ms);
  void committed();
  void failed();

  // The outbox finished a row (on the loop thread, after its commit). Asks for a batch
  // through `request_commit` when it concerns a call.
  void on_finished(const OutboxRow& row, const std::function<void()>& request_commit);

  // When the runner next has something to do by itself (hub clock): an escalation level,
  // a command's deadline, the end of a rollback's verification. The hub runs a batch
  // then. nullopt: nothing is waiting.
  std::optional<int64_t> next_due_ms() const;

  // For tests and the API: the document of an incident in memory, if any.
  const IncidentWorkflow* find(uint64_t incident_id) const;

 private:
  struct Event {
    uint64_t incident_id = 0;
    std::string name;  // "opened", "response:start_mim", ...; "" for follow-ups only
    int64_t at_ms = 0;
    bool pager_ack = false;      // acknowledged: a page sent is acknowledged too
    bool pager_resolve = false;  // resolved
  };

  IncidentWorkflow& touch(uint64_t incident_id, int64_t now_ms, WriteBatch& batch);
  void finish_call(IncidentWorkflow& w, const OutboxRow& row, WriteBatch& batch, int64_t now_ms);
  void update_facts(WriteBatch& batch, int64_t now_ms);
  void run_event(const Event& e, WriteBatch& batch, int64_t now_ms);
  // The route's steps for `event` (which happened at `at_ms`) become calls.
  void run_route(IncidentWorkflow& w, const Route& route, const std::string& event, int64_t at_ms,
                 const IncidentFacts& facts, WriteBatch& batch, int64_t now_ms);
  // Holding steps while agents heal: see hold_while_healing in the header comment.
  void track_healing(WriteBatch& batch, int64_t now_ms);
  void hold(IncidentWorkflow& w, const Route& route, const Event& e, const std::string& healing,
            WriteBatch& batch, int64_t now_ms);
  // Runs the held steps; `why`: "escalated", "unhealed" or "due".
  void release_holds(IncidentWorkflow& w, const std::string& why, WriteBatch& batch,
                     int64_t now_ms);
  // Ends the holds without running them ("healed" or "acknowledged"); the routes held.
  std::set<std::string> drop_holds(IncidentWorkflow& w, const std::string& why, WriteBatch& batch,
                                   int64_t now_ms);
  void add_call(IncidentWorkflow& w, WorkflowCall call, WriteBatch& batch, int64_t now_ms);
  // Recomputes when the document next has something due (absent from docs_: forgets it).
  void index_due(uint64_t incident_id);
  void pump(IncidentWorkflow& w, WriteBatch& batch, int64_t now_ms);
  void start_escalation(IncidentWorkflow& w, size_t call, WriteBatch& batch, int64_t now_ms);
  void advance_escalation(IncidentWorkflow& w, WriteBatch& batch, int64_t now_ms);
  void stop_escalation(IncidentWorkflow& w, const std::string& why, WriteBatch& batch,
                       int64_t now_ms);
  void note(WriteBatch& batch, const IncidentWorkflow& w, std::string text, int64_t now_ms);
  Result<protocol::Command> command_for(const IncidentWorkflow& w, const WorkflowCall& c,
                                        int64_t deadline_ms) const;
  void send_command(IncidentWorkflow& w, WorkflowCall& c, WriteBatch& batch, int64_t now_ms);
  void command_results(WriteBatch& batch, int64_t now_ms);
  void finish_command(IncidentWorkflow& w, WorkflowCall& c, bool ok, const std::string& what,
                      WriteBatch& batch, int64_t now_ms);
  void watch_due(WriteBatch& batch, int64_t now_ms);
  // A rollback call `c` that succeeded, with verify_within: watch the incident.
  void watch_rollback(IncidentWorkflow& w, const WorkflowCall& c, WriteBatch& batch,
                      int64_t now_ms);
  void step_entry(WriteBatch& batch, const IncidentWorkflow& w, const WorkflowCall& c,
                  const std::string& what, int64_t now_ms);
  IncidentFacts facts_with_refs(const IncidentWorkflow& w, int64_t now_ms) const;

  Outbox& outbox_;
  std::function<const incidents::IncidentRow*(uint64_t)> incident_;
  RunnerSettings settings_;
  AgentLink agents_;
  // Commands (agent id, command) recorded by the batch in flight; once it has
  // committed, outgoing until sent to a connected agent or their call finished.
  std::vector<std::pair<std::string, protocol::Command>> commands_;
  std::vector<std::pair<std::string, protocol::Command>> outgoing_;

  std::map<uint64_t, IncidentWorkflow> docs_;  // active ones
  // Firing alerts an agent heals (annotation `healing`): fingerprint -> "fix-app on web-1".
  std::map<std::string, std::string> healing_alerts_;
  // When each document next has something due (an escalation level, a command deadline,
  // a verification window, a hold), by document and in time order, so that a batch
  // neither scans every document for it nor asks next_due_ms() to.
  std::map<uint64_t, int64_t> due_of_;
  std::set<std::pair<int64_t, uint64_t>> due_;
  std::map<uint64_t, uint64_t> by_outbox_;  // outbox id -> incident id, of sent calls
  std::vector<OutboxRow> finished_;         // waiting for the next batch

  // The batch in flight: documents as they were before it (nullopt: new), and the
  // finished rows it consumed, to undo on failed().
  std::map<uint64_t, std::optional<IncidentWorkflow>> before_;
  std::map<uint64_t, uint64_t> by_outbox_before_;
  bool by_outbox_saved_ = false;
  std::vector<OutboxRow> finished_in_batch_;
  std::set<uint64_t> touched_;  // documents changed by the batch being built
};

}  // namespace reflex::hub::policy
