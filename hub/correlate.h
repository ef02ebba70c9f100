// Correlate: the hub's incident stage. It runs the incident engine over what each group
// commit carries (agents lost or back, alerts and remediation reports newly accepted from
// agents, people's actions from the API, timers that fell due), so an event and the
// incident changes it causes are written in the same transaction, and answers each
// action only once its changes are durable.
//
// Every engine call happens while the hub builds a batch, and the hub builds one only
// while no other is in flight. So the engine's memory is always "the store, plus the one
// batch being written", and a failed commit is undone by restoring the engine from the
// store (Hub explains why this is the answer it chose). Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "hub/agents.h"
#include "hub/incidents/alertmanager_in.h"
#include "hub/incidents/change_suspect.h"
#include "hub/incidents/changes.h"
#include "hub/incidents/engine.h"
#include "hub/incidents/external_expiry.h"
#include "hub/store.h"
#include "hub/suppress.h"

namespace reflex::hub {

// The engine's policy as hub.yaml sets it.
incidents::IncidentPolicy incident_policy(const IncidentsConfig& cfg);

// The hub's fingerprint for an agent's alert. An agent's fingerprint is stable per rule
// and label set on that agent only: three agents running the same rule on the same
// series send the same one, and they are three alerts (three hosts), so the hub
// qualifies it with the agent id: "web-1/3f2a...".
std::string agent_alert_fingerprint(const std::string& agent_id, const std::string& fingerprint);

// Something a person does to an incident through the API.
struct IncidentAction {
  // kRespond: a response option (a chat button, the API); "acknowledge" and "resolve"
  // act as kAcknowledge and kResolve, any other runs the workflow steps on it.
  enum class Kind { kAcknowledge, kResolve, kAssign, kNote, kRespond };
  Kind kind = Kind::kAcknowledge;
  uint64_t incident_id = 0;
  std::string actor;
  std::string owner;   // kAssign; "" unassigns
  std::string text;    // kNote
  std::string option;  // kRespond
};

// The answer to an action: ok once its changes are committed (or it had nothing to
// change); else why not: the engine's refusal ("invalid_argument", "not_found",
// "conflict") or "unavailable" when its commit failed and nothing changed.
using ActionAnswer = std::promise<Status>;

// Input from outside the agents, handed in by the HTTP threads (external_api.h).
struct ExternalInput {
  // POST /api/v2/alerts: each resolves by itself at its end unless re-sent
  // (incidents::ExternalExpiry).
  std::vector<incidents::ExternalAlert> alerts;
  // Generic events and the Alertmanager webhook: firing until a resolved signal comes.
  std::vector<incidents::AlertSignal> signals;
  std::optional<incidents::Change> change;  // a deploy; its id is given if it has none
};

// What became of an ExternalInput once its batch committed.
struct InputReceipt {
  size_t signals = 0;                       // alerts and signals the engine took
  std::optional<incidents::Change> change;  // as recorded, with its id
  bool duplicate = false;                   // a change with this id was known: not stored again
};

// Ok once the input is durable, else "unavailable" (its commit failed: nothing kept).
using InputAnswer = std::promise<Result<InputReceipt>>;

class InputAnswerer;  // input_answerer.h

class Correlator {
 public:
  // `store` (read only while no batch is in flight), `registry`, `clock` and `timers`
  // must outlive the Correlator. `wake` asks the hub to build a batch: an engine timer
  // is due or an action waits.
  Correlator(HubStore& store, const AgentRegistry& registry, const Clock& clock, Timers& timers,
             std::function<void()> wake);
  ~Correlator();
  Correlator(const Correlator&) = delete;
  Correlator& operator=(const Correlator&) = delete;

  // Restores the engine from the store and arms its timer. Call once, before any batch.
  Status start(const incidents::IncidentPolicy& policy);
  // Applies to decisions from now on (IncidentEngine::set_policy).
  void set_policy(const incidents::IncidentPolicy& policy);

  // Queues an action for the next batch and wakes the hub. `answer` is set on the loop
  // thread; the caller may wait for it on any thread.
  void submit(IncidentAction action, std::shared_ptr<ActionAnswer> answer);

  // Runs the engine over `batch` (its agent state changes and new events, in that order)
  // and then over the queued actions, appending every change to batch.incidents. Refused
  // actions are answered at once; the others wait for committed() or failed(). Fails,
  // changing nothing, while the engine cannot be restored after a failed commit.
  Status correlate(WriteBatch& batch, int64_t now_ms);
  // The batch built last is durable (or was empty): answers its actions, logs the
  // notifications it asks for.
  void committed();
  // The batch built last was not written: answers its actions with "unavailable" and
  // puts the engine back to the store's state (retried by the next correlate() if the
  // store cannot be read now).
  void failed(const Status& why);

  const incidents::IncidentEngine& engine() const { return *engine_; }

