#include "hub/maintenance_api.h"

#include <httplib.h>

#include <chrono>

#include "common/json_text.h"

namespace reflex::hub {

nlohmann::json maintenance_json(const std::vector<incidents::MaintenanceWindow>& windows,
                                int64_t now_ms) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& w : windows) {
    const auto open = w.when.open_at(now_ms);
    const incidents::Occurrence occurrence = open ? *open : w.when.next(now_ms);
    list.push_back({{"name", w.name},
                    {"matchers", incidents::matchers_to_string(w.matchers)},
                    {"when", w.when.describe()},
                    {"comment", w.comment},
                    {"open", open.has_value()},
                    {"start_ms", occurrence.start_ms},
                    {"end_ms", occurrence.end_ms}});
  }
  return {{"windows", list}, {"now_ms", now_ms}};
}

void MaintenanceApi::set_windows(std::vector<incidents::MaintenanceWindow> windows) {
  auto next = std::make_shared<const Windows>(std::move(windows));
  std::lock_guard lock(mu_);
  windows_ = std::move(next);
}

std::shared_ptr<const MaintenanceApi::Windows> MaintenanceApi::windows() const {
  std::lock_guard lock(mu_);
  return windows_;
}

void MaintenanceApi::add_routes(httplib::Server& server) {
  server.Get("/api/v1/maintenance", [this](const httplib::Request&, httplib::Response& res) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    res.set_content(json_text(maintenance_json(*windows(), now_ms)), "application/json");
  });
}

}  // namespace reflex::hub
