// The hub's system of record, behind one interface.
//
// SQLite (one file) is the embedded default; other backends implement the same
// interface. A store is used by one thread at a time (once started, the hub's
// StoreWriter thread). Writes that belong together go through write_batch(), one
// transaction, so the hub commits in groups: events, agent rows and the incident
// changes they caused commit together or not at all. The API reads through a HubReader,
// a connection of its own that sees the last committed state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "hub/cluster/lease.h"
#include "hub/config.h"
#include "hub/incidents/change_suspect.h"
#include "hub/incidents/changes.h"
#include "hub/incidents/external_expiry.h"
#include "hub/incidents/external_tables.h"
#include "hub/incidents/incident.h"
#include "hub/incidents/silences.h"
#include "hub/outbox/outbox_row.h"
#include "hub/policy/workflow_state.h"
#include "protocol/messages.h"

namespace reflex::hub {

enum class AgentState { kAlive, kLost };
const char* agent_state_name(AgentState s);

struct AgentRecord {
  std::string id;
  std::string hostname;
  std::string version;
  protocol::Labels labels;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  AgentState state = AgentState::kAlive;
  int64_t state_since_ms = 0;
  int64_t heartbeat_ms = 0;
  uint64_t spool_depth = 0;
  uint32_t open_circuits = 0;
  uint64_t acked_seq = 0;  // highest event sequence committed for this agent
};

// One sequenced event as received: the frame is kept verbatim.
struct StoredEvent {
  std::string agent_id;
  uint64_t seq = 0;
  protocol::MessageType type = protocol::MessageType::kMetrics;
  int64_t ts_ms = 0;        // the agent's clock
  int64_t received_ms = 0;  // the hub's clock
  std::string frame;
};

struct AgentStateChange {
  std::string agent_id;
  AgentState state;
  int64_t at_ms;
  std::string reason;  // "registered", "missed 3 heartbeats", "heartbeat", ...
};

// The change recorded as the probable cause of an incident when it opened.
struct SuspectRecord {
  uint64_t incident_id = 0;
  incidents::Suspect suspect;  // the change as it was when named
  int64_t at_ms = 0;           // hub clock, when it was named

