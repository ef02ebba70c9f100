#include "hub/incidents/suppression_config.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "hub/incidents/config_lists.h"

namespace reflex::hub::incidents {

void read_services(config::MapReader& top, ServiceTopology& out) {
  YAML::Node n = top.take("services");
  if (!present(n)) return;
  config::Errors& errors = top.errors();
  if (!n.IsMap()) {
    errors.add(n, "services", "expected a mapping of service names to {depends_on: [...]}");
    return;
  }
  const size_t before = errors.list().size();
  ServiceDependencies deps;
  for (const auto& kv : n) {
    const std::string name = kv.first.Scalar();
    config::MapReader svc(kv.second, "services." + name, errors);
    std::vector<std::string> list;
    read_list(svc, "depends_on", list,
              [&](const std::string& d, const std::vector<std::string>& seen) {
                if (d.empty()) return std::string("must not be empty");
                if (std::find(seen.begin(), seen.end(), d) != seen.end())
                  return "'" + d + "' is listed twice";
                return std::string();
              });
    deps[name] = std::move(list);
  }
  if (errors.list().size() != before) return;
  auto topology = ServiceTopology::build(deps);
  if (!topology) {
    errors.add(n, "services", topology.status().message());
    return;
  }
  out = std::move(topology).value();
}

void read_dependency_inhibition(config::MapReader& top, DependencyPolicy& out) {
  auto r = top.child("dependency_inhibition");
  DependencyPolicy p = out;
  r.get("enabled", p.enabled);
  read_list(r, "equal", p.equal, label_name_problem);
  out = std::move(p);
}

void read_inhibit_rules(config::MapReader& top, std::vector<InhibitRule>& out) {
  YAML::Node n = top.take("inhibit_rules");
  if (!present(n)) return;
  config::Errors& errors = top.errors();
  if (!n.IsSequence()) {
    errors.add(n, "inhibit_rules", "expected a list of rules");
    return;
  }
  const size_t before = errors.list().size();
  std::vector<InhibitRule> rules;
  std::set<std::string> names;
  for (size_t i = 0; i < n.size(); ++i) {
    config::MapReader r(n[i], at_index("inhibit_rules", i), errors);
    InhibitRule rule;
    rule.name = r.path();
    r.get("name", rule.name);
    if (!names.insert(rule.name).second) {
      errors.add(r.take("name"), r.path_of("name"), "'" + rule.name + "' names another rule too");
    }
    rule.source = read_matchers(r, "source_matchers", true);
    rule.target = read_matchers(r, "target_matchers", true);
    read_list(r, "equal", rule.equal, label_name_problem);
    rules.push_back(std::move(rule));
  }
  if (errors.list().size() == before) out = std::move(rules);
}

void read_maintenance_windows(config::MapReader& top, std::vector<MaintenanceWindow>& out,
                              const std::string& zoneinfo_dir) {
  YAML::Node n = top.take("maintenance");
  if (!present(n)) return;
  config::Errors& errors = top.errors();
  if (!n.IsSequence()) {
    errors.add(n, "maintenance", "expected a list of windows");
    return;
  }
  const size_t before = errors.list().size();
  std::vector<MaintenanceWindow> windows;
  std::set<std::string> names;
  for (size_t i = 0; i < n.size(); ++i) {
    config::MapReader r(n[i], at_index("maintenance", i), errors);
    const size_t window_errors = errors.list().size();
    MaintenanceWindow w;
    r.require("name");
    r.get("name", w.name);
    if (r.has("name") && w.name.empty()) {
      errors.add(r.take("name"), r.path_of("name"), "must not be empty");
    } else if (!w.name.empty() && !names.insert(w.name).second) {
      errors.add(r.take("name"), r.path_of("name"), "'" + w.name + "' names another window too");
    }
    w.matchers = read_matchers(r, "matchers", true);
    if (!w.matchers.empty() && std::all_of(w.matchers.begin(), w.matchers.end(),
                                           [](const Matcher& m) { return m.matches_empty(); })) {
      errors.add(r.take("matchers"), r.path_of("matchers"),
                 "at least one matcher must not match an absent label, or the window would "
                 "silence every alert");
    }
    r.get("comment", w.comment);

    RecurrenceSpec spec;
    r.require("weekdays");
    r.get("weekdays", spec.weekdays);
    r.require("start");
    r.get("start", spec.start);
    r.get("end", spec.end);
    Millis duration{0};
    r.get("duration", duration);
    spec.duration_ms = duration.count();
    if (r.has("duration") && spec.duration_ms == 0) {
      errors.add(r.take("duration"), r.path_of("duration"), "must be positive");
    }
    r.require("time_zone");
    r.get("time_zone", spec.time_zone);
    if (errors.list().size() != window_errors) continue;

    auto when = Recurrence::make(spec, zoneinfo_dir);
    if (!when) {
      // Recurrence's messages start with the field ("weekdays[1]: unknown day ...").
      const std::string& msg = when.status().message();
      const size_t colon = msg.find(": ");
      const std::string field = colon == std::string::npos ? "" : msg.substr(0, colon);
      const std::string key = field.substr(0, field.find('['));
      errors.add(r.take(key), r.path_of(field), msg.substr(colon + 2));
      continue;
    }
    w.when = std::move(when).value();
    windows.push_back(std::move(w));
  }
  if (errors.list().size() == before) out = std::move(windows);
}

void read_silence_reminders(config::MapReader& top, ReminderPolicy& out) {
  auto r = top.child("silence_reminders");
  Millis before(out.lead_ms);
  Millis min_length(out.min_length_ms);
  r.get("before", before);
  r.get("min_length", min_length);
  out.lead_ms = before.count();
  out.min_length_ms = min_length.count();
}

void read_suppression_config(config::MapReader& top, SuppressionConfig& out,
                             const std::string& zoneinfo_dir) {
  read_services(top, out.services);
  read_dependency_inhibition(top, out.dependencies);
  read_inhibit_rules(top, out.inhibit_rules);
  read_maintenance_windows(top, out.maintenance, zoneinfo_dir);
  read_silence_reminders(top, out.silence_reminders);
}

}  // namespace reflex::hub::incidents
