#include "hub/policy/templates.h"

#include <kainjow/mustache.hpp>

namespace reflex::hub::policy {
namespace {

namespace mustache = kainjow::mustache;

mustache::data context(const IncidentFacts& facts) {
  mustache::data labels{mustache::data::type::object};
  for (const auto& [name, value] : facts.labels) labels.set(name, value);
  auto label = [&](const char* name) {
    auto it = facts.labels.find(name);
    return it == facts.labels.end() ? std::string() : it->second;
  };
  mustache::data d{mustache::data::type::object};
  d.set("id", std::to_string(facts.id));
  d.set("title", facts.title);
  d.set("status", facts.status);
  d.set("severity", std::string(protocol::severity_name(facts.severity)));
  d.set("service", label("service"));
  d.set("env", label("env"));
  d.set("affected_hosts", std::to_string(facts.affected_hosts));
  d.set("has_suspect", mustache::data(facts.has_suspect));
  d.set("labels", labels);
  d.set("business_start", facts.business_start);
  d.set("business_day", facts.business_day);
  auto object = [](const std::map<std::string, std::string>& fields) {
    mustache::data o{mustache::data::type::object};
    for (const auto& [field, value] : fields) o.set(field, value);
    return o;
  };
  for (const auto& [name, fields] : facts.refs) d.set(name, object(fields));
  mustache::data oncall{mustache::data::type::object};
  for (const auto& [schedule, person] : facts.oncall) oncall.set(schedule, object(person));
  d.set("oncall", oncall);
  return d;
}

}  // namespace

Status check_template(const std::string& text) {
  mustache::mustache tmpl(text);
  if (!tmpl.is_valid()) return Status::error("invalid_template", tmpl.error_message());
  return Status::ok();
}

std::string render_template(const std::string& text, const IncidentFacts& facts) {
  mustache::mustache tmpl(text);
  if (!tmpl.is_valid()) return "";
  tmpl.set_custom_escape([](const std::string& s) { return s; });
  return tmpl.render(context(facts));
}

}  // namespace reflex::hub::policy
