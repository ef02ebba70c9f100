#include "hub/ctl/silences_view.h"

#include "hub/ctl/agents_table.h"
#include "hub/ctl/incidents_view.h"

namespace reflex::ctl {
namespace {

using nlohmann::json;

std::string when(int64_t at_ms, int64_t now_ms) {
  if (at_ms <= now_ms) return relative_age(now_ms - at_ms);  // "5m ago"
  const std::string ahead = relative_age(at_ms - now_ms);
  return "in " + ahead.substr(0, ahead.size() - 4);
}

}  // namespace

json silence_request(const std::vector<std::string>& matchers, const std::string& duration,
                     const std::string& ends_at, const std::string& author,
                     const std::string& comment) {
  json body = {{"matchers", matchers}, {"created_by", author}, {"comment", comment}};
  if (!ends_at.empty()) body["ends_at"] = ends_at;
  if (!duration.empty()) body["duration"] = duration;
  return body;
}

std::string silences_table(const json& doc) {
  const int64_t now = doc.value("now_ms", int64_t{0});
  std::vector<std::vector<std::string>> rows = {
      {"ID", "STATE", "MATCHERS", "STARTS", "ENDS", "CREATED BY", "COMMENT"}};
  for (const auto& s : doc.value("silences", json::array())) {
    std::string matchers;
    for (const auto& m : s.value("matchers", json::array())) {
      matchers += (matchers.empty() ? "" : ",") + m.get<std::string>();
    }
    std::string state = s.value("state", "");
    if (!s.value("expired_by", "").empty()) state += " (by " + s.value("expired_by", "") + ")";
    rows.push_back({std::to_string(s.value("id", uint64_t{0})), state, "{" + matchers + "}",
                    when(s.value("starts_at_ms", int64_t{0}), now),
                    when(s.value("ends_at_ms", int64_t{0}), now), s.value("created_by", ""),
                    s.value("comment", "")});
  }
  std::string out = render_table(rows);
  if (rows.size() == 1) out += "(no silences match)\n";
  return out;
}

}  // namespace reflex::ctl
