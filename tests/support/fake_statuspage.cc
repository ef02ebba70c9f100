#include "tests/support/fake_statuspage.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace reflex::testing {
namespace {

using nlohmann::json;
using Answer = FakeVendorServer::Answer;

const std::set<std::string> kStatuses = {"investigating", "identified",  "monitoring", "resolved",
                                         "scheduled",     "in_progress", "verifying",  "completed"};
const std::set<std::string> kImpacts = {"none", "minor", "major", "critical", "maintenance"};

Answer error(int status, const std::string& message) {
  return {.status = status, .body = {{"message", message}}, .headers = {}};
}

bool is_string(const json& o, const char* key) {
  return o.contains(key) && o[key].is_string();
}

}  // namespace

FakeStatuspage::FakeStatuspage(std::string api_key, std::string page_id, int port)
    : api_key_(std::move(api_key)),
      page_id_(std::move(page_id)),
      server_(
          "FakeStatuspage", [this](const FakeVendorServer::Request& r) { return handle(r); },
          port) {}

void FakeStatuspage::rate_limit_next(int n, int status, int retry_after_seconds) {
  fail_next(n, {.status = status,
                .headers = {{"Retry-After", std::to_string(retry_after_seconds)}},
                .body = R"({"message":"Rate limit exceeded"})"});
}

std::vector<FakeStatuspage::Incident> FakeStatuspage::incidents() const {
  std::lock_guard lock(mu_);
  return incidents_;
}

std::string FakeStatuspage::invalid(const json& in, bool create) const {
  if (create && (!is_string(in, "name") || in["name"].get<std::string>().empty())) {
    return "Name can't be blank";
  }
  if (in.contains("name") &&
      (!in["name"].is_string() || in["name"].get<std::string>().size() > 255)) {
    return "Name is too long (maximum is 255 characters)";
  }
  if (in.contains("status") &&
      (!in["status"].is_string() || !kStatuses.count(in["status"].get<std::string>()))) {
    return "Status is not included in the list";
  }
  if (in.contains("impact_override") &&
      (!in["impact_override"].is_string() ||
       !kImpacts.count(in["impact_override"].get<std::string>()))) {
    return "Impact override is not included in the list";
  }
  if (in.contains("body") &&
      (!in["body"].is_string() || in["body"].get<std::string>().size() > 25'000)) {
    return "Body is too long (maximum is 25000 characters)";
  }
  if (in.contains("component_ids")) {
    if (!in["component_ids"].is_array()) return "Component ids must be a list";
    for (const auto& c : in["component_ids"]) {
      if (!c.is_string()) return "Component ids must be a list of ids";
    }
  }
  return "";
}

void FakeStatuspage::apply(Incident& i, const json& in) {
  if (is_string(in, "name")) i.name = in["name"].get<std::string>();
  if (is_string(in, "impact_override")) i.impact = in["impact_override"].get<std::string>();
  if (in.contains("component_ids")) {
    i.component_ids.clear();
    for (const auto& c : in["component_ids"]) i.component_ids.push_back(c.get<std::string>());
  }
  const bool new_status = is_string(in, "status");
  if (new_status) i.status = in["status"].get<std::string>();
  if (new_status || is_string(in, "body")) {
    i.updates.emplace_back(i.status, in.value("body", ""));
  }
}

json FakeStatuspage::incident_json(const Incident& i) const {
  json updates = json::array();
  for (size_t n = 0; n < i.updates.size(); ++n) {
    updates.push_back({{"id", i.id + "-u" + std::to_string(n + 1)},
                       {"status", i.updates[n].first},
                       {"body", i.updates[n].second}});
  }
  return {{"id", i.id},
          {"name", i.name},
          {"status", i.status},
          {"impact", i.impact},
          {"shortlink", "http://stspg.io/" + i.id.substr(0, 6)},
          {"page_id", page_id_},
          {"created_at", "2026-01-01T10:00:00.000Z"},
          {"updated_at", "2026-01-01T10:00:00.000Z"},
          {"resolved_at", i.status == "resolved" ? json("2026-01-01T10:00:00.000Z") : json()},
          {"incident_updates", updates},
          {"components", json::array()}};
}

Answer FakeStatuspage::handle(const FakeVendorServer::Request& req) {
  if (req.header("Authorization") != "OAuth " + api_key_) {
    return error(401, "Could not authenticate");
  }
  // /v1/pages/{page}/incidents[/{id}]
  const std::string pages = "/v1/pages/";
  if (req.path.rfind(pages, 0) != 0) return error(404, "Not found");
  const std::string rest = req.path.substr(pages.size());
  const size_t slash = rest.find('/');
  const std::string page = rest.substr(0, slash);
  const std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
  if (page != page_id_) return error(404, "Page not found");
  std::string id;
  if (tail.rfind("/incidents/", 0) == 0) {
    id = tail.substr(std::string("/incidents/").size());
  } else if (tail != "/incidents") {
    return error(404, "Not found");
  }
  const bool write = req.method == "POST" || req.method == "PATCH" || req.method == "PUT";
  if (write && (!req.body.is_object() || !req.body.contains("incident") ||
                !req.body["incident"].is_object())) {
    return error(400, "incident is missing or not an object");
  }
  std::lock_guard lock(mu_);
  if (id.empty()) {
    if (req.method == "GET") {
      json list = json::array();
      for (const auto& i : incidents_) list.push_back(incident_json(i));
      return {.status = 200, .body = list, .headers = {}};
    }
    if (req.method != "POST") return error(405, "Method not allowed");
    const json& in = req.body["incident"];
    if (auto e = invalid(in, true); !e.empty()) return error(422, e);
    char buf[16];
    std::snprintf(buf, sizeof buf, "inc%09zu", incidents_.size() + 1);
    Incident i{.id = buf,
               .name = {},
               .status = "investigating",
               .impact = "none",
               .component_ids = {},
               .updates = {}};
    apply(i, in);
    incidents_.push_back(i);
    return {.status = 201, .body = incident_json(i), .headers = {}};
  }
  auto it = std::find_if(incidents_.begin(), incidents_.end(),
                         [&](const Incident& i) { return i.id == id; });
  if (it == incidents_.end()) return error(404, "Incident not found");
  if (req.method == "GET") return {.status = 200, .body = incident_json(*it), .headers = {}};
  if (req.method != "PATCH" && req.method != "PUT") return error(405, "Method not allowed");
  const json& in = req.body["incident"];
  if (auto e = invalid(in, false); !e.empty()) return error(422, e);
  apply(*it, in);
  return {.status = 200, .body = incident_json(*it), .headers = {}};
}

}  // namespace reflex::testing
