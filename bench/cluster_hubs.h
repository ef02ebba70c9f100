// Hubs of one cluster for a benchmark: reflex-hub processes sharing one PostgreSQL
// database, each in a directory of its own, started as operators start them and found
// through their ready files.
//
// The first hub started leads (start_cluster() waits for it), the others stand by. Ports
// are reserved up front (tests/support/process.h), as a standby that takes over binds the
// agent port its config names. Not thread-safe; blocks while hubs start and stop.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/support/hub_process.h"
#include "common/status.h"

namespace reflex::bench {

struct ClusterSetup {
  std::string hub_binary;
  std::string dsn;  // the database the hubs share
  std::chrono::milliseconds lease{2000};
  std::string extra_yaml;  // appended to every hub's hub.yaml: keys, integrations, routes
};

using ClusterHubs = std::vector<std::unique_ptr<HubProcess>>;

// Starts `count` hubs, hub-a, hub-b, ..., in directories of those names under `parent`:
// hub-a first, until it leads, then each other one until it stands by.
Result<ClusterHubs> start_cluster(const ClusterSetup& setup, const std::filesystem::path& parent,
                                  int count);

// SIGTERM to every hub still running, standbys first, so that no standby takes over from
// a leader that is stopping. Fails when one does not exit cleanly.
Status stop_cluster(ClusterHubs& hubs);

// The hubs whose ready file names an agent endpoint, after reading every ready file again.
Result<std::vector<HubProcess*>> ingesting_hubs(ClusterHubs& hubs);

// Rows in the events table of the database `dsn` names.
Result<uint64_t> count_events(const std::string& dsn);

// DROP DATABASE `name`, through the database `admin_dsn` names; nobody may be connected.
Status drop_database(const std::string& admin_dsn, const std::string& name);

// The first column of the first row of `sql` on `dsn`, as text; "" when there is no row.
Result<std::string> query_text(const std::string& dsn, const std::string& sql);

}  // namespace reflex::bench
