#include "hub/ctl/oncall_view.h"

#include <cctype>
#include <vector>

#include "hub/ctl/agents_table.h"

namespace reflex::ctl {
namespace {

using nlohmann::json;

std::string text(const json& shift, const char* key, const std::string& none) {
  const auto it = shift.find(key);
  return it == shift.end() || !it->is_string() ? none : it->get<std::string>();
}

std::string who(const json& shift) {
  const std::string user = text(shift, "user", "");
  if (user.empty()) return "(nobody)";
  const std::string name = text(shift, "name", "");
  return name.empty() ? user : user + " (" + name + ")";
}

std::string encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string oncall_path(const std::string& schedule, const std::string& at, int next) {
  std::string path = "/api/v1/oncall";
  std::string query;
  if (!schedule.empty()) {
    path += "/" + encode(schedule);
    query = "next=" + std::to_string(next);
  }
  if (!at.empty()) query += (query.empty() ? "" : "&") + std::string("at=") + encode(at);
  return query.empty() ? path : path + "?" + query;
}

std::string oncall_table(const json& doc) {
  std::vector<json> schedules;
  if (doc.contains("schedules")) {
    for (const auto& s : doc["schedules"]) schedules.push_back(s);
  } else {
    schedules.push_back(doc);
  }
  std::vector<std::vector<std::string>> rows = {
      {"SCHEDULE", "ON CALL", "SINCE", "UNTIL", "NEXT", "TIME ZONE"}};
  for (const auto& s : schedules) {
    const json now = s.value("now", json::object());
    const json next = s.value("next", json::array());
    rows.push_back({s.value("schedule", ""), who(now), text(now, "start_local", "-"),
                    text(now, "end_local", "-"), next.empty() ? "-" : who(next[0]),
                    s.value("time_zone", "")});
  }
  std::string out = render_table(rows);
  if (rows.size() == 1) out += "(no schedules configured)\n";
  if (!doc.contains("schedules")) {
    std::vector<std::vector<std::string>> shifts = {{"WHO", "FROM", "UNTIL", "LAYER"}};
    for (const auto& shift : doc.value("next", json::array())) {
      shifts.push_back({who(shift), text(shift, "start_local", "-"), text(shift, "end_local", "-"),
                        text(shift, "source", "-")});
    }
    if (shifts.size() > 1) out += "\nnext shifts:\n" + render_table(shifts);
  }
  return out;
}

}  // namespace reflex::ctl
