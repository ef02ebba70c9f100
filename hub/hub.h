// Hub: the reflex-hub process as a library, so tests can run it in-process and main
// stays thin. Loop thread only, except where noted.
//
// Pipeline (grown stage by stage): ingest -> validate + dedup -> correlate -> store
// (group commit) -> ack -> inhibit/silence -> route -> notify -> record. This class is
// the one place that wires the stages together.
//
// Correlation runs while a group commit is built (commit()): the events it takes from
// ingest, the agents' state changes, the API's actions and the incident timers that
// fell due go through the incident engine, and the batch carries the engine's changes,
// so events and the incidents they caused are written in one transaction. Acks, and the
// API's answers to actions, wait for that commit.
//
// A failed commit is undone whole: ingest forgets the batch's events (unacknowledged, so
// their agents send them again, and ingest accepts them as new), the registry keeps its
// rows and state changes for the next batch, the actions in it are answered
// "unavailable" (nothing changed), and the engine is restored from the store, which it
// can be because a batch is built only while none is in flight. The resent events and
// the kept state changes then go through the restored engine exactly once. We chose
// this over keeping the failed batch's incident changes and retrying them, which would
// need ingest to tell "resent after a failure, already correlated" from "new" for every
// agent and would leave incident changes committed for events a full spool may never
// resend.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <zmq.hpp>

#include "common/clock.h"
#include "common/http_client.h"
#include "common/loop.h"
#include "common/metrics.h"
#include "hub/agents.h"
#include "hub/api_tokens.h"
#include "hub/config.h"
#include "hub/correlate.h"
#include "hub/event_stream.h"
#include "hub/external_api.h"
#include "hub/http_api.h"
#include "hub/hub_metrics.h"
#include "hub/ingest.h"
#include "hub/maintenance_api.h"
#include "hub/oncall/oncall_api.h"
#include "hub/outbox/outbox.h"
#include "hub/outbox/outbox_api.h"
#include "hub/policy/runner.h"
#include "hub/relay_tail.h"
#include "hub/route_api.h"
#include "hub/silence_api.h"
#include "hub/slack_actions.h"
#include "hub/store.h"
#include "hub/store_writer.h"
#include "hub/zap_authenticator.h"

namespace reflex::hub {

// What a hub that leads the others sharing its PostgreSQL store (hub/clustered_hub.h) is
// given for its term, before start().
struct LeaderTerm {
  cluster::Fence fence;  // carried by every store write of the term
  // Thread-safe and cheap: whether the term still holds. Asked before every outbound call.
  std::function<bool()> leading;
  // On the loop thread, when the store refused a write because the term is over.
  std::function<void(const Status&)> on_fenced;
  // More routes on the hub's HTTP API (GET /api/v1/cluster).
  std::function<void(httplib::Server&)> routes;
};

class Hub {
 public:
  Hub(EventLoop& loop, const Clock& clock, Timers& timers);
  ~Hub();

  // Opens the store, restores the agents it knows, binds the agent port and HTTP API.
  Status start(const HubConfig& cfg);
  // Applies a new, already validated config. Listen addresses and the store need a
  // restart; a change to them is reported and the rest is applied.
  Status reload(const HubConfig& cfg);
  // SIGHUP: loads and validates `path` (empty: embedded defaults) and applies it; an
  // invalid file is refused whole and the running config stays. Counted in /metrics.
  void reload_from_file(const std::string& path);
  // Stops serving, commits what is pending, closes everything.
  void stop();
  // Makes this hub the leader of a cluster for `term`; before start().
  void lead(LeaderTerm term) { term_ = std::move(term); }

  const std::string& ingest_endpoint() const { return ingest_->endpoint(); }
  int http_port() const { return http_->port(); }

