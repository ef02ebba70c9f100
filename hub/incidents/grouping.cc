#include "hub/incidents/grouping.h"

#include <set>

namespace reflex::hub::incidents {
namespace {

void append_pair(std::string& out, const std::string& name, const std::string& value) {
  if (out.size() > 1) out += ',';
  out += name;
  out += "=\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
}

}  // namespace

Group group_of(const protocol::Labels& labels, const std::vector<std::string>& keys,
               const std::string& fingerprint) {
  Group g;
  g.key = "{";
  bool complete = !keys.empty();
  for (const auto& k : keys) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second.empty()) {
      complete = false;
      break;
    }
    append_pair(g.key, k, it->second);
    g.labels.emplace(k, it->second);
  }
  if (!complete) {
    g.key = "{";
    g.labels.clear();
    g.by_fingerprint = true;
    append_pair(g.key, "fingerprint", fingerprint);
  }
  g.key += '}';
  return g;
}

std::unordered_map<std::string, uint32_t> known_hosts_by_service(
    const std::vector<AgentRecord>& agents, const std::string& service_label) {
  std::unordered_map<std::string, std::set<std::string>> hosts;
  for (const auto& a : agents) {
    auto it = a.labels.find(service_label);
    if (it == a.labels.end() || it->second.empty()) continue;
    hosts[it->second].insert(a.hostname.empty() ? a.id : a.hostname);
  }
  std::unordered_map<std::string, uint32_t> out;
  for (const auto& [service, set] : hosts) out[service] = static_cast<uint32_t>(set.size());
  return out;
}

std::string describe_hosts(uint32_t affected, uint32_t known) {
  const char* noun = (known >= affected && known > 0 ? known : affected) == 1 ? " host" : " hosts";
  if (known == 0 || known < affected) return std::to_string(affected) + noun;
  return std::to_string(affected) + " of " + std::to_string(known) + noun;
}

}  // namespace reflex::hub::incidents
