// The configuration reference, the example configs and the binaries must agree on which
// keys exist: a key added to the code but not documented, documented but missing from
// the examples, or left in the docs after it was removed fails here.
//
// The key lists below are the contract. docs/configuration.md must document exactly
// these (one reference-table row each), README.md must name each one,
// examples/*.yaml must set exactly these, and the binaries must accept exactly these
// (read from the "known here" list of check-config's unknown-key error).
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/process.h"

using namespace reflex::testing;

namespace {

const std::set<std::string> kHubKeys = {
    "listen",
    "http",
    "store.backend",
    "store.path",
    "store.dsn",
    "store.pool",
    "store.password_file",
    "store.password_env",
    "store.events_retention",
    "cluster.hub_id",
    "cluster.lease",
    "cluster.url",
    "agents.lost_after_missed",
    "agents.default_heartbeat",
    "agents.check_interval",
    "agents.window",
    "agents.slow_commit",
    "security.secret_key_file",
    "security.allowlist",
    "security.insecure_plaintext",
    "incidents.group_by",
    "incidents.resolve_after",
    "incidents.reopen_window",
    "incidents.flap_threshold",
    "incidents.flap_window",
    "http_threads",
    "external.resolve_timeout",
    "changes.suspect_window",
    "changes.github_secret_file",
    "changes.jenkins_secret_file",
    "services",  // a mapping of service names: its keys are the operator's
    "dependency_inhibition.enabled",
    "dependency_inhibition.equal",
    "inhibit_rules",  // a list: its keys are in docs/configuration.md#hubyaml
    "maintenance",    // a list, likewise
    "silence_reminders.before",
    "silence_reminders.min_length",
    "api.tokens",  // a list, likewise
    "routes",      // a list, likewise
    "outbox.max_attempts",
    "outbox.backoff_base",
    "outbox.backoff_cap",
    "integrations.slack",       // a mapping: its keys are in docs/configuration.md#hubyaml
    "integrations.jira",        // likewise
    "integrations.statuspage",  // likewise
    "integrations.pagerduty",   // likewise
    "integrations.dynatrace",   // likewise
    "integrations.webhook",     // likewise
    "integrations.jenkins",     // likewise
    "integrations.github",      // likewise
    "integrations.email",       // likewise
    "integrations.mattermost",  // likewise
    "integrations.teams",       // likewise
    "workflows",                // a mapping of workflow names, likewise
    "business_hours.weekdays",
    "business_hours.start",
    "business_hours.end",
    "business_hours.time_zone",
    "people",               // a mapping of person ids, likewise
    "schedules",            // a mapping of schedule names, likewise
    "escalation_policies",  // a mapping of policy names, likewise
    "api.insecure_open",
    "log.level",
    "log.format",
};

const std::set<std::string> kAgentKeys = {
    "id",
    "hostname",
    "labels",  // a free-form mapping: its own keys are the operator's
    "heartbeat_interval",
    "hub.endpoints",
    "hub.window",
    "hub.ack_timeout",
    "hub.failover_after",
    "hub.failback_after",
    "hub.server_key",
    "hub.secret_key_file",
    "spool.path",
    "spool.max_events",
    "spool.max_mib",
    "spool.max_age",
    "checks",  // a list: each check type's keys are in docs/configuration.md#checks
    "windows.length",
    "windows.slices",
    "windows.max_series",
    "rules",
    "actions",  // a list: its keys are in docs/configuration.md#remediation
    "remediation.budget.max_runs",
    "remediation.budget.window",
    "remediation.dry_run",
    "metrics_interval",
    "status_http.enabled",
    "status_http.listen",
    "load_test.events",
    "load_test.rate",
    "log.level",
    "log.format",
};

constexpr const char* kHowToFix =
    "a key added or removed goes in docs/configuration.md (a table row), README.md, "
    "examples/*.yaml and the lists in tests/e2e/examples_test.cc together";

std::string source_file(const std::string& relative) {
  return std::string(REFLEX_SOURCE_DIR) + "/" + relative;
}

std::string read_source_file(const std::string& relative) {
  std::ifstream in(source_file(relative));
  REQUIRE(in);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Elements of `a` that are not in `b`, for failure messages that name the keys.
std::vector<std::string> only_in(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::vector<std::string> out;
  for (const auto& x : a) {
    if (b.count(x) == 0) out.push_back(x);
  }
  return out;
}

// Key paths set in a YAML mapping: mappings are walked down to a documented key (whose
// value may itself be a free-form mapping, like labels) or to a value that is no mapping.
void collect_keys(const YAML::Node& node, const std::string& prefix,
                  const std::set<std::string>& documented, std::set<std::string>& out) {
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (documented.count(path) > 0 || !kv.second.IsMap()) {
      out.insert(path);
    } else {
      collect_keys(kv.second, path, documented, out);
    }
  }
}

std::set<std::string> keys_in_example(const std::string& relative,
                                      const std::set<std::string>& documented) {
  YAML::Node root = YAML::LoadFile(source_file(relative));
  REQUIRE(root.IsMap());
  std::set<std::string> keys;
  collect_keys(root, "", documented, keys);
  return keys;
}

// The key paths of the reference-table rows ("| `store.path` | ...") in the section of
// docs/configuration.md headed "## <heading>".
std::set<std::string> keys_in_reference(const std::string& heading) {
  std::istringstream doc(read_source_file("docs/configuration.md"));
  static const std::regex row(R"(^\| `([A-Za-z0-9_.]+)` \|)");
  std::set<std::string> keys;
  bool in_section = false;
  for (std::string line; std::getline(doc, line);) {
    if (line.rfind("## ", 0) == 0) {
      in_section = line == "## " + heading;
      continue;
    }
    std::smatch m;
    if (in_section && std::regex_search(line, m, row)) keys.insert(m[1]);
  }
  return keys;
}

// "" (the top level) and every mapping that holds documented keys ("store", "log", ...).
std::set<std::string> sections_of(const std::set<std::string>& keys) {
  std::set<std::string> sections = {""};
  for (const auto& k : keys) {
    for (auto dot = k.find('.'); dot != std::string::npos; dot = k.find('.', dot + 1)) {
      sections.insert(k.substr(0, dot));
    }
  }
  return sections;
}

// The names the documented keys give to the entries of `section`.
std::set<std::string> documented_names_in(const std::set<std::string>& keys,
                                          const std::string& section) {
  const std::string prefix = section.empty() ? "" : section + ".";
  std::set<std::string> names;
  for (const auto& k : keys) {
    if (k.rfind(prefix, 0) != 0) continue;
    std::string rest = k.substr(prefix.size());
    names.insert(rest.substr(0, rest.find('.')));
  }
  return names;
}

// The names `binary` accepts in `section`: check-config refuses a probe key placed there
// and lists the known names beside it.
std::set<std::string> accepted_names_in(const std::string& binary, const std::string& section) {
  std::string yaml = "zz_probe: 1";
  std::string rest = section;
  while (!rest.empty()) {
    auto dot = rest.rfind('.');
    std::string name = dot == std::string::npos ? rest : rest.substr(dot + 1);
    yaml = name + ": {" + yaml + "}";
    rest = dot == std::string::npos ? "" : rest.substr(0, dot);
  }
  TempDir dir;
  auto out = run({binary, "check-config", dir.write("probe.yaml", yaml + "\n")});
  INFO("section \"" << section << "\", check-config said: " << out.err);
  REQUIRE(out.exit_code == 1);
  const std::string marker = "zz_probe: unknown key (known here: ";
  auto begin = out.err.find(marker);
  REQUIRE(begin != std::string::npos);
  begin += marker.size();
  auto end = out.err.find(')', begin);
  REQUIRE(end != std::string::npos);
  std::set<std::string> names;
  std::istringstream list(out.err.substr(begin, end - begin));
  for (std::string name; std::getline(list, name, ',');) {
    names.insert(name.substr(name.find_first_not_of(' ')));
  }
  return names;
}

}  // namespace

