#include "hub/pg_schema.h"

#include "hub/cluster/cluster_schema.h"

namespace reflex::hub {
namespace {

const pg::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE agents (
  id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL,
  version TEXT NOT NULL,
  labels TEXT NOT NULL,            -- JSON object
  first_seen_ms BIGINT NOT NULL,
  last_seen_ms BIGINT NOT NULL,
  state TEXT NOT NULL,             -- alive | lost
  state_since_ms BIGINT NOT NULL,
  heartbeat_ms BIGINT NOT NULL,
  spool_depth BIGINT NOT NULL DEFAULT 0,
  open_circuits BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE agent_state_changes (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  agent_id TEXT NOT NULL,
  state TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX agent_state_changes_by_agent ON agent_state_changes(agent_id, at_ms);
)sql"},
    {2, R"sql(
ALTER TABLE agents ADD COLUMN acked_seq BIGINT NOT NULL DEFAULT 0;
-- One row per sequenced event, kept as received, without an index (see SQLite's
-- migration 2: stored once because agents.acked_seq commits in the same transaction).
CREATE TABLE events (
  agent_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  type TEXT NOT NULL,
  ts_ms BIGINT NOT NULL,
  received_ms BIGINT NOT NULL,
  frame BYTEA NOT NULL
);
)sql"},
    // hub/incidents/incident_store.h describes these tables.
    {3, R"sql(
CREATE TABLE alerts (
  fingerprint TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  rule TEXT NOT NULL,
  labels TEXT NOT NULL,        -- JSON object
  annotations TEXT NOT NULL,   -- JSON object
  host TEXT NOT NULL,
  state TEXT NOT NULL,         -- pending | firing | resolved
  severity TEXT NOT NULL,      -- info | warning | high | critical
  since_ms BIGINT NOT NULL,
  last_ms BIGINT NOT NULL,
  incident_id BIGINT NOT NULL,  -- 0: none
  retained BOOLEAN NOT NULL
);
CREATE INDEX alerts_retained ON alerts(fingerprint) WHERE retained;
CREATE TABLE alert_history (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  source TEXT NOT NULL,
  from_state TEXT,             -- NULL: first seen
  to_state TEXT NOT NULL,
  severity TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  recorded_ms BIGINT NOT NULL
);
CREATE INDEX alert_history_by_alert ON alert_history(fingerprint);
CREATE TABLE incidents (
  id BIGINT PRIMARY KEY,
  group_key TEXT NOT NULL,
  group_labels TEXT NOT NULL,  -- JSON object
  service TEXT NOT NULL,
  title TEXT NOT NULL,
  status TEXT NOT NULL,        -- triggered | acknowledged | resolved
  severity TEXT NOT NULL,
  opened_ms BIGINT NOT NULL,
  first_alert_ms BIGINT NOT NULL,
  last_alert_ms BIGINT NOT NULL,
  acknowledged_ms BIGINT NOT NULL,
  acknowledged_by TEXT NOT NULL,
  resolved_ms BIGINT NOT NULL,
  resolved_by TEXT NOT NULL,
  owner TEXT NOT NULL,
  reopen_count BIGINT NOT NULL,
  flapping BOOLEAN NOT NULL,
  recent_reopens TEXT NOT NULL,  -- JSON array of ms
  members BIGINT NOT NULL,
  firing BIGINT NOT NULL,
  affected_hosts BIGINT NOT NULL,
  peak_hosts BIGINT NOT NULL,
  resolve_due_ms BIGINT NOT NULL,  -- timers: 0 when not set
  reopen_until_ms BIGINT NOT NULL,
  settle_due_ms BIGINT NOT NULL,
  retained BOOLEAN NOT NULL
);
CREATE INDEX incidents_retained ON incidents(id) WHERE retained;
CREATE TABLE incident_members (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id BIGINT NOT NULL,
  fingerprint TEXT NOT NULL,
  host TEXT NOT NULL,
  joined_ms BIGINT NOT NULL
);
CREATE INDEX incident_members_by_incident ON incident_members(incident_id);
CREATE TABLE incident_timeline (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id BIGINT NOT NULL,
  at_ms BIGINT NOT NULL,
  kind TEXT NOT NULL,
  actor TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  host TEXT NOT NULL,
  text TEXT NOT NULL,
  suppressed TEXT NOT NULL     -- why it notified nobody; '' when it did
);
CREATE INDEX incident_timeline_by_incident ON incident_timeline(incident_id, id);
)sql"},
    // hub/incidents/silence_store.h
    {4, R"sql(
CREATE TABLE silences (
  id BIGINT PRIMARY KEY,
  matchers TEXT NOT NULL,      -- JSON array of matcher texts
  starts_at_ms BIGINT NOT NULL,
  ends_at_ms BIGINT NOT NULL,  -- exclusive; set to the expiry time when expired early
  created_by TEXT NOT NULL,
  comment TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  expired_by TEXT NOT NULL,    -- '' unless expired early
  reminded_ms BIGINT NOT NULL  -- 0: no reminder yet
);
CREATE INDEX silences_by_end ON silences(ends_at_ms);
)sql"},
    // 5-7 (hub/incidents/external_tables.h, hub/suspect_tables.h): changes, the end times
    // of open external alerts, the suspects named for incidents.
    {5, R"sql(
CREATE TABLE changes (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  service TEXT NOT NULL,
  environment TEXT NOT NULL,
  version TEXT NOT NULL,
  hosts TEXT NOT NULL,         -- JSON array of host names
  strategy TEXT NOT NULL,      -- '' | canary | blue-green | rolling
  active_color TEXT NOT NULL,
  commit_sha TEXT NOT NULL,
  author TEXT NOT NULL,
  link TEXT NOT NULL,
  source TEXT NOT NULL,
  at_ms BIGINT NOT NULL
);
CREATE INDEX changes_by_service ON changes(service, at_ms);
CREATE INDEX changes_by_time ON changes(at_ms);
)sql"},
    {6, R"sql(
CREATE TABLE external_expiry (
  fingerprint TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  rule TEXT NOT NULL,
  severity TEXT NOT NULL,      -- info | warning | high | critical
  host TEXT NOT NULL,
  labels TEXT NOT NULL,        -- JSON object
  annotations TEXT NOT NULL,   -- JSON object
  ends_at_ms BIGINT NOT NULL,
  timeout BOOLEAN NOT NULL     -- the end came from resolve_timeout
);
)sql"},
    {7, R"sql(
CREATE TABLE incident_suspects (
  incident_id BIGINT PRIMARY KEY,
  change_id TEXT NOT NULL,       -- changes.id
  on_dependency BOOLEAN NOT NULL,
  lead_ms BIGINT NOT NULL,
  summary TEXT NOT NULL,
  evidence TEXT NOT NULL,
  at_ms BIGINT NOT NULL
);
)sql"},
    // hub/outbox/outbox_tables.h
    {8, R"sql(
CREATE TABLE outbox (
  id BIGINT PRIMARY KEY,
  integration TEXT NOT NULL,
  operation TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  incident_id BIGINT,              -- NULL: not about an incident
  payload TEXT NOT NULL,           -- JSON, without credentials
  state TEXT NOT NULL,             -- pending | sending | done | dead
  attempts BIGINT NOT NULL,
  next_attempt_ms BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  result TEXT NOT NULL,            -- JSON; 'null' until done
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
);
CREATE INDEX outbox_by_state ON outbox(state, id);
)sql"},
    // hub/policy/workflow_state.h
    {9, R"sql(
CREATE TABLE incident_workflows (
  incident_id BIGINT PRIMARY KEY,
  active BOOLEAN NOT NULL,     -- loaded when the hub starts
  doc TEXT NOT NULL,           -- JSON: workflow_json()
  updated_ms BIGINT NOT NULL
);
CREATE INDEX incident_workflows_active ON incident_workflows(active);
)sql"},
    // Retained alerts indexed by the flag rather than by fingerprint, so a new alert
    // appends to the index instead of writing at a random place in it.
    {10, R"sql(
DROP INDEX IF EXISTS alerts_retained;
CREATE INDEX alerts_retained_rows ON alerts(retained) WHERE retained;
)sql"},
    // Hubs sharing this database: the leadership lease and the running hubs
    // (hub/cluster/cluster_schema.h). Its text is built when this array is initialised,
    // before main; SQLite's migration 11 only keeps the two lists' numbers aligned.
    {11, cluster::cluster_migration()},
    // What hubs that do not lead ingest (hub/relay_ingest.h) and the leader acts on (all
    // but metrics): stored in events as well, they wait here until the leader correlates
    // them and takes them off in one of its fenced batches. A queue, read by id.
    {12, R"sql(
CREATE TABLE event_relay (
  id BIGSERIAL PRIMARY KEY,
  agent_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  type TEXT NOT NULL,
  ts_ms BIGINT NOT NULL,
  received_ms BIGINT NOT NULL,
  frame BYTEA NOT NULL
);
-- The leader refreshes the agents other hubs heard from by this.
CREATE INDEX agents_last_seen ON agents(last_seen_ms);
)sql"},
    // Retention (store.events_retention) deletes the events received before a time. Rows
    // arrive in time order, so a BRIN index (a few pages, next to nothing per insert)
    // leads the delete to the oldest block ranges instead of a scan of the whole table.
    {13, R"sql(
CREATE INDEX events_received_brin ON events USING brin (received_ms);
)sql"},
    // An open external alert's end moves into its row in alerts: the table of its own
    // repeated the alert's labels and annotations and took every new alert's write in
    // one more B-tree.
    {14, R"sql(
ALTER TABLE alerts ADD COLUMN ends_at_ms BIGINT;  -- an open external alert's end; else NULL
ALTER TABLE alerts ADD COLUMN ends_by_timeout BOOLEAN NOT NULL DEFAULT false;
UPDATE alerts SET ends_at_ms = e.ends_at_ms, ends_by_timeout = e.timeout
  FROM external_expiry AS e WHERE e.fingerprint = alerts.fingerprint;
DROP TABLE external_expiry;
)sql"},
};

}  // namespace

std::span<const pg::Migration> pg_migrations() {
  return kMigrations;
}

}  // namespace reflex::hub
