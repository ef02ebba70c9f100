// HubStore on one SQLite file (WAL, synchronous=FULL: an acknowledged write survives a
// power cut, which is the promise the hub makes to agents).
#include "common/sqlite.h"
#include "common/sqlite_checkpointer.h"
#include "hub/incidents/external_tables.h"
#include "hub/incidents/incident_store.h"
#include "hub/incidents/silence_store.h"
#include "hub/outbox/outbox_tables.h"
#include "hub/pg_store.h"
#include "hub/sqlite_schema.h"
#include "hub/store.h"
#include "hub/store_rows.h"
#include "hub/suspect_tables.h"
#include "protocol/messages.h"

namespace reflex::hub {
namespace {

// Migration 3 takes the incident tables into the hub's file, so an event and the
// incident changes it causes commit in one transaction. The PostgreSQL store's list
// (hub/pg_schema.cc) creates the same tables under the same version numbers: a new
// migration goes into both.
const sqlite::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE agents (
  id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL,
  version TEXT NOT NULL,
  labels TEXT NOT NULL,            -- JSON object
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  state TEXT NOT NULL,             -- alive | lost
  state_since_ms INTEGER NOT NULL,
  heartbeat_ms INTEGER NOT NULL,
  spool_depth INTEGER NOT NULL DEFAULT 0,
  open_circuits INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE agent_state_changes (
  agent_id TEXT NOT NULL,
  state TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  reason TEXT NOT NULL
) STRICT;
CREATE INDEX agent_state_changes_by_agent ON agent_state_changes(agent_id, at_ms);
)sql"},
    {2, R"sql(
ALTER TABLE agents ADD COLUMN acked_seq INTEGER NOT NULL DEFAULT 0;
-- One row per sequenced event, kept as received. No index at all: ingest is
-- storage-bound and an index costs a B-tree insert per row. Each event is stored once
-- because the agent's sequence mark (agents.acked_seq) is committed in the same
-- transaction and the hub accepts only sequences above it.
CREATE TABLE events (
  agent_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  frame BLOB NOT NULL
) STRICT;
)sql"},
    {3, incidents::kIncidentSchemaSql},
    {4, incidents::kSilenceSchemaSql},  // silences made through the API
    // 5-7: what comes from outside (external_api.h): changes, the end times of open
    // external alerts, and the suspects named for incidents.
    {5, incidents::kChangesSchemaSql},
    {6, incidents::kExternalExpirySchemaSql},
    {7, kSuspectsSchemaSql},
    {8, kOutboxSchemaSql},            // outbound calls (hub/outbox/)
    {9, policy::kWorkflowSchemaSql},  // incidents' workflows (hub/policy/runner.h)
    // The index of retained alerts was keyed by fingerprint, which cost every new alert
    // a write at a random place in one more B-tree (a WAL page per alert). Keyed by the
    // flag, so in rowid order, new alerts append to it; a restart sorts what it loads.
    {10, R"sql(
DROP INDEX IF EXISTS alerts_retained;
CREATE INDEX alerts_retained_rows ON alerts(retained) WHERE retained = 1;
)sql"},
    // PostgreSQL's migration 11 creates the tables of hubs sharing one database
    // (hub/cluster/cluster_schema.h). A SQLite store belongs to one hub, which leads by
    // itself, so here the number only keeps the two lists aligned.
    {11, "-- nothing: hubs on SQLite do not form a cluster"},
    // PostgreSQL's 12 is the table other hubs' events wait in for the leader.
    {12, "-- nothing: hubs on SQLite do not form a cluster"},
    // PostgreSQL's 13 indexes events by the time they arrived, for retention; here the
    // rowid, which follows arrival, serves.
    {13, "-- nothing: events are pruned by rowid"},
    // An open external alert's end moves into its row in `alerts`: the table of its own
    // repeated the alert's labels and annotations and took every new alert's write at a
    // random place in one more B-tree.
    {14, incidents::kExpiryInAlertsSql},
};

using rows::bind_values;

class SqliteHubStore final : public HubStore {
 public:
  explicit SqliteHubStore(sqlite::Database db) : db_(std::move(db)) {}

  // Commits leave checkpoints (copying the WAL into the file) to a thread of their own.
  Status start_checkpointer() {
    auto c = sqlite::Checkpointer::start(db_);
    if (!c) return c.status();
    checkpointer_ = std::move(c).value();
    return Status::ok();
  }

