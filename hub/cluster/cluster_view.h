// What GET /api/v1/cluster and `reflexctl cluster` show: who holds the leadership lease,
// which hubs are running, and how the database's replication stands.
//
// read_cluster() reads it from PostgreSQL (the tables in cluster_schema.h, and the
// server's own pg_stat_replication and pg_is_in_recovery()); cluster_json() renders it.
// Both are plain functions: the caller chooses the connection and its thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/pg.h"
#include "common/status.h"

namespace reflex::hub::cluster {

// The lease row as the server holds it. Times are the server's clock, ms since the epoch.
struct LeaseRow {
  std::string holder;
  int64_t token = 0;
  int64_t acquired_at_ms = 0;
  int64_t expires_at_ms = 0;
};

// One cluster_members row.
struct Member {
  std::string hub_id;
  std::string http_url;        // "" when the hub was not given one
  std::string agent_endpoint;  // "" likewise
  std::string version;
  std::string role;  // "leader" | "standby", as the hub saw itself when it last wrote
  int64_t started_at_ms = 0;
  int64_t seen_at_ms = 0;
};

// One standby streaming from this server (a pg_stat_replication row). A field PostgreSQL
// reports as NULL (a lag while the standby is idle, the address of a unix-socket client,
// anything the role may not see without pg_monitor) is absent.
struct Replica {
  std::string application_name;
  std::optional<std::string> client_addr;
  std::string state;  // "streaming", "catchup", ...
  std::optional<int64_t> write_lag_ms;
  std::optional<int64_t> flush_lag_ms;
  std::optional<int64_t> replay_lag_ms;
};

struct ClusterView {
  std::string lease_name;
  std::optional<LeaseRow> lease;  // absent until a hub has first taken the lease
  int64_t server_now_ms = 0;      // the server's clock when this was read
  std::vector<Member> members;    // seen recently, ordered by hub_id
  bool in_recovery = false;       // this server is a standby (pg_is_in_recovery())
  // On a standby: how long ago, by its clock, it replayed the last transaction.
  std::optional<int64_t> replay_delay_ms;
  std::vector<Replica> replicas;  // standbys streaming from this server

  // The hub holding a live lease; "" when nobody leads right now.
  std::string leader() const;
};

// The lease `lease_name` and the members whose seen_at_ms lies within `seen_within_ms` of
// the server's now. A few short queries on `conn`, not in one transaction.
Result<ClusterView> read_cluster(pg::Connection& conn, const std::string& lease_name,
                                 int64_t seen_within_ms);

// The view as JSON. Every time is given twice, RFC 3339 in UTC and ms since the epoch,
// as the hub's other APIs do; an absent value is null:
//   {"lease_name": "hub",
//    "leader": "hub-a" | null,
//    "lease": {"holder": "hub-a", "token": 3, "live": true,
//              "acquired_at": "2026-01-01T10:00:00Z", "acquired_at_ms": ...,
//              "expires_at": "...", "expires_at_ms": ...} | null,
//    "server_now": "...", "server_now_ms": ...,
//    "members": [{"hub_id": "hub-a", "role": "leader", "http_url": "...",
//                 "agent_endpoint": "...", "version": "0.1.0",
//                 "started_at": "...", "started_at_ms": ...,
//                 "seen_at": "...", "seen_at_ms": ...}],
//    "database": {"in_recovery": false, "replay_delay_ms": 120 | null,
//                 "replicas": [{"application_name": "db2", "client_addr": "10.0.0.2" | null,
//                               "state": "streaming", "write_lag_ms": 3 | null,
//                               "flush_lag_ms": 4 | null, "replay_lag_ms": 5 | null}]}}
nlohmann::json cluster_json(const ClusterView& view);

}  // namespace reflex::hub::cluster
