// Cluster tests' fixture: real reflex-hub processes sharing one throwaway PostgreSQL
// (tests/support/pg_server.h), each on ports of its own, in one temp directory.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/pg_server.h"
#include "tests/support/process.h"

namespace reflex::testing {

class ClusterHubs;

// One reflex-hub of the cluster.
class ClusterHub {
 public:
  ClusterHub(ClusterHubs& cluster, std::string id);

  const std::string& id() const { return id_; }
  const std::string& ingest() const { return ingest_; }
  int http_port() const { return http_port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
  std::string log() const;

  // Starts the process and waits until it serves (as standby or leader).
  void start();
  void signal(int sig) const { child_->signal(sig); }
  // SIGKILL (a crash) and wait for the exit.
  void kill();
  bool running() const { return child_ && child_->running(); }
  Child& child() { return *child_; }

  // GET /api/v1/cluster on this hub, parsed; null when it does not answer 200.
  nlohmann::json cluster() const;
  // "leader", "standby", or "" when it does not answer.
  std::string role() const;

 private:
  ClusterHubs& cluster_;
  std::string id_;
  std::string ingest_;
  int http_port_;
  std::unique_ptr<Child> child_;
};

// The database and the hubs' shared config.
class ClusterHubs {
 public:
  // `extra_yaml` is appended to every hub's config; `lease` is cluster.lease.
  explicit ClusterHubs(std::string extra_yaml = "", std::string lease = "2s");

  PgServer& pg() { return *pg_; }
  const TempDir& dir() const { return dir_; }
  ClusterHub& add(const std::string& id);
  // The hub that leads, as the hubs themselves say; null when none answers "leader".
  ClusterHub* leader();
  // Waits until exactly one hub answers "leader"; returns it.
  ClusterHub& wait_leader(std::chrono::milliseconds timeout = std::chrono::seconds(15));

  // An agent sending `events` numbered metrics at `rate` per second, knowing every hub's
  // endpoint: `first`'s first when given, then in the order the hubs were added.
  // `extra_yaml` is appended to its config.
  std::unique_ptr<Child> start_agent(const std::string& id, int events, int rate,
                                     const ClusterHub* first = nullptr,
                                     const std::string& extra_yaml = "");
  // The sequence numbers of `agent_id`'s stored events, in the order they were written.
  std::vector<uint64_t> stored_seqs(const std::string& agent_id) const;
  // The first column of the first row of `sql` on the shared database, as text.
  std::string peek(const std::string& sql) const;

  std::string config_for(const ClusterHub& hub) const;
  // Every hub's and agent's log so far, for a failure message.
  std::string logs() const;

 private:
  TempDir dir_;
  std::unique_ptr<PgServer> pg_;
  std::string extra_yaml_;
  std::string lease_;
  std::vector<std::unique_ptr<ClusterHub>> hubs_;
  std::vector<std::string> agents_;
};

}  // namespace reflex::testing
