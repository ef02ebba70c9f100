#include "hub/ctl/cluster_view.h"

#include <vector>

#include "hub/ctl/agents_table.h"

namespace reflex::ctl {
namespace {

using nlohmann::json;

std::string text(const json& doc, const char* key, const std::string& none = "-") {
  const auto it = doc.find(key);
  return it == doc.end() || !it->is_string() || it->get<std::string>().empty()
             ? none
             : it->get<std::string>();
}

int64_t number(const json& doc, const char* key) {
  const auto it = doc.find(key);
  return it == doc.end() || !it->is_number() ? 0 : it->get<int64_t>();
}

std::string lag(const json& replica, const char* key) {
  const auto it = replica.find(key);
  return it == replica.end() || !it->is_number() ? "-" : std::to_string(it->get<int64_t>()) + " ms";
}

}  // namespace

std::string cluster_text(const json& doc) {
  const int64_t now = number(doc, "server_now_ms");
  std::string out;
  const json lease = doc.value("lease", json());
  if (!doc.value("leader", json()).is_string()) {
    out += "leader: none";
    if (lease.is_object()) {
      out += " (the last, " + text(lease, "holder") + ", term " +
             std::to_string(number(lease, "token")) + ", expired " +
             relative_age(now - number(lease, "expires_at_ms")) + ")";
    }
    out += "\n";
  } else {
    out += "leader: " + doc["leader"].get<std::string>() + ", term " +
           std::to_string(number(lease, "token")) + ", since " + text(lease, "acquired_at") + " (" +
           relative_age(now - number(lease, "acquired_at_ms")) + "), lease expires " +
           in_future(number(lease, "expires_at_ms") - now) + "\n";
  }
  std::vector<std::vector<std::string>> rows = {
      {"HUB", "ROLE", "API", "AGENTS", "VERSION", "STARTED", "SEEN"}};
  for (const auto& m : doc.value("members", json::array())) {
    rows.push_back({text(m, "hub_id"), text(m, "role"), text(m, "http_url"),
                    text(m, "agent_endpoint"), text(m, "version"),
                    relative_age(now - number(m, "started_at_ms")),
                    relative_age(now - number(m, "seen_at_ms"))});
  }
  out += "\n" + render_table(rows);
  const json db = doc.value("database", json::object());
  out += "\ndatabase: ";
  if (db.value("in_recovery", false)) {
    const auto delay = db.find("replay_delay_ms");
    out += "a standby server" +
           (delay != db.end() && delay->is_number()
                ? ", last replayed " + std::to_string(delay->get<int64_t>()) + " ms ago"
                : std::string());
  } else {
    out += "the primary";
  }
  const json replicas = db.value("replicas", json::array());
  out += ", " + std::to_string(replicas.size()) + " replica" + (replicas.size() == 1 ? "" : "s") +
         " streaming from it\n";
  if (!replicas.empty()) {
    std::vector<std::vector<std::string>> lags = {
        {"REPLICA", "ADDRESS", "STATE", "WRITE LAG", "FLUSH LAG", "REPLAY LAG"}};
    for (const auto& r : replicas) {
      lags.push_back({text(r, "application_name"), text(r, "client_addr"), text(r, "state"),
                      lag(r, "write_lag_ms"), lag(r, "flush_lag_ms"), lag(r, "replay_lag_ms")});
    }
    out += render_table(lags);
  }
  if (doc.contains("self")) {
    out += "answered by: " + text(doc["self"], "hub_id") + " (" + text(doc["self"], "role") + ")\n";
  }
  return out;
}

}  // namespace reflex::ctl
