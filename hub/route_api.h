// The routing routes of the hub's HTTP API: what the configured routes and workflows are,
// and what an incident with given labels would get, without sending anything.
//
//   GET /api/v1/routes          {"routes": [...], "workflows": {...}} as hub.yaml declares
//   GET /api/v1/routes/test?label=service=checkout&label=env=prod&severity=high
//                               &suspect=true&event=opened
//       -> {"incident": {...}, "routes": [{"name", "workflow", "continue",
//           "steps": [{"name", "kind", "on", "if", "runs", "with": {rendered}}]}]}
//
// `label` may repeat (name=value); `severity` defaults to warning, `suspect` to false;
// `event` keeps only the steps that run on it. Each step says whether its `if` holds
// for this incident ("runs") and shows its parameters rendered over it. Bad parameters
// are a 400 naming them. Reads only: any token that may read may call them.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/status.h"
#include "hub/policy/policy.h"

namespace httplib {
class Server;
}

namespace reflex::hub {

struct RouteQuery {
  policy::IncidentFacts facts;
  std::string event;   // empty: every event
  int64_t now_ms = 0;  // for {{business_start}} and {{business_day}}
};

// Parses the query parameters of /api/v1/routes/test; errors ("invalid_query") name the
// parameter.
Result<RouteQuery> parse_route_query(const std::multimap<std::string, std::string>& params);
// The answer of /api/v1/routes/test.
nlohmann::json route_test_json(const policy::PolicyConfig& config, const RouteQuery& query);
// The answer of /api/v1/routes.
nlohmann::json policy_json(const policy::PolicyConfig& config);

class RouteApi {
 public:
  // Any thread (the hub sets it on start and reload).
  void set_policy(policy::PolicyConfig config);
  void add_routes(httplib::Server& server);

 private:
  std::shared_ptr<const policy::PolicyConfig> policy() const;

  mutable std::mutex mu_;
  std::shared_ptr<const policy::PolicyConfig> policy_ =
      std::make_shared<const policy::PolicyConfig>();
};

}  // namespace reflex::hub