 private:
  // Starts a group commit of everything pending unless one is in flight (then the next
  // starts when it is done, with everything that arrived meanwhile).
  void commit();
  void on_committed(WriteBatch batch, Ingest::Taken taken, Status st, double seconds);
  // A batch that was not written (or could not be built): undoes it as the header says
  // and schedules a retry.
  void give_back(WriteBatch batch, const Status& why);
  // Gives the store reader the services' dependencies (an incident lists its
  // dependencies' recent changes).
  void share_topology(const HubConfig& cfg);
  // A batch when the workflow runner next has something due (next_due_ms()).
  void arm_runner_timer();
  // The runner's way to the agents: an incident's hosts, their agents, commands.
  policy::AgentLink agent_link();
  void check_liveness();
  void update_gauges();
  // Leading a cluster: reads what the other hubs ingested (relay_tail_) unless a read is
  // in progress or what was read is not committed yet; on_relay_read() hands it to the
  // next batch, or polls again after a pause when there was nothing.
  void read_relay();
  void on_relay_read(Result<RelayedEvents> read);
  // The routes for alerts from monitoring tools and changes (external_api.h).
  Status start_external(const HubConfig& cfg);
  // Reads the API's bearer tokens and installs them on the HTTP API (bound to `http`).
  Status install_api_tokens(const ApiConfig& api, const std::string& http);
  // The delivery stage of outbound calls, its integrations and its routes
  // (hub/outbox/outbox.h); before the HTTP API listens.
  Status start_outbox(const HubConfig& cfg);

  EventLoop& loop_;
  const Clock& clock_;
  Timers& timers_;
  HubConfig cfg_;
  std::optional<LeaderTerm> term_;  // set when the hub leads a cluster
  metrics::Registry metrics_registry_;
  HubMetrics metrics_;
  AgentRegistry registry_;
  zmq::context_t zmq_;
  LoopDoor door_;
  std::unique_ptr<ZapAuthenticator> zap_;  // before ingest_: outlives the socket it guards
  std::unique_ptr<HubStore> store_;
  std::unique_ptr<StoreWriter> writer_;  // after store_: stops before it
  std::unique_ptr<HubReader> reader_;
  std::unique_ptr<Correlator> correlator_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<SilenceApi> silence_api_;      // before http_: outlives the routes it serves
  RouteApi route_api_;                           // before http_, likewise
  MaintenanceApi maintenance_api_;               // before http_, likewise
  std::unique_ptr<SlackActions> slack_actions_;  // before http_, likewise
  oncall::OncallApi oncall_api_{clock_};         // before http_, likewise
  std::unique_ptr<EventStream> events_;          // before http_, likewise
  std::unique_ptr<HttpApi> http_;
  TimerId liveness_timer_ = 0;
  int64_t liveness_grace_until_ms_ = 0;  // no agent is judged lost before (after start)
  TimerId commit_retry_timer_ = 0;
  TimerId prune_timer_ = 0;  // retention: makes the next batch delete old events
  bool prune_due_ = false;
  TimerId runner_timer_ = 0;  // the runner's next due time (arm_runner_timer)
  // Leading a cluster (read_relay): the other hubs' events and agents.
  std::unique_ptr<RelayTail> relay_tail_;
  RelayedEvents relayed_;  // read; the next batch correlates them and takes them off
  TimerId relay_timer_ = 0;
  int64_t relay_agents_since_ms_ = 0;  // the agents' rows to read next (any hub's clock)
  int64_t relay_agents_read_at_ = 0;   // monotonic ms, when they were last read
  bool relay_failing_ = false;         // logged once until a read succeeds
  // From the start of the term until a read returns less than a full chunk: this hub's
  // own agents' events wait, so the events the others (and its own standby port) took
  // before it led are correlated first, in each agent's order.
  bool relay_catching_up_ = false;
  bool stopped_ = false;
  std::unique_ptr<ExternalApi> external_;  // its routes are served by http_, stopped first

  // The outbox (start_outbox): its routes are served by http_, stopped first; the client
  // of its outbound calls outlives it.
  std::unique_ptr<OutboxApi> outbox_api_;
  std::unique_ptr<HttpClient> http_client_;
  std::unique_ptr<Outbox> outbox_;
  // Runs the routes' workflows into the outbox (hub/policy/runner.h); before it goes.
  std::unique_ptr<policy::WorkflowRunner> runner_;
};

}  // namespace reflex::hub
