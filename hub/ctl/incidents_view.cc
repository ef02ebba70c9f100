#include "hub/ctl/incidents_view.h"

#include <ctime>
#include <vector>

#include "hub/ctl/agents_table.h"

namespace reflex::ctl {
namespace {

using nlohmann::json;

std::string text(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

int64_t number(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

}  // namespace

std::string utc_time(int64_t epoch_ms) {
  const std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string incidents_table(const json& doc) {
  const int64_t now = number(doc, "now_ms");
  std::vector<std::vector<std::string>> rows = {
      {"ID", "STATUS", "SEVERITY", "SERVICE", "HOSTS", "OPENED", "OWNER", "TITLE"}};
  const json list = doc.value("incidents", json::array());
  for (const auto& i : list) {
    std::string status = text(i, "status");
    if (i.value("flapping", false)) status += " (flapping)";
    rows.push_back({text(i, "id"), status, text(i, "severity"), or_dash(text(i, "service")),
                    text(i, "hosts"), relative_age(now - number(i, "opened_ms")),
                    or_dash(text(i, "owner")), text(i, "title")});
  }
  std::string out = render_table(rows);
  if (rows.size() == 1) out += "(no incidents match)\n";
  return out;
}

std::string incident_text(const json& doc) {
  const json inc = doc.value("incident", json::object());
  const int64_t now = number(doc, "now_ms");
  std::string out = "Incident " + text(inc, "id") + ": " + text(inc, "title") + "\n";
  std::vector<std::vector<std::string>> fields;
  std::string status = text(inc, "status");
  if (!text(inc, "acknowledged_by").empty()) {
    status += ", acknowledged by " + text(inc, "acknowledged_by") + " at " +
              utc_time(number(inc, "acknowledged_ms"));
  }
  if (!text(inc, "resolved_by").empty()) {
    status +=
        ", resolved by " + text(inc, "resolved_by") + " at " + utc_time(number(inc, "resolved_ms"));
  }
  if (inc.value("flapping", false)) status += ", flapping";
  fields.push_back({"  status", status});
  fields.push_back({"  severity", text(inc, "severity")});
  fields.push_back({"  service", or_dash(text(inc, "service")) + "  {" +
                                     labels_text(inc.value("group", json::object())) + "}"});
  fields.push_back({"  hosts", text(inc, "hosts") + ", " + text(inc, "firing") + " of " +
                                   text(inc, "members") + " alerts firing"});
  fields.push_back({"  opened", utc_time(number(inc, "opened_ms")) + " (" +
                                    relative_age(now - number(inc, "opened_ms")) + ")"});
  fields.push_back({"  owner", or_dash(text(inc, "owner"))});
  if (number(inc, "reopen_count") > 0) fields.push_back({"  reopened", text(inc, "reopen_count")});
  if (const int64_t due = number(inc, "resolve_due_ms"); due > 0) {
    fields.push_back({"  auto-resolve", utc_time(due) + " (" + in_future(due - now) + ")"});
  }
  if (auto it = doc.find("suspect"); it != doc.end() && it->is_object()) {
    std::string suspect = text(*it, "summary");
    if (!text(*it, "evidence").empty()) suspect += " (" + text(*it, "evidence") + ")";
    fields.push_back({"  suspect", suspect});
  }
  out += render_table(fields);

  std::vector<std::vector<std::string>> alerts = {
      {"  ALERT", "HOST", "STATE", "SEVERITY", "SINCE", "VALUE"}};
  for (const auto& a : doc.value("alerts", json::array())) {
    // What the rule measured (agents' alerts carry it as the annotations value and
    // threshold).
    const json annotations = a.value("annotations", json::object());
    std::string value = or_dash(text(annotations, "value"));
    if (!text(annotations, "threshold").empty()) {
      value += " (threshold " + text(annotations, "threshold") + ")";
    }
    alerts.push_back({"  " + or_dash(text(a, "rule")), or_dash(text(a, "host")), text(a, "state"),
                      text(a, "severity"), utc_time(number(a, "since_ms")), value});
  }
  out += "\nAlerts\n" + render_table(alerts);

  std::vector<std::vector<std::string>> timeline = {{"  TIME", "WHAT", "WHO", "DETAIL"}};
  for (const auto& e : doc.value("timeline", json::array())) {
    std::string detail = text(e, "text");
    if (!text(e, "suppressed").empty()) detail += " [" + text(e, "suppressed") + "]";
    timeline.push_back(
        {"  " + utc_time(number(e, "at_ms")), text(e, "kind"), text(e, "actor"), detail});
  }
  out += "\nTimeline\n" + render_table(timeline);
  return out;
}

}  // namespace reflex::ctl
