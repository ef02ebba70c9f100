#include "hub/config.h"

#include <set>

#include "common/pg.h"
#include "hub/api_tokens.h"
#include "hub/integrations/slack.h"
#include "hub/integrations/vendors.h"
#include "hub/oncall/oncall_config.h"
#include "hub/policy/integration_checks.h"
#include "hub/policy/policy_config.h"

namespace reflex::hub {

bool is_loopback_endpoint(const std::string& endpoint) {
  if (endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0) return true;
  if (endpoint.rfind("tcp://", 0) != 0) return false;
  std::string host = endpoint.substr(6, endpoint.rfind(':') - 6);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

namespace {

void read_incidents(config::MapReader& top, IncidentsConfig& out) {
  auto inc = top.child("incidents");
  std::vector<std::string> keys = out.group_by;
  inc.get("group_by", keys);
  const YAML::Node at = inc.take("group_by");
  std::set<std::string> seen;
  bool ok = true;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string path = "incidents.group_by[" + std::to_string(i) + "]";
    if (keys[i].empty()) {
      inc.errors().add(at, path, "must not be empty");
      ok = false;
    } else if (!seen.insert(keys[i]).second) {
      inc.errors().add(at, path, "\"" + keys[i] + "\" is listed twice");
      ok = false;
    }
  }
  if (keys.empty()) {
    inc.errors().add(at, "incidents.group_by", "must name at least one label, e.g. [service, env]");
    ok = false;
  }
  if (ok) out.group_by = keys;
  inc.get("resolve_after", out.resolve_after);
  inc.get("reopen_window", out.reopen_window);
  inc.get("flap_threshold", out.flap_threshold, 1, 1000);
  inc.get("flap_window", out.flap_window);
  if (out.flap_window.count() <= 0) {
    inc.errors().add(inc.take("flap_window"), "incidents.flap_window", "must be positive");
  }
}

void read_external(config::MapReader& top, HubConfig& cfg) {
  top.get("http_threads", cfg.http_threads, 1, 1024);
  {
    auto ext = top.child("external");
    ext.get("resolve_timeout", cfg.external.resolve_timeout);
    if (cfg.external.resolve_timeout.count() <= 0) {
      ext.errors().add(ext.take("resolve_timeout"), "external.resolve_timeout", "must be positive");
    }
  }
  auto ch = top.child("changes");
  ch.get("suspect_window", cfg.changes.suspect_window);
  ch.get("github_secret_file", cfg.changes.github_secret_file);
  ch.get("jenkins_secret_file", cfg.changes.jenkins_secret_file);
  if (cfg.changes.suspect_window.count() < 0) {
    ch.errors().add(ch.take("suspect_window"), "changes.suspect_window", "must not be negative");
  }
}

// A page step names one of escalation_policies, or goes to PagerDuty. A templated name
// ("{{service}}-oncall") is judged when it is rendered.
void check_page_policies(const HubConfig& cfg, config::Errors& errors) {
  if (cfg.integrations.pagerduty.enabled) return;
  for (const auto& [name, wf] : cfg.policy.workflows) {
    for (size_t i = 0; i < wf.steps.size(); ++i) {
      const policy::Step& step = wf.steps[i];
      auto it = step.with.find("policy");
      if (step.kind != policy::StepKind::kPage || it == step.with.end() ||
          it->second.find("{{") != std::string::npos || cfg.oncall.policies.contains(it->second)) {
        continue;
      }
      errors.add("workflows." + name + ".steps[" + std::to_string(i) + "].with.policy",
                 "'" + it->second +
                     "' is not one of escalation_policies, and integrations.pagerduty is not "
                     "configured to page it");
    }
  }
}

// store: which backend, and what it needs. Keys of the other backend are errors, so a
// dsn left beside `backend: sqlite` is not silently ignored.
void read_store(config::MapReader& top, StoreConfig& out) {
  auto store = top.child("store");
  config::Errors& errors = store.errors();
  store.get_enum("backend", out.backend, {"sqlite", "postgres"});
  store.get("events_retention", out.events_retention);
  if (out.events_retention < Millis(0) ||
      (out.events_retention > Millis(0) && out.events_retention < Millis(1000))) {
    errors.add(store.take("events_retention"), "store.events_retention",
               "must be 0 (keep every event) or at least 1s");
  }
  const std::vector<std::string> sqlite_keys = {"path"};
  const std::vector<std::string> postgres_keys = {"dsn", "pool", "password_file", "password_env"};
  for (const std::string& key : out.postgres() ? sqlite_keys : postgres_keys) {
    if (!store.has(key)) {
      store.take(key);  // still a key of the section: an unknown key's error lists it
      continue;
    }
    errors.add(
        store.take(key), store.path_of(key),
        std::string("applies to backend ") + (out.postgres() ? "sqlite" : "postgres") + " only");
  }
  if (!out.postgres()) {
    store.get("path", out.path);
    if (out.path.empty()) errors.add(store.take("path"), "store.path", "must not be empty");
    return;
  }
  if (!store.has("dsn")) {
    errors.add(store.take("backend"), "store.dsn",
               "required with backend postgres: a libpq conninfo such as "
               "\"host=db1 dbname=reflex user=reflex\"");
  }
  store.get("dsn", out.dsn);
  if (store.has("dsn") && out.dsn.empty()) {
    errors.add(store.take("dsn"), "store.dsn", "must not be empty");
  }
  int64_t pool = out.pool;
  store.get("pool", pool, 1, 64);
  out.pool = static_cast<int>(pool);
  store.get("password_file", out.password_file);
  store.get("password_env", out.password_env);
  if (!out.password_file.empty() && !out.password_env.empty()) {
    errors.add(store.take("password_env"), "store.password_env",
               "give password_file or password_env, not both");
  }
}

// cluster: only where there is something to share, a PostgreSQL store. The section's
// keys are still read (and unknown ones named) beside a SQLite store, which refuses it.
void read_cluster(config::MapReader& top, const StoreConfig& store, ClusterConfig& out) {
  if (!store.postgres() && top.has("cluster")) {
    top.errors().add(top.take("cluster"), "cluster",
                     "applies to store backend postgres only: hubs share a PostgreSQL store");
  }
  auto cluster = top.child("cluster");
  cluster.get("hub_id", out.hub_id);
  cluster.get("lease", out.lease);
  cluster.get("url", out.url);
  if (out.lease < Millis(1000) || out.lease > Millis(600'000)) {
    cluster.errors().add(cluster.take("lease"), "cluster.lease", "must be from 1s to 10m");
  }
  if (cluster.has("hub_id") && out.hub_id.empty()) {
    cluster.errors().add(cluster.take("hub_id"), "cluster.hub_id", "must not be empty");
  }
}

}  // namespace

std::string StoreConfig::where() const {
  return postgres() ? "postgres " + pg::redact_dsn(dsn) : path;
}

Result<HubConfig> read_hub_config(const YAML::Node& root, const std::string& file) {
  HubConfig cfg;
  config::Errors errors(file);
  {
    config::MapReader top(root, "", errors);
    top.get("listen", cfg.listen);
    if (!config::is_valid_zmq_endpoint(cfg.listen)) {
      errors.add(
          top.take("listen"), "listen",
          "expected a ZeroMQ endpoint like tcp://127.0.0.1:7171, got \"" + cfg.listen + "\"");
    }
    top.get("http", cfg.http);
    std::string host;
    int port = 0;
    if (auto st = config::parse_host_port(cfg.http, host, port); !st) {
      errors.add(top.take("http"), "http", st.message());
    }
    read_store(top, cfg.store);
    read_cluster(top, cfg.store, cfg.cluster);
    {
      auto agents = top.child("agents");
      agents.get("lost_after_missed", cfg.agents.lost_after_missed, 1, 1000);
      agents.get("default_heartbeat", cfg.agents.default_heartbeat);
      agents.get("check_interval", cfg.agents.check_interval);
      agents.get("window", cfg.agents.window, 10, 100'000);
      agents.get("slow_commit", cfg.agents.slow_commit);
      if (cfg.agents.default_heartbeat.count() < 10) {
        errors.add(agents.take("default_heartbeat"), "agents.default_heartbeat",
                   "must be at least 10ms");
      }
      if (cfg.agents.check_interval.count() < 10) {
        errors.add(agents.take("check_interval"), "agents.check_interval", "must be at least 10ms");
      }
    }
    {
      auto sec = top.child("security");
      sec.get("secret_key_file", cfg.security.secret_key_file);
      sec.get("allowlist", cfg.security.allowlist);
      sec.get("insecure_plaintext", cfg.security.insecure_plaintext);
      if (cfg.security.curve() && cfg.security.allowlist.empty()) {
        errors.add(sec.take("secret_key_file"), "security.allowlist",
                   "required with secret_key_file: which agent keys may connect");
      }
      if (!cfg.security.curve() && !cfg.security.allowlist.empty()) {
        errors.add(sec.take("allowlist"), "security.secret_key_file",
                   "required with allowlist: the hub's own CURVE key");
      }
      if (!cfg.security.curve() && !cfg.security.insecure_plaintext &&
          !is_loopback_endpoint(cfg.listen)) {
        errors.add(top.take("listen"), "listen",
                   "a non-loopback address needs security.secret_key_file (CurveZMQ) or "
                   "security.insecure_plaintext: true");
      }
    }
    read_incidents(top, cfg.incidents);
    incidents::read_suppression_config(top, cfg.suppression);
    policy::read_policy_config(top, cfg.policy);
    read_api_config(top, cfg.http, cfg.api);
    read_external(top, cfg);
    read_outbox_config(top, cfg.outbox, cfg.integrations);
    oncall::read_oncall_config(top, cfg.oncall);
    check_page_policies(cfg, errors);
    policy::check_step_integrations(cfg.policy, cfg.integrations, errors);
    auto log = top.child("log");
    read_log_config(log, cfg.log);
  }
  if (!errors.empty()) return errors.status();
  return cfg;
}

Result<HubConfig> load_hub_config(const std::string& path) {
  if (path.empty()) return HubConfig{};
  auto root = config::load_yaml_file(path);
  if (!root) return root.status();
  auto cfg = read_hub_config(*root, path);
  if (!cfg) return cfg;
  // Token files are read here too, so check-config and reload see what start-up sees.
  if (auto tokens = load_token_table(cfg->api); !tokens) {
    return Status::error("config", path + ": " + tokens.status().message());
  }
  if (cfg->integrations.slack.enabled) {  // the token must be readable, as at start-up
    if (auto slack = slack_settings(cfg->integrations.slack); !slack) {
      return Status::error("config", path + ": " + slack.status().message());
    }
  }
  {  // the other integrations' secrets too
    SystemClock clock;
    if (auto vendors = vendor_integrations(cfg->integrations, clock); !vendors) {
      return Status::error("config", path + ": " + vendors.status().message());
    }
  }
  return cfg;
}

}  // namespace reflex::hub
