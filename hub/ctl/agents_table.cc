#include "hub/ctl/agents_table.h"

#include <algorithm>
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

std::string agents_table(const nlohmann::json& doc) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "HOSTNAME", "STATE", "LAST SEEN", "VERSION", "LABELS"}};
  const nlohmann::json agents = doc.value("agents", nlohmann::json::array());
  for (const auto& a : agents) {
    std::string labels;
    const nlohmann::json label_map = a.value("labels", nlohmann::json::object());
    for (const auto& [k, v] : label_map.items()) {
      labels +=
          (labels.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    }
    rows.push_back({a.value("id", ""), a.value("hostname", ""), a.value("state", ""),
                    relative_age(a.value("last_seen_ago_ms", int64_t{0})), a.value("version", ""),
                    labels.empty() ? "-" : labels});
  }
  std::string out = render_table(rows);
  if (rows.size() == 1) out += "(no agents have registered yet)\n";
  return out;
}

}  // namespace reflex::ctl
