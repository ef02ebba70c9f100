// A hub among several that share one PostgreSQL store (store.backend postgres).
//
// One of them leads: it holds the lease (hub/cluster/leadership.h) and runs a whole Hub
// with that term (LeaderTerm): the agent port, correlation and its timers, escalations,
// the workflow runner and the outbox sender. Every store write of the term carries its
// fence, and the outbox asks before every call whether the term still holds.
//
// The others stand by. A standby serves, on the same HTTP address, GET /healthz (open, so
// a load balancer sees the process is alive) and GET /api/v1/cluster; anything else is
// 503 {"error": {"code": "standby", ...}} naming the leader and its URL. It ingests too:
// it binds the agent port (hub/relay_ingest.h), so agents may connect to any hub, and
// commits their events for the leader to correlate.
//
// Takeover is the restart path: when a standby is elected it stops its standby server,
// commits what its agent port accepted, closes it, starts a Hub, which restores everything from the
// store (incidents, timers' due times, undelivered outbox rows, workflows), and binds the ports. A
// leader that loses its term (another hub took the lease after it lapsed, a write was fenced,
// stop()) stops its Hub and stands by again; a row it had claimed stays `sending` for the next
// leader, whose outbox looks at the vendor before resending.
//
// Threads: everything on the loop thread; Leadership's callbacks hop to it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/loop.h"
#include "common/status.h"
#include "hub/api_auth.h"
#include "hub/cluster/leadership.h"
#include "hub/config.h"
#include "hub/hub.h"
#include "hub/relay_ingest.h"

namespace httplib {
class Server;
}

namespace reflex::hub {

// What a clustered hub is doing now, for the ready file: {"role": "leader" | "standby",
// "hub_id", "http_port", "ingest" (null on a standby), "pid"}.
using OnServing = std::function<void(const nlohmann::json& state)>;

class ClusteredHub {
 public:
  ClusteredHub(EventLoop& loop, const Clock& clock, Timers& timers);
  ~ClusteredHub();
  ClusteredHub(const ClusteredHub&) = delete;
  ClusteredHub& operator=(const ClusteredHub&) = delete;

  // Migrates the store, starts standing by and competing for the lease. `on_serving` is
  // called on the loop thread whenever this hub starts serving as standby or leader.
  Status start(const HubConfig& cfg, OnServing on_serving);
  // Stops the Hub if leading (what it accepted is committed first), releases the lease so
  // another hub takes over at once, and stops serving.
  void stop();
  // SIGHUP: applied to the running Hub when leading; a standby reads the file when it is
  // elected.
  void reload_from_file(const std::string& path);
  // Why the hub gave up (it could not lead or stand by); ok while it runs.
  const Status& failure() const { return failure_; }

 private:
  void elected(const cluster::Term& term);
  void lost(const std::string& why);
  // Standing by: the HTTP server, and the agent port (retried every second until it
  // starts: the store may be down).
  Status serve_standby();
  void stop_standby();
  void start_relay();
  nlohmann::json cluster_json();
  void announce(const std::string& role);

  EventLoop& loop_;
  const Clock& clock_;
  Timers& timers_;
  HubConfig cfg_;       // the loop thread's
  std::string hub_id_;  // set by start(), then read by the HTTP threads too
  // While the Hub serves: "leader" in GET /api/v1/cluster only from then on, so a client
  // that sees it reaches the leader's whole API (read by the HTTP threads).
  std::atomic<bool> serving_lead_{false};
  OnServing on_serving_;
  LoopDoor door_;
  std::unique_ptr<cluster::Leadership> leadership_;
  std::unique_ptr<Hub> hub_;            // while leading
  std::unique_ptr<RelayIngest> relay_;  // while standing by
  TimerId relay_retry_ = 0;
  bool relay_failing_ = false;  // logged once until it starts
  uint64_t term_token_ = 0;     // the term hub_ runs for
  ApiAuth auth_;                // the standby server's tokens, as the Hub's API has them
  std::unique_ptr<httplib::Server> standby_;
  std::thread standby_thread_;
  int http_port_ = 0;
  Status failure_ = Status::ok();
  bool stopped_ = false;
};

// This hub's name in the cluster: cluster.hub_id, or <hostname>-<http port>.
std::string cluster_hub_id(const HubConfig& cfg);

}  // namespace reflex::hub