  Status prepare_statements() {
    auto upsert = db_.prepare("INSERT INTO agents (" + std::string(rows::kAgentColumns) + R"sql()
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
ON CONFLICT(id) DO UPDATE SET hostname = ?2, version = ?3, labels = ?4, last_seen_ms = ?6,
  state = ?7, state_since_ms = ?8, heartbeat_ms = ?9, spool_depth = ?10, open_circuits = ?11,
  acked_seq = ?12)sql");
    if (!upsert) return upsert.status();
    upsert_ = std::make_unique<sqlite::Statement>(std::move(upsert).value());
    auto change = db_.prepare(
        "INSERT INTO agent_state_changes (agent_id, state, at_ms, reason) VALUES (?, ?, ?, ?)");
    if (!change) return change.status();
    change_ = std::make_unique<sqlite::Statement>(std::move(change).value());
    auto event = db_.prepare(
        "INSERT INTO events (agent_id, seq, type, ts_ms, received_ms, frame) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    if (!event) return event.status();
    event_ = std::make_unique<sqlite::Statement>(std::move(event).value());
    // Rows are appended in the order events arrive, so the oldest are the first by rowid:
    // only the first `limit` are looked at, however large the table.
    auto prune = db_.prepare(
        "DELETE FROM events WHERE rowid IN (SELECT rowid FROM "
        "(SELECT rowid, received_ms FROM events ORDER BY rowid LIMIT ?2) WHERE received_ms < ?1)");
    if (!prune) return prune.status();
    prune_ = std::make_unique<sqlite::Statement>(std::move(prune).value());
    auto tables = incidents::IncidentTables::prepare(db_);
    if (!tables) return tables.status();
    incidents_.emplace(std::move(tables).value());
    auto silences = incidents::SilenceTables::prepare(db_);
    if (!silences) return silences.status();
    silences_.emplace(std::move(silences).value());
    auto changes = incidents::ChangeTables::prepare(db_);
    if (!changes) return changes.status();
    changes_.emplace(std::move(changes).value());
    auto expiry = incidents::ExpiryTables::prepare(db_);
    if (!expiry) return expiry.status();
    expiry_.emplace(std::move(expiry).value());
    auto suspects = SuspectTables::prepare(db_);
    if (!suspects) return suspects.status();
    suspects_.emplace(std::move(suspects).value());
    auto outbox = OutboxTables::prepare(db_);
    if (!outbox) return outbox.status();
    outbox_.emplace(std::move(outbox).value());
    auto workflows = policy::WorkflowTables::prepare(db_);
    if (!workflows) return workflows.status();
    workflows_.emplace(std::move(workflows).value());
    return Status::ok();
  }

  Status write_batch(const WriteBatch& batch) override {
    if (batch.empty()) return Status::ok();
    if (batch.relay || !batch.relayed.empty()) {
      return Status::error("unsupported", "a SQLite store belongs to one hub: nothing is relayed");
    }
    auto tx = sqlite::Transaction::begin(db_);
    if (!tx) return tx.status();
    for (const auto& a : batch.agents) {
      REFLEX_RETURN_IF_ERROR(bind_values(*upsert_, rows::agent_values(a)));
      REFLEX_RETURN_IF_ERROR(upsert_->run());
    }
    for (const auto& e : batch.events) {
      REFLEX_RETURN_IF_ERROR(
          event_->bind_all(e.agent_id, static_cast<int64_t>(e.seq),
                           std::string_view(protocol::type_name(e.type)), e.ts_ms, e.received_ms,
                           std::span<const uint8_t>(
                               reinterpret_cast<const uint8_t*>(e.frame.data()), e.frame.size())));
      REFLEX_RETURN_IF_ERROR(event_->run());
    }
    for (const auto& c : batch.state_changes) {
      REFLEX_RETURN_IF_ERROR(bind_values(*change_, rows::state_change_values(c)));
      REFLEX_RETURN_IF_ERROR(change_->run());
    }
    // An external alert's end goes with its row when the batch writes one (plan_ends).
    const incidents::EndPlan ends = incidents::plan_ends(batch.incidents.alerts, batch.expiry);
    REFLEX_RETURN_IF_ERROR(
        incidents_->append(batch.incidents, ends.with_row.empty() ? nullptr : &ends.with_row));
    REFLEX_RETURN_IF_ERROR(silences_->append(batch.silences));
    for (const auto& c : batch.changes) {
      auto stored = changes_->append(c);
      if (!stored) return stored.status();
    }
    for (const auto* w : ends.alone) REFLEX_RETURN_IF_ERROR(expiry_->apply(*w));
    for (const auto& s : batch.suspects) REFLEX_RETURN_IF_ERROR(suspects_->append(s));
    for (const auto& r : batch.outbox) REFLEX_RETURN_IF_ERROR(outbox_->insert(r));
    for (const auto& u : batch.outbox_updates) REFLEX_RETURN_IF_ERROR(outbox_->update(u));
    for (const auto& w : batch.workflows) REFLEX_RETURN_IF_ERROR(workflows_->upsert(w));
    if (batch.prune) {
      REFLEX_RETURN_IF_ERROR(prune_->bind_all(batch.prune->before_ms, batch.prune->limit));
      REFLEX_RETURN_IF_ERROR(prune_->run());
      batch.prune->deleted = db_.changes();
    }
    return tx->commit();
  }

  Result<incidents::EngineSnapshot> load_incidents() override { return incidents_->load(); }
  Result<std::vector<incidents::ExpiryEnd>> load_external_expiry() override {
    return expiry_->load();
  }
  Result<std::optional<incidents::ExpiryRow>> load_external_expiry_row(
      const std::string& fingerprint) override {
    return expiry_->row(fingerprint);
  }
  Result<incidents::ChangeSnapshot> load_changes(size_t per_service) override {
    return changes_->load(per_service);
  }
  Result<std::vector<policy::IncidentWorkflow>> load_workflows() override {
    return workflows_->load_active();
  }

  Result<incidents::SilenceSnapshot> load_silences(int64_t ended_after_ms) override {
    return silences_->load(ended_after_ms);
  }

  Result<std::vector<incidents::AlertRow>> load_firing_alerts() override {
    std::vector<std::string> fingerprints;
    {
      auto st = db_.prepare(
          "SELECT fingerprint FROM alerts WHERE retained = 1 AND state = 'firing' "
          "ORDER BY fingerprint");
      if (!st) return st.status();
      for (;;) {
        auto row = st->step();
        if (!row) return row.status();
        if (!*row) break;
        fingerprints.push_back(st->column_text(0));
      }
    }
    std::vector<incidents::AlertRow> out;
    for (const auto& fp : fingerprints) {
      auto row = incidents_->alert(fp);
      if (!row) return row.status();
      if (*row) out.push_back(std::move(**row));
    }
    return out;
  }

  Result<std::vector<AgentRecord>> load_agents() override {
    auto st =
        db_.prepare("SELECT " + std::string(rows::kAgentColumns) + " FROM agents ORDER BY id");
    if (!st) return st.status();
    std::vector<AgentRecord> out;
    for (;;) {
      auto row = st->step();
      if (!row) return row.status();
      if (!*row) break;
      out.push_back(rows::read_agent(*st));
    }
    return out;
  }

  Result<std::vector<AgentStateChange>> state_history(const std::string& agent_id) override {
    auto st = db_.prepare(
        "SELECT state, at_ms, reason FROM agent_state_changes WHERE agent_id = ? "
        "ORDER BY at_ms, rowid");
    if (!st) return st.status();
    REFLEX_RETURN_IF_ERROR(st->bind_all(agent_id));
    std::vector<AgentStateChange> out;
    for (;;) {
      auto row = st->step();
      if (!row) return row.status();
      if (!*row) break;
      out.push_back({agent_id, rows::parse_agent_state(st->column_text_view(0)),
                     st->column_int64(1), st->column_text(2)});
    }
    return out;
  }

 private:
  sqlite::Database db_;
  std::unique_ptr<sqlite::Statement> upsert_;
  std::unique_ptr<sqlite::Statement> change_;
  std::unique_ptr<sqlite::Statement> event_;
  std::unique_ptr<sqlite::Statement> prune_;            // retention: the oldest events
  std::optional<incidents::IncidentTables> incidents_;  // on db_, which must not move
  std::optional<incidents::SilenceTables> silences_;    // on db_, likewise
  std::optional<incidents::ChangeTables> changes_;      // on db_ too
  std::optional<incidents::ExpiryTables> expiry_;       // on db_ too
  std::optional<SuspectTables> suspects_;               // on db_ too
  std::optional<OutboxTables> outbox_;                  // on db_ too
  std::optional<policy::WorkflowTables> workflows_;     // on db_ too
  // Declared last, so it stops before anything it checkpoints goes.
  std::unique_ptr<sqlite::Checkpointer> checkpointer_;
};

}  // namespace

std::span<const sqlite::Migration> sqlite_migrations() {
  return kMigrations;
}

const char* agent_state_name(AgentState s) {
  return s == AgentState::kLost ? "lost" : "alive";
}

Result<std::unique_ptr<HubStore>> open_store(const StoreConfig& cfg) {
  if (cfg.postgres()) return open_pg_store(cfg);
  sqlite::OpenOptions options;
  options.synchronous = sqlite::Synchronous::kFull;
  auto db = sqlite::Database::open(cfg.path, options);
  if (!db) return db.status();
  REFLEX_RETURN_IF_ERROR(sqlite::migrate(*db, kMigrations));
  auto store = std::make_unique<SqliteHubStore>(std::move(db).value());
  REFLEX_RETURN_IF_ERROR(store->prepare_statements());
  REFLEX_RETURN_IF_ERROR(store->start_checkpointer());
  return std::unique_ptr<HubStore>(std::move(store));
}

}  // namespace reflex::hub
