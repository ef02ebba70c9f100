#include "hub/cluster/cluster_schema.h"

#include <string>

#include "hub/cluster/lease.h"

namespace reflex::hub::cluster {
namespace {

constexpr std::string_view kMembersSql = R"sql(
CREATE TABLE cluster_members (
  hub_id TEXT PRIMARY KEY,
  http_url TEXT NOT NULL,        -- '' when not given
  agent_endpoint TEXT NOT NULL,  -- '' when not given
  version TEXT NOT NULL,
  started_at_ms BIGINT NOT NULL,  -- server clock
  seen_at_ms BIGINT NOT NULL,     -- server clock
  role TEXT NOT NULL              -- leader | standby
);
)sql";

}  // namespace

std::string_view cluster_migration() {
  static const std::string sql = std::string(kLeaseMigration) + ";\n" + std::string(kMembersSql);
  return sql;
}

}  // namespace reflex::hub::cluster
