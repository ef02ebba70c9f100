#include "bench/cluster_hubs.h"

#include <fstream>

#include "common/pg.h"
#include "tests/support/process.h"

namespace reflex::bench {
namespace {

constexpr std::chrono::milliseconds kStartLimit{20'000};

std::string hub_name(int index) {
  return std::string("hub-") + static_cast<char>('a' + index);
}

// Writes <parent>/<id>/hub.yaml and starts the hub there; returns once it serves.
Result<std::unique_ptr<HubProcess>> start_hub(const ClusterSetup& setup,
                                              const std::filesystem::path& parent,
                                              const std::string& id) {
  const auto dir = parent / id;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::error("io", "cannot create " + dir.string() + ": " + ec.message());
  // Reserved, not port 0: a standby must know the agent port it binds once it leads.
  const int agent_port = testing::reserve_port();
  const int http_port = testing::reserve_port();
  const std::string yaml =
      "listen: tcp://127.0.0.1:" + std::to_string(agent_port) +
      "\nhttp: 127.0.0.1:" + std::to_string(http_port) + "\nstore: {backend: postgres, dsn: \"" +
      setup.dsn + "\", pool: 2}\ncluster: {hub_id: " + id +
      ", lease: " + std::to_string(setup.lease.count()) + "ms}\n" + setup.extra_yaml;
  const std::string config = (dir / "hub.yaml").string();
  {
    std::ofstream out(config);
    out << yaml;
    if (!out) return Status::error("io", "cannot write " + config);
  }
  return HubProcess::start(setup.hub_binary, config, dir.string(), (dir / "hub.log").string(),
                           kStartLimit);
}

}  // namespace

Result<ClusterHubs> start_cluster(const ClusterSetup& setup, const std::filesystem::path& parent,
                                  int count) {
  ClusterHubs hubs;
  for (int i = 0; i < count; ++i) {
    auto hub = start_hub(setup, parent, hub_name(i));
    if (!hub) return hub.status().with_context("starting " + hub_name(i));
    // A clustered hub serves as a standby first and writes its ready file again once
    // elected; only the first hub may lead.
    const std::string role = i == 0 ? "leader" : "standby";
    REFLEX_RETURN_IF_ERROR((*hub)->wait_role(role, kStartLimit).with_context(hub_name(i)));
    hubs.push_back(std::move(hub).value());
  }
  return hubs;
}

Status stop_cluster(ClusterHubs& hubs) {
  Status first = Status::ok();
  auto stop_if = [&](bool leaders) {
    for (auto& hub : hubs) {
      if (!hub->running() || (hub->role() == "leader") != leaders) continue;
      Status st = hub->stop(std::chrono::milliseconds(30'000));
      if (!st && first) first = st.with_context(hub->hub_id());
    }
  };
  for (auto& hub : hubs) {
    if (hub->running()) (void)hub->refresh();
  }
  stop_if(false);
  stop_if(true);
  return first;
}

Result<std::vector<HubProcess*>> ingesting_hubs(ClusterHubs& hubs) {
  std::vector<HubProcess*> out;
  for (auto& hub : hubs) {
    REFLEX_RETURN_IF_ERROR(hub->refresh());
    if (!hub->ingest_endpoint().empty()) out.push_back(hub.get());
  }
  return out;
}

Result<std::string> query_text(const std::string& dsn, const std::string& sql) {
  auto conn = pg::Connection::open(dsn);
  if (!conn) return conn.status();
  auto rows = conn->query(sql);
  if (!rows) return rows.status();
  if (rows->empty()) return std::string();
  return (*rows)[0].column_text(0);
}

Status drop_database(const std::string& admin_dsn, const std::string& name) {
  auto conn = pg::Connection::open(admin_dsn);
  if (!conn) return conn.status();
  return conn->exec("DROP DATABASE " + name);
}

Result<uint64_t> count_events(const std::string& dsn) {
  auto text = query_text(dsn, "SELECT count(*) FROM events");
  if (!text) return text.status();
  return static_cast<uint64_t>(std::stoull(*text));
}

}  // namespace reflex::bench
