// The on-call routes of the hub's HTTP API: who is on call in each schedule hub.yaml
// declares, now or at a given instant, and the shifts after that. Reads only (a viewer
// token may call them).
//
//   GET /api/v1/oncall?at=<RFC3339>&next=N
//       -> {"at": T, "schedules": [SCHEDULE, ...]}          (by name)
//   GET /api/v1/oncall/{schedule}?at=<RFC3339>&next=N
//       -> {"at": T, "schedule": NAME, "time_zone": ZONE, "now": SHIFT, "next": [SHIFT]}
//   SCHEDULE = {"schedule", "time_zone", "now", "next"} as above
//   SHIFT = {"user": ID|null, "name": NAME|null, "source": LAYER|"override"|null,
//            "start": RFC3339|null, "end": RFC3339|null,          (UTC; null: open)
//            "start_local": "2026-01-05 09:00"|null, "end_local": ...}  (schedule zone)
//
// `at` defaults to now, `next` (0..100) to 1. A bad parameter is a 400 naming it
// ("invalid_query"); an unknown schedule a 404 ("not_found").
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "hub/oncall/oncall.h"

namespace httplib {
class Server;
}

namespace reflex::hub::oncall {

struct OncallQuery {
  int64_t at_ms = 0;
  size_t next = 1;
};

// Parses the query parameters; `now_ms` is the default `at`.
Result<OncallQuery> parse_oncall_query(const std::multimap<std::string, std::string>& params,
                                       int64_t now_ms);
// One schedule's document (SCHEDULE above, without "at").
nlohmann::json schedule_oncall_json(const OncallConfig& config, const Schedule& schedule,
                                    const OncallQuery& query);
// The answer of GET /api/v1/oncall.
nlohmann::json oncall_json(const OncallConfig& config, const OncallQuery& query);

class OncallApi {
 public:
  // `clock` must outlive this.
  explicit OncallApi(const Clock& clock) : clock_(clock) {}
  // Any thread (the hub sets it on start and reload).
  void set_config(OncallConfig config);
  // `this` must outlive the server's serving.
  void add_routes(httplib::Server& server);

 private:
  std::shared_ptr<const OncallConfig> config() const;

  const Clock& clock_;
  mutable std::mutex mu_;
  std::shared_ptr<const OncallConfig> config_ = std::make_shared<const OncallConfig>();
};

}  // namespace reflex::hub::oncall
