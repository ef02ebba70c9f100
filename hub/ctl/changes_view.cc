#include "hub/ctl/changes_view.h"

#include <vector>

#include "hub/ctl/agents_table.h"
#include "hub/ctl/incidents_view.h"

namespace reflex::ctl {
namespace {

using nlohmann::json;

std::string text(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

}  // namespace

json change_body(const ChangeArgs& a) {
  json body = json::object();
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) body[key] = value;
  };
  put("service", a.service);
  put("environment", a.environment);
  put("version", a.version);
  put("strategy", a.strategy);
  put("active_color", a.active_color);
  put("commit", a.commit);
  put("author", a.author);
  put("link", a.link);
  std::vector<std::string> hosts;
  std::string host;
  for (char c : a.hosts + ",") {
    if (c == ',' || c == ' ') {
      if (!host.empty()) hosts.push_back(host);
      host.clear();
    } else {
      host += c;
    }
  }
  if (!hosts.empty()) body["hosts"] = hosts;
  return body;
}

std::string changes_table(const json& doc) {
  std::vector<std::vector<std::string>> rows = {
      {"AT", "SERVICE", "ENV", "VERSION", "STRATEGY", "HOSTS", "AUTHOR", "SOURCE", "ID"}};
  for (const auto& c : doc.value("changes", json::array())) {
    std::string hosts;
    for (const auto& h : c.value("hosts", json::array())) {
      hosts += (hosts.empty() ? "" : ",") + (h.is_string() ? h.get<std::string>() : h.dump());
    }
    const int64_t at = c.value("at_ms", int64_t{0});
    rows.push_back({utc_time(at), text(c, "service"), or_dash(text(c, "environment")),
                    or_dash(text(c, "version")), or_dash(text(c, "strategy")), or_dash(hosts),
                    or_dash(text(c, "author")), or_dash(text(c, "source")), text(c, "id")});
  }
  std::string out = render_table(rows);
  if (rows.size() == 1) out += "(no changes match)\n";
  return out;
}

}  // namespace reflex::ctl