  bool operator==(const SuspectRecord&) const = default;
};

// What one group commit writes.
struct WriteBatch {
  std::vector<AgentRecord> agents;  // upserts, full rows
  std::vector<AgentStateChange> state_changes;
  std::vector<StoredEvent> events;
  // What correlation changed while the batch was built (incidents, alerts, timeline).
  incidents::Changes incidents;
  // Silence rows SilenceSet returned while the batch was built (created, expired,
  // reminded), upserted in order.
  std::vector<incidents::Silence> silences;
  // From outside (external_api.h): new changes (deploys), the end times of open external
  // alerts (in order: upserts and deletes), the suspects named for incidents it opened.
  std::vector<incidents::Change> changes;
  std::vector<incidents::ExpiryWrite> expiry;
  std::vector<SuspectRecord> suspects;
  // The outbox (hub/outbox/outbox.h): new rows (inserted first), then the records of
  // attempts and requeues (updates of existing rows, in order).
  std::vector<OutboxRow> outbox;
  std::vector<OutboxUpdate> outbox_updates;
  // The workflow runner (hub/policy/runner.h): incidents' workflow documents, upserted.
  std::vector<policy::IncidentWorkflow> workflows;
  // Hubs sharing a PostgreSQL store (hub/relay_ingest.h). `relay`: written by a hub that
  // does not lead, so the events the leader acts on (all but metrics) are also queued in
  // event_relay for it. `relayed`: the event_relay rows the leader takes off the queue
  // with this batch; their events, already stored, are the first relayed.size() of
  // `events`, there to be correlated.
  bool relay = false;
  std::vector<int64_t> relayed;
  // Retention (store.events_retention): delete the oldest stored events received before
  // `before_ms`, at most `limit` of them. write_batch() says in `deleted` how many it
  // deleted, so that the hub knows whether more are due.
  struct EventPrune {
    int64_t before_ms = 0;
    int64_t limit = 0;
    mutable int64_t deleted = 0;
  };
  std::optional<EventPrune> prune;
  bool empty() const {
    return agents.empty() && state_changes.empty() && events.empty() && incidents.empty() &&
           silences.empty() && changes.empty() && expiry.empty() && suspects.empty() &&
           outbox.empty() && outbox_updates.empty() && workflows.empty() && relayed.empty() &&
           !prune;
  }
};

// What the leader of hubs sharing a store reads of the others' ingest (read_relay()).
struct RelayedEvents {
  std::vector<int64_t> ids;         // event_relay rows, oldest first
  std::vector<StoredEvent> events;  // in the same order
  // The rows of the agents seen by any hub since the asked time, and of those `events`
  // came from.
  std::vector<AgentRecord> agents;
};

class HubStore {
 public:
  virtual ~HubStore() = default;
  // Applies the whole batch atomically, or nothing.
  virtual Status write_batch(const WriteBatch& batch) = 0;
  virtual Result<std::vector<AgentRecord>> load_agents() = 0;
  // Oldest first.
  virtual Result<std::vector<AgentStateChange>> state_history(const std::string& agent_id) = 0;
  // What a (re)started incident engine restores: the incidents and alerts it held at the
  // last commit.
  virtual Result<incidents::EngineSnapshot> load_incidents() = 0;
  // What a (re)started SilenceSet restores: the silences ending after `ended_after_ms`,
  // and the next silence id (SilenceTables::load()).
  virtual Result<incidents::SilenceSnapshot> load_silences(int64_t ended_after_ms) = 0;
  // The firing alerts the engine holds, with their labels (detail), so the inhibit rules'
  // index can be rebuilt after a restart or reload.
  virtual Result<std::vector<incidents::AlertRow>> load_firing_alerts() = 0;
  // What a (re)started correlator restores of external input: the open external alerts'
  // end times, and the latest `per_service` changes of every service.
  virtual Result<std::vector<incidents::ExpiryEnd>> load_external_expiry() = 0;
  virtual Result<incidents::ChangeSnapshot> load_changes(size_t per_service) = 0;
  // What a (re)started workflow runner resumes: the active incidents' documents.
  virtual Result<std::vector<policy::IncidentWorkflow>> load_workflows() = 0;
  // One open external alert's end with what its row holds of its latest send, read when
  // it expires so its resolved signal carries its labels and annotations without the
  // correlator keeping them in memory; none when no alert with this fingerprint has an
  // end.
  virtual Result<std::optional<incidents::ExpiryRow>> load_external_expiry_row(
      const std::string& fingerprint) = 0;
  // For a store several hubs share (hub/cluster/lease.h): from now on every write_batch()
  // carries `fence`, and is refused whole ("fenced") once its term is over, so a leader
  // paused past its lease cannot write when it wakes. Only PostgreSQL is shared; the
  // others refuse ("unsupported").
  virtual Status set_fence(const cluster::Fence& fence) {
    return Status::error("unsupported", "only a PostgreSQL store is shared by hubs (fence " +
                                            fence.lease_name + ")");
  }
  // For the leader of hubs sharing the store: the oldest `limit` events the other hubs
  // ingested and queued in event_relay, the rows of their agents, and those of the agents
  // whose last_seen_ms is at or after `agents_seen_since_ms` (any hub's clock). A batch
  // with `relayed` takes the events off the queue.
  virtual Result<RelayedEvents> read_relay(size_t limit, int64_t agents_seen_since_ms) {
    (void)limit;
    (void)agents_seen_since_ms;
    return Status::error("unsupported", "only a PostgreSQL store is shared by hubs");
  }
};

// Which incidents GET /api/v1/incidents lists.
struct IncidentQuery {
  // Unset: any status. `open_only`: triggered or acknowledged.
  std::optional<incidents::IncidentStatus> status;
  bool open_only = false;
  std::string service;  // "": any
  std::optional<protocol::Severity> min_severity;
  int64_t since_ms = 0;  // opened at or after (hub clock, epoch ms)
  size_t limit = 100;
};

// One incident with what the record holds about it.
struct IncidentDetail {
  incidents::IncidentRow incident;
  std::vector<incidents::MemberRow> members;       // in joining order
  std::vector<incidents::AlertRow> alerts;         // the members' alerts as they are now
  std::vector<incidents::TimelineEntry> timeline;  // oldest first
  std::optional<SuspectRecord> suspect;            // named when it opened, if any
  // Recent changes of its service and, when the topology is known, of the services it
  // depends on (HubReader::set_dependencies), newest first, at most 20.
  std::vector<incidents::Change> changes;
  // What its workflows ran and created (hub/policy/workflow_state.h), if anything.
  std::optional<policy::IncidentWorkflow> workflow;
};

// Which changes GET /api/v1/changes lists: newest first.
struct ChangeQuery {
  std::string service;   // "": any
  int64_t since_ms = 0;  // took effect at or after (epoch ms)
  size_t limit = 100;
};

// The services `service` depends on (topology); empty when unknown.
using DependenciesFn = std::function<std::vector<std::string>(const std::string& service)>;

// Reading incidents and alerts for the API. Thread-safe (calls take turns on one
// connection of its own); never blocked by the writer, it sees the last committed state.
class HubReader {
 public:
  virtual ~HubReader() = default;
  // Newest first, at most q.limit.
  virtual Result<std::vector<incidents::IncidentRow>> incidents(const IncidentQuery& q) = 0;
  // Nullopt when no incident has that id.
  virtual Result<std::optional<IncidentDetail>> incident(uint64_t id) = 0;
  // Pending and firing alerts, with detail, most recently changed first, at most `limit`.
  virtual Result<std::vector<incidents::AlertRow>> open_alerts(size_t limit) = 0;
  virtual Result<std::vector<incidents::Change>> changes(const ChangeQuery& q) = 0;
  // Which dependencies' changes an incident's detail lists too. Set before serving;
  // `fn` is called on the HTTP threads, so it must be thread-safe.
  virtual void set_dependencies(DependenciesFn fn) = 0;
};

// Opens the store `cfg` names, applying schema migrations.
Result<std::unique_ptr<HubStore>> open_store(const StoreConfig& cfg);
// Opens a reader on a store that open_store() has already opened (and migrated).
Result<std::unique_ptr<HubReader>> open_reader(const StoreConfig& cfg);

}  // namespace reflex::hub
