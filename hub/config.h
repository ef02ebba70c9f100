// hub.yaml: what the hub listens on, where it stores, and how it judges agents.
//
// Every key has an embedded default, so a hub with no config file runs on loopback with
// a SQLite file in the working directory.
#pragma once

#include <string>
#include <vector>

#include "common/config.h"
#include "common/log.h"
#include "common/status.h"
#include "hub/incidents/suppression_config.h"
#include "hub/oncall/oncall.h"
#include "hub/outbox/outbox_config.h"
#include "hub/policy/policy.h"

namespace reflex::hub {

// Where the hub keeps its record: one SQLite file (the default), or PostgreSQL 15, which
// several hubs can share. The password is never written into hub.yaml's dsn: it is read
// from password_file or password_env when the store is opened.
struct StoreConfig {
  std::string backend = "sqlite";      // sqlite | postgres
  std::string path = "reflex-hub.db";  // sqlite: the file
  std::string dsn;                     // postgres: libpq conninfo (keywords or URI)
  int pool = 4;                        // postgres: connections for the API's reads (1..64)
  std::string password_file;           // postgres: the password, from this file...
  std::string password_env;            // ...or from this environment variable
  // Events received longer ago than this are deleted, oldest first; 0 keeps them all.
  Millis events_retention = Millis(30LL * 24 * 3600 * 1000);
  bool postgres() const { return backend == "postgres"; }
  // The store as messages name it: the file, or the server with the dsn's password hidden.
  std::string where() const;
  bool operator==(const StoreConfig&) const = default;
};

// Hubs sharing one PostgreSQL store (store.backend postgres): one leads, the others stand
// by (hub/clustered_hub.h).
struct ClusterConfig {
  std::string hub_id;             // this hub's name among them; "": <hostname>-<http port>
  Millis lease = Millis(10'000);  // how long a silent leader keeps leading (1s..10m)
  std::string url;                // how to reach this hub's API; "": http://<http>
  bool operator==(const ClusterConfig&) const = default;
};

struct AgentsPolicyConfig {
  int64_t lost_after_missed = 3;            // heartbeats missed before an agent is lost
  Millis default_heartbeat = Millis(5000);  // when an agent's hello does not say
  Millis check_interval = Millis(1000);     // how often liveness is evaluated
  int64_t window = 1000;                    // events each agent may have in flight
  Millis slow_commit = Millis(250);         // a group commit slower than this: slow down
};

// CurveZMQ on the agent port. With a secret key, every agent must present a key listed
// in the allowlist; without one, only plaintext from loopback is accepted unless
// insecure_plaintext says otherwise. A non-loopback listen address needs one or the other.
struct SecurityConfig {
  std::string secret_key_file;  // the hub's CURVE secret key (NAME.key_secret)
  std::string allowlist;        // file of "AGENT_ID KEY" lines or a directory of AGENT_ID.key
  bool insecure_plaintext = false;
  bool curve() const { return !secret_key_file.empty(); }
};

// How alerts become incidents (the incident engine's policy; see
// hub/incidents/engine.h). The defaults are the engine's own.
struct IncidentsConfig {
  std::vector<std::string> group_by{"service", "env"};  // alert labels that make a group
  Millis resolve_after = Millis(5 * 60'000);            // after the last member alert resolves
  Millis reopen_window = Millis(60 * 60'000);           // a returning alert reopens within this
  int64_t flap_threshold = 3;  // reopens within flap_window before flapping
  Millis flap_window = Millis(60 * 60'000);
};

// Bearer tokens for the HTTP API (hub/api_tokens.h reads and checks them). Without
// tokens the API is open, which a non-loopback `http` address refuses unless
// insecure_open says otherwise.
struct ApiTokenConfig {
  std::string name;        // the actor recorded for every write made with the token
  std::string role;        // viewer, responder or admin
  std::string token_file;  // the secret, read at start-up and on reload
  std::string token;       // or inline (discouraged: the config file then holds a secret)
};

struct ApiConfig {
  std::vector<ApiTokenConfig> tokens;
  bool insecure_open = false;
};

// Alerts from monitoring tools (hub/external_api.h).
struct ExternalConfig {
  // An alert posted to /api/v2/alerts without endsAt resolves this long after it was
  // posted unless it is sent again (Alertmanager's resolve_timeout).
  Millis resolve_timeout = Millis(5 * 60'000);
};

// Changes (deploys) and the suspects named from them.
struct ChangesConfig {
  // A change this long or less before an incident opens is its suspect.
  Millis suspect_window = Millis(30 * 60'000);
  // The GitHub webhook secret (X-Hub-Signature-256). None: GitHub deliveries are refused.
  std::string github_secret_file;
  // When set, Jenkins notifications must carry ?token=<this file's secret>.
  std::string jenkins_secret_file;
};

struct HubConfig {
  std::string listen = "tcp://127.0.0.1:7171";  // ZeroMQ ROUTER for agents
  std::string http = "127.0.0.1:7180";          // HTTP API, dashboard, /metrics
  StoreConfig store;
  ClusterConfig cluster;
  AgentsPolicyConfig agents;
  SecurityConfig security;
  IncidentsConfig incidents;
  LogConfig log;
  // Top-level `services`, `dependency_inhibition`, `inhibit_rules`, `maintenance` and
  // `silence_reminders` (keys in hub/incidents/suppression_config.h).
  incidents::SuppressionConfig suppression;
  ApiConfig api;
  ExternalConfig external;
  ChangesConfig changes;
  // HTTP worker threads. A request that writes waits for its commit on one, so this
  // bounds how many writers can share a group commit.
  int64_t http_threads = 64;
  // Top-level `routes` and `workflows` (keys in hub/policy/policy_config.h).
  policy::PolicyConfig policy;
  // Outbound calls: `outbox` (retries) and `integrations` (vendors); keys in
  // hub/outbox/outbox_config.h.
  OutboxConfig outbox;
  IntegrationsConfig integrations;
  // Top-level `people`, `schedules` and `escalation_policies` (keys in
  // hub/oncall/oncall_config.h).
  oncall::OncallConfig oncall;
};

// True when a ZeroMQ tcp endpoint binds only to loopback (127.0.0.0/8, ::1, localhost).
bool is_loopback_endpoint(const std::string& endpoint);

// Reads a parsed hub.yaml; every problem is reported with its file, line and key path.
Result<HubConfig> read_hub_config(const YAML::Node& root, const std::string& file);
// Loads and validates a file; an empty path means the embedded defaults.
Result<HubConfig> load_hub_config(const std::string& path);

}  // namespace reflex::hub
