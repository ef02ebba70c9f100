#include "hub/policy/policy_config.h"

#include <algorithm>
#include <set>

#include "common/duration.h"
#include "hub/incidents/alert_signal.h"
#include "hub/incidents/config_lists.h"
#include "hub/policy/ci_job.h"
#include "hub/policy/templates.h"

namespace reflex::hub::policy {
namespace {

using incidents::at_index;
using incidents::present;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string not_empty_once(const std::string& value, const std::vector<std::string>& before) {
  if (value.empty()) return "must not be empty";
  if (std::find(before.begin(), before.end(), value) != before.end()) {
    return "'" + value + "' is listed twice";
  }
  return "";
}

void read_match(config::MapReader& route, RouteMatch& out) {
  auto r = route.child("match");
  std::vector<std::string> severities;
  incidents::read_list(r, "severity", severities,
                       [&](const std::string& s, const std::vector<std::string>& before) {
                         auto sev = incidents::parse_severity(s);
                         if (!sev) return sev.status().message();
                         out.severities.push_back(*sev);
                         return not_empty_once(s, before);
                       });
  incidents::read_list(r, "service", out.services, not_empty_once);
  incidents::read_list(r, "env", out.envs, not_empty_once);
  out.labels = incidents::read_matchers(r, "labels", false);
  if (r.has("has_suspect")) {
    bool v = false;
    r.get("has_suspect", v);
    out.has_suspect = v;
  }
}

// The `with:` parameters of a step of `kind`: known names only, the required ones and
// exactly one of `one_of` present, each a valid template.
void read_params(config::MapReader& step, StepKind kind, std::map<std::string, std::string>& out) {
  const StepParams& params = step_params(kind);
  const std::string path = step.path_of("with");
  YAML::Node n = step.take("with");
  config::Errors& errors = step.errors();
  if (present(n) && !n.IsMap()) {
    errors.add(n, path, "expected a mapping of parameters to templates");
    return;
  }
  auto known = [&](const std::string& name) {
    for (const auto* list : {&params.required, &params.optional, &params.one_of}) {
      if (std::find(list->begin(), list->end(), name) != list->end()) return true;
    }
    return false;
  };
  std::vector<std::string> names;
  for (const auto* list : {&params.required, &params.optional, &params.one_of}) {
    names.insert(names.end(), list->begin(), list->end());
  }
  if (present(n)) {
    for (const auto& kv : n) {
      const std::string name = kv.first.Scalar();
      const std::string at = path + "." + name;
      if (!known(name)) {
        errors.add(kv.first, at,
                   std::string("unknown parameter of ") + step_kind_name(kind) +
                       (names.empty() ? " (it takes none)" : " (known: " + join(names) + ")"));
        continue;
      }
      if (!kv.second.IsScalar()) {
        errors.add(kv.second, at, "expected a single value (a template)");
        continue;
      }
      if (Status st = check_template(kv.second.Scalar()); !st) {
        errors.add(kv.second, at, "invalid template: " + st.message());
        continue;
      }
      if ((name == "timeout" || name == "verify_within") &&
          kv.second.Scalar().find("{{") == std::string::npos) {
        auto d = parse_duration(kv.second.Scalar());
        if (!d || d->count() <= 0) {
          errors.add(kv.second, at,
                     "expected a positive duration such as 5m, got \"" + kv.second.Scalar() + "\"");
          continue;
        }
      }
      out[name] = kv.second.Scalar();
    }
  }
  for (const auto& name : params.required) {
    if (!present(n) || !present(n[name])) {
      errors.add(path + "." + name,
                 std::string("missing required parameter of ") + step_kind_name(kind));
    }
  }
  if (!params.one_of.empty()) {
    size_t given = 0;
    for (const auto& name : params.one_of) given += present(n) && present(n[name]) ? 1 : 0;
    if (given != 1) {
      errors.add(path, std::string(step_kind_name(kind)) + " takes exactly one of " +
                           join(params.one_of) + ", " + std::to_string(given) + " given");
    }
  }
}

// A rollback job's `job` (ci_job.h) and the `parameters` of a rollback or remediate step
// (the same "NAME=value, ..." for a CI job and an agent action) without templates are
// checked here; with templates, once rendered (a bad one is skipped on the timeline,
// saying why). Which parameters an agent action takes is the agent's to judge.
void check_job_and_parameters(config::MapReader& step,
                              const std::map<std::string, std::string>& with) {
  const std::string path = step.path_of("with");
  if (auto job = with.find("job");
      job != with.end() && job->second.find("{{") == std::string::npos) {
    if (auto parsed = parse_ci_job(job->second); !parsed) {
      step.errors().add(path + ".job", parsed.status().message());
    }
  }
  if (auto it = with.find("parameters");
      it != with.end() && it->second.find("{{") == std::string::npos) {
    if (auto p = parse_ci_parameters(it->second); !p) {
      step.errors().add(path + ".parameters", p.status().message());
    }
  }
}

Step read_step(config::MapReader& r, size_t index) {
  Step step;
  step.name = "steps[" + std::to_string(index) + "]";
  r.get("name", step.name);
  if (step.name.empty()) r.errors().add(r.path_of("name"), "must not be empty");
  r.require("on");
  incidents::read_list(r, "on", step.on,
                       [](const std::string& e, const std::vector<std::string>& before) {
                         if (!valid_event(e)) {
                           return "'" + e + "' is not an event (one of " + kEventsHelp + ")";
                         }
                         return not_empty_once(e, before);
                       });
  if (r.has("on") && step.on.empty()) r.errors().add(r.path_of("on"), "name at least one event");
  step.condition = incidents::read_matchers(r, "if", false);
  std::string kind;
  r.require("kind");
  r.get("kind", kind);
  if (auto k = parse_step_kind(kind)) {
    step.kind = *k;
    read_params(r, step.kind, step.with);
    if (step.kind == StepKind::kRollback || step.kind == StepKind::kRemediate) {
      check_job_and_parameters(r, step.with);
    }
  } else if (!kind.empty()) {
    r.errors().add(r.path_of("kind"),
                   "'" + kind + "' is not a step kind (one of " + join(step_kind_names()) + ")");
    r.take("with");  // not judged without a kind
  }
  return step;
}

void read_workflows(config::MapReader& top, std::map<std::string, Workflow>& out) {
  YAML::Node n = top.take("workflows");
  if (!present(n)) return;
  config::Errors& errors = top.errors();
  if (!n.IsMap()) {
    errors.add(n, "workflows", "expected a mapping of workflow names to {steps: [...]}");
    return;
  }
  for (const auto& kv : n) {
    Workflow wf;
    wf.name = kv.first.Scalar();
    config::MapReader w(kv.second, "workflows." + wf.name, errors);
    w.require("steps");
    YAML::Node steps = w.take("steps");
    const std::string path = w.path_of("steps");
    if (present(steps) && !steps.IsSequence()) {
      errors.add(steps, path, "expected a list of steps");
    } else if (present(steps)) {
      std::set<std::string> names;
      for (size_t i = 0; i < steps.size(); ++i) {
        config::MapReader s(steps[i], at_index(path, i), errors);
        Step step = read_step(s, i);
        if (!names.insert(step.name).second) {
          errors.add(steps[i], at_index(path, i) + ".name",
                     "'" + step.name + "' names another step of this workflow too");
        }
        wf.steps.push_back(std::move(step));
      }
    }
    out[wf.name] = std::move(wf);
  }
}

void read_routes(config::MapReader& top, const std::map<std::string, Workflow>& workflows,
                 std::vector<Route>& out) {
  YAML::Node n = top.take("routes");
  if (!present(n)) return;
  config::Errors& errors = top.errors();
  if (!n.IsSequence()) {
    errors.add(n, "routes", "expected a list of routes");
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < n.size(); ++i) {
    config::MapReader r(n[i], at_index("routes", i), errors);
    Route route;
    r.require("name");
    r.get("name", route.name);
    if (!route.name.empty() && !names.insert(route.name).second) {
      errors.add(r.path_of("name"), "'" + route.name + "' names another route too");
    }
    read_match(r, route.match);
    r.require("workflow");
    r.get("workflow", route.workflow);
    if (!route.workflow.empty() && !workflows.count(route.workflow)) {
      std::vector<std::string> known;
      for (const auto& [name, wf] : workflows) known.push_back(name);
      errors.add(r.path_of("workflow"),
                 "no workflow '" + route.workflow +
                     "' (declared: " + (known.empty() ? std::string("none") : join(known)) + ")");
    }
    r.get("continue", route.continue_matching);
    r.get("hold_while_healing", route.hold_while_healing);
    out.push_back(std::move(route));
  }
}

}  // namespace

// business_hours: {weekdays, start, end, time_zone}, read as a maintenance window is.
void read_business_hours(config::MapReader& top, incidents::Recurrence& out,
                         const std::string& zoneinfo_dir) {
  const bool given = top.has("business_hours");
  auto r = top.child("business_hours");
  if (!given) return;
  incidents::RecurrenceSpec spec{.weekdays = {"mon", "tue", "wed", "thu", "fri"},
                                 .start = "09:00",
                                 .end = "17:00",
                                 .duration_ms = 0,
                                 .time_zone = "UTC"};
  r.get("weekdays", spec.weekdays);
  r.get("start", spec.start);
  r.get("end", spec.end);
  r.get("time_zone", spec.time_zone);
  auto hours = incidents::Recurrence::make(spec, zoneinfo_dir);
  if (!hours) {
    const std::string& msg = hours.status().message();
    const size_t colon = msg.find(": ");
    const std::string field = colon == std::string::npos ? "" : msg.substr(0, colon);
    const std::string key = field.substr(0, field.find('['));
    r.errors().add(r.take(key), r.path_of(field), msg.substr(colon + 2));
    return;
  }
  out = std::move(hours).value();
}

void read_policy_config(config::MapReader& top, PolicyConfig& out,
                        const std::string& zoneinfo_dir) {
  const size_t before = top.errors().list().size();
  PolicyConfig next;
  read_business_hours(top, next.business_hours, zoneinfo_dir);
  read_workflows(top, next.workflows);
  read_routes(top, next.workflows, next.routes);
  if (top.errors().list().size() == before) out = std::move(next);
}

}  // namespace reflex::hub::policy
