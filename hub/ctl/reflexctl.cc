// reflexctl: the operator's command line for the hub's HTTP API, plus the offline tools
// (config checks, CURVE key generation) an operator needs around it.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

#include "agent/config.h"
#include "common/curve_keys.h"
#include "hub/config.h"
#include "hub/ctl/agents_table.h"
#include "hub/ctl/hub_client.h"

using namespace reflex;

namespace {

std::string default_hub_url() {
  const char* env = std::getenv("REFLEX_HUB");
  return env && *env ? env : "http://127.0.0.1:7180";
}

int fail(const std::string& message) {
  std::cerr << "reflexctl: " << message << "\n";
  return 1;
}

int cmd_agents(const ctl::HubClient& client, bool json) {
  auto res = client.get("/api/v1/agents");
  if (!res) return fail(res.status().message());
  if (res->status != 200) {
    return fail("the hub answered HTTP " + std::to_string(res->status) + ": " + res->body);
  }
  auto doc = nlohmann::json::parse(res->body, nullptr, false);
  if (!doc.is_object() || !doc["agents"].is_array()) {
    return fail("the hub's answer is not the agents document: " + res->body.substr(0, 200));
  }
  if (json) {
    std::cout << doc.dump(2) << "\n";
  } else {
    std::cout << ctl::agents_table(doc);
  }
  return 0;
}

int cmd_check_config(const std::string& kind_flag, const std::string& path) {
  std::string kind = kind_flag;
  if (kind == "auto") {
    auto root = config::load_yaml_file(path);
    if (!root) return fail(root.status().message());
    if (root->IsMap() && (root->operator[]("hub") || root->operator[]("id"))) {
      kind = "agent";
    } else if (root->IsMap() && (root->operator[]("listen") || root->operator[]("store") ||
                                 root->operator[]("http"))) {
      kind = "hub";
    } else {
      return fail(path + ": cannot tell a hub config from an agent config; pass --kind");
    }
  }
  Status st =
      kind == "hub" ? hub::load_hub_config(path).status() : agent::load_agent_config(path).status();
  if (!st) {
    std::cerr << st.message() << "\n";
    return 1;
  }
  std::cout << path << ": ok (" << kind << " config)\n";
  return 0;
}

// Writes OUT/NAME.key and OUT/NAME.key_secret and says how to enrol the agent.
int cmd_keygen(const std::string& out_dir, const std::string& name, bool force) {
  auto keys = curve::generate();
  if (!keys) return fail(keys.status().message());
  const std::string prefix = (out_dir.empty() ? "." : out_dir) + "/" + name;
  Status st = curve::write_keypair(
      prefix, *keys, "reflex CURVE key \"" + name + "\", made by reflexctl keygen", force);
  if (!st) {
    if (st.code() == "exists") return fail(st.message() + " (pass --force to replace the pair)");
    return fail(st.message());
  }
  const std::string pub = curve::public_key_path(prefix);
  const std::string sec = curve::secret_key_path(prefix);
  std::cout << "wrote " << pub << " (public) and " << sec << " (secret, mode 0600)\n"
            << "public key: " << keys->public_key << "\n\n"
            << "To enrol agent \"" << name << "\" (its config id must be \"" << name << "\"):\n"
            << "  1. on the hub:   cp " << pub << " <the hub's allowlist directory>/\n"
            << "  2. on the hub:   kill -HUP $(pidof reflex-hub)   # reloads the allowlist\n"
            << "  3. on the agent: install -m 600 " << sec << " <agent key dir>/\n"
            << "     then set the agent's secret key file and the hub's public key (the hub's\n"
            << "     own .key file) in its config, and delete the secret from here.\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reflexctl: operate a Reflex hub"};
  std::string hub_url = default_hub_url();
  std::string token;
  if (const char* t = std::getenv("REFLEX_TOKEN")) token = t;
  app.add_option("--hub", hub_url, "hub HTTP API base URL (env REFLEX_HUB)")->capture_default_str();
  app.set_version_flag("--version", std::string("reflexctl ") + REFLEX_VERSION);

  bool json = false;
  auto* agents = app.add_subcommand("agents", "list agents with their state");
  agents->add_flag("--json", json, "print the API's JSON instead of a table");

  std::string check_kind = "auto", check_path;
  auto* check = app.add_subcommand("check-config", "validate a hub or agent config file");
  check->add_option("--kind", check_kind, "hub, agent, or auto (guess from the keys)")
      ->check(CLI::IsMember({"hub", "agent", "auto"}));
  check->add_option("file", check_path, "the file to check")->required();

  std::string keygen_out = ".", keygen_name;
  bool keygen_force = false;
  auto* keygen = app.add_subcommand(
      "keygen", "create a CURVE keypair NAME.key (public) and NAME.key_secret (secret, 0600)");
  keygen->add_option("--out", keygen_out, "directory to write the two files into")
      ->capture_default_str();
  keygen->add_option("name", keygen_name, "the agent id the key is for (or e.g. \"hub\")")
      ->required()
      ->check([](const std::string& v) -> std::string {
        static const std::regex id_re("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
        return std::regex_match(v, id_re)
                   ? ""
                   : "\"" + v +
                         "\" is not a valid agent id (letters, digits, '.', '_', '-'; "
                         "at most 128)";
      });
  keygen->add_flag("--force", keygen_force, "replace existing key files");

  CLI11_PARSE(app, argc, argv);

  if (*keygen) return cmd_keygen(keygen_out, keygen_name, keygen_force);

  ctl::HubClient client(hub_url, token);
  if (*agents) return cmd_agents(client, json);
  if (*check) return cmd_check_config(check_kind, check_path);
  std::cerr << app.help();
  return 1;
}
