#include "agent/rules.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace reflex::agent {
namespace {

std::optional<Severity> parse_severity(const std::string& s) {
  for (auto sev : {Severity::kInfo, Severity::kWarning, Severity::kHigh, Severity::kCritical}) {
    if (s == protocol::severity_name(sev)) return sev;
  }
  return std::nullopt;
}

// Reads a condition at `key`; records an error naming the key path when it is bad.
std::optional<Condition> read_condition(config::MapReader& r, const std::string& key) {
  std::string text;
  r.get(key, text);
  if (text.empty()) {
    const YAML::Node n = r.take(key);
    if (n.IsScalar()) r.errors().add(n, r.path_of(key), "must not be empty");
    return std::nullopt;
  }
  auto c = parse_condition(text);
  if (!c) {
    r.errors().add(r.take(key), r.path_of(key), c.status().message());
    return std::nullopt;
  }
  return *c;
}

}  // namespace

void read_rule(config::MapReader& r, RuleConfig& out) {
  const size_t errors_before = r.errors().list().size();
  RuleConfig cfg = out;
  r.require("name");
  r.require("series");
  r.require("when");
  r.get("name", cfg.name);
  r.get("series", cfg.series);
  if (r.has("name") && cfg.name.empty()) {
    r.errors().add(r.take("name"), r.path_of("name"), "must not be empty");
  }
  if (r.has("series") && cfg.series.empty()) {
    r.errors().add(r.take("series"), r.path_of("series"), "must not be empty");
  }
  auto when = read_condition(r, "when");
  if (when) cfg.when = *when;
  if (r.has("recover")) {
    auto recover = read_condition(r, "recover");
    if (recover && when) {
      if (recover->stat != when->stat) {
        r.errors().add(r.take("recover"), r.path_of("recover"),
                       "must be a condition on " + std::string(stat_name(when->stat)) +
                           ", the stat of `when`, got " + stat_name(recover->stat));
      } else if (auto both = common_value(*when, *recover)) {
        r.errors().add(r.take("recover"), r.path_of("recover"),
                       "\"" + format_condition(*recover) + "\" can hold together with when \"" +
                           format_condition(*when) + "\" (both hold at " +
                           format_threshold(when->stat, *both) +
                           "); it must exclude the firing condition, like \"" +
                           std::string(stat_name(when->stat)) + " <= " +
                           format_threshold(when->stat, when->threshold) + "\" or stricter");
      } else {
        cfg.recover = *recover;
      }
    }
  }
  r.get("for", cfg.for_);
  std::string severity = protocol::severity_name(cfg.severity);
  r.get_enum("severity", severity, {"info", "warning", "high", "critical"});
  if (auto sev = parse_severity(severity)) cfg.severity = *sev;
  r.get("labels", cfg.labels);
  r.get("annotations", cfg.annotations);
  if (r.errors().list().size() == errors_before) out = std::move(cfg);
}

const char* phase_name(RulePhase p) {
  switch (p) {
    case RulePhase::kInactive:
      return "inactive";
    case RulePhase::kPending:
      return "pending";
    case RulePhase::kFiring:
      return "firing";
  }
  return "?";
}

RuleDecision evaluate(const RuleConfig& rule, const RuleState& prev,
                      const std::optional<WindowStats>& stats, int64_t now_ms) {
  RuleDecision d{prev, std::nullopt};
  const std::optional<double> v = stats ? stat_value(rule.when.stat, *stats) : std::nullopt;
  if (v) d.next.last_value = v;
  const double shown = v ? *v : prev.last_value.value_or(0);
  const bool fires = v && holds(rule.when, *v);
  auto to = [&](RulePhase phase, protocol::AlertState reported, double threshold) {
    d.next.phase = phase;
    d.transition = RuleTransition{reported, shown, threshold};
  };

  switch (prev.phase) {
    case RulePhase::kInactive:
      if (!fires) break;
      d.next.since_ms = now_ms;
      if (rule.for_.count() <= 0) {
        to(RulePhase::kFiring, protocol::AlertState::kFiring, rule.when.threshold);
      } else {
        to(RulePhase::kPending, protocol::AlertState::kPending, rule.when.threshold);
      }
      break;
    case RulePhase::kPending:
      if (!fires) {
        // Reported so that whoever saw the pending alert can drop it.
        to(RulePhase::kInactive, protocol::AlertState::kResolved, rule.when.threshold);
        d.next.since_ms = 0;
      } else if (now_ms - prev.since_ms >= rule.for_.count()) {
        to(RulePhase::kFiring, protocol::AlertState::kFiring, rule.when.threshold);
      }
      break;
    case RulePhase::kFiring: {
      const bool recovered = v && (rule.recover ? holds(*rule.recover, *v) : !fires);
      if (recovered) {
        to(RulePhase::kInactive, protocol::AlertState::kResolved,
           rule.recover ? rule.recover->threshold : rule.when.threshold);
        d.next.since_ms = 0;
      }
      break;
    }
  }
  return d;
}

