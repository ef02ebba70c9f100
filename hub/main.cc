// reflex-hub: parses the command line and runs the Hub library.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "common/json_text.h"
#include "common/signals.h"
#include "hub/clustered_hub.h"
#include "hub/hub.h"
#include "hub/store_migrate.h"

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

// Exit status of `migrate --check` when migrations are pending.
constexpr int kMigrationsPending = 3;

int migrate(const std::string& config_path, bool check_only) {
  auto cfg = hub::load_hub_config(config_path);
  if (!cfg) {
    std::cerr << cfg.status().message() << "\n";
    return 1;
  }
  auto report = hub::migrate_store(cfg->store, !check_only);
  if (!report) {
    std::cerr << report.status().message() << "\n";
    return 1;
  }
  std::cout << "store " << cfg->store.where() << ": schema version " << report->before;
  if (report->after != report->before) std::cout << " -> " << report->after;
  std::cout << " (this build knows " << report->known << ")";
  if (report->pending() == 0) {
    std::cout << (report->after != report->before ? ": migrated\n" : ": up to date\n");
    return 0;
  }
  std::cout << ": " << report->pending() << " migration" << (report->pending() == 1 ? "" : "s")
            << " pending\n";
  return kMigrationsPending;
}

// Written once the hub serves, so scripts and tests wait for a file instead of sleeping.
Status write_ready_file(const std::string& path, const nlohmann::json& state) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << json_text(state) << "\n";
    if (!out) return Status::error("io", "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::error("io", "cannot write " + path + ": " + ec.message());
  return Status::ok();
}

// Runs `hub` (a Hub, or a ClusteredHub: one of several sharing a PostgreSQL store) until
// SIGTERM or SIGINT; SIGHUP reloads `config_path`. The signal handlers are installed
// before `start` runs, so a signal during start-up is handled once the loop runs instead
// of killing the process.
template <class H>
int serve(EventLoop& loop, H& hub, const std::string& config_path,
          const std::function<Status()>& start) {
  ProcessSignals signals(
      loop,
      [&] {
        spdlog::info("stopping");
        hub.stop();
        loop.stop();
      },
      [&] { hub.reload_from_file(config_path); });
  if (auto st = start(); !st) {
    spdlog::critical("cannot start: {}", st.to_string());
    return 1;
  }
  loop.run();
  if constexpr (requires { hub.failure(); }) {
    if (!hub.failure()) return 1;  // it gave up; it said why
  }
  spdlog::info("stopped");
  return 0;
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
  bool check_only = false;
  auto* migrate_cmd = app.add_subcommand(
      "migrate", "apply the store's schema migrations (the store of --config) and exit");
  migrate_cmd->add_flag("--check", check_only,
                        "only report; exit 3 when migrations are pending, 0 when none are");
  migrate_cmd->fallthrough();  // `reflex-hub migrate -c hub.yaml` reads as it is meant
  migrate_cmd->footer(
      "The store is the one hub.yaml names: give it with -c/--config, before or after "
      "`migrate`,\ne.g. reflex-hub migrate -c /etc/reflex/hub.yaml --check");
  CLI11_PARSE(app, argc, argv);

  if (*check) return check_config(check_path);
  if (*migrate_cmd) return migrate(config_path, check_only);

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
  if (cfg->store.postgres()) {
    hub::ClusteredHub hub(loop, clock, timers);
    return serve(loop, hub, config_path, [&] {
      return hub.start(*cfg, [&](const nlohmann::json& state) {
        if (ready_file.empty()) return;
        if (auto st = write_ready_file(ready_file, state); !st) spdlog::error("{}", st.to_string());
      });
    });
  }
  hub::Hub hub(loop, clock, timers);
  return serve(loop, hub, config_path, [&]() -> Status {
    REFLEX_RETURN_IF_ERROR(hub.start(*cfg));
    if (ready_file.empty()) return Status::ok();
    return write_ready_file(
        ready_file,
        {{"ingest", hub.ingest_endpoint()}, {"http_port", hub.http_port()}, {"pid", ::getpid()}});
  });
}
