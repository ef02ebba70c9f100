#include "hub/incidents/inhibition.h"

#include <algorithm>
#include <deque>
#include <set>

namespace reflex::hub::incidents {
namespace {

std::string label_or_empty(const protocol::Labels& labels, const std::string& name) {
  auto it = labels.find(name);
  return it == labels.end() ? std::string() : it->second;
}

// Depth-first search for a cycle; `path` is the current chain of services.
bool find_cycle(const ServiceDependencies& deps, const std::string& at,
                std::map<std::string, int>& state, std::vector<std::string>& path) {
  state[at] = 1;  // on the current path
  path.push_back(at);
  if (auto it = deps.find(at); it != deps.end()) {
    for (const auto& next : it->second) {
      const int s = state[next];
      if (s == 1) {
        path.push_back(next);
        return true;
      }
      if (s == 0 && find_cycle(deps, next, state, path)) return true;
    }
  }
  path.pop_back();
  state[at] = 2;  // done, no cycle through it
  return false;
}

}  // namespace

// ---- topology ----

Result<ServiceTopology> ServiceTopology::build(const ServiceDependencies& services) {
  for (const auto& [name, deps] : services) {
    if (name.empty()) return Status::error("invalid_argument", "a service name is empty");
    for (const auto& d : deps) {
      if (d.empty()) {
        return Status::error("invalid_argument", "service " + name + " depends on an empty name");
      }
    }
  }
  std::map<std::string, int> state;
  for (const auto& [name, deps] : services) {
    std::vector<std::string> path;
    if (state[name] == 0 && find_cycle(services, name, state, path)) {
      // The path ends with the service that closes the cycle; show the cycle only.
      const auto from = std::find(path.begin(), path.end(), path.back());
      std::string text;
      for (auto it = from; it != path.end(); ++it) text += (text.empty() ? "" : " -> ") + *it;
      return Status::error("dependency_cycle", "dependency cycle " + text);
    }
  }
  ServiceTopology t;
  t.declared_ = services;
  for (const auto& [name, deps] : services) {
    std::vector<std::string> order;
    std::set<std::string> seen{name};
    std::deque<std::string> queue(deps.begin(), deps.end());
    while (!queue.empty()) {
      std::string next = std::move(queue.front());
      queue.pop_front();
      if (!seen.insert(next).second) continue;
      order.push_back(next);
      if (auto it = services.find(next); it != services.end()) {
        queue.insert(queue.end(), it->second.begin(), it->second.end());
      }
    }
    t.closure_.emplace(name, std::move(order));
  }
  return t;
}

const std::vector<std::string>& ServiceTopology::dependencies(const std::string& service) const {
  static const std::vector<std::string> kNone;
  auto it = closure_.find(service);
  return it == closure_.end() ? kNone : it->second;
}

// ---- open incidents ----

void OpenIncidentIndex::apply_row(const IncidentRow& row) {
  if (row.service.empty()) return;
  if (row.open()) {
    // Every signal of an open incident brings its row again; its group labels seldom
    // change, so they are copied only when they do.
    auto [it, added] = by_service_[row.service].try_emplace(row.id, row.group_labels);
    if (!added && it->second != row.group_labels) it->second = row.group_labels;
    return;
  }
  auto it = by_service_.find(row.service);
  if (it == by_service_.end()) return;
  it->second.erase(row.id);
  if (it->second.empty()) by_service_.erase(it);
}

void OpenIncidentIndex::apply(const Changes& changes) {
  for (const auto& row : changes.incidents) apply_row(row);
}

void OpenIncidentIndex::restore(const EngineSnapshot& snapshot) {
  by_service_.clear();
  for (const auto& row : snapshot.incidents) apply_row(row);
}

const std::map<uint64_t, protocol::Labels>* OpenIncidentIndex::of(
    const std::string& service) const {
  auto it = by_service_.find(service);
  return it == by_service_.end() ? nullptr : &it->second;
}

std::optional<DependencyHit> dependency_incident(const ServiceTopology& topology,
                                                 const DependencyPolicy& policy,
                                                 const OpenIncidentIndex& open,
                                                 const protocol::Labels& labels) {
  auto svc = labels.find(policy.service_label);
  if (svc == labels.end() || svc->second.empty()) return std::nullopt;
  const auto& deps = topology.dependencies(svc->second);
  // Nearest first, so walk backwards for the one furthest down the chain.
  for (auto d = deps.rbegin(); d != deps.rend(); ++d) {
    const auto* incidents = open.of(*d);
    if (!incidents) continue;
    for (const auto& [id, group] : *incidents) {
      const bool same_scope =
          std::all_of(policy.equal.begin(), policy.equal.end(), [&](const std::string& name) {
            auto g = group.find(name);
            return g == group.end() || g->second == label_or_empty(labels, name);
          });
      if (same_scope) return DependencyHit{*d, id};
    }
  }
  return std::nullopt;
}

// ---- inhibit rules ----

InhibitIndex::InhibitIndex(std::vector<InhibitRule> rules)
    : rules_(std::move(rules)), counts_(rules_.size()) {}

std::string InhibitIndex::key(size_t rule, const protocol::Labels& labels) const {
  // Length-prefixed values: no label value can forge another tuple's key.
  std::string k;
  for (const auto& name : rules_[rule].equal) {
    const std::string v = label_or_empty(labels, name);
    k += std::to_string(v.size());
    k += ':';
    k += v;
  }
  return k;
}

void InhibitIndex::on_alert(const std::string& fingerprint, const protocol::Labels& labels,
                            bool firing) {
  if (auto it = contributions_.find(fingerprint); it != contributions_.end()) {
    for (const auto& [rule, k] : it->second) {
      auto c = counts_[rule].find(k);
      if (c != counts_[rule].end() && --c->second == 0) counts_[rule].erase(c);
    }
    contributions_.erase(it);
  }
  if (!firing) return;
  std::vector<std::pair<size_t, std::string>> mine;
  for (size_t r = 0; r < rules_.size(); ++r) {
    if (!matches_all(rules_[r].source, labels)) continue;
    std::string k = key(r, labels);
    ++counts_[r][k];
    mine.emplace_back(r, std::move(k));
  }
  if (!mine.empty()) contributions_.emplace(fingerprint, std::move(mine));
}

std::optional<std::string> InhibitIndex::inhibited(const std::string& fingerprint,
                                                   const protocol::Labels& labels) const {
  const auto self = contributions_.find(fingerprint);
  for (size_t r = 0; r < rules_.size(); ++r) {
    if (!matches_all(rules_[r].target, labels)) continue;
    const std::string k = key(r, labels);
    auto c = counts_[r].find(k);
    if (c == counts_[r].end()) continue;
    uint32_t sources = c->second;
    if (self != contributions_.end()) {
      for (const auto& [rule, sk] : self->second) {
        if (rule == r && sk == k) --sources;
      }
    }
    if (sources == 0) continue;
    std::string reason = "inhibited by rule " + rules_[r].name;
    if (!rules_[r].equal.empty()) {
      std::string with;
      for (const auto& name : rules_[r].equal) {
        with += (with.empty() ? "" : ", ") + name + "=\"" + label_or_empty(labels, name) + "\"";
      }
      reason += " (firing source with " + with + ")";
    }
    return reason;
  }
  return std::nullopt;
}

}  // namespace reflex::hub::incidents
