#include "hub/route_api.h"

#include <chrono>

#include <httplib.h>

#include <algorithm>
#include <set>

#include "common/duration.h"
#include "common/json_text.h"
#include "hub/http_api.h"
#include "hub/incidents/alert_signal.h"
#include "hub/policy/templates.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

Status bad_query(const std::string& param, const std::string& what) {
  return Status::error("invalid_query", param + ": " + what);
}

json matchers_json(const incidents::Matchers& matchers) {
  json list = json::array();
  for (const auto& m : matchers) list.push_back(m.to_string());
  return list;
}

json step_json(const policy::Step& step) {
  return {{"name", step.name},
          {"kind", policy::step_kind_name(step.kind)},
          {"on", step.on},
          {"if", matchers_json(step.condition)},
          {"with", step.with}};
}

json match_json(const policy::RouteMatch& match) {
  json severities = json::array();
  for (auto s : match.severities) severities.push_back(protocol::severity_name(s));
  json out = {{"severity", severities},
              {"service", match.services},
              {"env", match.envs},
              {"labels", matchers_json(match.labels)}};
  if (match.has_suspect) out["has_suspect"] = *match.has_suspect;
  return out;
}

}  // namespace

Result<RouteQuery> parse_route_query(const std::multimap<std::string, std::string>& params) {
  RouteQuery q;
  std::set<std::string> seen;
  for (const auto& [name, value] : params) {
    if (name != "label" && !seen.insert(name).second) {
      return bad_query(name, "given more than once");
    }
    if (name == "label") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0) {
        return bad_query("label", "expected name=value, got \"" + value + "\"");
      }
      q.facts.labels[value.substr(0, eq)] = value.substr(eq + 1);
    } else if (name == "severity") {
      auto sev = incidents::parse_severity(value);
      if (!sev) return bad_query("severity", sev.status().message());
      q.facts.severity = *sev;
    } else if (name == "suspect") {
      if (value != "true" && value != "false") {
        return bad_query("suspect", "expected true or false, got \"" + value + "\"");
      }
      q.facts.has_suspect = value == "true";
    } else if (name == "event") {
      if (!policy::valid_event(value)) {
        return bad_query("event",
                         "\"" + value + "\" is not an event (one of " + policy::kEventsHelp + ")");
      }
      q.event = value;
    } else {
      return bad_query(name, "unknown parameter (known: event, label, severity, suspect)");
    }
  }
  auto service = q.facts.labels.find("service");
  q.facts.title = "route test" + (service == q.facts.labels.end() ? "" : " on " + service->second);
  return q;
}

json route_test_json(const policy::PolicyConfig& config, const RouteQuery& query) {
  policy::IncidentFacts facts = query.facts;
  policy::set_business_times(facts, config.business_hours, query.now_ms);
  json routes = json::array();
  for (const policy::Route* route : policy::select_routes(config, facts)) {
    json steps = json::array();
    auto wf = config.workflows.find(route->workflow);
    if (wf != config.workflows.end()) {
      for (const auto& step : wf->second.steps) {
        if (!query.event.empty() &&
            std::find(step.on.begin(), step.on.end(), query.event) == step.on.end()) {
          continue;
        }
        json s = step_json(step);
        s["runs"] = policy::condition_holds(step, facts);
        json rendered = json::object();
        for (const auto& [param, text] : step.with) {
          rendered[param] = policy::render_template(text, facts);
        }
        s["with"] = rendered;
        steps.push_back(std::move(s));
      }
    }
    json r = {{"name", route->name},
              {"workflow", route->workflow},
              {"continue", route->continue_matching},
              {"steps", steps}};
    if (route->hold_while_healing.count() > 0) {
      r["hold_while_healing"] = format_duration(route->hold_while_healing);
    }
    routes.push_back(std::move(r));
  }
  return {{"incident",
           {{"labels", facts.labels},
            {"severity", protocol::severity_name(facts.severity)},
            {"has_suspect", facts.has_suspect}}},
          {"event", query.event},
          {"routes", routes}};
}

json policy_json(const policy::PolicyConfig& config) {
  json routes = json::array();
  for (const auto& r : config.routes) {
    json route = {{"name", r.name},
                  {"match", match_json(r.match)},
                  {"workflow", r.workflow},
                  {"continue", r.continue_matching}};
    if (r.hold_while_healing.count() > 0) {
      route["hold_while_healing"] = format_duration(r.hold_while_healing);
    }
    routes.push_back(std::move(route));
  }
  json workflows = json::object();
  for (const auto& [name, wf] : config.workflows) {
    json steps = json::array();
    for (const auto& step : wf.steps) steps.push_back(step_json(step));
    workflows[name] = {{"steps", steps}};
  }
  return {{"routes", routes}, {"workflows", workflows}};
}

void RouteApi::set_policy(policy::PolicyConfig config) {
  auto next = std::make_shared<const policy::PolicyConfig>(std::move(config));
  std::lock_guard lock(mu_);
  policy_ = std::move(next);
}

std::shared_ptr<const policy::PolicyConfig> RouteApi::policy() const {
  std::lock_guard lock(mu_);
  return policy_;
}

void RouteApi::add_routes(httplib::Server& server) {
  server.Get("/api/v1/routes", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(json_text(policy_json(*policy())), "application/json");
  });
  server.Get("/api/v1/routes/test", [this](const httplib::Request& req, httplib::Response& res) {
    auto q = parse_route_query(req.params);
    if (!q) return json_error(res, 400, q.status().code(), q.status().message());
    q->now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    res.set_content(json_text(route_test_json(*policy(), *q)), "application/json");
  });
}

}  // namespace reflex::hub
