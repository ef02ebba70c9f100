// The tables the hubs of one PostgreSQL share to agree on a leader and to show the
// cluster: the store lists them as its migration 11 (hub/pg_schema.cc).
//
//   leader_lease(name, holder, token, expires_at_ms, acquired_at_ms): one row per lease,
//     written only by LeaseKeeper (lease.h).
//   cluster_members(hub_id PK, http_url, agent_endpoint, version, started_at_ms,
//     seen_at_ms, role): one row per running hub, upserted by its Leadership (leadership.h)
//     every lease/3. http_url is where its HTTP API answers and agent_endpoint where agents
//     connect ('' when not given); started_at_ms is when this run of the hub first wrote
//     the row and seen_at_ms its latest write, both by the server's clock (ms since the
//     epoch); role is 'leader' or 'standby', as the hub saw itself at that write. A hub
//     that stops cleanly deletes its row; one that dies leaves a row that stops being
//     seen, which readers filter by seen_at_ms (read_cluster, cluster_view.h).
#pragma once

#include <string_view>

namespace reflex::hub::cluster {

// kLeaseMigration and the cluster_members table, as one migration's SQL.
std::string_view cluster_migration();

}  // namespace reflex::hub::cluster
