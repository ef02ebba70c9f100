#include "hub/incidents/changes.h"

#include <algorithm>

#include "hub/incidents/json_fields.h"
#include "hub/incidents/rfc3339.h"

namespace reflex::hub::incidents {
namespace {

namespace jf = json_fields;
using jf::Json;

// Copies the optional string field `key` into `out` when present.
Status read_into(const Json& obj, std::string_view key, std::string& out) {
  auto v = jf::opt_string(obj, "", key);
  if (!v) return v.status();
  if (*v) out = std::move(**v);
  return Status::ok();
}

bool generated_seq(const std::string& id, uint64_t& seq) {
  if (id.rfind("chg-", 0) != 0 || id.size() == 4 || id.size() > 24) return false;
  uint64_t v = 0;
  for (size_t i = 4; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(id[i] - '0');
  }
  seq = v;
  return true;
}

}  // namespace

std::string_view deploy_strategy_name(DeployStrategy strategy) {
  switch (strategy) {
    case DeployStrategy::kCanary:
      return "canary";
    case DeployStrategy::kBlueGreen:
      return "blue-green";
    case DeployStrategy::kRolling:
      return "rolling";
    case DeployStrategy::kUnspecified:
      break;
  }
  return "";
}

Result<DeployStrategy> parse_deploy_strategy(std::string_view text, std::string_view field) {
  for (auto s : {DeployStrategy::kCanary, DeployStrategy::kBlueGreen, DeployStrategy::kRolling}) {
    if (text == deploy_strategy_name(s)) return s;
  }
  return jf::field_error(field,
                         "expected canary, blue-green or rolling, got '" + std::string(text) + "'");
}

Result<Change> parse_change_request(std::string_view body, const std::string& actor,
                                    int64_t now_ms) {
  auto json = jf::parse_body(body);
  if (!json) return json.status();
  const Json& j = *json;
  REFLEX_RETURN_IF_ERROR(jf::expect_object(j, ""));
  REFLEX_RETURN_IF_ERROR(
      jf::only_known(j, "",
                     {"service", "environment", "version", "hosts", "strategy", "active_color",
                      "commit", "author", "link", "source", "at"}));
  Change c;
  auto service = jf::req_string(j, "", "service");
  if (!service) return service.status();
  c.service = *service;
  REFLEX_RETURN_IF_ERROR(read_into(j, "environment", c.environment));
  REFLEX_RETURN_IF_ERROR(read_into(j, "version", c.version));
  auto hosts = jf::opt_string_list(j, "", "hosts");
  if (!hosts) return hosts.status();
  c.hosts = std::move(hosts).value();
  std::string strategy;
  REFLEX_RETURN_IF_ERROR(read_into(j, "strategy", strategy));
  if (!strategy.empty()) {
    auto s = parse_deploy_strategy(strategy, "strategy");
    if (!s) return s.status();
    c.strategy = *s;
  }
  REFLEX_RETURN_IF_ERROR(read_into(j, "active_color", c.active_color));
  if (!c.active_color.empty() && c.strategy != DeployStrategy::kBlueGreen) {
    return jf::field_error("active_color", "only applies to strategy blue-green");
  }
  REFLEX_RETURN_IF_ERROR(read_into(j, "commit", c.commit));
  REFLEX_RETURN_IF_ERROR(read_into(j, "author", c.author));
  if (c.author.empty()) c.author = actor;
  REFLEX_RETURN_IF_ERROR(read_into(j, "link", c.link));
  REFLEX_RETURN_IF_ERROR(read_into(j, "source", c.source));
  if (c.source.empty()) c.source = "api";
  auto at = jf::opt_time(j, "", "at");
  if (!at) return at.status();
  c.at_ms = at->value_or(now_ms);
  if (c.at_ms < 0) return jf::field_error("at", "before 1970");
  return c;
}

nlohmann::json change_to_json(const Change& c) {
  Json j = {{"id", c.id},
            {"service", c.service},
            {"environment", c.environment},
            {"version", c.version},
            {"hosts", c.hosts},
            {"strategy", deploy_strategy_name(c.strategy)},
            {"commit", c.commit},
            {"author", c.author},
            {"link", c.link},
            {"source", c.source},
            {"at", format_rfc3339_ms(c.at_ms)},
            {"at_ms", c.at_ms}};
  if (c.strategy == DeployStrategy::kBlueGreen) j["active_color"] = c.active_color;
  return j;
}

bool ChangeLog::add(Change& change) {
  if (change.id.empty()) change.id = "chg-" + std::to_string(next_seq_++);
  if (ids_.count(change.id)) return false;
  uint64_t seq = 0;
  if (generated_seq(change.id, seq) && seq >= next_seq_) next_seq_ = seq + 1;
  auto& list = by_service_[change.service];
  // Sorted by at_ms; equal times keep arrival order.
  auto pos = std::upper_bound(list.begin(), list.end(), change.at_ms,
                              [](int64_t at, const Change& c) { return at < c.at_ms; });
  if (list.size() >= per_service_ && pos == list.begin()) return true;  // older than all kept
  ids_.insert(change.id);
  list.insert(pos, change);
  if (list.size() > per_service_) {
    ids_.erase(list.front().id);
    list.pop_front();
  }
  return true;
}

std::vector<Change> ChangeLog::recent(const std::string& service,
                                      const std::vector<std::string>& dependencies,
                                      size_t n) const {
  std::vector<Change> out;
  auto collect = [&](const std::string& name) {
    auto it = by_service_.find(name);
    if (it == by_service_.end()) return;
    // Newest first, at most n of each.
    size_t taken = 0;
    for (auto c = it->second.rbegin(); c != it->second.rend() && taken < n; ++c, ++taken) {
      out.push_back(*c);
    }
  };
  std::unordered_set<std::string> seen{service};
  collect(service);
  for (const auto& dep : dependencies) {
    if (seen.insert(dep).second) collect(dep);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Change& a, const Change& b) { return a.at_ms > b.at_ms; });
  if (out.size() > n) out.resize(n);
  return out;
}

void ChangeLog::restore(const std::vector<Change>& changes, uint64_t next_seq) {
  next_seq_ = std::max(next_seq_, next_seq);
  for (Change c : changes) (void)add(c);
}

}  // namespace reflex::hub::incidents
