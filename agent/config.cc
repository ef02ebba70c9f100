#include "agent/config.h"

#include <unistd.h>

#include <regex>

#include "common/curve_keys.h"

namespace reflex::agent {
namespace {

std::string local_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
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