  // ---- the inhibit/silence stage (hub/suppress.h) ----
  // hub.yaml's suppression keys: call before start(); later (a reload) they apply from
  // the next batch, which this asks for.
  void set_suppression(incidents::SuppressionConfig config);
  // Queues a silence command for the next batch and wakes the hub; answered like actions.
  void submit(SilenceCommand command, std::shared_ptr<SilenceAnswer> answer);
  // reflex_hub_notify_intents_total{kind} and the stage's counters.
  void set_metrics(metrics::Registry& registry);
  const incidents::Suppressor& suppressor() const { return suppress_.suppressor(); }
  // Actions queued or waiting for their commit.
  size_t actions_pending() const { return queued_.size() + awaiting_.size(); }

  // ---- external input ----
  // Queues `input` for the next batch and wakes the hub, like submit(). Its alerts and
  // signals go through the engine while the batch is built (after the agents' events),
  // its change joins the ChangeLog; `answer` is set once the batch commits (by an
  // InputAnswerer thread, so many waiters do not cost the loop their wake-ups), or with
  // "unavailable" when it fails. Every accepted ExternalAlert is tracked until it ends
  // (its end time is part of this stage's timer, and an ended alert reaches the engine
  // as a resolved signal); the tracking and the changes are written with the batch and
  // restored from the store by start() and after a failed commit, as the engine is.
  void submit_input(ExternalInput input, std::shared_ptr<InputAnswer> answer);
  // How far back a change is a suspect for an incident that opens (change_suspect.h).
  void set_suspect_policy(const incidents::SuspectPolicy& policy) { suspect_policy_ = policy; }
  // The services a service depends on, for suspects on dependencies (topology). Called
  // on the loop thread.
  void set_dependencies(std::function<std::vector<std::string>(const std::string&)> fn) {
    dependencies_ = std::move(fn);
  }
  const incidents::ExternalExpiry& expiry() const { return *expiry_; }
  const incidents::ChangeLog& change_log() const { return *change_log_; }

 private:
  struct Queued {
    IncidentAction action;
    std::shared_ptr<ActionAnswer> answer;
  };
  Status restore();
  void feed_state_change(const AgentStateChange& change, int64_t now_ms, incidents::Changes& out);
  void feed_event(const StoredEvent& event, int64_t now_ms, incidents::Changes& out);
  Result<incidents::Changes> run(const IncidentAction& action, int64_t now_ms);
  // The engine takes a signal; once accepted, the suppression stage learns of it too.
  Result<incidents::Changes> on_signal(const incidents::AlertSignal& signal, int64_t now_ms);
  void take(Result<incidents::Changes> result, const std::string& what, incidents::Changes& out);
  void rearm();
  struct QueuedInput {
    ExternalInput input;
    std::shared_ptr<InputAnswer> answer;
  };
  Status expire_external(int64_t now_ms, WriteBatch& batch, incidents::Changes& out);
  InputReceipt feed_input(ExternalInput& input, int64_t now_ms, WriteBatch& batch,
                          incidents::Changes& out);
  void feed_external(const incidents::AlertSignal& signal, int64_t now_ms, WriteBatch& batch,
                     incidents::Changes& out, size_t& taken);
  // Names a suspect change for every incident `out` opened.
  void name_suspects(const incidents::Changes& out, int64_t now_ms, WriteBatch& batch,
                     incidents::Changes& timeline);
  void answer_inputs(const Status& why);

  HubStore& store_;
  const AgentRegistry& registry_;
  const Clock& clock_;
  Timers& timers_;
  std::function<void()> wake_;
  incidents::IncidentPolicy policy_;
  std::unique_ptr<incidents::IncidentEngine> engine_;
  bool needs_restore_ = false;
  std::vector<Queued> queued_;                           // for the next batch
  std::vector<std::shared_ptr<ActionAnswer>> awaiting_;  // in the batch in flight
  std::vector<incidents::NotifyIntent> notify_;          // of the batch in flight
  TimerId timer_ = 0;
  int64_t timer_due_ = 0;
  int64_t last_refusal_log_ms_ = 0;
  SuppressStage suppress_{store_};  // its verdict hook is set on every engine restore() builds
  bool started_ = false;
  metrics::CounterFamily* notify_counter_ = nullptr;
  // External input: restored with the engine.
  std::unique_ptr<incidents::ExternalExpiry> expiry_;
  std::unique_ptr<incidents::ChangeLog> change_log_;
  incidents::SuspectPolicy suspect_policy_;
  std::function<std::vector<std::string>(const std::string&)> dependencies_;
  std::vector<QueuedInput> queued_inputs_;  // for the next batch
  std::vector<std::pair<std::shared_ptr<InputAnswer>, InputReceipt>> awaiting_inputs_;
  std::unique_ptr<InputAnswerer> answerer_;  // sets committed inputs' answers
  // Canary evidence (name_suspects): while a canary change may still be named a suspect,
  // each agent's latest metrics summary (by agent id), decoded only for an incident that
  // names one; and the labels of the agent alerts in the batch being built (by
  // fingerprint), which say the series an incident is about.
  int64_t newest_canary_ms_ = -1;
  std::unordered_map<std::string, std::string> latest_metrics_;
  std::unordered_map<std::string, protocol::Labels> batch_alert_labels_;
  bool canary_recent(int64_t now_ms) const;
  void note_canary(const incidents::Change& change);
  std::map<std::string, incidents::HostStats> canary_stats(const incidents::IncidentRow& row,
                                                           const std::string& environment) const;
};

}  // namespace reflex::hub
