#include "hub/oncall/oncall_api.h"

#include <httplib.h>

#include <charconv>
#include <set>

#include "common/json_text.h"
#include "hub/http_api.h"
#include "hub/incidents/rfc3339.h"

namespace reflex::hub::oncall {
namespace {

using nlohmann::json;

constexpr size_t kMaxNext = 100;

Status bad_query(const std::string& param, const std::string& what) {
  return Status::error("invalid_query", param + ": " + what);
}

json instant(int64_t ms, int64_t open) {
  return ms == open ? json(nullptr) : json(incidents::format_rfc3339_ms(ms));
}

json local_instant(const incidents::TimeZone& zone, int64_t ms, int64_t open) {
  return ms == open ? json(nullptr) : json(incidents::format_local_minute(zone, ms / 1000));
}

json shift_json(const OncallConfig& config, const Schedule& schedule, const Shift& shift) {
  json name = nullptr;
  if (auto p = config.people.find(shift.user);
      p != config.people.end() && !p->second.name.empty()) {
    name = p->second.name;
  }
  return {{"user", shift.user.empty() ? json(nullptr) : json(shift.user)},
          {"name", name},
          {"source", shift.source.empty() ? json(nullptr) : json(shift.source)},
          {"start", instant(shift.start_ms, kOpenStart)},
          {"end", instant(shift.end_ms, kOpenEnd)},
          {"start_local", local_instant(schedule.zone, shift.start_ms, kOpenStart)},
          {"end_local", local_instant(schedule.zone, shift.end_ms, kOpenEnd)}};
}

}  // namespace

Result<OncallQuery> parse_oncall_query(const std::multimap<std::string, std::string>& params,
                                       int64_t now_ms) {
  OncallQuery q{.at_ms = now_ms, .next = 1};
  std::set<std::string> seen;
  for (const auto& [name, value] : params) {
    if (!seen.insert(name).second) return bad_query(name, "given more than once");
    if (name == "at") {
      auto at = incidents::parse_rfc3339_ms(value, "at");
      if (!at) return Status::error("invalid_query", at.status().message());
      q.at_ms = *at;
    } else if (name == "next") {
      size_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n > kMaxNext) {
        return bad_query("next", "expected a whole number from 0 to " + std::to_string(kMaxNext) +
                                     ", got \"" + value + "\"");
      }
      q.next = n;
    } else {
      return bad_query(name, "unknown parameter (known: at, next)");
    }
  }
  return q;
}

json schedule_oncall_json(const OncallConfig& config, const Schedule& schedule,
                          const OncallQuery& query) {
  json next = json::array();
  for (const auto& shift : next_shifts(schedule, query.at_ms, query.next)) {
    next.push_back(shift_json(config, schedule, shift));
  }
  return {{"schedule", schedule.name},
          {"time_zone", schedule.zone.name()},
          {"now", shift_json(config, schedule, on_call(schedule, query.at_ms))},
          {"next", next}};
}

json oncall_json(const OncallConfig& config, const OncallQuery& query) {
  json schedules = json::array();
  for (const auto& [name, schedule] : config.schedules) {
    schedules.push_back(schedule_oncall_json(config, schedule, query));
  }
  return {{"at", incidents::format_rfc3339_ms(query.at_ms)}, {"schedules", schedules}};
}

void OncallApi::set_config(OncallConfig config) {
  auto next = std::make_shared<const OncallConfig>(std::move(config));
  std::lock_guard lock(mu_);
  config_ = std::move(next);
}

std::shared_ptr<const OncallConfig> OncallApi::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

void OncallApi::add_routes(httplib::Server& server) {
  server.Get("/api/v1/oncall", [this](const httplib::Request& req, httplib::Response& res) {
    auto q = parse_oncall_query(req.params, clock_.now_ms());
    if (!q) return json_error(res, 400, q.status().code(), q.status().message());
    res.set_content(json_text(oncall_json(*config(), *q)), "application/json");
  });
  server.Get(R"(/api/v1/oncall/([A-Za-z0-9._-]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               auto cfg = config();
               const std::string name = req.matches[1];
               auto s = cfg->schedules.find(name);
               if (s == cfg->schedules.end()) {
                 return json_error(res, 404, "not_found", "no schedule '" + name + "'");
               }
               auto q = parse_oncall_query(req.params, clock_.now_ms());
               if (!q) return json_error(res, 400, q.status().code(), q.status().message());
               json doc = schedule_oncall_json(*cfg, s->second, *q);
               doc["at"] = incidents::format_rfc3339_ms(q->at_ms);
               res.set_content(json_text(doc), "application/json");
             });
}

}  // namespace reflex::hub::oncall
