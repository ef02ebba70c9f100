#include "hub/cluster/cluster_view.h"

#include "hub/incidents/rfc3339.h"

namespace reflex::hub::cluster {
namespace {

using nlohmann::json;

// The server's clock and state, and the lease row when there is one. clock_timestamp(),
// not now(): now() is the start of the enclosing transaction.
constexpr std::string_view kLeaseSql =
    "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint, pg_is_in_recovery(),"
    " CASE WHEN pg_is_in_recovery() THEN (extract(epoch FROM clock_timestamp()"
    "   - pg_last_xact_replay_timestamp()) * 1000)::bigint END,"
    " l.holder, l.token, l.acquired_at_ms, l.expires_at_ms"
    " FROM (SELECT 1) AS one LEFT JOIN leader_lease l ON l.name = $1";

constexpr std::string_view kMembersSql =
    "SELECT hub_id, http_url, agent_endpoint, version, role, started_at_ms, seen_at_ms"
    " FROM cluster_members WHERE seen_at_ms >= $1 ORDER BY hub_id";

#define REFLEX_LAG_MS(column) "(extract(epoch FROM " column ") * 1000)::bigint"
constexpr std::string_view kReplicasSql =
    "SELECT application_name, host(client_addr), state, " REFLEX_LAG_MS(
        "write_lag") ", " REFLEX_LAG_MS("flush_lag") ", " REFLEX_LAG_MS("replay_lag")
    " FROM pg_stat_replication ORDER BY application_name, pid";
#undef REFLEX_LAG_MS

std::optional<int64_t> optional_int(const pg::Row& row, int column) {
  if (row.column_is_null(column)) return std::nullopt;
  return row.column_int64(column);
}

json or_null(const std::optional<int64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

// A time as the hub's APIs give it: "<name>" in RFC 3339 and "<name>_ms".
void put_time(json& out, const std::string& name, int64_t ms) {
  out[name] = incidents::format_rfc3339_ms(ms);
  out[name + "_ms"] = ms;
}

}  // namespace

std::string ClusterView::leader() const {
  return lease && lease->expires_at_ms > server_now_ms ? lease->holder : std::string();
}

Result<ClusterView> read_cluster(pg::Connection& conn, const std::string& lease_name,
                                 int64_t seen_within_ms) {
  const std::string context = "cluster view";
  ClusterView view;
  view.lease_name = lease_name;
  {
    auto rows = conn.query(kLeaseSql, lease_name);
    if (!rows) return rows.status().with_context(context);
    const pg::Row row = (*rows)[0];  // one row, with or without a lease
    view.server_now_ms = row.column_int64(0);
    view.in_recovery = row.column_bool(1);
    view.replay_delay_ms = optional_int(row, 2);
    if (!row.column_is_null(3)) {
      view.lease = LeaseRow{row.column_text(3), row.column_int64(4), row.column_int64(5),
                            row.column_int64(6)};
    }
  }
  {
    auto rows = conn.query(kMembersSql, view.server_now_ms - seen_within_ms);
    if (!rows) return rows.status().with_context(context);
    for (int i = 0; i < rows->size(); ++i) {
      const pg::Row row = (*rows)[i];
      view.members.push_back({row.column_text(0), row.column_text(1), row.column_text(2),
                              row.column_text(3), row.column_text(4), row.column_int64(5),
                              row.column_int64(6)});
    }
  }
  {
    auto rows = conn.query(kReplicasSql);
    if (!rows) return rows.status().with_context(context);
    for (int i = 0; i < rows->size(); ++i) {
      const pg::Row row = (*rows)[i];
      Replica replica;
      replica.application_name = row.column_text(0);
      if (!row.column_is_null(1)) replica.client_addr = row.column_text(1);
      replica.state = row.column_text(2);
      replica.write_lag_ms = optional_int(row, 3);
      replica.flush_lag_ms = optional_int(row, 4);
      replica.replay_lag_ms = optional_int(row, 5);
      view.replicas.push_back(std::move(replica));
    }
  }
  return view;
}

json cluster_json(const ClusterView& view) {
  json out = json::object();
  out["lease_name"] = view.lease_name;
  const std::string leader = view.leader();
  out["leader"] = leader.empty() ? json(nullptr) : json(leader);
  if (view.lease) {
    json lease = {{"holder", view.lease->holder},
                  {"token", view.lease->token},
                  {"live", view.lease->expires_at_ms > view.server_now_ms}};
    put_time(lease, "acquired_at", view.lease->acquired_at_ms);
    put_time(lease, "expires_at", view.lease->expires_at_ms);
    out["lease"] = std::move(lease);
  } else {
    out["lease"] = nullptr;
  }
  put_time(out, "server_now", view.server_now_ms);
  json members = json::array();
  for (const Member& m : view.members) {
    json member = {{"hub_id", m.hub_id},
                   {"role", m.role},
                   {"http_url", m.http_url},
                   {"agent_endpoint", m.agent_endpoint},
                   {"version", m.version}};
    put_time(member, "started_at", m.started_at_ms);
    put_time(member, "seen_at", m.seen_at_ms);
    members.push_back(std::move(member));
  }
  out["members"] = std::move(members);
  json replicas = json::array();
  for (const Replica& r : view.replicas) {
    replicas.push_back({{"application_name", r.application_name},
                        {"client_addr", r.client_addr ? json(*r.client_addr) : json(nullptr)},
                        {"state", r.state},
                        {"write_lag_ms", or_null(r.write_lag_ms)},
                        {"flush_lag_ms", or_null(r.flush_lag_ms)},
                        {"replay_lag_ms", or_null(r.replay_lag_ms)}});
  }
  out["database"] = {{"in_recovery", view.in_recovery},
                     {"replay_delay_ms", or_null(view.replay_delay_ms)},
                     {"replicas", std::move(replicas)}};
  return out;
}

}  // namespace reflex::hub::cluster