TEST_CASE("the example hub config passes check-config", "[e2e][examples]") {
  // check-config reads the API token files, as a reload would: give the example's
  // tokens files (mode 0600) in a scratch directory instead of /etc/reflex/tokens.
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "tokens");
  for (const char* name : {"alice", "prometheus", "grafana", "slack-bot", "slack-signing", "jira",
                           "statuspage", "pagerduty", "dynatrace", "webhook", "jenkins", "github",
                           "smtp", "mattermost-hook", "teams-hook"}) {
    // An incoming webhook's secret is its URL.
    const std::string secret = std::string(name).ends_with("-hook")
                                   ? "https://hooks.example.com/" + std::string(name)
                                   : std::string(name) + "-0123456789abcdef0123456789";
    const std::string token = dir.write(std::string("tokens/") + name, secret + "\n");
    std::filesystem::permissions(
        token, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  std::string text = read_source_file("examples/hub.yaml");
  REQUIRE(text.find("/etc/reflex/tokens/") != std::string::npos);
  text = std::regex_replace(text, std::regex("/etc/reflex/tokens/"), dir.file("tokens/"));
  const std::string file = dir.write("hub.yaml", text);
  auto hub = run({hub_binary(), "check-config", file});
  INFO(hub.err);
  CHECK(hub.exit_code == 0);
  auto ctl = run({ctl_binary(), "check-config", file});
  INFO(ctl.err);
  CHECK(ctl.exit_code == 0);
  CHECK(ctl.out.find("(hub config)") != std::string::npos);
}

TEST_CASE("the example agent config passes check-config", "[e2e][examples]") {
  const std::string file = source_file("examples/agent.yaml");
  auto agent = run({agent_binary(), "check-config", file});
  INFO(agent.err);
  CHECK(agent.exit_code == 0);
  auto ctl = run({ctl_binary(), "check-config", file});
  INFO(ctl.err);
  CHECK(ctl.exit_code == 0);
  CHECK(ctl.out.find("(agent config)") != std::string::npos);
}

TEST_CASE("the PostgreSQL example passes check-config", "[e2e][examples]") {
  auto hub = run({hub_binary(), "check-config", source_file("examples/hub-postgres.yaml")});
  INFO(hub.err);
  CHECK(hub.exit_code == 0);
}

TEST_CASE("the example hub configs set every documented hub key and nothing else",
          "[e2e][examples]") {
  INFO(kHowToFix);
  // examples/hub.yaml sets every key but the PostgreSQL store's and the cluster's, which
  // a SQLite store refuses; examples/hub-postgres.yaml sets those.
  auto example = keys_in_example("examples/hub.yaml", kHubKeys);
  for (const auto& key : keys_in_example("examples/hub-postgres.yaml", kHubKeys)) {
    if (key.rfind("store.", 0) == 0 || key.rfind("cluster.", 0) == 0) example.insert(key);
  }
  // The alternative to password_file, which it sets (both at once are an error); the
  // file names it in a comment.
  example.insert("store.password_env");
  CHECK(only_in(kHubKeys, example) == std::vector<std::string>{});
  CHECK(only_in(example, kHubKeys) == std::vector<std::string>{});
}

TEST_CASE("the example agent config sets every documented agent key and nothing else",
          "[e2e][examples]") {
  INFO(kHowToFix);
  auto example = keys_in_example("examples/agent.yaml", kAgentKeys);
  CHECK(only_in(kAgentKeys, example) == std::vector<std::string>{});
  CHECK(only_in(example, kAgentKeys) == std::vector<std::string>{});
}

TEST_CASE("the configuration reference documents exactly the hub and agent keys",
          "[e2e][examples]") {
  INFO(kHowToFix);
  auto hub = keys_in_reference("hub.yaml");
  CHECK(only_in(kHubKeys, hub) == std::vector<std::string>{});
  CHECK(only_in(hub, kHubKeys) == std::vector<std::string>{});
  auto agent = keys_in_reference("agent.yaml");
  CHECK(only_in(kAgentKeys, agent) == std::vector<std::string>{});
  CHECK(only_in(agent, kAgentKeys) == std::vector<std::string>{});
}

TEST_CASE("the README names every hub and agent key", "[e2e][examples]") {
  INFO(kHowToFix);
  const std::string readme = read_source_file("README.md");
  std::vector<std::string> missing;
  for (const auto& keys : {kHubKeys, kAgentKeys}) {
    for (const auto& k : keys) {
      if (readme.find("`" + k + "`") == std::string::npos) missing.push_back(k);
    }
  }
  CHECK(missing == std::vector<std::string>{});
}

TEST_CASE("reflex-hub accepts exactly the documented hub keys", "[e2e][examples]") {
  INFO(kHowToFix);
  for (const auto& section : sections_of(kHubKeys)) {
    INFO("section \"" << section << "\"");
    CHECK(accepted_names_in(hub_binary(), section) == documented_names_in(kHubKeys, section));
  }
}

TEST_CASE("reflex-agent accepts exactly the documented agent keys", "[e2e][examples]") {
  INFO(kHowToFix);
  for (const auto& section : sections_of(kAgentKeys)) {
    INFO("section \"" << section << "\"");
    CHECK(accepted_names_in(agent_binary(), section) == documented_names_in(kAgentKeys, section));
  }
}

TEST_CASE("the demo's configs pass check-config where scripts/demo puts them", "[e2e][examples]") {
  // scripts/demo-scenarios copies examples/demo/ to /tmp/reflex-demo, and
  // reflex-demo-vendors writes the tokens into its secrets/; here a temporary directory
  // stands in for /tmp/reflex-demo.
  TempDir dir;
  std::filesystem::copy(source_file("examples/demo/keys"), dir.file("keys"),
                        std::filesystem::copy_options::recursive);
  for (const char* key : {"hub", "web-1", "web-2", "web-3"}) {
    std::filesystem::permissions(
        dir.file(std::string("keys/") + key + ".key_secret"),
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  std::filesystem::create_directory(dir.file("secrets"));
  for (const char* name : {"slack-bot", "slack-signing", "jira", "statuspage", "dynatrace"}) {
    const std::string secret = dir.write(std::string("secrets/") + name, "secret-0000000000\n");
    std::filesystem::permissions(
        secret, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  const std::string hub_public_key = [&] {
    std::istringstream lines(read_source_file("examples/demo/keys/hub.key"));
    std::string line;
    while (std::getline(lines, line) && line.starts_with("#")) {
    }
    return line;
  }();
  for (const char* name : {"hub.yaml", "web-1.yaml", "web-2.yaml", "web-3.yaml"}) {
    INFO(name);
    std::string text = read_source_file(std::string("examples/demo/") + name);
    REQUIRE(text.find("/tmp/reflex-demo/") != std::string::npos);
    text = std::regex_replace(text, std::regex("/tmp/reflex-demo/"), dir.file(""));
    const std::string file = dir.write(name, text);
    const bool is_hub = std::string(name) == "hub.yaml";
    auto checked = run({is_hub ? hub_binary() : agent_binary(), "check-config", file});
    INFO(checked.out << checked.err);
    CHECK(checked.exit_code == 0);
    if (!is_hub) {
      // Each agent trusts the demo hub's key and is enrolled in its allowlist.
      CHECK(YAML::Load(text)["hub"]["server_key"].as<std::string>() == hub_public_key);
      const std::string id = YAML::Load(text)["id"].as<std::string>();
      CHECK(std::filesystem::exists(dir.file("keys/agents/" + id + ".key")));
    }
  }
}
