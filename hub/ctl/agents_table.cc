#include "hub/ctl/agents_table.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <vector>

namespace reflex::ctl {

std::string relative_age(int64_t ago_ms) {
  if (ago_ms < 0) ago_ms = 0;
  const int64_t s = ago_ms / 1000;
  if (s < 60) return std::to_string(s) + "s ago";
  if (s < 3600) return std::to_string(s / 60) + "m ago";
  if (s < 86400) return std::to_string(s / 3600) + "h ago";
  return std::to_string(s / 86400) + "d ago";
}

std::string labels_text(const nlohmann::json& labels) {
  std::string out;
  if (!labels.is_object()) return out;
  for (const auto& [k, v] : labels.items()) {
    out += (out.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

std::string in_future(int64_t ahead_ms) {
  const std::string ago = relative_age(ahead_ms);  // "5m ago"
  return "in " + ago.substr(0, ago.size() - 4);
}

std::string render_table(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return "";
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

namespace {

// "812.5", "0.05", "3": at most four significant digits, no trailing zeros.
std::string number_text(double v) {
  std::ostringstream s;
  s.precision(4);
  s << v;
  return s.str();
}

// "in 3h" for a time ahead, "3h ago" for one behind.
std::string relative_to(int64_t at_ms, int64_t now_ms) {
  return at_ms <= now_ms ? relative_age(now_ms - at_ms) : in_future(at_ms - now_ms);
}

const char* check_state_name(double v) {
  static const char* names[] = {"ok", "warning", "critical", "unknown"};
  const auto i = static_cast<int>(std::lround(v));
  return i >= 0 && i < 4 ? names[i] : "unknown";
}

}  // namespace

std::string agent_detail_text(const nlohmann::json& doc) {
  const nlohmann::json a = doc.value("agent", nlohmann::json::object());
  const std::string labels = labels_text(a.value("labels", nlohmann::json::object()));
  std::string out = render_table({
      {"ID", a.value("id", "")},
      {"HOSTNAME", a.value("hostname", "")},
      {"STATE", a.value("state", "")},
      {"LAST SEEN", relative_age(a.value("last_seen_ago_ms", int64_t{0}))},
      {"VERSION", a.value("version", "")},
      {"SPOOL", std::to_string(a.value("spool_depth", uint64_t{0}))},
      {"OPEN CIRCUITS", std::to_string(a.value("open_circuits", uint64_t{0}))},
      {"LABELS", labels.empty() ? "-" : labels},
  });
  out += "\n";
  if (!doc.contains("metrics"))
    return out + "(no metrics summary from this agent since the hub started)\n";
  const nlohmann::json& m = doc["metrics"];
  out += "CHECKS, as reported " +
         relative_age(doc.value("now_ms", int64_t{0}) - m.value("at_ms", int64_t{0})) + "\n";
  // One row per series and label set: `<series>.<stat>` samples side by side.
  struct Series {
    std::string state = "-";
    std::string stats;
  };
  std::map<std::pair<std::string, std::string>, Series> rows;
  for (const auto& sample : m.value("samples", nlohmann::json::array())) {
    const std::string name = sample.value("name", "");
    const auto dot = name.rfind('.');
    const std::string series = dot == std::string::npos ? name : name.substr(0, dot);
    const std::string stat = dot == std::string::npos ? "value" : name.substr(dot + 1);
    Series& r = rows[{series, labels_text(sample.value("labels", nlohmann::json::object()))}];
    const double value = sample.value("value", 0.0);
    if (stat == "state") {
      r.state = check_state_name(value);
      continue;
    }
    const std::string unit = sample.value("unit", "");
    r.stats += (r.stats.empty() ? "" : " ") + stat + "=" + number_text(value) +
               (unit.empty() ? "" : " " + unit);
  }
  std::vector<std::vector<std::string>> table = {{"SERIES", "STATE", "STATISTICS", "LABELS"}};
  for (const auto& [key, r] : rows) {
    table.push_back({key.first, r.state, r.stats.empty() ? "-" : r.stats,
                     key.second.empty() ? "-" : key.second});
  }
  return out + render_table(table);
}

std::string maintenance_table(const nlohmann::json& doc) {
  const int64_t now = doc.value("now_ms", int64_t{0});
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATE", "WHEN", "MATCHERS", "NOW OR NEXT", "COMMENT"}};
  for (const auto& w : doc.value("windows", nlohmann::json::array())) {
    const bool open = w.value("open", false);
    const int64_t start = w.value("start_ms", int64_t{0});
    const int64_t end = w.value("end_ms", int64_t{0});
    rows.push_back({w.value("name", ""), open ? "open" : "closed", w.value("when", ""),
                    w.value("matchers", ""),
                    open ? "until " + relative_to(end, now) : relative_to(start, now),
                    w.value("comment", "")});
  }
  std::string out = render_table(rows);
  if (rows.size() == 1) out += "(hub.yaml declares no maintenance windows)\n";
  return out;
}

std::string agents_table(const nlohmann::json& doc) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "HOSTNAME", "STATE", "LAST SEEN", "VERSION", "LABELS"}};
  const nlohmann::json agents = doc.value("agents", nlohmann::json::array());
  for (const auto& a : agents) {
    const std::string labels = labels_text(a.value("labels", nlohmann::json::object()));
    rows.push_back({a.value("id", ""), a.value("hostname", ""), a.value("state", ""),
                    relative_age(a.value("last_seen_ago_ms", int64_t{0})), a.value("version", ""),
                    labels.empty() ? "-" : labels});
  }
  std::string out = render_table(rows);
  if (rows.size() == 1) out += "(no agents have registered yet)\n";
  return out;
}

}  // namespace reflex::ctl
