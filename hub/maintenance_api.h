// The maintenance windows hub.yaml declares, for operators and the dashboard:
//
//   GET /api/v1/maintenance
//       -> {"windows": [{"name", "matchers", "when", "comment", "open",
//                        "start_ms", "end_ms"}], "now_ms"}
//
// `when` is the recurrence as text ("Sun 02:00-04:00 Europe/Berlin"); `open` says whether
// an occurrence is open now, and start_ms/end_ms are that occurrence, else the next one.
// Windows are configuration: they change with hub.yaml (and a reload), not through the
// API. Reads only.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "hub/incidents/maintenance.h"

namespace httplib {
class Server;
}

namespace reflex::hub {

nlohmann::json maintenance_json(const std::vector<incidents::MaintenanceWindow>& windows,
                                int64_t now_ms);

class MaintenanceApi {
 public:
  // Any thread (the hub sets them on start and reload).
  void set_windows(std::vector<incidents::MaintenanceWindow> windows);
  void add_routes(httplib::Server& server);

 private:
  using Windows = std::vector<incidents::MaintenanceWindow>;
  std::shared_ptr<const Windows> windows() const;

  mutable std::mutex mu_;
  std::shared_ptr<const Windows> windows_ = std::make_shared<const Windows>();
};

}  // namespace reflex::hub
