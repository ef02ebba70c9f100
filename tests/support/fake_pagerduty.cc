#include "tests/support/fake_pagerduty.h"

#include <cstdio>
#include <set>

namespace reflex::testing {
namespace {

using nlohmann::json;
using Answer = FakeVendorServer::Answer;

Answer invalid(std::vector<std::string> errors) {
  return {.status = 400,
          .body = {{"status", "invalid event"},
                   {"message", "Event object is invalid"},
                   {"errors", std::move(errors)}},
          .headers = {}};
}

bool non_empty_string(const json& o, const char* key) {
  return o.contains(key) && o[key].is_string() && !o[key].get<std::string>().empty();
}

}  // namespace

FakePagerDuty::FakePagerDuty(std::string routing_key)
    : routing_key_(std::move(routing_key)),
      server_("FakePagerDuty", [this](const FakeVendorServer::Request& r) { return handle(r); }) {}

std::vector<FakePagerDuty::Alert> FakePagerDuty::alerts() const {
  std::lock_guard lock(mu_);
  return alerts_;
}

Answer FakePagerDuty::handle(const FakeVendorServer::Request& req) {
  if (req.path != "/v2/enqueue") {
    return {.status = 404, .body = {{"status", "not found"}}, .headers = {}};
  }
  if (req.method != "POST") {
    return {.status = 405, .body = {{"status", "method not allowed"}}, .headers = {}};
  }
  if (!req.body.is_object()) {
    return {.status = 400,
            .body = {{"status", "invalid request"}, {"message", "Invalid JSON"}},
            .headers = {}};
  }
  const json& e = req.body;
  std::vector<std::string> errors;
  if (!e.contains("routing_key") || !e["routing_key"].is_string()) {
    errors.push_back("'routing_key' is missing or blank");
  } else if (e["routing_key"].get<std::string>().size() != 32) {
    errors.push_back("'routing_key' must be 32 characters");
  } else if (e["routing_key"] != routing_key_) {
    errors.push_back("'routing_key' is not a known integration key");
  }
  static const std::set<std::string> kActions = {"trigger", "acknowledge", "resolve"};
  const std::string action = e.value("event_action", "");
  if (!kActions.count(action)) {
    errors.push_back("'event_action' must be one of trigger, acknowledge, resolve");
  }
  const bool has_key = non_empty_string(e, "dedup_key");
  if (e.contains("dedup_key") &&
      (!e["dedup_key"].is_string() || e["dedup_key"].get<std::string>().size() > 255)) {
    errors.push_back("'dedup_key' must be a string of at most 255 characters");
  } else if (action != "trigger" && !has_key) {
    errors.push_back("'dedup_key' is required for " + action);
  }
  if (action == "trigger") {
    const json p = e.contains("payload") ? e["payload"] : json();
    if (!p.is_object()) {
      errors.push_back("'payload' is missing or not an object");
    } else {
      if (!non_empty_string(p, "summary")) {
        errors.push_back("'payload.summary' is missing or blank");
      } else if (p["summary"].get<std::string>().size() > 1024) {
        errors.push_back("'payload.summary' must be at most 1024 characters");
      }
      if (!non_empty_string(p, "source")) errors.push_back("'payload.source' is missing or blank");
      static const std::set<std::string> kSeverities = {"critical", "error", "warning", "info"};
      if (!p.contains("severity") || !p["severity"].is_string() ||
          !kSeverities.count(p["severity"].get<std::string>())) {
        errors.push_back("'payload.severity' must be one of critical, error, warning, info");
      }
    }
  }
  if (!errors.empty()) return invalid(std::move(errors));

  std::lock_guard lock(mu_);
  std::string key;
  if (has_key) {
    key = e["dedup_key"].get<std::string>();
  } else {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%032x", ++generated_);
    key = buf;
  }
  Alert* open = nullptr;
  for (auto& a : alerts_) {
    if (a.dedup_key == key && a.status != "resolved") open = &a;
  }
  if (action == "trigger") {
    if (!open) {
      alerts_.push_back(Alert{.dedup_key = key,
                              .status = "triggered",
                              .summary = e["payload"]["summary"].get<std::string>(),
                              .severity = e["payload"]["severity"].get<std::string>(),
                              .events = 0});
      open = &alerts_.back();
    }
    open->events += 1;
  } else if (open) {
    open->status = action == "acknowledge" ? "acknowledged" : "resolved";
    open->events += 1;
  }
  return {.status = 202,
          .body = {{"status", "success"}, {"message", "Event processed"}, {"dedup_key", key}},
          .headers = {}};
}

}  // namespace reflex::testing