bool glob_match(std::string_view pattern, std::string_view name) {
  // Greedy with backtracking to the last `*`: linear for one star, O(n*m) at worst.
  size_t p = 0, n = 0;
  size_t star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string fingerprint(const std::string& rule, const Labels& labels) {
  uint64_t h = 14695981039346656037ull;
  auto feed = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  constexpr std::string_view kNul("\0", 1);
  feed(rule);
  for (const auto& [k, v] : labels) {  // std::map: sorted by key
    feed(kNul);
    feed(k);
    feed(kNul);
    feed(v);
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

RuleEngine::RuleEngine(std::vector<RuleConfig> rules)
    : rules_(std::move(rules)), entries_(rules_.size()) {}

std::vector<protocol::Alert> RuleEngine::evaluate(const WindowStore& store, int64_t now_mono_ms,
                                                  int64_t now_wall_ms) {
  std::vector<protocol::Alert> alerts;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const RuleConfig& rule = rules_[i];
    auto& entries = entries_[i];
    std::set<SeriesKey> live;
    store.for_each_series([&](const std::string& name, const Labels& labels) {
      if (glob_match(rule.series, name)) live.insert(SeriesKey{name, labels});
    });
    for (const auto& key : live) {
      if (entries.count(key)) continue;
      Entry e;
      e.alert_labels = key.second;
      for (const auto& [k, v] : rule.labels) e.alert_labels[k] = v;
      e.alert_labels["series"] = key.first;
      e.fingerprint = fingerprint(rule.name, e.alert_labels);
      entries.emplace(key, std::move(e));
    }

    for (auto it = entries.begin(); it != entries.end();) {
      const auto& [name, labels] = it->first;
      Entry& e = it->second;
      const bool exists = live.count(it->first) > 0;
      const auto stats = exists ? store.stats(name, labels, now_mono_ms) : std::nullopt;
      RuleDecision d = agent::evaluate(rule, e.state, stats, now_mono_ms);
      if (e.state.phase == RulePhase::kInactive && d.next.phase != RulePhase::kInactive) {
        e.since_wall_ms = now_wall_ms;
      }
      if (d.transition) {
        protocol::Alert a;
        a.rule = rule.name;
        a.fingerprint = e.fingerprint;
        a.state = d.transition->state;
        a.severity = rule.severity;
        a.labels = e.alert_labels;
        a.annotations = rule.annotations;
        a.value = d.transition->value;
        a.threshold = d.transition->threshold;
        a.active_since_ms = static_cast<uint64_t>(std::max<int64_t>(e.since_wall_ms, 0));
        alerts.push_back(std::move(a));
      }
      e.state = d.next;
      if (e.state.phase == RulePhase::kInactive) e.since_wall_ms = 0;
      // A gone series keeps its entry only while it has an alert outstanding.
      if (!exists && e.state.phase == RulePhase::kInactive) {
        it = entries.erase(it);
      } else {
        ++it;
      }
    }
  }
  return alerts;
}

std::vector<protocol::Alert> RuleEngine::set_rules(std::vector<RuleConfig> rules) {
  std::vector<std::map<SeriesKey, Entry>> entries(rules.size());
  std::vector<protocol::Alert> resolved;
  for (size_t old = 0; old < rules_.size(); ++old) {
    auto kept = std::find_if(rules.begin(), rules.end(), [&](const RuleConfig& r) {
      return r.name == rules_[old].name && r.labels == rules_[old].labels;
    });
    if (kept != rules.end()) {
      entries[static_cast<size_t>(kept - rules.begin())] = std::move(entries_[old]);
      continue;
    }
    for (const auto& [key, e] : entries_[old]) {
      if (e.state.phase == RulePhase::kInactive) continue;
      protocol::Alert a;
      a.rule = rules_[old].name;
      a.fingerprint = e.fingerprint;
      a.state = protocol::AlertState::kResolved;
      a.severity = rules_[old].severity;
      a.labels = e.alert_labels;
      a.annotations = rules_[old].annotations;
      a.annotations["resolved_by"] = "the rule was removed from the configuration";
      a.value = e.state.last_value.value_or(0);
      a.threshold = rules_[old].when.threshold;
      a.active_since_ms = static_cast<uint64_t>(std::max<int64_t>(e.since_wall_ms, 0));
      resolved.push_back(std::move(a));
    }
  }
  rules_ = std::move(rules);
  entries_ = std::move(entries);
  return resolved;
}

std::vector<RuleStatus> RuleEngine::status() const {
  std::vector<RuleStatus> out;
  for (size_t i = 0; i < rules_.size(); ++i) {
    for (const auto& [key, e] : entries_[i]) {
      out.push_back(RuleStatus{rules_[i].name, key.first, e.alert_labels, e.fingerprint,
                               e.state.phase, e.since_wall_ms, e.state.last_value});
    }
  }
  return out;
}

}  // namespace reflex::agent
