// reflex-agent: parses the command line and runs the Agent library.
#include <CLI/CLI.hpp>
#include <iostream>

#include <spdlog/spdlog.h>
#include "agent/agent.h"

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reflex-agent: reports this host to the Reflex hub, durably"};
  std::string config_path;
  app.add_option("-c,--config", config_path, "agent.yaml (default: embedded defaults)");
  app.set_version_flag("--version", std::string("reflex-agent ") + REFLEX_VERSION);
  std::string check_path;
  auto* check = app.add_subcommand("check-config", "validate an agent config and exit");
  check->add_option("file", check_path, "the file to check")->required();
  CLI11_PARSE(app, argc, argv);

  if (*check) return check_config(check_path);

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
