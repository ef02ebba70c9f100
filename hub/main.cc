// reflex-hub: parses the command line and runs the Hub library.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "common/signals.h"
#include "hub/hub.h"

using namespace reflex;

namespace {

int check_config(const std::string& path) {
  auto cfg = hub::load_hub_config(path);
  if (!cfg) {
    std::cerr << cfg.status().message() << "\n";
    return 1;
  }
  std::cout << path << ": ok (agents on " << cfg->listen << ", HTTP on " << cfg->http << ")\n";
  return 0;
}

// Written once the hub serves, so scripts and tests wait for a file instead of sleeping.
Status write_ready_file(const std::string& path, const hub::Hub& hub) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << nlohmann::json{{"ingest", hub.ingest_endpoint()},
                          {"http_port", hub.http_port()},
                          {"pid", ::getpid()}}
               .dump()
        << "\n";
    if (!out) return Status::error("io", "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::error("io", "cannot write " + path + ": " + ec.message());
  return Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reflex-hub: receives, records and watches over the reports of Reflex agents"};
  std::string config_path, ready_file;
  app.add_option("-c,--config", config_path, "hub.yaml (default: embedded defaults)");
  app.add_option("--ready-file", ready_file,
                 "write the bound addresses as JSON to this file once serving");
  app.set_version_flag("--version", std::string("reflex-hub ") + REFLEX_VERSION);
  std::string check_path;
  auto* check = app.add_subcommand("check-config", "validate a hub config and exit");
  check->add_option("file", check_path, "the file to check")->required();
  CLI11_PARSE(app, argc, argv);

  if (*check) return check_config(check_path);

  auto cfg = hub::load_hub_config(config_path);
  if (!cfg) {
    std::cerr << cfg.status().message() << "\n";
    return 1;
  }
  if (auto st = setup_logging(cfg->log, "reflex-hub"); !st) {
    std::cerr << st.message() << "\n";
    return 1;
  }

  EventLoop loop;
  SystemClock clock;
  UvTimers timers(loop);
  hub::Hub hub(loop, clock, timers);
  // Installed before start-up, so a signal during it is handled once the loop runs
  // instead of killing the process.
  ProcessSignals signals(
      loop,
      [&] {
        spdlog::info("stopping");
        hub.stop();
        loop.stop();
      },
      [&] { hub.reload_from_file(config_path); });
  if (auto st = hub.start(*cfg); !st) {
    spdlog::critical("cannot start: {}", st.to_string());
    return 1;
  }
  if (!ready_file.empty()) {
    if (auto st = write_ready_file(ready_file, hub); !st) {
      spdlog::critical("{}", st.to_string());
      return 1;
    }
  }
  loop.run();
  spdlog::info("stopped");
  return 0;
}
