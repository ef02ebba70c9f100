#include "agent/config.h"

#include <unistd.h>

#include <algorithm>
#include <regex>
#include <set>

#include "common/curve_keys.h"

namespace reflex::agent {
namespace {

std::string local_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// Reads `rules`, checking what only the whole list can: unique names, and a series that
// some check produces (series are named after their check: "web" or "web.ttfb").
void read_rules(config::MapReader& top, const std::vector<CheckConfig>& checks,
                const std::vector<heal::ActionConfig>& actions, std::vector<RuleConfig>& out) {
  config::Errors& errors = top.errors();
  YAML::Node list = top.take("rules");
  if (!list || list.IsNull()) return;
  if (!list.IsSequence()) {
    errors.add(list, "rules", "expected a list of rules");
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = "rules[" + std::to_string(i) + "]";
    config::MapReader r(list[i], path, errors);
    RuleConfig rule;
    read_rule(r, rule);
    heal::HealLadder ladder;
    heal::read_heal_ladder(r, ladder);
    heal::check_ladders({ladder}, actions, errors);
    rule.heal = std::move(ladder.actions);
    if (!rule.name.empty() && !names.insert(rule.name).second) {
      errors.add(list[i]["name"], path + ".name",
                 "another rule is already named \"" + rule.name +
                     "\" (the name is part of "
                     "its alerts' fingerprints)");
    }
    // The literal part before any '*' must lead into some check's series.
    const std::string literal = rule.series.substr(0, rule.series.find('*'));
    const bool glob = literal.size() != rule.series.size();
    const bool known = std::any_of(checks.begin(), checks.end(), [&](const CheckConfig& c) {
      const std::string& n = c.spec.name;
      if (literal == n || literal.rfind(n + ".", 0) == 0) return true;
      return glob && (n + ".").rfind(literal, 0) == 0;
    });
    if (!rule.series.empty() && !known) {
      errors.add(list[i]["series"], path + ".series",
                 "no check produces \"" + rule.series +
                     "\" (series are named after their "
                     "check: \"<check>\" or \"<check>.<metric>\")");
    }
    r.finish();
    out.push_back(std::move(rule));
  }
}

}  // namespace

Result<AgentConfig> read_agent_config(const YAML::Node& root, const std::string& file) {
  AgentConfig cfg;
  config::Errors errors(file);
  {
    config::MapReader top(root, "", errors);
    top.get("id", cfg.id);
    top.get("hostname", cfg.hostname);
    top.get("labels", cfg.labels);
    top.get("heartbeat_interval", cfg.heartbeat_interval);
    if (cfg.heartbeat_interval.count() < 10) {
      errors.add(top.take("heartbeat_interval"), "heartbeat_interval", "must be at least 10ms");
    }
    {
      auto hub = top.child("hub");
      hub.get("endpoints", cfg.hub_endpoints);
      int64_t window = static_cast<int64_t>(cfg.uplink.window);
      hub.get("window", window, 1, 100'000);
      cfg.uplink.window = static_cast<uint64_t>(window);
      hub.get("ack_timeout", cfg.uplink.ack_timeout);
      if (cfg.uplink.ack_timeout.count() < 10) {
        errors.add(hub.take("ack_timeout"), "hub.ack_timeout", "must be at least 10ms");
      }
      hub.get("failover_after", cfg.uplink.failover_after, 1, 1000);
      hub.get("failback_after", cfg.uplink.failback_after);
      hub.get("server_key", cfg.uplink.server_key);
      hub.get("secret_key_file", cfg.uplink.secret_key_file);
      if (!cfg.uplink.server_key.empty() && !curve::is_z85_key(cfg.uplink.server_key)) {
        errors.add(hub.take("server_key"), "hub.server_key",
                   "expected the hub's 40-character Z85 public key");
      }
      if (cfg.uplink.server_key.empty() != cfg.uplink.secret_key_file.empty()) {
        errors.add(hub.take(cfg.uplink.server_key.empty() ? "secret_key_file" : "server_key"),
                   cfg.uplink.server_key.empty() ? "hub.server_key" : "hub.secret_key_file",
                   "server_key and secret_key_file go together (CurveZMQ)");
      }
      if (cfg.hub_endpoints.empty()) {
        errors.add(hub.take("endpoints"), "hub.endpoints", "must name at least one hub");
      }
      for (size_t i = 0; i < cfg.hub_endpoints.size(); ++i) {
        if (!config::is_valid_zmq_endpoint(cfg.hub_endpoints[i])) {
          errors.add(hub.take("endpoints")[i], "hub.endpoints[" + std::to_string(i) + "]",
                     "expected a ZeroMQ endpoint like tcp://hub.example:7171, got \"" +
                         cfg.hub_endpoints[i] + "\"");
        }
      }
    }
    {
      auto sp = top.child("spool");
      sp.get("path", cfg.spool.path);
      if (cfg.spool.path.empty()) errors.add(sp.take("path"), "spool.path", "must not be empty");
      int64_t max_events = static_cast<int64_t>(cfg.spool.limits.max_events);
      sp.get("max_events", max_events, 100, 1'000'000'000);
      cfg.spool.limits.max_events = static_cast<uint64_t>(max_events);
      int64_t max_mib = static_cast<int64_t>(cfg.spool.limits.max_bytes >> 20);
      sp.get("max_mib", max_mib, 1, 1'000'000);
      cfg.spool.limits.max_bytes = static_cast<uint64_t>(max_mib) << 20;
      sp.get("max_age", cfg.spool.limits.max_age);
    }
    read_checks(top, cfg.checks);
    {
      auto w = top.child("windows");
      read_window_config(w, cfg.windows);
    }
    heal::read_actions(top, cfg.actions);
    {
      auto rem = top.child("remediation");
      heal::read_host_guardrails(rem, cfg.remediation);
    }
    read_rules(top, cfg.checks, cfg.actions, cfg.rules);
    top.get("metrics_interval", cfg.metrics_interval);
    if (cfg.metrics_interval < Millis(1000)) {
      errors.add(top.take("metrics_interval"), "metrics_interval", "must be at least 1s");
    }
    {
      auto sh = top.child("status_http");
      sh.get("enabled", cfg.status_http.enabled);
      sh.get("listen", cfg.status_http.listen);
      std::string host;
      int port = 0;
      if (auto st = config::parse_host_port(cfg.status_http.listen, host, port); !st) {
        errors.add(sh.take("listen"), "status_http.listen", st.message());
      }
    }
    {
      auto lt = top.child("load_test");
      lt.get("events", cfg.load_test.events, 0, 1'000'000'000);
      lt.get("rate", cfg.load_test.rate, 1, 10'000'000);
    }
    auto log = top.child("log");
    read_log_config(log, cfg.log);
  }
  if (cfg.hostname.empty()) cfg.hostname = local_hostname();
  if (cfg.id.empty()) cfg.id = cfg.hostname;
  static const std::regex id_re("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
  if (!std::regex_match(cfg.id, id_re)) {
    errors.add(
        "id",
        "\"" + cfg.id + "\" is not a valid agent id (letters, digits, '.', '_', '-'; at most 128)");
  }
  if (!errors.empty()) return errors.status();
  return cfg;
}

Result<AgentConfig> load_agent_config(const std::string& path) {
  if (path.empty()) return read_agent_config(YAML::Node(YAML::NodeType::Map), "(defaults)");
  auto root = config::load_yaml_file(path);
  if (!root) return root.status();
  return read_agent_config(*root, path);
}

}  // namespace reflex::agent
