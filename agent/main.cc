// reflex-agent: parses the command line and runs the Agent library.
#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

#include <spdlog/spdlog.h>
#include "agent/agent.h"
#include "agent/status_report.h"

#include "common/signals.h"

using namespace reflex;

namespace {

int check_config(const std::string& path) {
  auto cfg = agent::load_agent_config(path);
  if (!cfg) {
    std::cerr << cfg.status().message() << "\n";
    return 1;
  }
  std::cout << path << ": ok (agent " << cfg->id << ", hub " << cfg->hub_endpoints.front() << ")\n";
  return 0;
}

// The running agent's local surface: `url`, or the one its config names.
std::optional<std::string> surface_url(const std::string& config_path, std::string url) {
  if (!url.empty()) return url;
  auto cfg = agent::load_agent_config(config_path);
  if (!cfg) {
    std::cerr << cfg.status().message() << "\n";
    return std::nullopt;
  }
  if (!cfg->status_http.enabled) {
    std::cerr << "status_http.enabled is false in "
              << (config_path.empty() ? "(defaults)" : config_path) << ": nothing to ask\n";
    return std::nullopt;
  }
  return "http://" + cfg->status_http.listen;
}

// One request to the agent's surface; prints why on failure.
std::optional<std::string> call_agent(const std::string& target, bool post) {
  std::string body;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, target.c_str());
  if (post) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) -> size_t {
        static_cast<std::string*>(out)->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK || status != 200) {
    std::cerr << "cannot " << (post ? "post to " : "read ") << target << ": "
              << (rc != CURLE_OK ? curl_easy_strerror(rc)
                                 : "HTTP " + std::to_string(status) + " " + body)
              << " (is the agent running, with status_http on?)\n";
    return std::nullopt;
  }
  return body;
}

// `reflex-agent status`: asks the running agent's local surface and prints tables.
int print_status(const std::string& config_path, const std::string& url, bool json) {
  auto base = surface_url(config_path, url);
  if (!base) return 1;
  auto body = call_agent(*base + "/status", false);
  if (!body) return 1;
  std::cout << (json ? *body : agent::status_table(*body));
  return 0;
}

// `reflex-agent remediation pause|resume|reset [--target T]`.
int control_remediation(const std::string& config_path, const std::string& url,
                        const std::string& verb, const std::string& target) {
  auto base = surface_url(config_path, url);
  if (!base) return 1;
  std::string path = *base + "/remediation/" + verb;
  if (!target.empty()) {
    CURL* curl = curl_easy_init();
    char* escaped = curl_easy_escape(curl, target.c_str(), static_cast<int>(target.size()));
    path += std::string("?target=") + escaped;
    curl_free(escaped);
    curl_easy_cleanup(curl);
  }
  auto body = call_agent(path, true);
  if (!body) return 1;
  std::cout << *body;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reflex-agent: reports this host to the Reflex hub, durably"};
  std::string config_path;
  app.add_option("-c,--config", config_path, "agent.yaml (default: embedded defaults)");
  app.set_version_flag("--version", std::string("reflex-agent ") + REFLEX_VERSION);
  std::string check_path;
  auto* check = app.add_subcommand("check-config", "validate an agent config and exit");
  check->add_option("file", check_path, "the file to check")->required();
  std::string status_url;
  bool status_json = false;
  auto* status = app.add_subcommand(
      "status", "print a running agent's checks and rules (from its status_http surface)");
  status->add_option("--url", status_url,
                     "the agent's surface, e.g. http://127.0.0.1:7181 (default: from --config)");
  status->add_flag("--json", status_json, "print the JSON document as served");
  std::string heal_verb, heal_target;
  auto* heal = app.add_subcommand(
      "remediation", "pause, resume or reset the running agent's remediation (local API)");
  heal->add_option("verb", heal_verb, "pause | resume | reset")
      ->required()
      ->check(CLI::IsMember({"pause", "resume", "reset"}));
  heal->add_option("--target", heal_target, "one target (a unit, a service); default: the host");
  heal->add_option("--url", status_url,
                   "the agent's surface, e.g. http://127.0.0.1:7181 (default: from --config)");
  // `reflex-agent status -c agent.yaml` reads as it is meant.
  status->fallthrough();
  heal->fallthrough();
  const std::string from_config =
      "Without --url, the agent's surface is status_http.listen of the agent.yaml given with\n"
      "-c/--config, before or after the subcommand, e.g. reflex-agent ";
  status->footer(from_config + "status -c /etc/reflex/agent.yaml");
  heal->footer(from_config + "remediation pause -c /etc/reflex/agent.yaml");
  CLI11_PARSE(app, argc, argv);

  if (*check) return check_config(check_path);
  if (*status) return print_status(config_path, status_url, status_json);
  if (*heal) return control_remediation(config_path, status_url, heal_verb, heal_target);

  auto cfg = agent::load_agent_config(config_path);
  if (!cfg) {
    std::cerr << cfg.status().message() << "\n";
    return 1;
  }
  if (auto st = setup_logging(cfg->log, "reflex-agent"); !st) {
    std::cerr << st.message() << "\n";
    return 1;
  }

  EventLoop loop;
  SystemClock clock;
  UvTimers timers(loop);
  agent::Agent agent(loop, clock, timers);
  // Installed before start-up, so a signal during it is handled once the loop runs
  // instead of killing the process.
  ProcessSignals signals(
      loop,
      [&] {
        spdlog::info("stopping");
        agent.stop();
        loop.stop();
      },
      [&] { agent.reload_from_file(config_path); });
  if (auto st = agent.start(*cfg); !st) {
    spdlog::critical("cannot start: {}", st.to_string());
    return 1;
  }
  loop.run();
  spdlog::info("stopped");
  return 0;
}
